// Server memory: RSS (VmRSS from /proc) of a built Hangar child process idle after start, after
// 1,000 and after N one-turn sessions (official SDK, bounded concurrency, fake upstream in this
// process), and again after the load has stopped for a while. No forced GC is possible in the child.
import Anthropic from '@anthropic-ai/sdk';
import { performance } from 'node:perf_hooks';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { BENCH_API_KEY, BUILT_ENTRY, cpuMs, loadNote, requireFreshBuild, rssMiB, spawnServer } from './child-server.ts';
import { EventTap, pool, sessionFactory, userMessage } from './lib.ts';

export interface MemoryOptions {
  /** Total one-turn sessions (RSS is also read at 1,000). */
  sessions: number;
  concurrency: number;
  /** How long to wait after the load before the last RSS reading. */
  settleMs: number;
}

export async function benchMemory(opts: MemoryOptions): Promise<void> {
  requireFreshBuild();
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const s = await spawnServer({ entry: BUILT_ENTRY, env: { ANTHROPIC_BASE_URL: up.url } });
  const client = new Anthropic({ baseURL: s.url, apiKey: BENCH_API_KEY, maxRetries: 0, timeout: 30_000 });
  console.log(`\nmemory (child process node ${BUILT_ENTRY.join(' ')}, RSS from /proc/${s.pid}/status; ${loadNote()})`);
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    console.log(`  idle after start (1 s):         RSS ${rssMiB(s.pid).toFixed(1)} MiB (target ≤ 80 MiB)`);
    const newSession = await sessionFactory(client);
    let done = 0;
    let failed = 0;
    const runTo = async (total: number) => {
      const t0 = performance.now();
      const cpu0 = cpuMs(s.pid);
      const from = done + failed;
      await pool(Array.from({ length: total - from }), opts.concurrency, async () => {
        try {
          const id = await newSession();
          const tap = await EventTap.open(client, id);
          try {
            const msg = tap.next('agent.message');
            const idle = tap.next('session.status_idle');
            await client.beta.sessions.events.send(id, userMessage('hello'));
            await msg;
            await idle;
          } finally {
            tap.close();
          }
          done++;
        } catch {
          failed++;
        }
        // The fake upstream records every request; keep only the server's memory growing.
        if (up.requests.length > 1_000) up.requests.length = 0;
      });
      const secs = (performance.now() - t0) / 1000;
      const n = total - from;
      console.log(`  after ${String(total).padStart(6)} sessions:        RSS ${rssMiB(s.pid).toFixed(1)} MiB` +
        `${total === 1_000 ? ' (target ≤ 150 MiB)' : ''}  [${n} in ${secs.toFixed(1)} s, ${(n / secs).toFixed(0)}/s, ` +
        `server CPU ${((cpuMs(s.pid) - cpu0) / n).toFixed(1)} ms/session, failed so far ${failed}]`);
    };
    await runTo(Math.min(1_000, opts.sessions));
    if (opts.sessions > 1_000) await runTo(opts.sessions);
    await new Promise((r) => setTimeout(r, opts.settleMs));
    console.log(`  ${opts.settleMs / 1000} s after the load stopped:  RSS ${rssMiB(s.pid).toFixed(1)} MiB  [${done} sessions ok, ${failed} failed]`);
  } finally {
    await s.stop();
    await up.close();
  }
}
