// SQLite repo of package layer builds: one row per layer key, claimed with a lease by a single
// conditional UPDATE (atomic on its own), so two processes never build the same layer at once.
import type { PackageLayerRepo, PackageLayerRow } from '../../ports/store.ts';
import { packageLayerRow as toRow } from '../store-common/store-rows.ts';
import type { SqliteAccess } from './sqlite-work-repo.ts';

export class SqlitePackageLayerRepo implements PackageLayerRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async get(key: string): Promise<PackageLayerRow | undefined> {
    const r = this.s.get('SELECT * FROM package_layers WHERE key = ?', key);
    return r ? toRow(r) : undefined;
  }

  async request(key: string, packages: Record<string, string[]>, now: string, opts: { retryFailed: boolean }): Promise<PackageLayerRow> {
    this.s.run(
      "INSERT INTO package_layers (key, packages, status, created_at) VALUES (?, ?, 'pending', ?) ON CONFLICT (key) DO NOTHING",
      key, JSON.stringify(packages), now);
    if (opts.retryFailed) {
      this.s.run(
        "UPDATE package_layers SET status = 'pending', error = NULL, log_tail = NULL, started_at = NULL, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE key = ? AND status = 'failed'",
        key);
    }
    return (await this.get(key))!;
  }

  async claim(key: string, owner: string, nowMs: number, leaseMs: number, now: string): Promise<boolean> {
    const n = this.s.run(
      `UPDATE package_layers SET status = 'building', lease_owner = ?, lease_expires_at = ?, started_at = ?, finished_at = NULL, error = NULL
       WHERE key = ? AND (status = 'pending' OR (status = 'building' AND lease_expires_at < ?))`,
      owner, nowMs + leaseMs, now, key, nowMs);
    return n > 0;
  }

  async renew(key: string, owner: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const n = this.s.run(
      "UPDATE package_layers SET lease_expires_at = ? WHERE key = ? AND status = 'building' AND lease_owner = ?",
      nowMs + leaseMs, key, owner);
    return n > 0;
  }

  async finish(key: string, owner: string, result: { status: 'ready' | 'failed'; error: string | null; logTail: string | null; now: string }): Promise<boolean> {
    const n = this.s.run(
      `UPDATE package_layers SET status = ?, error = ?, log_tail = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE key = ? AND status = 'building' AND lease_owner = ?`,
      result.status, result.error, result.logTail, result.now, key, owner);
    return n > 0;
  }

  async unclaimed(nowMs: number, limit: number): Promise<string[]> {
    const rows = this.s.all(
      "SELECT key FROM package_layers WHERE status = 'pending' OR (status = 'building' AND lease_expires_at < ?) ORDER BY created_at, key LIMIT ?",
      nowMs, limit);
    return rows.map((r) => String(r.key));
  }
}
