// Cost of Idempotency-Key on a create: sessions.create latency through the SDK without a key, with
// a fresh key each time (claim + stored response) and as a replay of a stored key.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { MODEL, ms, summarize, type BenchRig } from './lib.ts';

export interface IdempotencyBenchOptions { creates: number; warmup: number }

export async function benchIdempotency(rig: BenchRig, opts: IdempotencyBenchOptions): Promise<void> {
  const { client } = rig;
  const agent = await client.beta.agents.create({ name: `bench-idem-${randomBytes(3).toString('hex')}`, model: MODEL });
  const env = await client.beta.environments.create({ name: `bench-idem-${randomBytes(4).toString('hex')}` });
  const params = { agent: agent.id, environment_id: env.id };
  const replayKey = `bench-replay-${randomBytes(6).toString('hex')}`;
  await client.beta.sessions.create(params, { headers: { 'Idempotency-Key': replayKey } });

  const modes: Record<string, () => Promise<unknown>> = {
    'no key': () => client.beta.sessions.create(params),
    'fresh key': () => client.beta.sessions.create(params, { headers: { 'Idempotency-Key': `bench-${randomBytes(8).toString('hex')}` } }),
    'replay': () => client.beta.sessions.create(params, { headers: { 'Idempotency-Key': replayKey } }),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
  // Interleaved rounds, so drift on a busy machine affects every mode alike.
  for (let i = 0; i < opts.warmup + opts.creates; i++) {
    for (const [mode, run] of Object.entries(modes)) {
      const t0 = performance.now();
      await run();
      if (i >= opts.warmup) samples[mode].push(performance.now() - t0);
    }
  }
  for (const [mode, xs] of Object.entries(samples)) {
    const s = summarize(xs);
    console.log(`idempotency: sessions.create ${mode.padEnd(9)} (n=${s.n}): p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, mean ${ms(s.mean)}`);
  }
}
