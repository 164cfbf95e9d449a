// Cold start: spawns the real entry point N times (fresh data dir, free port each) and times
// spawn → first 200 on /health, with the child's own CPU ms up to that moment (from /proc).
import { BUILT_ENTRY, SOURCE_ENTRY, loadNote, requireFreshBuild, spawnServer } from './child-server.ts';
import { summarize } from './lib.ts';

export interface ColdStartOptions {
  runs: number;
}

async function measure(label: string, entry: string[], runs: number): Promise<void> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await spawnServer({ entry });
    wall.push(s.startWallMs);
    cpu.push(s.startCpuMs);
    await s.stop();
  }
  const w = summarize(wall);
  const c = summarize(cpu);
  console.log(`  ${label}: spawn → first 200 on /health p50 ${w.p50.toFixed(0)} ms, max ${w.max.toFixed(0)} ms (target ≤ 300 ms); ` +
    `child CPU p50 ${c.p50.toFixed(0)} ms, max ${c.max.toFixed(0)} ms  [${runs} runs]`);
}

export async function benchColdStart(opts: ColdStartOptions): Promise<void> {
  requireFreshBuild();
  console.log(`\ncold start (child process, fresh data dir and port each run; ${loadNote()})`);
  await measure(`built   node ${BUILT_ENTRY.join(' ')}`, BUILT_ENTRY, opts.runs);
  await measure(`source  node ${SOURCE_ENTRY.join(' ')}`, SOURCE_ENTRY, opts.runs);
}
