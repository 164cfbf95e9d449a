// A worker thread that opens its own SQLite connection on a shared database file and claims work
// items until none is left, reporting the ids it got (for the cross-connection no-double-claim test).
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { claimable, handOut, settle } from '../../src/domain/work.ts';

const { file, environmentId, thread, barrier, threads } = workerData as { file: string; environmentId: string; thread: number; barrier: SharedArrayBuffer; threads: number };
const store = new SqliteStore(file);
// Start together, so the hand-outs really race.
const gate = new Int32Array(barrier);
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
while (Atomics.load(gate, 0) < threads) Atomics.wait(gate, 0, Atomics.load(gate, 0), 50);
const got: string[] = [];
let n = 0;
for (;;) {
  const now = Date.now();
  const row = await store.work.claim(environmentId, { nowMs: now, handedOutBefore: now - 60_000 }, (r) => {
    const s = settle(r, now);
    return claimable(s, now, 60_000) ? handOut(s, now, `hash-${thread}-${n++}`) : undefined;
  });
  if (!row) break;
  got.push(row.work.id);
  // Let the other connections in between hand-outs, as a real poller's network round trip would.
  await new Promise((r) => setTimeout(r, 0));
}
await store.close();
parentPort!.postMessage(got);
