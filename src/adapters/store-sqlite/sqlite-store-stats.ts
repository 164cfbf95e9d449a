// Figures `GET /metrics` reads from the SQLite store at scrape time: sessions by status and the
// self-hosted work waiting for a worker, over every environment. Read from the store rather than
// counted in memory so they hold across restarts and every process reports the same.
import type { MetricsSnapshotSource } from '../../ports/metrics.ts';
import type { SqliteStore } from './sqlite-store.ts';

export class SqliteStoreStats implements MetricsSnapshotSource {
  private readonly s: SqliteStore;
  constructor(s: SqliteStore) {
    this.s = s;
  }

  async sessionsByStatus(): Promise<Record<string, number>> {
    const out: Record<string, number> = { idle: 0, running: 0, rescheduling: 0, terminated: 0 };
    for (const r of this.s.all('SELECT status, COUNT(*) AS n FROM sessions GROUP BY status')) out[String(r.status)] = Number(r.n);
    return out;
  }

  /** The `waiting` figure of `queueStats`, over all environments. */
  async workQueueDepth(nowMs: number): Promise<number> {
    const r = this.s.get(
      `SELECT COUNT(*) AS n FROM work_items
       WHERE (state = 'queued' AND polled_at IS NULL) OR (state IN ('starting', 'active') AND lease_expires_at < ?)`, nowMs);
    return Number(r?.n ?? 0);
  }
}
