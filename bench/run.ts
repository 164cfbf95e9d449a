// Entry point of `npm run bench`: runs each benchmark on its own fresh in-process server and prints
// its figures. `npm run bench -- heap` runs only the named ones (overhead, concurrent, heap).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRig, type BenchRig } from './lib.ts';
import { benchTurnOverhead } from './turn-overhead.ts';
import { benchConcurrentSessions } from './concurrent-sessions.ts';
import { benchIdleSessionHeap } from './idle-session-heap.ts';

// The heap figure needs a forced GC: re-run this script under --expose-gc with the same Node.
// Bytecode flushing is off so code V8 discards during the run is not counted as session savings.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-flush-bytecode', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const BENCHES: Record<string, (rig: BenchRig) => Promise<void>> = {
  overhead: (rig) => benchTurnOverhead(rig, { turns: 300, warmup: 50 }),
  concurrent: (rig) => benchConcurrentSessions(rig, { sessions: 200, turnTimeoutMs: 60_000 }),
  heap: (rig) => benchIdleSessionHeap(rig, { sessions: 1000, warmup: 200 }),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in BENCHES)) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}

console.log(`hangar bench — Node ${process.version}, ${process.platform}/${process.arch}`);
for (const [name, bench] of Object.entries(BENCHES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const rig = await startRig();
  try {
    await bench(rig);
  } finally {
    await rig.close();
  }
}
