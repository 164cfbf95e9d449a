// Soak (issue 14): a day of work compressed into one run. N sessions each run turns back to back for
// a fixed time, every few turns through a custom tool call the client answers (requires_action, then
// the result), with a small context window so they compact too. RSS and heap are sampled at a fixed
// interval; after the warm-up (the first third of the samples) memory should be flat: the figure is
// the least-squares slope of each, in MB per hour, beside the turns done.
import { performance } from 'node:perf_hooks';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { EventTap } from './lib.ts';

export interface SoakOptions {
  sessions: number;
  minutes: number;
  sampleSeconds: number;
  window: number;
  /** Every this many turns of a session goes through a custom tool call. */
  toolEvery: number;
}

const isSummarizing = (body: any) => JSON.stringify(body?.system ?? '').includes('You compact the conversation');
const MB = 1024 * 1024;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export async function benchSoak(opts: SoakOptions): Promise<void> {
  const up = await startFakeUpstream({ contextWindow: opts.window });
  let compactions = 0;
  up.setResponder((req) => {
    // What the fake records is the bench's memory, not Hangar's: dropped as it goes.
    up.requests.length = 0;
    if (isSummarizing(req.body)) compactions++;
    if (isSummarizing(req.body)) return { content: [{ type: 'text', text: `Summary so far. ${'s'.repeat(200)}` }] };
    if (JSON.stringify(req.body.messages.at(-1)?.content ?? '').includes('use the tool')) return { content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }] };
    return { content: [{ type: 'text', text: `answer ${'a'.repeat(150)}` }] };
  });
  const h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_CONTEXT_WINDOW_TOKENS: String(opts.window) } });
  const client = h.client;
  const agent = await client.beta.agents.create({
    name: 'soak', model: 'claude-sonnet-4-6',
    tools: [{ type: 'custom', name: 'lookup', description: 'looks it up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
  });
  const env = await client.beta.environments.create({ name: `soak-${Math.random().toString(36).slice(2)}` });
  const started = performance.now();
  const endAt = started + opts.minutes * 60_000;
  let turns = 0;
  let toolTurns = 0;
  let failures = 0;
  const samples: Array<{ t: number; rss: number; heap: number }> = [];
  const sample = () => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    samples.push({ t: (performance.now() - started) / 3_600_000, rss: m.rss / MB, heap: m.heapUsed / MB });
  };
  sample();
  const timer = setInterval(sample, opts.sampleSeconds * 1000);
  try {
    await Promise.all(Array.from({ length: opts.sessions }, async () => {
      const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
      const tap = await EventTap.open(client, session.id);
      try {
        for (let i = 0; performance.now() < endAt; i++) {
          const asks = i % opts.toolEvery === opts.toolEvery - 1;
          const idle = tap.next('session.status_idle', 60_000);
          const use = asks ? tap.next('agent.custom_tool_use', 60_000) : undefined;
          await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: `message ${i} ${asks ? 'use the tool' : 'u'.repeat(150)}` }] }] });
          await idle;
          if (use) {
            await use;
            // The tool use's id is on the session's log: the last custom tool use.
            const last = (await client.beta.sessions.events.list(session.id, { order: 'desc', limit: 5 })).data.find((e) => e.type === 'agent.custom_tool_use');
            if (!last) throw new Error('no custom tool use');
            const done = tap.next('session.status_idle', 60_000);
            await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: last.id, content: [{ type: 'text', text: 'r'.repeat(2_000) }] }] });
            await done;
            toolTurns++;
          }
          turns++;
        }
      } catch (err) {
        failures++;
        console.error(`soak session failed: ${String(err)}`);
      } finally {
        tap.close();
      }
    }));
  } finally {
    clearInterval(timer);
    sample();
    await h.close();
    await up.close();
  }
  const after = samples.slice(Math.floor(samples.length / 3));
  const rssSlope = slope(after.map((s) => s.t), after.map((s) => s.rss));
  const heapSlope = slope(after.map((s) => s.t), after.map((s) => s.heap));
  const t = up.tokenTotals();
  console.log(`soak: ${opts.sessions} sessions × ${opts.minutes} min, ${turns} turns (${toolTurns} through a tool call), ${failures} failed sessions, ${t.overflows} requests over the window, ${compactions} compactions`);
  console.log(`  RSS ${samples[0].rss.toFixed(0)} → ${samples.at(-1)!.rss.toFixed(0)} MB, heap ${samples[0].heap.toFixed(0)} → ${samples.at(-1)!.heap.toFixed(0)} MB (${samples.length} samples every ${opts.sampleSeconds} s)`);
  console.log(`  slope after warm-up (last ${after.length} samples): RSS ${rssSlope.toFixed(1)} MB/h, heap ${heapSlope.toFixed(1)} MB/h`);
}
