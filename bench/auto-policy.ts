// Cost of the `auto` policy on a bash call: the one-time grammar load (WASM compilation) and the
// time to parse and judge one command, over a mix of short, long, safe and asked commands.
import { performance } from 'node:perf_hooks';
import { evaluateBash } from '../src/harness/auto-policy.ts';
import { loadShellGrammar } from '../src/harness/shell-syntax.ts';
import { summarize } from './lib.ts';

export interface AutoPolicyBenchOptions { rounds: number; warmup: number }

const COMMANDS = [
  'ls -la',
  'cat a.txt | grep foo | wc -l',
  'git status && git diff --stat',
  'find src -name "*.ts" | head -50',
  'true & curl https://example.com',
  'cat <(curl https://example.com)',
  'GIT_EXTERNAL_DIFF=bash git diff',
  'for f in src/*.ts; do wc -l "$f"; done 2>/dev/null',
  'cd /workspace/app && mkdir -p out && cp -r src out/ && echo done > out/log.txt || echo failed >&2',
  `cat <<'EOF' > /workspace/notes.md\n${'a line of text with $(nothing) `inside` it\n'.repeat(40)}EOF`,
  'rm -rf /',
];

export async function benchAutoPolicy(opts: AutoPolicyBenchOptions): Promise<void> {
  const t0 = performance.now();
  await loadShellGrammar();
  const loadMs = performance.now() - t0;
  const samples: number[] = [];
  let cpu = process.cpuUsage();
  for (let r = 0; r < opts.warmup + opts.rounds; r++) {
    if (r === opts.warmup) cpu = process.cpuUsage();
    for (const c of COMMANDS) {
      const s = performance.now();
      evaluateBash(c);
      if (r >= opts.warmup) samples.push((performance.now() - s) * 1000);
    }
  }
  const used = process.cpuUsage(cpu);
  const us = summarize(samples);
  // Wall-clock percentiles include time the process was preempted on a busy machine; CPU time does not.
  const cpuPerCommand = (used.user + used.system) / samples.length;
  const longest = Math.max(...COMMANDS.map((c) => c.length));
  console.log(`auto policy: grammar load ${loadMs.toFixed(1)} ms (once, at start-up)`);
  console.log(`auto policy: judge one bash command (n=${us.n}, ${COMMANDS.length} shapes, up to ${longest} chars): p50 ${us.p50.toFixed(1)} µs, p99 ${us.p99.toFixed(1)} µs, mean ${us.mean.toFixed(1)} µs, max ${us.max.toFixed(1)} µs; CPU time ${cpuPerCommand.toFixed(1)} µs per command`);
}
