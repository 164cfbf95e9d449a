// Failed-authentication throttle (issue 18: "1,000 wrong keys in 706 ms"). Starts its own Hangar
// with the default limit (HANGAR_AUTH_FAIL_LIMIT 20 per 60 s) and sends 1,000 requests with wrong
// keys from one address, 20 at a time: how many were evaluated (401) and how many refused (429),
// how long it took, and what the right key gets while the address is locked out. Then the same
// 1,000 wrong keys against a server with the throttle off, for comparison. Each server first answers
// 300 requests with the right key (warm-up; they do not count against the address).
import { performance } from 'node:perf_hooks';
import { startHangar } from '../test/kit/hangar.ts';

export interface AuthFailureBenchOptions {
  attempts: number;
  concurrency: number;
  /** Requests with the right key first (they never count against the address). */
  warmup: number;
}

async function warmUp(url: string, key: string, n: number, concurrency: number): Promise<void> {
  for (let i = 0; i < n; i += concurrency) {
    await Promise.all(Array.from({ length: concurrency }, () => fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer())));
  }
}

async function attack(url: string, attempts: number, concurrency: number): Promise<{ counts: Map<number, number>; ms: number }> {
  const counts = new Map<number, number>();
  const t0 = performance.now();
  for (let i = 0; i < attempts; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, attempts - i) }, (_, j) =>
      fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer sk-guess-${i + j}-000000000000` } }).then(async (r) => {
        await r.arrayBuffer();
        counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      }));
    await Promise.all(batch);
  }
  return { counts, ms: performance.now() - t0 };
}

export async function benchAuthFailures(o: AuthFailureBenchOptions): Promise<void> {
  const fmt = (c: Map<number, number>) => [...c].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ');
  const throttled = await startHangar();
  try {
    await warmUp(throttled.url, throttled.apiKey, o.warmup, o.concurrency);
    const { counts, ms } = await attack(throttled.url, o.attempts, o.concurrency);
    const right = await fetch(`${throttled.url}/v1/agents`, { headers: { authorization: `Bearer ${throttled.apiKey}` } });
    console.log(`auth failures, default throttle: ${o.attempts} wrong keys in ${ms.toFixed(0)} ms → ${fmt(counts)} (keys evaluated: ${counts.get(401) ?? 0}); right key while locked out: ${right.status}, retry-after ${right.headers.get('retry-after')} s`);
  } finally {
    await throttled.close();
  }
  const open = await startHangar({ env: { HANGAR_AUTH_FAIL_LIMIT: '0' } });
  try {
    await warmUp(open.url, open.apiKey, o.warmup, o.concurrency);
    const { counts, ms } = await attack(open.url, o.attempts, o.concurrency);
    console.log(`auth failures, throttle off:     ${o.attempts} wrong keys in ${ms.toFixed(0)} ms → ${fmt(counts)} (keys evaluated: ${counts.get(401) ?? 0})`);
  } finally {
    await open.close();
  }
}
