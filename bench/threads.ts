// Team sessions (issue 12): what Hangar adds per delegated thread. An in-process Hangar against an
// instant fake upstream, the model port timed per call and labelled by agent, so model time can be
// subtracted.
//  - single-agent baseline: POST user.message → agent.message on the stream, minus its model call;
//  - delegation: a coordinator's send_to_agent answer (agent.thread_message_sent on the primary
//    stream) → the child's report (agent.thread_message_received), minus the child's model call;
//  - fan-out: one coordinator answer with N send_to_agent calls → all N reports received, minus the
//    time any child model call was in flight (they run concurrently), per delegated thread; also the
//    whole wall time and the process's CPU time per delegated thread.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type RecordedRequest } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import type { ModelClient } from '../src/ports/model.ts';
import { MODEL, ms, summarize, userMessage } from './lib.ts';

export interface ThreadsBenchOptions {
  /** Single-agent turns and delegation rounds measured (after `warmup` of each). */
  rounds: number;
  warmup: number;
  /** Children per fan-out, and fan-outs measured. */
  fanOut: number;
  fanOutRuns: number;
}

/** The real Anthropic adapter, timing each call and noting whose (by system prompt) it was. */
class LabelledModel implements ModelClient {
  readonly calls: Array<{ who: string; ms: number; start: number; end: number }> = [];
  private readonly inner: ModelClient;
  constructor(inner: ModelClient) {
    this.inner = inner;
  }
  async stream(...args: Parameters<ModelClient['stream']>) {
    const who = args[0].system.map((s) => s.text).join(' ');
    const t0 = performance.now();
    try {
      return await this.inner.stream(...args);
    } finally {
      const t1 = performance.now();
      this.calls.push({ who, ms: t1 - t0, start: t0, end: t1 });
    }
  }
}

const CHILD = 'You are a bench worker.';
const LEAD = 'You are the bench lead.';
const systemOf = (r: RecordedRequest) => JSON.stringify(r.body.system ?? '');

/** Arrival times (performance.now()) of a session's stream events, by type, with a waiter for counts. */
class Tap {
  readonly at = new Map<string, number[]>();
  private waiters: Array<{ type: string; n: number; resolve: () => void }> = [];
  private readonly stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>>;
  private constructor(stream: Tap['stream']) {
    this.stream = stream;
    void this.pump();
  }
  static async open(client: Anthropic, sessionId: string) {
    return new Tap(await client.beta.sessions.events.stream(sessionId));
  }
  private async pump() {
    try {
      for await (const ev of this.stream) {
        const now = performance.now();
        const list = this.at.get(ev.type) ?? [];
        list.push(now);
        this.at.set(ev.type, list);
        this.waiters = this.waiters.filter((w) => (w.type === ev.type && list.length >= w.n ? (w.resolve(), false) : true));
      }
    } catch {
      // closed
    }
  }
  count(type: string, n: number, timeoutMs = 30_000): Promise<void> {
    if ((this.at.get(type)?.length ?? 0) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${n} × ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ type, n, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
  close() {
    this.stream.controller.abort();
  }
}

/** How much of [from, to] at least one of the calls was in flight (the union of their intervals). */
function covered(calls: Array<{ start: number; end: number }>, from: number, to: number): number {
  const spans = calls.map((c) => [Math.max(from, c.start), Math.min(to, c.end)]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [cs, ce] = [NaN, NaN];
  for (const [a, b] of spans) {
    if (!(a <= ce)) {
      if (ce > cs) total += ce - cs;
      [cs, ce] = [a, b];
    } else ce = Math.max(ce, b);
  }
  if (ce > cs) total += ce - cs;
  return total;
}

export async function benchThreads(opts: ThreadsBenchOptions): Promise<void> {
  const up = await startFakeUpstream();
  let fan = 1;
  up.setResponder((req) => {
    const sys = systemOf(req);
    if (sys.includes(CHILD)) return { content: [{ type: 'text', text: 'report' }] };
    if (!sys.includes(LEAD)) return { content: [{ type: 'text', text: 'ok' }] };
    const all = JSON.stringify(req.body.messages);
    if (!all.includes('send_to_agent')) {
      return { content: Array.from({ length: fan }, (_, i) => ({ type: 'tool_use' as const, name: 'send_to_agent', input: { agent_name: 'worker', message: `task ${i}` } })), stop_reason: 'tool_use' };
    }
    return { content: [{ type: 'text', text: 'noted' }] };
  });
  const model = new LabelledModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, overrides: { model } });
  const client = h.client;
  try {
    const env = await client.beta.environments.create({ name: `bench-${randomBytes(4).toString('hex')}` });
    const solo = await client.beta.agents.create({ name: 'bench-solo', model: MODEL });
    const worker = await client.beta.agents.create({ name: 'worker', model: MODEL, system: CHILD });
    const lead = await client.beta.agents.create({ name: 'bench-lead', model: MODEL, system: LEAD, multiagent: { type: 'coordinator', agents: [worker.id] } as any });

    // Single-agent baseline, one session.
    const soloSession = (await client.beta.sessions.create({ agent: solo.id, environment_id: env.id })).id;
    const soloTap = await Tap.open(client, soloSession);
    const single: number[] = [];
    for (let i = 0; i < opts.warmup + opts.rounds; i++) {
      const before = model.calls.length;
      const t0 = performance.now();
      await client.beta.sessions.events.send(soloSession, userMessage(`turn ${i}`));
      await soloTap.count('agent.message', i + 1);
      await soloTap.count('session.status_idle', i + 1);
      const t1 = soloTap.at.get('agent.message')![i];
      const call = model.calls.slice(before).find((c) => !c.who.includes(CHILD))!;
      if (i >= opts.warmup) single.push(t1 - t0 - call.ms);
    }
    soloTap.close();

    /** One coordinator turn fanning out to `n` children; returns the delegation figures. */
    const delegate = async (n: number) => {
      fan = n;
      const s = (await client.beta.sessions.create({ agent: lead.id, environment_id: env.id })).id;
      const tap = await Tap.open(client, s);
      const before = model.calls.length;
      const cpu0 = process.cpuUsage();
      await client.beta.sessions.events.send(s, userMessage('go'));
      await tap.count('agent.thread_message_received', n);
      const cpu = process.cpuUsage(cpu0);
      const sent = tap.at.get('agent.thread_message_sent')!;
      const received = tap.at.get('agent.thread_message_received')!;
      const children = model.calls.slice(before).filter((c) => c.who.includes(CHILD));
      if (children.length !== n) throw new Error(`expected ${n} child model calls, saw ${children.length}`);
      // Wait for the coordinator to settle so the next session starts on a quiet server.
      await tap.count('agent.message', 2);
      tap.close();
      const from = sent[0];
      const to = received[n - 1];
      return {
        wall: to - from, modelCovered: covered(children, from, to), sumModel: children.reduce((a, c) => a + c.ms, 0),
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
    };

    const one: number[] = [];
    for (let i = 0; i < opts.warmup + opts.rounds; i++) {
      const r = await delegate(1);
      if (i >= opts.warmup) one.push(r.wall - r.modelCovered);
    }
    const fanWall: number[] = [];
    const fanPer: number[] = [];
    const fanModel: number[] = [];
    const fanCpu: number[] = [];
    for (let i = 0; i < 2 + opts.fanOutRuns; i++) {
      const r = await delegate(opts.fanOut);
      if (i < 2) continue; // warm-up
      fanWall.push(r.wall);
      fanModel.push(r.sumModel / opts.fanOut);
      fanCpu.push(r.cpuMs / opts.fanOut);
      fanPer.push((r.wall - r.modelCovered) / opts.fanOut);
    }

    const b = summarize(single);
    const d = summarize(one);
    const w = summarize(fanWall);
    const p = summarize(fanPer);
    console.log(`threads: single-agent turn overhead (POST → agent.message, minus model): p50 ${ms(b.p50)}, p99 ${ms(b.p99)} (n=${b.n})`);
    const m = summarize(fanModel);
    console.log(`  delegation, one child (thread_message_sent → thread_message_received, minus time a model call was in flight): p50 ${ms(d.p50)}, p99 ${ms(d.p99)} (n=${d.n})`);
    console.log(`  fan-out 1 → ${opts.fanOut} (first thread_message_sent → ${opts.fanOut}th report): wall p50 ${ms(w.p50)}, p99 ${ms(w.p99)} (n=${w.n}); ` +
      `child model call as Hangar sees it (concurrent, in-process upstream): mean p50 ${ms(m.p50)}`);
    const verdict = p.p50 <= 5 ? 'meets' : 'misses';
    console.log(`  per delegated thread in the fan-out ((wall − time any child model call was in flight) / ${opts.fanOut}): p50 ${ms(p.p50)}, p99 ${ms(p.p99)} — ${verdict} target ≤ 5 ms`);
    console.log(`  per delegated thread, whole wall time / ${opts.fanOut} (model time included): p50 ${ms(w.p50 / opts.fanOut)}`);
    const c = summarize(fanCpu);
    console.log(`  CPU per delegated thread (whole process: server, SDK client and fake upstream; from the coordinator's POST to the last report) / ${opts.fanOut}: ` +
      `p50 ${ms(c.p50)}, p99 ${ms(c.p99)} — less sensitive to other load on the box than wall time`);
  } finally {
    await h.close();
    await up.close();
  }
}
