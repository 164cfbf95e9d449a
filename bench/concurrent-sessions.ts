// Many sessions at once: each has its own open stream, all send one message together; reports
// per-turn latency (send → agent.message on its stream), completions and turns per second.
import { performance } from 'node:perf_hooks';
import type { BenchRig } from './lib.ts';
import { EventTap, ms, pool, sessionFactory, summarize, userMessage } from './lib.ts';

export interface ConcurrentOptions {
  sessions: number;
  turnTimeoutMs: number;
}

export async function benchConcurrentSessions(rig: BenchRig, opts: ConcurrentOptions): Promise<void> {
  const { client } = rig;
  const newSession = await sessionFactory(client);
  const ids: string[] = [];
  const taps: EventTap[] = [];
  await pool(Array.from({ length: opts.sessions }), 20, async () => {
    const id = await newSession();
    ids.push(id);
    taps.push(await EventTap.open(client, id));
  });

  const latencies: number[] = [];
  const failures: string[] = [];
  const start = performance.now();
  let lastDone = start;
  try {
    await Promise.all(ids.map(async (id, i) => {
      const message = taps[i].next('agent.message', opts.turnTimeoutMs);
      const idle = taps[i].next('session.status_idle', opts.turnTimeoutMs);
      const t0 = performance.now();
      try {
        await client.beta.sessions.events.send(id, userMessage(`hello from ${i}`));
        const t1 = await message;
        latencies.push(t1 - t0);
        lastDone = Math.max(lastDone, t1);
        await idle;
      } catch (err) {
        message.catch(() => {});
        idle.catch(() => {});
        failures.push(`${id}: ${(err as Error).message}`);
      }
    }));
  } finally {
    for (const tap of taps) tap.close();
  }

  const s = summarize(latencies);
  const seconds = (lastDone - start) / 1000;
  console.log(
    `${opts.sessions} concurrent sessions, one turn each (send → agent.message on its own stream): p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}; ` +
      `${latencies.length}/${opts.sessions} completed in ${(seconds * 1000).toFixed(0)} ms = ${(latencies.length / seconds).toFixed(0)} turns/s`,
  );
  if (failures.length) console.log(`  failures (${failures.length}): ${failures.slice(0, 5).join('; ')}`);
}
