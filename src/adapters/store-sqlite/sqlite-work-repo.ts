// SQLite repos of the self-hosted work queue: work items (lease columns beside the wire JSON),
// the worker ids seen polling, and environment keys. Hand-outs run in one BEGIN IMMEDIATE
// transaction, so concurrent pollers (in this process or another) never get the same item.
import type {
  EnvironmentKeyRepo, EnvironmentKeyRow, Page, PageQuery, WorkRepo, WorkRow,
} from '../../ports/store.ts';
import { keyset, pageOf } from './sqlite-paging.ts';
import { WORK_WAITING, num, workRow, type Row } from '../store-common/store-rows.ts';
type Param = string | number | null;

/** The slice of `SqliteStore` these repos use. */
export interface SqliteAccess {
  all(sql: string, ...params: Param[]): Row[];
  get(sql: string, ...params: Param[]): Row | undefined;
  run(sql: string, ...params: Param[]): number;
  tx<T>(fn: () => T): T;
}

export class SqliteWorkRepo implements WorkRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  private toRow(r: Row): WorkRow {
    return workRow(r);
  }

  private write(row: WorkRow): void {
    const { state, secret: _secret, ...data } = row.work;
    this.s.run(
      'UPDATE work_items SET state = ?, polled_at = ?, lease_expires_at = ?, ttl_seconds = ?, token_hash = ?, data = ? WHERE id = ?',
      state, row.polledAt, row.leaseExpiresAt, row.ttlSeconds, row.tokenHash, JSON.stringify(data), row.work.id);
  }

  private insertNow(row: WorkRow): void {
    const { state, secret: _secret, ...data } = row.work;
    const sessionId = row.work.data.type === 'session' ? row.work.data.id : null;
    this.s.run(
      `INSERT INTO work_items (id, environment_id, session_id, state, created_at, polled_at, lease_expires_at, ttl_seconds, token_hash, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.work.id, row.work.environment_id, sessionId, state, row.work.created_at, row.polledAt, row.leaseExpiresAt,
      row.ttlSeconds, row.tokenHash, JSON.stringify(data));
  }

  async insert(row: WorkRow) {
    this.insertNow(row);
  }

  async get(id: string) {
    const r = this.s.get('SELECT * FROM work_items WHERE id = ?', id);
    return r ? this.toRow(r) : undefined;
  }

  async findByTokenHash(hash: string) {
    const r = this.s.get('SELECT * FROM work_items WHERE token_hash = ?', hash);
    return r ? this.toRow(r) : undefined;
  }

  async update<R>(id: string, decide: (row: WorkRow) => { row?: WorkRow; result: R }) {
    return this.s.tx(() => {
      const r = this.s.get('SELECT * FROM work_items WHERE id = ?', id);
      if (!r) return undefined;
      const out = decide(this.toRow(r));
      if (out.row) this.write(out.row);
      return { result: out.result };
    });
  }

  async claim(environmentId: string, q: { nowMs: number; handedOutBefore: number }, decide: (row: WorkRow) => WorkRow | undefined) {
    return this.s.tx(() => {
      const candidates = this.s.all(
        `SELECT * FROM work_items WHERE environment_id = ? AND (
           (state = 'queued' AND (polled_at IS NULL OR polled_at <= ?))
           OR (state IN ('starting', 'active') AND lease_expires_at < ?))
         ORDER BY seq LIMIT 16`,
        environmentId, q.handedOutBefore, q.nowMs);
      for (const r of candidates) {
        const next = decide(this.toRow(r));
        if (next) {
          this.write(next);
          return next;
        }
      }
      return undefined;
    });
  }

  async insertUnlessLive(row: WorkRow) {
    return this.s.tx(() => {
      const live = this.s.get(
        "SELECT 1 AS x FROM work_items WHERE session_id = ? AND state IN ('queued', 'starting', 'active') LIMIT 1", row.work.data.id);
      if (live) return false;
      this.insertNow(row);
      return true;
    });
  }

  async list(environmentId: string, q: PageQuery) {
    const k = keyset(q);
    const rows = this.s.all(`SELECT * FROM work_items WHERE environment_id = ?${k.where}${k.orderBy}`, environmentId, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.toRow(r));
  }

  async queueStats(environmentId: string, nowMs: number) {
    const r = this.s.get(
      `SELECT
         COALESCE(SUM(CASE WHEN ${WORK_WAITING} THEN 1 ELSE 0 END), 0) AS waiting,
         COALESCE(SUM(CASE WHEN state = 'queued' AND polled_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS handed_out,
         MIN(CASE WHEN state = 'queued' OR (state IN ('starting', 'active') AND lease_expires_at < ?) THEN created_at END) AS oldest
       FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')`,
      nowMs, nowMs, environmentId)!;
    return { waiting: Number(r.waiting), handedOut: Number(r.handed_out), oldestCreatedAt: (r.oldest as string | null) ?? null };
  }

  async waitingTotal(nowMs: number) {
    const r = this.s.get(`SELECT COUNT(*) AS n FROM work_items WHERE ${WORK_WAITING}`, nowMs);
    return Number(r?.n ?? 0);
  }

  async dueTimes(environmentId: string) {
    const r = this.s.get(
      `SELECT
         MIN(CASE WHEN state = 'queued' THEN polled_at END) AS handed,
         MIN(CASE WHEN state IN ('starting', 'active') THEN lease_expires_at END) AS lease
       FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')`, environmentId)!;
    return { oldestHandOut: num(r.handed), earliestLeaseEnd: num(r.lease) };
  }

  async notePoller(environmentId: string, workerId: string, nowMs: number, forgetBefore: number) {
    this.s.run(
      `INSERT INTO work_pollers (environment_id, worker_id, last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (environment_id, worker_id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
      environmentId, workerId, nowMs);
    this.s.run('DELETE FROM work_pollers WHERE environment_id = ? AND last_seen_at < ?', environmentId, forgetBefore);
  }

  async pollers(environmentId: string, sinceMs: number) {
    const r = this.s.get(
      'SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN last_seen_at >= ? THEN 1 ELSE 0 END), 0) AS recent FROM work_pollers WHERE environment_id = ?',
      sinceMs, environmentId)!;
    return Number(r.n) === 0 ? null : Number(r.recent);
  }
}

export class SqliteEnvironmentKeyRepo implements EnvironmentKeyRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async insert(row: EnvironmentKeyRow) {
    this.s.run('INSERT INTO environment_keys (id, environment_id, hash, data) VALUES (?, ?, ?, ?)',
      row.key.id, row.key.environment_id, row.hash, JSON.stringify(row.key));
  }

  async findByHash(hash: string) {
    const r = this.s.get('SELECT hash, data FROM environment_keys WHERE hash = ?', hash);
    return r ? { key: JSON.parse(String(r.data)), hash: String(r.hash) } : undefined;
  }

  async list(environmentId: string, q: PageQuery) {
    const k = keyset(q);
    const rows = this.s.all(`SELECT seq, data FROM environment_keys WHERE environment_id = ?${k.where}${k.orderBy}`, environmentId, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as EnvironmentKeyRow['key']);
  }

  async delete(environmentId: string, id: string) {
    return this.s.run('DELETE FROM environment_keys WHERE environment_id = ? AND id = ?', environmentId, id) > 0;
  }
}
