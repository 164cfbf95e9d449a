// PostgreSQL repos of the self-hosted work queue: work items (lease columns beside the wire JSON),
// the worker ids seen polling, and environment keys. Hand-outs (`claimWorkItem`) lock candidate
// rows with FOR UPDATE SKIP LOCKED, so pollers on any node never get the same item and never wait
// on each other; read-modify-writes lock their one row.
import type {
  EnvironmentKeyRepo, EnvironmentKeyRow, PageQuery, WorkRepo, WorkRow,
} from '../../ports/store.ts';
import type { PgDb, Querier } from './pg-db.ts';
import { WORK_WAITING, num, workRow as toWorkRow } from '../store-common/store-rows.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';

/** Advisory-lock namespace serializing "insert unless a live item exists" per session. */
const SESSION_ITEM_LOCK = 0x776f726b;


async function writeWorkRow(q: Querier, row: WorkRow): Promise<void> {
  const { state, secret: _secret, ...data } = row.work;
  await q.run(
    'UPDATE work_items SET state = ?, polled_at = ?, lease_expires_at = ?, ttl_seconds = ?, token_hash = ?, data = ? WHERE id = ?',
    state, row.polledAt, row.leaseExpiresAt, row.ttlSeconds, row.tokenHash, JSON.stringify(data), row.work.id);
}

async function insertWorkRow(q: Querier, row: WorkRow): Promise<void> {
  const { state, secret: _secret, ...data } = row.work;
  const sessionId = row.work.data.type === 'session' ? row.work.data.id : null;
  await q.run(
    `INSERT INTO work_items (id, environment_id, session_id, state, created_at, polled_at, lease_expires_at, ttl_seconds, token_hash, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.work.id, row.work.environment_id, sessionId, state, row.work.created_at, row.polledAt, row.leaseExpiresAt,
    row.ttlSeconds, row.tokenHash, JSON.stringify(data));
}

/**
 * One hand-out: in one transaction, lock up to 16 claimable rows of the environment that no other
 * transaction holds (SKIP LOCKED), oldest first, and write the first one `decide` accepts.
 */
export async function claimWorkItem(
  db: PgDb, environmentId: string, q: { nowMs: number; handedOutBefore: number }, decide: (row: WorkRow) => WorkRow | undefined,
): Promise<WorkRow | undefined> {
  return db.tx(async (t) => {
    const candidates = await t.all(
      `SELECT * FROM work_items WHERE environment_id = ? AND (
         (state = 'queued' AND (polled_at IS NULL OR polled_at <= ?))
         OR (state IN ('starting', 'active') AND lease_expires_at < ?))
       ORDER BY seq LIMIT 16 FOR UPDATE SKIP LOCKED`,
      environmentId, q.handedOutBefore, q.nowMs);
    for (const r of candidates) {
      const next = decide(toWorkRow(r));
      if (next) {
        await writeWorkRow(t, next);
        return next;
      }
    }
    return undefined;
  });
}

export class PgWorkRepo implements WorkRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(row: WorkRow) {
    await insertWorkRow(this.s, row);
  }

  async get(id: string) {
    const r = await this.s.get('SELECT * FROM work_items WHERE id = ?', id);
    return r ? toWorkRow(r) : undefined;
  }

  async findByTokenHash(hash: string) {
    const r = await this.s.get('SELECT * FROM work_items WHERE token_hash = ?', hash);
    return r ? toWorkRow(r) : undefined;
  }

  async update<R>(id: string, decide: (row: WorkRow) => { row?: WorkRow; result: R }) {
    return this.s.tx(async (q) => {
      const r = await q.get('SELECT * FROM work_items WHERE id = ? FOR UPDATE', id);
      if (!r) return undefined;
      const out = decide(toWorkRow(r));
      if (out.row) await writeWorkRow(q, out.row);
      return { result: out.result };
    });
  }

  claim(environmentId: string, q: { nowMs: number; handedOutBefore: number }, decide: (row: WorkRow) => WorkRow | undefined) {
    return claimWorkItem(this.s, environmentId, q, decide);
  }

  async insertUnlessLive(row: WorkRow) {
    return this.s.tx(async (q) => {
      await q.get('SELECT pg_advisory_xact_lock(?::int, hashtext(?))', SESSION_ITEM_LOCK, row.work.data.id);
      const live = await q.get(
        "SELECT 1 AS x FROM work_items WHERE session_id = ? AND state IN ('queued', 'starting', 'active') LIMIT 1", row.work.data.id);
      if (live) return false;
      await insertWorkRow(q, row);
      return true;
    });
  }

  async list(environmentId: string, q: PageQuery) {
    const k = keyset(q);
    const rows = await this.s.all(`SELECT * FROM work_items WHERE environment_id = ?${k.where}${k.orderBy}`, environmentId, ...k.params, q.limit + 1);
    return pageOf(rows, q, toWorkRow);
  }

  async queueStats(environmentId: string, nowMs: number) {
    const r = (await this.s.get(
      `SELECT
         COALESCE(SUM(CASE WHEN ${WORK_WAITING} THEN 1 ELSE 0 END), 0) AS waiting,
         COALESCE(SUM(CASE WHEN state = 'queued' AND polled_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS handed_out,
         MIN(CASE WHEN state = 'queued' OR (state IN ('starting', 'active') AND lease_expires_at < ?) THEN created_at END) AS oldest
       FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')`,
      nowMs, nowMs, environmentId))!;
    return { waiting: Number(r.waiting), handedOut: Number(r.handed_out), oldestCreatedAt: (r.oldest as string | null) ?? null };
  }

  async waitingTotal(nowMs: number) {
    const r = await this.s.get(`SELECT COUNT(*) AS n FROM work_items WHERE ${WORK_WAITING}`, nowMs);
    return Number(r?.n ?? 0);
  }

  async dueTimes(environmentId: string) {
    const r = (await this.s.get(
      `SELECT
         MIN(CASE WHEN state = 'queued' THEN polled_at END) AS handed,
         MIN(CASE WHEN state IN ('starting', 'active') THEN lease_expires_at END) AS lease
       FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')`, environmentId))!;
    return { oldestHandOut: num(r.handed), earliestLeaseEnd: num(r.lease) };
  }

  async notePoller(environmentId: string, workerId: string, nowMs: number, forgetBefore: number) {
    await this.s.run(
      `INSERT INTO work_pollers (environment_id, worker_id, last_seen_at) VALUES (?, ?, ?)
       ON CONFLICT (environment_id, worker_id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
      environmentId, workerId, nowMs);
    await this.s.run('DELETE FROM work_pollers WHERE environment_id = ? AND last_seen_at < ?', environmentId, forgetBefore);
  }

  async pollers(environmentId: string, sinceMs: number) {
    const r = (await this.s.get(
      'SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN last_seen_at >= ? THEN 1 ELSE 0 END), 0) AS recent FROM work_pollers WHERE environment_id = ?',
      sinceMs, environmentId))!;
    return Number(r.n) === 0 ? null : Number(r.recent);
  }
}

export class PgEnvironmentKeyRepo implements EnvironmentKeyRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(row: EnvironmentKeyRow) {
    await this.s.run('INSERT INTO environment_keys (id, environment_id, hash, data) VALUES (?, ?, ?, ?)',
      row.key.id, row.key.environment_id, row.hash, JSON.stringify(row.key));
  }

  async findByHash(hash: string) {
    const r = await this.s.get('SELECT hash, data FROM environment_keys WHERE hash = ?', hash);
    return r ? { key: JSON.parse(String(r.data)), hash: String(r.hash) } : undefined;
  }

  async list(environmentId: string, q: PageQuery) {
    const k = keyset(q);
    const rows = await this.s.all(`SELECT seq, data FROM environment_keys WHERE environment_id = ?${k.where}${k.orderBy}`, environmentId, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as EnvironmentKeyRow['key']);
  }

  async delete(environmentId: string, id: string) {
    return (await this.s.run('DELETE FROM environment_keys WHERE environment_id = ? AND id = ?', environmentId, id)) > 0;
  }
}
