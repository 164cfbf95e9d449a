// Shared bench plumbing: an in-process Hangar against an instant fake upstream (with the model
// port timed, so upstream time can be subtracted per turn), SSE taps, and percentile reporting.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../test/kit/hangar.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import type { ModelClient } from '../src/ports/model.ts';

export const MODEL = 'claude-sonnet-4-6';

/** Wraps the real Anthropic adapter and records how long each model call took (ms). */
export class TimedModel implements ModelClient {
  readonly calls: number[] = [];
  private readonly inner: ModelClient;

  constructor(inner: ModelClient) {
    this.inner = inner;
  }

  /** The provider's token counter, passed through untimed (it is not a model call). */
  countTokens(...args: Parameters<NonNullable<ModelClient['countTokens']>>): Promise<number | undefined> {
    return this.inner.countTokens ? this.inner.countTokens(...args) : Promise.resolve(undefined);
  }

  async stream(...args: Parameters<ModelClient['stream']>) {
    const t0 = performance.now();
    try {
      return await this.inner.stream(...args);
    } finally {
      this.calls.push(performance.now() - t0);
    }
  }
}

export interface BenchRig {
  up: FakeUpstream;
  h: TestHangar;
  client: Anthropic;
  model: TimedModel;
  close(): Promise<void>;
}

/** Fake upstream answering `ok` instantly, and a Hangar whose model calls go to it through a timer. */
export async function startRig(opts: { env?: Record<string, string> } = {}): Promise<BenchRig> {
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const model = new TimedModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, overrides: { model }, env: opts.env });
  return {
    up, h, client: h.client, model,
    async close() {
      await h.close();
      await up.close();
    },
  };
}

/** Creates an agent and an environment to start sessions against; returns a session factory. */
export async function sessionFactory(client: Anthropic, opts: { budgetCents?: string } = {}): Promise<() => Promise<string>> {
  const agent = await client.beta.agents.create({ name: `bench-${randomBytes(3).toString('hex')}`, model: MODEL });
  const env = await client.beta.environments.create({ name: `bench-${randomBytes(4).toString('hex')}` });
  const budget = opts.budgetCents ? { type: 'limit' as const, max_list_cost: { amount: opts.budgetCents, currency: 'USD' as const } } : undefined;
  return async () => (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, ...(budget ? { budget } : {}) })).id;
}

export const userMessage = (text: string) => ({ events: [{ type: 'user.message' as const, content: [{ type: 'text' as const, text }] }] });

type Waiter = { type: string; resolve: (at: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/**
 * One open event stream of a session. `next(type)` resolves with the arrival time
 * (performance.now()) of the next event of that type; register it before triggering the event.
 */
export class EventTap {
  private waiters: Waiter[] = [];
  private failed: Error | undefined;
  private readonly stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>>;

  private constructor(stream: EventTap['stream']) {
    this.stream = stream;
    void this.pump();
  }

  static async open(client: Anthropic, sessionId: string): Promise<EventTap> {
    return new EventTap(await client.beta.sessions.events.stream(sessionId));
  }

  private async pump(): Promise<void> {
    try {
      for await (const ev of this.stream) {
        const at = performance.now();
        const i = this.waiters.findIndex((w) => w.type === ev.type);
        if (i < 0) continue;
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(at);
      }
      this.fail(new Error('event stream ended'));
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  next(type: string, timeoutMs = 30_000): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        type, resolve, reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`no ${type} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  close(): void {
    this.failed ??= new Error('closed');
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.failed);
    }
    this.stream.controller.abort();
  }
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: rank(50), p99: rank(99), mean, max: s[s.length - 1] ?? NaN };
}

export const ms = (x: number) => `${x.toFixed(2)} ms`;

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Warm-up turns on a session of their own (JIT, prepared statements, keep-alive sockets), so the
 * measured session starts empty, like a real one.
 */
export async function warmUp(client: Anthropic, sessionId: string, turns: number): Promise<void> {
  const tap = await EventTap.open(client, sessionId);
  try {
    for (let i = 0; i < turns; i++) {
      const idle = tap.next('session.status_idle');
      await client.beta.sessions.events.send(sessionId, userMessage(`warm-up ${i}`));
      await idle;
    }
  } finally {
    tap.close();
  }
}

/**
 * One timed turn on a session with an open stream: POST user.message → agent.message on the stream,
 * the model call's own time (exactly one call expected), and the difference; waits for the idle.
 */
export async function timedTurn(client: Anthropic, model: TimedModel, tap: EventTap, sessionId: string, text: string) {
  const message = tap.next('agent.message');
  const idle = tap.next('session.status_idle');
  const before = model.calls.length;
  const t0 = performance.now();
  await client.beta.sessions.events.send(sessionId, userMessage(text));
  const t1 = await message;
  // The call's duration is recorded before its answer is committed, so it is in by now.
  const calls = model.calls.slice(before);
  if (calls.length !== 1) throw new Error(`${text}: expected one model call, saw ${calls.length}`);
  await idle; // the next turn starts from idle, as a client waiting for the answer would
  return { total: t1 - t0, upstream: calls[0], overhead: t1 - t0 - calls[0] };
}

/** One turn on a session without a pre-opened stream: open one, send, wait for the idle, close. */
export async function oneTurn(client: Anthropic, sessionId: string, text: string): Promise<void> {
  const tap = await EventTap.open(client, sessionId);
  try {
    const idle = tap.next('session.status_idle');
    await client.beta.sessions.events.send(sessionId, userMessage(text));
    await idle;
  } finally {
    tap.close();
  }
}
