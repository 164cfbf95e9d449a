// Providers: turn overhead through the OpenAI-compatible adapter vs the Anthropic adapter, each
// against its own instant fake upstream (same method as turn-overhead.ts: POST user.message → first
// agent.message on the stream, with the model call timed at the port), and token accounting: usage
// and list_cost after many turns on the OpenAI provider against the sums of the upstream's reports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startFakeOpenAIUpstream } from '../test/kit/fake-openai-upstream.ts';
import { startHangar, type TestHangar } from '../test/kit/hangar.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import { OpenAIModel } from '../src/adapters/model-openai/openai-model.ts';
import { EventTap, MODEL, ms, sessionFactory, summarize, TimedModel, userMessage, warmUp } from './lib.ts';

export interface ProvidersOptions {
  turns: number;
  warmup: number;
  /** Turns of the token-accounting check. */
  accountingTurns: number;
}

/** USD per million tokens of the bench model on the OpenAI provider. */
const PRICE = { input: 3, output: 15, cache_read: 0.3 };

interface Side {
  h: TestHangar;
  model: TimedModel;
  close(): Promise<void>;
}

async function anthropicSide(): Promise<Side> {
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const model = new TimedModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, overrides: { model } });
  return { h, model, close: async () => { await h.close(); await up.close(); } };
}

async function openaiSide(usage: () => { prompt_tokens: number; completion_tokens: number; cached_tokens: number } = () => ({ prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0 })): Promise<Side> {
  const up = await startFakeOpenAIUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }], usage: usage() }));
  const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-models-'));
  // The bench model id routes to the OpenAI provider, with prices for the accounting check.
  writeFileSync(join(dir, 'models.yaml'), `providers:\n  local: {type: openai, base_url: "${up.url}"}\nmodels:\n  - id: ${MODEL}\n    provider: local\n    pricing: {input: ${PRICE.input}, output: ${PRICE.output}, cache_read: ${PRICE.cache_read}}\n`);
  const model = new TimedModel(new OpenAIModel({ apiKey: undefined, baseURL: up.url }));
  const h = await startHangar({ env: { HANGAR_MODELS: join(dir, 'models.yaml') }, overrides: { model } });
  return { h, model, close: async () => { await h.close(); await up.close(); rmSync(dir, { recursive: true, force: true }); } };
}

interface Runner {
  turn(i: number): Promise<void>;
  overhead: number[];
  call: number[];
  close(): void;
}

/** A warmed-up session on `side` whose turns are timed one at a time (so two sides can alternate). */
async function runner(side: Side, warmup: number): Promise<Runner> {
  const client = side.h.client;
  const newSession = await sessionFactory(client);
  await warmUp(client, await newSession(), warmup);
  const sessionId = await newSession();
  const tap = await EventTap.open(client, sessionId);
  const r: Runner = {
    overhead: [], call: [],
    async turn(i) {
      const message = tap.next('agent.message');
      const idle = tap.next('session.status_idle');
      const before = side.model.calls.length;
      const t0 = performance.now();
      await client.beta.sessions.events.send(sessionId, userMessage(`turn ${i}`));
      const t1 = await message;
      const calls = side.model.calls.slice(before);
      if (calls.length !== 1) throw new Error(`turn ${i}: expected one model call, saw ${calls.length}`);
      r.call.push(calls[0]);
      r.overhead.push(t1 - t0 - calls[0]);
      await idle;
    },
    close: () => tap.close(),
  };
  return r;
}

async function accounting(n: number): Promise<void> {
  // Deterministic, varied usage so rounding and the cached split are exercised.
  let seed = 7;
  const rand = (max: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % max;
  const reported: Array<{ prompt_tokens: number; completion_tokens: number; cached_tokens: number }> = [];
  const side = await openaiSide(() => {
    const prompt = 50 + rand(5000);
    const u = { prompt_tokens: prompt, completion_tokens: 1 + rand(800), cached_tokens: rand(prompt) };
    reported.push(u);
    return u;
  });
  try {
    const client: Anthropic = side.h.client;
    const sessionId = await (await sessionFactory(client))();
    const tap = await EventTap.open(client, sessionId);
    try {
      for (let i = 0; i < n; i++) {
        const idle = tap.next('session.status_idle');
        await client.beta.sessions.events.send(sessionId, userMessage(`turn ${i}`));
        await idle;
      }
    } finally {
      tap.close();
    }
    const s = await client.beta.sessions.retrieve(sessionId);
    const want = { input: 0, cached: 0, output: 0, micros: 0 };
    for (const u of reported) {
      want.input += u.prompt_tokens - u.cached_tokens;
      want.cached += u.cached_tokens;
      want.output += u.completion_tokens;
      // Per call, rounded like Hangar's ledger (micro-USD per token = USD per million tokens).
      want.micros += Math.round((u.prompt_tokens - u.cached_tokens) * PRICE.input + u.completion_tokens * PRICE.output + u.cached_tokens * PRICE.cache_read);
    }
    const cents = String(Math.floor(want.micros / 10_000));
    const got = s.usage;
    const exact = got.input_tokens === want.input && got.cache_read_input_tokens === want.cached && got.output_tokens === want.output && got.list_cost?.amount === cents;
    console.log(`token accounting over ${reported.length} OpenAI-provider turns: ${exact ? 'exact' : 'MISMATCH'} — input ${got.input_tokens}/${want.input}, cached ${got.cache_read_input_tokens}/${want.cached}, output ${got.output_tokens}/${want.output}, list_cost ${got.list_cost?.amount}/${cents} cents`);
    if (!exact) process.exitCode = 1;
  } finally {
    await side.close();
  }
}

export async function benchProviders(opts: ProvidersOptions): Promise<void> {
  // Both sides run at once and alternate turn by turn, so load drift on a shared machine hits both alike.
  const sides = { anthropic: await anthropicSide(), openai: await openaiSide() };
  const results: Record<string, Runner> = {};
  try {
    results.anthropic = await runner(sides.anthropic, opts.warmup);
    results.openai = await runner(sides.openai, opts.warmup);
    for (let i = 0; i < opts.turns; i++) {
      await results.anthropic.turn(i);
      await results.openai.turn(i);
    }
  } finally {
    for (const r of Object.values(results)) r.close();
    await sides.anthropic.close();
    await sides.openai.close();
  }
  const a = { o: summarize(results.anthropic.overhead), c: summarize(results.anthropic.call) };
  const b = { o: summarize(results.openai.overhead), c: summarize(results.openai.call) };
  console.log(`provider turn overhead (POST user.message → first agent.message, minus the model call), n=${opts.turns} each, turns alternating:`);
  console.log(`  anthropic adapter: p50 ${ms(a.o.p50)}, p99 ${ms(a.o.p99)}; model call (adapter + SDK + instant fake): p50 ${ms(a.c.p50)}, p99 ${ms(a.c.p99)}`);
  console.log(`  openai adapter:    p50 ${ms(b.o.p50)}, p99 ${ms(b.o.p99)}; model call (adapter + SDK + instant fake): p50 ${ms(b.c.p50)}, p99 ${ms(b.c.p99)}`);
  const whole = (x: typeof a) => ({ p50: x.o.p50 + x.c.p50, p99: x.o.p99 + x.c.p99 });
  const d50 = whole(b).p50 - whole(a).p50;
  const d99 = whole(b).p99 - whole(a).p99;
  const verdict = Math.abs(d50) <= 0.5 ? 'meets' : 'misses';
  console.log(`  difference openai − anthropic (overhead + model call): p50 ${d50 >= 0 ? '+' : ''}${ms(d50)}, p99 ${d99 >= 0 ? '+' : ''}${ms(d99)} — ${verdict} target |p50 difference| ≤ 0.5 ms`);
  await accounting(opts.accountingTurns);
}
