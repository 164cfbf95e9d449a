// Long sessions (issue 14): does a session's cost per turn stay flat as its log grows, and does
// listing stay fast on a 100,000-event session? Part 1 runs N sequential turns on one session and
// compares Hangar's per-turn overhead (as in turn-overhead.ts: POST user.message → agent.message on
// the stream, minus the model call) over the first and the last 100 turns. Part 2 seeds a session
// with 100,000 events through the store's append path (`store.sessions.commit`, the same transaction
// the harness commits through, minus the harness) and times `events.list` pages over HTTP.
import { performance } from 'node:perf_hooks';
import type { BenchRig } from './lib.ts';
import { EventTap, ms, sessionFactory, summarize, userMessage, warmUp } from './lib.ts';

export interface LongSessionOptions {
  turns: number;
  /** Turns compared at each end of the session. */
  window: number;
  warmup: number;
  listEvents: number;
  listSamples: number;
}

async function turnsPart(rig: BenchRig, opts: LongSessionOptions): Promise<void> {
  const { client, model } = rig;
  const newSession = await sessionFactory(client);
  await warmUp(client, await newSession(), opts.warmup);

  const sessionId = await newSession();
  const tap = await EventTap.open(client, sessionId);
  const overhead: number[] = [];
  const upstream: number[] = [];
  let compactingTurns = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < opts.turns; i++) {
      const message = tap.next('agent.message');
      const idle = tap.next('session.status_idle');
      const callsBefore = model.calls.length;
      const t0 = performance.now();
      await client.beta.sessions.events.send(sessionId, userMessage(`turn ${i}`));
      const t1 = await message;
      const calls = model.calls.slice(callsBefore);
      if (calls.length < 1) throw new Error(`turn ${i}: expected a model call, saw none`);
      // Past the compaction threshold (about 5,000 turns of this bench on a 200k window) a turn also
      // makes the summarizing request: every model call of the turn is subtracted.
      if (calls.length > 1) compactingTurns++;
      overhead.push(t1 - t0 - calls.reduce((a, b) => a + b, 0));
      upstream.push(calls[calls.length - 1]);
      await idle;
      // What the in-process fake upstream records (every request body, each carrying the whole
      // conversation) is the bench's memory, not Hangar's: without this 10,000 turns run out of heap.
      rig.up.requests.length = 0;
      if ((i + 1) % 1000 === 0) console.error(`  … ${i + 1} turns, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    tap.close();
  }
  // The model call is kept out of the figure but printed: it grows with the conversation it carries.
  const w = Math.min(opts.window, Math.floor(opts.turns / 2));
  const first = summarize(overhead.slice(0, w));
  const last = summarize(overhead.slice(-w));
  const upFirst = summarize(upstream.slice(0, w));
  const upLast = summarize(upstream.slice(-w));
  const growth = (last.p50 / first.p50 - 1) * 100;
  const verdict = growth <= 20 ? 'meets' : 'misses';
  const events = (await client.beta.sessions.events.list(sessionId, { order: 'desc', limit: 1 })).data[0];
  console.log(
    `long session turn overhead, first ${w} vs last ${w} of ${opts.turns} turns: p50 ${ms(first.p50)} → ${ms(last.p50)} (${growth >= 0 ? '+' : ''}${growth.toFixed(0)} %) — ${verdict} target within 20 %`,
  );
  console.log(`  p99 ${ms(first.p99)} → ${ms(last.p99)}, mean ${ms(first.mean)} → ${ms(last.mean)}; whole run ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`  model call (adapter → fake upstream, carries the whole conversation): p50 ${ms(upFirst.p50)} → ${ms(upLast.p50)}; last event ${events?.type ?? '?'}; turns that also compacted: ${compactingTurns}`);
}

async function listPart(rig: BenchRig, opts: LongSessionOptions): Promise<void> {
  const { client } = rig;
  const newSession = await sessionFactory(client);
  const sessionId = await newSession();
  // Alternating user and agent messages, one event in a hundred a tool call: a sparse type for the filtered page.
  const typeAt = (i: number) => (i % 100 === 99 ? 'agent.tool_use' : i % 2 === 0 ? 'user.message' : 'agent.message');
  const event = (i: number) => {
    const type = typeAt(i);
    const id = `sevt_bench${String(i).padStart(8, '0')}`;
    return type === 'agent.tool_use'
      ? { id, type, name: 'bash', input: { command: `echo ${i}` }, processed_at: null }
      : { id, type, content: [{ type: 'text', text: `message ${i} of the long session` }], processed_at: null };
  };
  const t0 = performance.now();
  const store = rig.h.hangar.store;
  for (let i = 0; i < opts.listEvents; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, opts.listEvents - i) }, (_, j) => event(i + j));
    await store.sessions.commit(sessionId, () => ({ now: new Date().toISOString(), events: batch }));
  }
  const seededS = (performance.now() - t0) / 1000;

  const time = async (fn: () => Promise<number>, n: number) => {
    for (let i = 0; i < 10; i++) await fn();
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      rows = await fn();
      samples.push(performance.now() - s);
    }
    return { ...summarize(samples), rows };
  };
  const list = client.beta.sessions.events;
  // Every 1000-event page of the whole session, walked with the cursor (keyset paging), twice.
  const walk: number[] = [];
  let pages = 0;
  for (let r = 0; r < 2; r++) {
    let page = await list.list(sessionId, { limit: 1000 });
    for (;;) {
      pages++;
      if (!page.hasNextPage()) break;
      const s = performance.now();
      page = await page.getNextPage();
      walk.push(performance.now() - s);
    }
  }
  const walked = summarize(walk);
  const first = await time(async () => (await list.list(sessionId, { limit: 1000 })).data.length, opts.listSamples);
  const dense = await time(async () => (await list.list(sessionId, { limit: 1000, types: ['agent.message'] })).data.length, opts.listSamples);
  const sparse = await time(async () => (await list.list(sessionId, { limit: 1000, types: ['agent.tool_use'] })).data.length, opts.listSamples);
  const tail = await time(async () => (await list.list(sessionId, { order: 'desc', limit: 100 })).data.length, opts.listSamples);
  const row = (label: string, s: { p50: number; p99: number; n: number }, rows?: number) =>
    console.log(`  ${label}: p50 ${ms(s.p50)}, p99 ${ms(s.p99)} (n=${s.n}${rows !== undefined ? `, ${rows} events a page` : ''})`);
  console.log(`events.list on a ${opts.listEvents}-event session (seeded through store.sessions.commit in ${seededS.toFixed(1)} s, 1000 events a commit):`);
  row(`every page, limit=1000, walked by cursor (${pages / 2} pages × 2)`, walked, 1000);
  row('first page, limit=1000', first, first.rows);
  row('types[]=agent.message (half the events), limit=1000', dense, dense.rows);
  row('types[]=agent.tool_use (1 % of the events), limit=1000', sparse, sparse.rows);
  row('last page, order=desc&limit=100', tail, tail.rows);
}

export async function benchLongSession(rig: BenchRig, opts: LongSessionOptions): Promise<void> {
  await listPart(rig, opts);
  await turnsPart(rig, opts);
}
