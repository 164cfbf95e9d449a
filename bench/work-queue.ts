// Self-hosted work queue latency. (1) Pickup: a worker long-polls (`block_ms` 999, re-polling at
// once when empty) while a session in the environment is sent a `user.message`; time from just
// before the send to the poll response carrying the new work item. (2) Tool round trip through the
// queue: the SDK's own EnvironmentWorker serves a session whose model makes one `bash` call per
// request, with a `bash` tool that answers at once; per round, time from the end of the model call
// that asked for the tool to the start of the next model call (tool_use committed → SSE to the
// worker → tool → POST user.tool_result → harness wakes → next request), both timed around the
// model port in the server process.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type RecordedRequest } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import type { ModelClient } from '../src/ports/model.ts';
import { EventTap, MODEL, ms, summarize, userMessage } from './lib.ts';

export interface WorkQueueBenchOptions {
  pickups: number;
  pickupWarmup: number;
  turns: number;
  warmupTurns: number;
  roundsPerTurn: number;
}

/** Records when each model call started and ended (performance.now()). */
class SpanModel implements ModelClient {
  readonly spans: Array<{ start: number; end: number }> = [];
  private readonly inner: ModelClient;
  constructor(inner: ModelClient) {
    this.inner = inner;
  }
  async stream(...args: Parameters<ModelClient['stream']>) {
    const start = performance.now();
    try {
      return await this.inner.stream(...args);
    } finally {
      this.spans.push({ start, end: performance.now() });
    }
  }
}

/** Tool rounds since the conversation's last plain user message. */
function roundsSoFar(req: RecordedRequest): number {
  const messages = (req.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  let n = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== 'user') continue;
    const blocks = Array.isArray(m.content) ? (m.content as Array<{ type: string }>) : [];
    if (blocks.some((b) => b.type === 'tool_result')) n++;
    else break;
  }
  return n;
}

export async function benchWorkQueue(opts: WorkQueueBenchOptions): Promise<void> {
  const up = await startFakeUpstream();
  up.setResponder((req) => {
    const hasTools = Array.isArray(req.body?.tools) && req.body.tools.length > 0;
    if (hasTools && roundsSoFar(req) < opts.roundsPerTurn) return { content: [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }] };
    return { content: [{ type: 'text', text: 'ok' }] };
  });
  const model = new SpanModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, overrides: { model } });
  const stopWorker = new AbortController();
  let sdkWorker: Promise<void> | undefined;
  try {
    const { client } = h;
    const env = await client.beta.environments.create({ name: `bench-sh-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } });
    const key = await client.post<{ key: string }>(`/v1/environments/${env.id}/keys`);
    const worker = new Anthropic({ baseURL: h.url, apiKey: null, authToken: key.key, maxRetries: 0 });

    // (1) pickup latency, on an agent without tools (one plain model turn per message).
    const plain = await client.beta.agents.create({ name: `bench-${randomBytes(3).toString('hex')}`, model: MODEL });
    const session = (await client.beta.sessions.create({ agent: plain.id, environment_id: env.id })).id;
    const tap = await EventTap.open(client, session);
    const pickup: number[] = [];
    try {
      for (let i = 0; i < opts.pickupWarmup + opts.pickups; i++) {
        let stop = false;
        const received = (async () => {
          while (!stop) {
            const w = await worker.beta.environments.work.poll(env.id, { block_ms: 999 });
            if (w) return { work: w, at: performance.now() };
          }
          throw new Error('poll loop stopped');
        })();
        await new Promise((r) => setTimeout(r, 5)); // the poll is parked on the server
        const idle = tap.next('session.status_idle');
        const t0 = performance.now();
        await client.beta.sessions.events.send(session, userMessage(`pickup ${i}`));
        const { work, at } = await received;
        stop = true;
        if (i >= opts.pickupWarmup) pickup.push(at - t0);
        await worker.beta.environments.work.ack(work.id, { environment_id: env.id });
        await worker.beta.environments.work.stop(work.id, { environment_id: env.id, force: true });
        await idle;
      }
    } finally {
      tap.close();
    }

    // (2) tool round trips through the queue, served by the SDK's EnvironmentWorker.
    const toolAgent = await client.beta.agents.create({ name: `bench-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
    const instantBash = {
      type: 'custom' as const, name: 'bash', description: 'answers at once', input_schema: { type: 'object' as const, properties: {} },
      parse: (x: unknown) => x, run: async () => 'ok',
    };
    sdkWorker = new Anthropic({ baseURL: h.url, apiKey: null, authToken: key.key, logLevel: 'off' }).beta.environments.work
      .worker({ environmentId: env.id, environmentKey: key.key, tools: [instantBash], maxIdleMs: 600_000, memorySyncIntervalMs: null })
      .run(stopWorker.signal);
    const toolSession = (await client.beta.sessions.create({ agent: toolAgent.id, environment_id: env.id })).id;
    const toolTap = await EventTap.open(client, toolSession);
    const rounds: number[] = [];
    try {
      for (let t = 0; t < opts.warmupTurns + opts.turns; t++) {
        const done = toolTap.next('agent.message', 60_000);
        const before = model.spans.length;
        await client.beta.sessions.events.send(toolSession, userMessage(`turn ${t}`));
        await done;
        const spans = model.spans.slice(before);
        if (spans.length !== opts.roundsPerTurn + 1) throw new Error(`turn ${t}: expected ${opts.roundsPerTurn + 1} model calls, saw ${spans.length}`);
        if (t < opts.warmupTurns) continue;
        for (let k = 0; k + 1 < spans.length; k++) rounds.push(spans[k + 1].start - spans[k].end);
      }
    } finally {
      toolTap.close();
    }

    const p = summarize(pickup);
    const r = summarize(rounds);
    console.log(`work queue pickup (POST user.message → parked worker's poll returns the item): p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (n=${p.n})`);
    console.log(`work queue tool round trip (model call asking for bash ends → worker's user.tool_result → next model call starts): p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, max ${ms(r.max)} (n=${r.n}, ${opts.turns} turns × ${opts.roundsPerTurn} rounds, SDK EnvironmentWorker, instant tool)`);
  } finally {
    stopWorker.abort();
    await sdkWorker?.catch(() => {});
    await h.close();
    await up.close();
  }
}
