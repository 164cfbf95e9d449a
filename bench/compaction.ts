// Compaction (issue 14): one session of N turns with a small context window (8k tokens, enforced
// by the fake upstream with its own tokenizer, counted usage and a prefix cache). Reports how often
// it compacted, whether the model ever got a request over the window, the share of prompt tokens
// read from the prompt cache, and Hangar's per-turn overhead first vs last 100 turns (all model
// calls of a turn, summarizing requests included, subtracted).
import { performance } from 'node:perf_hooks';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import { EventTap, TimedModel, ms, sessionFactory, summarize, userMessage } from './lib.ts';

export interface CompactionBenchOptions {
  turns: number;
  window: number;
  /** Turns compared at each end. */
  ends: number;
}

const isSummarizing = (body: any) => JSON.stringify(body?.system ?? '').includes('You compact the conversation');

export async function benchCompaction(opts: CompactionBenchOptions): Promise<void> {
  const up = await startFakeUpstream({ contextWindow: opts.window });
  up.setResponder((req) => (isSummarizing(req.body)
    ? { content: [{ type: 'text', text: `Summary: numbered messages, each answered. ${'s'.repeat(300)}` }] }
    : { content: [{ type: 'text', text: `answer ${'a'.repeat(200)}` }] }));
  const model = new TimedModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_CONTEXT_WINDOW_TOKENS: String(opts.window) }, overrides: { model } });
  try {
    const sessionId = await (await sessionFactory(h.client))();
    const tap = await EventTap.open(h.client, sessionId);
    const overhead: number[] = [];
    const started = performance.now();
    try {
      for (let i = 0; i < opts.turns; i++) {
        const idle = tap.next('session.status_idle');
        const before = model.calls.length;
        const t0 = performance.now();
        await h.client.beta.sessions.events.send(sessionId, userMessage(`message ${i} ${'u'.repeat(150)}`));
        const t1 = await idle;
        overhead.push(t1 - t0 - model.calls.slice(before).reduce((a, b) => a + b, 0));
      }
    } finally {
      tap.close();
    }
    const w = Math.min(opts.ends, Math.floor(opts.turns / 2));
    const first = summarize(overhead.slice(0, w));
    const last = summarize(overhead.slice(-w));
    const summaries = up.requests.filter((r) => isSummarizing(r.body)).length;
    const t = up.tokenTotals();
    const prompt = t.input_tokens + t.cache_read_input_tokens + t.cache_creation_input_tokens;
    console.log(`compaction, one session of ${opts.turns} turns with a ${opts.window}-token window (${((performance.now() - started) / 1000).toFixed(0)} s):`);
    console.log(`  ${summaries} compactions (one every ${(opts.turns / Math.max(1, summaries)).toFixed(1)} turns); requests refused as over the window: ${t.overflows}; largest prompt ${t.largestPrompt} tokens`);
    console.log(`  prompt tokens read from the prompt cache: ${((t.cache_read_input_tokens / Math.max(1, prompt)) * 100).toFixed(1)} % (${t.cache_read_input_tokens} of ${prompt}; written ${t.cache_creation_input_tokens}); token counts asked: ${t.counts}`);
    console.log(`  turn overhead (model calls subtracted) first ${w} vs last ${w}: p50 ${ms(first.p50)} → ${ms(last.p50)} (${((last.p50 / first.p50 - 1) * 100).toFixed(0)} %), p99 ${ms(first.p99)} → ${ms(last.p99)}`);
  } finally {
    await h.close();
    await up.close();
  }
}
