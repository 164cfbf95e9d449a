// The log cache's freshness check on a long session: how long `sessions.log()` takes when the
// cached log is current (the check plus the copy handed to the caller), beside the two candidate
// check queries on their own. Runs against a real SQLite file, no server.
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/adapters/store-sqlite/sqlite-store.ts';
import { summarize } from './lib.ts';

export interface LogCacheOptions {
  /** Events in the measured session (issue 16 profiled 13,800). */
  events: number;
  /** Events in another session sharing the table, so the index holds more than one session. */
  otherEvents: number;
  calls: number;
  warmup: number;
}

const us = (x: number) => `${(x * 1000).toFixed(1)} µs`;

export async function benchLogCache(opts: LogCacheOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-logcache-'));
  const store = new SqliteStore(join(dir, 'hangar.db'));
  try {
    const ev = (id: string) => ({ id, type: 'user.message', content: [{ type: 'text', text: `message ${id}` }], processed_at: null });
    for (const [id, n] of [['sesn_other', opts.otherEvents], ['sesn_long', opts.events]] as const) {
      const session = { type: 'session', id, status: 'idle' as const, created_at: '2026-05-01T00:00:00.000Z', agent: { id: 'agent_1', version: 1 }, usage: {} };
      await store.sessions.insert({ session, runningSince: null, retryCount: 0 }, []);
      for (let i = 0; i < n; i += 500) {
        const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => ev(`sevt_${id}_${i + j}`));
        await store.sessions.commit(id, () => ({ now: '2026-05-01T00:00:01.000Z', events: batch }));
      }
    }
    const time = async (fn: () => unknown) => {
      for (let i = 0; i < opts.warmup; i++) await fn();
      const samples: number[] = [];
      for (let i = 0; i < opts.calls; i++) {
        const t0 = performance.now();
        await fn();
        samples.push(performance.now() - t0);
      }
      return summarize(samples);
    };
    const hit = await time(() => store.sessions.log('sesn_long'));
    const count = await time(() => store.get('SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS m FROM events WHERE session_id = ?', 'sesn_long'));
    const max = await time(() => store.get('SELECT COALESCE(MAX(seq), 0) AS m FROM events WHERE session_id = ?', 'sesn_long'));
    console.log(`log cache hit on a ${opts.events}-event session (sessions.log(), check + copy): p50 ${us(hit.p50)}, p99 ${us(hit.p99)} (n=${hit.n})`);
    console.log(`  check queries alone: COUNT(*) + MAX(seq) p50 ${us(count.p50)}, MAX(seq) p50 ${us(max.p50)}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
