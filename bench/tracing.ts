// Turn overhead with tracing on vs off: two in-process Hangars against instant fake upstreams, one
// exporting every span over OTLP/HTTP (protobuf) to a local receiver (the test kit's, which
// decodes each export), one with tracing off. Turns alternate between them so machine noise hits
// both alike; overhead = POST user.message → agent.message on the stream, minus the model call.
import { performance } from 'node:perf_hooks';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { startOtlpReceiver } from '../test/kit/otlp-receiver.ts';
import { AnthropicModel } from '../src/adapters/model-anthropic/anthropic-model.ts';
import { EventTap, TimedModel, ms, sessionFactory, summarize, userMessage } from './lib.ts';

export interface TracingBenchOptions {
  turns: number;
  warmup: number;
}

async function rig(env: Record<string, string>) {
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const model = new TimedModel(new AnthropicModel({ apiKey: 'sk-upstream-bench', baseURL: up.url }));
  const h = await startHangar({ upstreamUrl: up.url, env, overrides: { model } });
  const sessionId = await (await sessionFactory(h.client))();
  const tap = await EventTap.open(h.client, sessionId);
  const overhead: number[] = [];
  return {
    h, overhead,
    async turn(i: number, record: boolean) {
      const message = tap.next('agent.message');
      const idle = tap.next('session.status_idle');
      const before = model.calls.length;
      const t0 = performance.now();
      await h.client.beta.sessions.events.send(sessionId, userMessage(`turn ${i}`));
      const t1 = await message;
      const calls = model.calls.slice(before);
      if (calls.length !== 1) throw new Error(`turn ${i}: expected one model call, saw ${calls.length}`);
      if (record) overhead.push(t1 - t0 - calls[0]);
      await idle;
    },
    async close() {
      tap.close();
      await h.close();
      await up.close();
    },
  };
}

export async function benchTracing(opts: TracingBenchOptions): Promise<void> {
  const receiver = await startOtlpReceiver();
  const off = await rig({});
  const on = await rig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' });
  try {
    for (let i = 0; i < opts.warmup + opts.turns; i++) {
      const record = i >= opts.warmup;
      // Alternate which goes first so neither always runs right after the other's export.
      if (i % 2) {
        await off.turn(i, record);
        await on.turn(i, record);
      } else {
        await on.turn(i, record);
        await off.turn(i, record);
      }
    }
    await on.h.hangar.tracer.flush();
  } finally {
    await on.close();
    await off.close();
    await receiver.close();
  }
  const a = summarize(off.overhead);
  const b = summarize(on.overhead);
  const pct = (x: number, y: number) => `${(((y - x) / x) * 100).toFixed(1)} %`;
  const verdict = b.p50 <= a.p50 * 1.05 ? 'meets' : 'misses';
  console.log(`tracing overhead per turn (POST user.message → agent.message, minus upstream time; n=${a.n} each, alternating):`);
  console.log(`  tracing off: p50 ${ms(a.p50)}, p99 ${ms(a.p99)}, mean ${ms(a.mean)}`);
  console.log(`  tracing on (OTLP http/protobuf to a local receiver): p50 ${ms(b.p50)}, p99 ${ms(b.p99)}, mean ${ms(b.mean)}`);
  console.log(`  difference: p50 ${pct(a.p50, b.p50)}, mean ${pct(a.mean, b.mean)} — ${verdict} target p50 ≤ 5 % more`);
  console.log(`  spans received: ${receiver.spans().length} in ${receiver.exports.length} exports`);
}
