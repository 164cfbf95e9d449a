// Entry point of `npm run bench`: runs each benchmark on its own fresh in-process server and prints
// its figures. `npm run bench -- heap` runs only the named ones (overhead, budget, concurrent, heap, idem, sandbox, burst, workqueue, mcp, policy, auth, providers, logcache, compaction, soak, long, start, memory, throughput, tracing, threads, postgres, postgres-nodes, postgres-scale, console, spend).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRig, type BenchRig } from './lib.ts';
import { benchTurnOverhead } from './turn-overhead.ts';
import { benchConcurrentSessions } from './concurrent-sessions.ts';
import { benchIdleSessionHeap } from './idle-session-heap.ts';
import { benchSandboxTools } from './sandbox-tools.ts';
import { benchSandboxBurst } from './sandbox-burst.ts';
import { benchWorkQueue } from './work-queue.ts';
import { benchMcp } from './mcp.ts';
import { benchAutoPolicy } from './auto-policy.ts';
import { benchAuthFailures } from './auth-failures.ts';
import { benchAuth } from './auth.ts';
import { benchIdempotency } from './idempotency.ts';
import { benchProviders } from './providers.ts';
import { benchLogCache } from './log-cache.ts';
import { benchLongSession } from './long-session.ts';
import { benchColdStart } from './cold-start.ts';
import { benchMemory } from './memory.ts';
import { benchThroughput } from './throughput.ts';
import { benchTracing } from './tracing.ts';
import { benchThreads } from './threads.ts';
import { benchPostgresStore } from './postgres-store.ts';
import { benchPostgresNodes } from './postgres-nodes.ts';
import { benchPostgresScale } from './postgres-scale.ts';
import { benchConsole } from './console.ts';
import { benchSpend } from './spend.ts';
import { benchCompaction } from './compaction.ts';
import { benchSoak } from './soak.ts';

// The heap figure needs a forced GC: re-run this script under --expose-gc with the same Node.
// Bytecode flushing is off so code V8 discards during the run is not counted as session savings.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-flush-bytecode', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const BENCHES: Record<string, (rig: BenchRig) => Promise<void>> = {
  overhead: (rig) => benchTurnOverhead(rig, { turns: 300, warmup: 50, countedTurns: 50 }),
  budget: (rig) => benchTurnOverhead(rig, { turns: 300, warmup: 50, countedTurns: 50, budgetCents: '100000000' }),
  concurrent: (rig) => benchConcurrentSessions(rig, { sessions: 200, turnTimeoutMs: 60_000 }),
  heap: (rig) => benchIdleSessionHeap(rig, { sessions: 1000, warmup: 200 }),
  idem: (rig) => benchIdempotency(rig, { creates: 300, warmup: 30 }),
  // LONG_TURNS shortens (or lengthens) the long session; 10,000 turns is the figure.
  long: (rig) => benchLongSession(rig, { turns: Number(process.env.LONG_TURNS ?? 10_000), window: 100, warmup: 50, listEvents: 100_000, listSamples: 200 }),
};
// Benchmarks that wire their own server (here: a timed tool runner around real bubblewrap sandboxes).
const STANDALONE: Record<string, () => Promise<void>> = {
  sandbox: () => benchSandboxTools({
    firstCalls: 30, warmupSessions: 3, warmCalls: 200, warmupCalls: 20, concurrent: 50, rawShell: 200, rawExec: 30, turnTimeoutMs: 60_000,
  }),
  burst: () => benchSandboxBurst({ sessions: 200, turnTimeoutMs: 120_000 }),
  workqueue: () => benchWorkQueue({ pickups: 200, pickupWarmup: 20, turns: 20, warmupTurns: 2, roundsPerTurn: 10 }),
  mcp: () => benchMcp({ calls: 200, warmup: 20 }),
  policy: () => benchAutoPolicy({ rounds: 2000, warmup: 200 }),
  auth: async () => {
    await benchAuthFailures({ attempts: 1000, concurrency: 20, warmup: 300 });
    await benchAuth({ requests: 20_000, warmup: 2000 });
  },
  providers: () => benchProviders({ turns: 300, warmup: 50, accountingTurns: 1000 }),
  // SOAK_SESSIONS × SOAK_MINUTES, memory sampled every SOAK_SAMPLE_S seconds (a day compressed: defaults 20 × 10 min, 60 s).
  soak: () => benchSoak({
    sessions: Number(process.env.SOAK_SESSIONS ?? 20), minutes: Number(process.env.SOAK_MINUTES ?? 10),
    sampleSeconds: Number(process.env.SOAK_SAMPLE_S ?? 60), window: 8_000, toolEvery: 5,
  }),
  // COMPACTION_TURNS: turns of the compacting session (default 1,000).
  compaction: () => benchCompaction({ turns: Number(process.env.COMPACTION_TURNS ?? 1_000), window: 8_000, ends: 100 }),
  logcache: () => benchLogCache({ events: 13_800, otherEvents: 13_800, calls: 2000, warmup: 200 }),
  start: () => benchColdStart({ runs: 10 }),
  memory: () => benchMemory({ sessions: Number(process.env.MEMORY_SESSIONS ?? 10_000), concurrency: 20, settleMs: 10_000 }),
  tracing: () => benchTracing({ turns: 300, warmup: 50 }),
  threads: () => benchThreads({ rounds: 100, warmup: 20, fanOut: 20, fanOutRuns: 20 }),
  // SQLite vs PostgreSQL on one node (HANGAR_TEST_DATABASE_URL, or a throwaway local cluster).
  postgres: () => benchPostgresStore({ turns: 300, warmup: 50, creates: 200, lists: 200, commits: 200, batches: [1, 10, 100] }),
  'postgres-nodes': () => benchPostgresNodes({ turns: 100, interrupts: 30, claims: 100, warmup: 5 }),
  // Turns/s of PGSCALE_SESSIONS sessions on 1 node vs 3 nodes (PGSCALE_NODES): PGSCALE_WARMUP_S then PGSCALE_SECONDS measured per configuration.
  'postgres-scale': () => benchPostgresScale({
    sessions: Number(process.env.PGSCALE_SESSIONS ?? 200), nodeCounts: (process.env.PGSCALE_NODES ?? '1,3').split(',').map(Number),
    warmupSeconds: Number(process.env.PGSCALE_WARMUP_S ?? 3), seconds: Number(process.env.PGSCALE_SECONDS ?? 5),
    debug: Boolean(process.env.PGSCALE_DEBUG),
  }),
  console: () => benchConsole({ loads: 5, sessions: 50, historyTurns: 50, liveTurns: 20, streamTurns: 3 }),
  spend: () => benchSpend({ requests: 1000, warmup: 100 }),
  throughput: () => benchThroughput({ rates: [50, 100, 200, 400], seconds: Number(process.env.THROUGHPUT_SECONDS ?? 10), turnTimeoutMs: 30_000 }),
};
const ALL = [...Object.keys(BENCHES), ...Object.keys(STANDALONE)];

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!ALL.includes(name)) {
    console.error(`unknown benchmark "${name}"; choose from ${ALL.join(', ')}`);
    process.exit(2);
  }
}

console.log(`hangar bench — Node ${process.version}, ${process.platform}/${process.arch}`);
// Minutes long (or needing a fresh build), so only run when named.
const OPT_IN = new Set(['long', 'compaction', 'soak', 'start', 'memory', 'throughput', 'postgres-nodes', 'postgres-scale', 'console']);
for (const [name, bench] of Object.entries(BENCHES)) {
  if (wanted.length ? !wanted.includes(name) : OPT_IN.has(name)) continue;
  const rig = await startRig();
  try {
    await bench(rig);
  } finally {
    await rig.close();
  }
}
for (const [name, bench] of Object.entries(STANDALONE)) {
  if (wanted.length ? !wanted.includes(name) : OPT_IN.has(name)) continue;
  await bench();
}
