// Memory a server keeps per idle session: JS heap after GC, before and after creating sessions
// that each ran one turn and went idle (streams closed). Needs `--expose-gc` (bench/run.ts adds it).
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRig } from './lib.ts';
import { oneTurn, pool, sessionFactory } from './lib.ts';

export interface HeapOptions {
  sessions: number;
  warmup: number;
}

async function settledMemory(rig: BenchRig): Promise<NodeJS.MemoryUsage> {
  // The fake upstream and the model timer live in this process too: drop what they recorded so
  // only the server's own retention is counted.
  rig.up.requests.length = 0;
  rig.model.calls.length = 0;
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Collect until the heap stops shrinking, so late finalizers and sweeps don't pass for savings.
  let last = Infinity;
  for (let i = 0; i < 20; i++) {
    await sleep(30);
    gc();
    const used = process.memoryUsage().heapUsed;
    if (i >= 3 && last - used < 32 * 1024) break;
    last = used;
  }
  return process.memoryUsage();
}

export async function benchIdleSessionHeap(rig: BenchRig, opts: HeapOptions): Promise<void> {
  const { client } = rig;
  const newSession = await sessionFactory(client);
  const turn = async (_: unknown, i: number) => oneTurn(client, await newSession(), `hello ${i}`);
  await pool(Array.from({ length: opts.warmup }), 10, turn);

  const before = await settledMemory(rig);
  await pool(Array.from({ length: opts.sessions }), 10, turn);
  const after = await settledMemory(rig);

  const kb = (bytes: number) => (bytes / 1024 / opts.sessions).toFixed(2);
  const perSession = (after.heapUsed - before.heapUsed) / 1024 / opts.sessions;
  const verdict = perSession <= 20 ? 'meets' : 'misses';
  console.log(
    `heap per idle session (${opts.sessions} sessions, one turn each, streams closed, after GC): ${perSession.toFixed(2)} KB — ${verdict} target ≤ 20 KB`,
  );
  console.log(
    `  heapUsed ${(before.heapUsed / 1048576).toFixed(1)} → ${(after.heapUsed / 1048576).toFixed(1)} MB; ` +
      `per session also: external ${kb(after.external - before.external)} KB, rss ${kb(after.rss - before.rss)} KB (rss includes SQLite's page cache)`,
  );
}
