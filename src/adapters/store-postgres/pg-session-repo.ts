// PostgreSQL session repo: session rows and the append-only session log.
//
// `commit(decide)` runs in one transaction holding `SELECT … FOR UPDATE` on the session row, so
// commits to one session serialize across every node. `decide` is synchronous, so its log comes
// from a per-node cache brought up to date inside that transaction before `decide` runs: every
// write to a session's log bumps `sessions.log_rev`, and a cache whose revision differs from the
// locked row's is topped up with one query — events past its last seq, plus the cached events
// still unprocessed (another node may have marked them processed; processed_at is only ever set
// once, from NULL). Events of one commit are one INSERT (unnest of arrays).
//
// Leases live in pg-session-leases.ts.
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';
import { applySessionSpend } from './pg-spend-repo.ts';
import type { PgDb, Querier, Row } from './pg-db.ts';
import { acquireLease, orphanedSessions, releaseLease } from './pg-session-leases.ts';
import {
  statusCounts, LeaseLost,
  type CommitOptions, type CommitPlan, type EventQuery, type SessionListQuery, type SessionRepo, type SessionRow, type StoredEvent,
} from '../../ports/store.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';
import { SessionRowCache, eventRow } from '../store-common/session-rows.ts';

/** How many sessions' parsed logs stay cached (least recently used are evicted). */
const LOG_CACHE_SESSIONS = 256;

/** A cached log and the session's `log_rev` it matches. */
interface CachedLog {
  rev: number;
  events: StoredEvent[];
}

const EVENT_COLUMNS = 'seq, processed_at, processed_seq, data';

/**
 * One statement, so one snapshot: the session's log revision and what the cache lacks (events past
 * `afterSeq`, and those of `unprocessed` seqs now processed). No row at all: the session is gone.
 */
const TOP_UP_SQL = `SELECT s.log_rev, e.seq, e.processed_at, e.processed_seq, e.data FROM sessions s
  LEFT JOIN events e ON e.session_id = s.id AND (e.seq > ? OR (e.seq = ANY(?::bigint[]) AND e.processed_at IS NOT NULL))
  WHERE s.id = ? ORDER BY e.seq`;

export class PgSessionRepo implements SessionRepo {
  private readonly s: PgDb;
  private readonly logs = new Map<string, CachedLog>();
  /** Running totals for benches and tests. */
  readonly counters = { sessionRowParses: 0, eventParses: 0, logTopUps: 0, fullLogReads: 0 };
  /** Parsed `data` of recently read rows beside its text: reused only while the text is unchanged. */
  private readonly rows = new SessionRowCache(() => this.counters.sessionRowParses++);

  constructor(s: PgDb) {
    this.s = s;
  }

  private toRow(r: Row): SessionRow {
    return this.rows.toRow(r);
  }

  private toEvent(r: Row): StoredEvent {
    this.counters.eventParses++;
    return eventRow(r);
  }

  /** Appends `events` in one INSERT; returns them with their seqs, in order. */
  private async appendAll(q: Querier, sessionId: string, events: Array<StoredEvent['event']>, now: string): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const ids: string[] = [];
    const types: string[] = [];
    const processed: Array<string | null> = [];
    const data: string[] = [];
    for (const e of events) {
      const { processed_at, ...rest } = e;
      ids.push(e.id);
      types.push(e.type);
      processed.push(processed_at);
      data.push(JSON.stringify(rest));
    }
    const rows = await q.all(
      `INSERT INTO events (session_id, id, type, created_at, processed_at, data)
       SELECT ?, t.id, t.type, ?, t.processed_at, t.data
       FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS t(id, type, processed_at, data, ord)
       ORDER BY t.ord RETURNING seq, id`,
      sessionId, now, ids, types, processed as string[], data);
    const seqOf = new Map(rows.map((r) => [String(r.id), Number(r.seq)]));
    return events.map((e) => ({ seq: seqOf.get(e.id)!, event: e, processedSeq: null }));
  }

  async insert(row: SessionRow, initialEvents: Array<StoredEvent['event']>) {
    const s = row.session;
    const agent = s.agent as { id: string; version: number };
    return this.s.tx(async (q) => {
      await q.run(
        `INSERT INTO sessions (id, status, agent_id, agent_version, created_at, archived_at, running_since, retry_count, data, workspace_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        s.id, s.status, agent.id, agent.version, String(s.created_at), null, row.runningSince, row.retryCount, JSON.stringify(s),
        row.workspaceId ?? DEFAULT_WORKSPACE_ID);
      const stored = await this.appendAll(q, s.id, initialEvents, String(s.created_at));
      if (stored.length) await q.run('UPDATE sessions SET log_rev = log_rev + 1, log_head = ? WHERE id = ?', stored[stored.length - 1].seq, s.id);
      return stored;
    });
  }

  async get(id: string) {
    const r = await this.s.get('SELECT * FROM sessions WHERE id = ?', id);
    return r ? this.toRow(r) : undefined;
  }

  async list(q: SessionListQuery) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number | string[]> = [];
    if (!q.includeArchived) where += ' AND archived_at IS NULL';
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (q.agentId) { where += ' AND agent_id = ?'; params.push(q.agentId); }
    if (q.agentVersion !== undefined) { where += ' AND agent_version = ?'; params.push(q.agentVersion); }
    if (q.statuses?.length) { where += ' AND status = ANY(?::text[])'; params.push(q.statuses); }
    if (q.createdGt) { where += ' AND created_at > ?'; params.push(q.createdGt); }
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLt) { where += ' AND created_at < ?'; params.push(q.createdLt); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = await this.s.all(`SELECT * FROM sessions ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => ({ seq: Number(r.seq), row: this.toRow(r) }));
  }

  async delete(id: string) {
    this.logs.delete(id);
    this.rows.forget(id);
    return this.s.tx(async (q) => {
      const current = await q.get('SELECT data FROM sessions WHERE id = ? FOR UPDATE', id);
      // Whatever the session still had reserved goes back to its scopes' ledgers.
      if (current) await applySessionSpend(q, { id, ...JSON.parse(String(current.data)) }, undefined, new Date().toISOString());
      await q.run('DELETE FROM events WHERE session_id = ?', id);
      return (await q.run('DELETE FROM sessions WHERE id = ?', id)) > 0;
    });
  }

  /**
   * The session's log as of one snapshot, from the cache topped up with what it lacks. Inside a
   * commit the session row is locked, so the result is exactly the log `decide` may plan on.
   * Undefined when the session does not exist.
   */
  private async currentLog(q: Querier, sessionId: string, lockedRev?: number): Promise<StoredEvent[] | undefined> {
    const cached = this.logs.get(sessionId);
    if (cached && lockedRev !== undefined && cached.rev === lockedRev) {
      this.touch(sessionId, cached);
      return cached.events;
    }
    // Copied before the read: a commit finishing meanwhile extends the cached array in place.
    const base = cached ? cached.events.slice() : [];
    const afterSeq = base[base.length - 1]?.seq ?? 0;
    const unprocessed = base.filter((e) => e.event.processed_at === null).map((e) => e.seq);
    if (cached) this.counters.logTopUps++;
    else this.counters.fullLogReads++;
    const rows = await q.all(TOP_UP_SQL, afterSeq, unprocessed, sessionId);
    if (rows.length === 0) {
      this.logs.delete(sessionId);
      return undefined;
    }
    const rev = Number(rows[0].log_rev);
    const events = base;
    const indexOf = new Map<number, number>();
    if (unprocessed.length) events.forEach((e, i) => indexOf.set(e.seq, i));
    for (const r of rows) {
      if (r.seq === null) continue;
      const e = this.toEvent(r);
      const at = e.seq <= afterSeq ? indexOf.get(e.seq) : undefined;
      if (at !== undefined) events[at] = e;
      else events.push(e);
    }
    const next = { rev, events };
    this.touch(sessionId, next);
    return events;
  }

  private touch(sessionId: string, log: CachedLog): void {
    this.logs.delete(sessionId);
    this.logs.set(sessionId, log);
    if (this.logs.size > LOG_CACHE_SESSIONS) this.logs.delete(this.logs.keys().next().value!);
  }

  async commit<P extends CommitPlan>(sessionId: string, decide: (row: SessionRow, log: () => StoredEvent[]) => P, opts?: CommitOptions) {
    let committed: { rev: number; log: StoredEvent[]; head: number; now: string; marks: string[]; stored: StoredEvent[] } | undefined;
    const result = await this.s.tx(async (q) => {
      const current = await q.get('SELECT * FROM sessions WHERE id = ? FOR UPDATE', sessionId);
      if (!current) return undefined;
      // Fenced: the lease is read on the locked row, so no takeover can slip in before this commit ends.
      if (opts?.leaseOwner !== undefined && current.lease_owner !== opts.leaseOwner) throw new LeaseLost(sessionId, opts.leaseOwner);
      let row = this.toRow(current);
      const rev = Number(current.log_rev);
      const log = (await this.currentLog(q, sessionId, rev))!;
      const plan = decide(row, () => log.slice());
      const head = log[log.length - 1]?.seq ?? 0;
      const marks = plan.markProcessed ?? [];
      if (marks.length) {
        await q.run(
          'UPDATE events SET processed_at = ?, processed_seq = ? WHERE session_id = ? AND id = ANY(?::text[]) AND processed_at IS NULL',
          plan.now, head, sessionId, marks);
      }
      const stored = await this.appendAll(q, sessionId, plan.events ?? [], plan.now);
      const logChanged = stored.length > 0 || marks.length > 0;
      const p = plan.patch;
      if (p) {
        const before = row.session;
        const session = { ...row.session, ...(p.fields ?? {}) } as SessionRow['session'];
        if (p.status) session.status = p.status;
        row = {
          session,
          runningSince: p.runningSince !== undefined ? p.runningSince : row.runningSince,
          retryCount: p.retryCount ?? row.retryCount,
          workspaceId: row.workspaceId,
        };
        // The ledger follows the session's reservations and spend in the same transaction (may throw SpendLimitReached).
        await applySessionSpend(q, before, session, plan.now);
      }
      row = { ...row, logRevision: rev + (logChanged ? 1 : 0) };
      if (p || logChanged) {
        const { status, archived_at, ...data } = row.session;
        const newHead = stored.length ? stored[stored.length - 1].seq : head;
        await q.run(
          `UPDATE sessions SET status = ?, archived_at = ?, running_since = ?, retry_count = ?, data = ?,
             pending_wake = COALESCE(?, pending_wake), log_rev = log_rev + ?, log_head = ? WHERE id = ?`,
          status, (archived_at as string | null) ?? null, row.runningSince, row.retryCount, JSON.stringify(data),
          p?.pendingWake === undefined ? null : p.pendingWake ? 1 : 0, logChanged ? 1 : 0, newHead, sessionId);
      }
      if (logChanged) committed = { rev: rev + 1, log, head, now: plan.now, marks, stored };
      return { stored, row, plan };
    });
    // The cache follows only committed writes (a throwing `decide` or a failed COMMIT changed nothing).
    if (committed) this.cacheCommitted(sessionId, committed);
    return result;
  }

  /**
   * Extends the cached log in place (no copy of a long log per commit) when it is the one this
   * commit planned on; another commit that came between already replaced it, and then it is left.
   */
  private cacheCommitted(sessionId: string, c: { rev: number; log: StoredEvent[]; head: number; now: string; marks: string[]; stored: StoredEvent[] }): void {
    const cached = this.logs.get(sessionId);
    if (!cached || cached.rev !== c.rev - 1 || cached.events !== c.log) {
      if (cached && cached.rev < c.rev) this.logs.delete(sessionId);
      return;
    }
    const events = cached.events;
    const ids = new Set(c.marks);
    for (let i = events.length - 1; i >= 0 && ids.size; i--) {
      const e = events[i];
      if (!ids.delete(e.event.id)) continue;
      if (e.event.processed_at === null) events[i] = { ...e, event: { ...e.event, processed_at: c.now }, processedSeq: c.head };
    }
    for (const e of c.stored) events.push({ ...e, event: { ...e.event } });
    this.touch(sessionId, { rev: c.rev, events });
  }

  async events(sessionId: string, q: EventQuery) {
    const k = keyset(q);
    let where = 'WHERE session_id = ?';
    const params: Array<string | number | string[]> = [sessionId];
    if (q.types?.length) { where += ' AND type = ANY(?::text[])'; params.push(q.types); }
    if (q.createdGt) { where += ' AND created_at > ?'; params.push(q.createdGt); }
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLt) { where += ' AND created_at < ?'; params.push(q.createdLt); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = await this.s.all(`SELECT ${EVENT_COLUMNS} FROM events ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.toEvent(r));
  }

  async log(sessionId: string) {
    return ((await this.currentLog(this.s, sessionId)) ?? []).slice();
  }

  async findEvent(sessionId: string, eventId: string) {
    const r = await this.s.get(`SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND id = ?`, sessionId, eventId);
    return r ? this.toEvent(r) : undefined;
  }

  acquireLease(sessionId: string, owner: string, ttlMs: number, nowMs: number) {
    return acquireLease(this.s, sessionId, owner, ttlMs, nowMs);
  }

  releaseLease(sessionId: string, owner: string) {
    return releaseLease(this.s, sessionId, owner);
  }

  orphaned(nowMs: number, limit: number, reclaimFor?: string) {
    return orphanedSessions(this.s, nowMs, limit, reclaimFor);
  }

  async countByStatus() {
    return statusCounts(await this.s.all('SELECT status, COUNT(*) AS n FROM sessions GROUP BY status'));
  }
}
