// SQLite adapter of the store port, on Node's built-in `node:sqlite` (WAL, synchronous=NORMAL,
// BEGIN IMMEDIATE). Calls are synchronous underneath; the port is async so PostgreSQL fits too.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './sqlite-migrations.ts';
import { SqliteVaultRepo } from './sqlite-vault-repo.ts';
import { SqliteEnvironmentKeyRepo, SqliteWorkRepo } from './sqlite-work-repo.ts';
import { SqliteIdempotencyRepo } from './sqlite-idempotency-repo.ts';
import { SqliteWorkspaceRepo } from './sqlite-workspace-repo.ts';
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';
import {
  UniqueViolation,
  type AgentRepo, type ApiKeyRepo, type ApiKeySource, type ApiKeyMeta, type ApiKeyStatus, type EnvironmentRepo, type EventQuery, type Json, type Page,
  type CommitPlan, type PageQuery, type SessionListQuery, type SessionRepo, type SessionRow,
  type Store, type StoredEvent, type FileRepo, type FileRow, type FileListQuery, type OutputCapture,
  type VaultRepo,
} from '../../ports/store.ts';
import { keyset, pageOf } from './sqlite-paging.ts';
import { API_KEY_COLUMNS, apiKeyRow } from './api-key-row.ts';
import { nodePrefix } from '../../domain/lease-owner.ts';

type Row = Record<string, unknown>;

/** Most prepared statements kept; the fixed queries number well under this. */
const STATEMENT_CACHE_SIZE = 200;

export class SqliteStore implements Store {
  readonly workspaces: SqliteWorkspaceRepo;
  readonly agents: AgentRepo;
  readonly environments: EnvironmentRepo;
  readonly sessions: SessionRepo;
  readonly apiKeys: ApiKeyRepo;
  readonly files: FileRepo;
  readonly vaults: VaultRepo;
  readonly work: SqliteWorkRepo;
  readonly environmentKeys: SqliteEnvironmentKeyRepo;
  readonly idempotency: SqliteIdempotencyRepo;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private inTx = false;
  /**
   * Running totals for benches (`npm run bench -- overhead` prints them per turn, so a regression
   * shows): write transactions (each BEGIN IMMEDIATE, and each write outside one, which SQLite
   * commits on its own) and JSON.parse calls of session rows and events. Plain integer increments.
   */
  readonly counters = { writeTransactions: 0, sessionRowParses: 0, eventParses: 0 };

  constructor(file: string) {
    if (file !== ':memory:') makePrivate(file);
    this.db = new DatabaseSync(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.migrate();
    this.workspaces = new SqliteWorkspaceRepo(this);
    this.agents = new SqliteAgentRepo(this);
    this.environments = new SqliteEnvironmentRepo(this);
    this.sessions = new SqliteSessionRepo(this);
    this.apiKeys = new SqliteApiKeyRepo(this);
    this.files = new SqliteFileRepo(this);
    this.vaults = new SqliteVaultRepo(this);
    this.work = new SqliteWorkRepo(this);
    this.environmentKeys = new SqliteEnvironmentKeyRepo(this);
    this.idempotency = new SqliteIdempotencyRepo(this);
  }

  /**
   * Cached prepared statement. The cache is LRU-bounded (`STATEMENT_CACHE_SIZE`): filters with a
   * variable number of values (`IN (?,?,…)`) make one SQL text per count, and an unbounded cache
   * would grow with every new shape a client sends.
   */
  stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (s) {
      this.statements.delete(sql); // re-insert: most recently used last
    } else {
      s = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, s);
    return s;
  }

  /** How many prepared statements are cached (for tests and metrics). */
  get statementCacheSize(): number {
    return this.statements.size;
  }

  all(sql: string, ...params: Array<string | number | null>): Row[] {
    return this.stmt(sql).all(...params) as Row[];
  }

  get(sql: string, ...params: Array<string | number | null>): Row | undefined {
    return this.stmt(sql).get(...params) as Row | undefined;
  }

  run(sql: string, ...params: Array<string | number | null>): number {
    if (!this.inTx) this.counters.writeTransactions++;
    return Number(this.stmt(sql).run(...params).changes);
  }

  /** Runs `fn` inside BEGIN IMMEDIATE … COMMIT, rolling back on throw. */
  tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    this.counters.writeTransactions++;
    this.inTx = true;
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.inTx = false;
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.tx(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
      });
    }
  }
}

/**
 * The database holds every transcript: create it (and its directory, when missing) private to the
 * service user before SQLite opens it. SQLite gives the -wal and -shm files the database file's
 * mode; files left by an older version are tightened too. The directory is 0700: sandboxes reach
 * their workspaces through binds, never by path.
 */
function makePrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) if (existsSync(f)) chmodSync(f, 0o600);
}

function isUniqueError(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message);
}

class SqliteApiKeyRepo implements ApiKeyRepo {
  private readonly s: SqliteStore;
  constructor(s: SqliteStore) {
    this.s = s;
  }
  async count() {
    return Number(this.s.get('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL')!.n);
  }
  async insert(id: string, hash: string, createdAt: string, meta: ApiKeyMeta = {}) {
    this.s.run(`INSERT OR IGNORE INTO api_keys (id, hash, created_at, name, hint, source, workspace_id, role, expires_at, created_by)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, hash, createdAt, meta.name ?? null, meta.hint ?? null, meta.source ?? 'cli', meta.workspaceId ?? null, meta.role ?? 'admin',
    meta.expiresAt ?? null, meta.createdBy ?? null);
  }
  async get(id: string) {
    const row = this.s.get(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`, id);
    return row && apiKeyRow(row);
  }
  async existsHash(hash: string) {
    return this.s.get('SELECT 1 AS x FROM api_keys WHERE hash = ? AND revoked_at IS NULL', hash) !== undefined;
  }
  async findByHash(hash: string) {
    const row = this.s.get(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`, hash);
    return row && apiKeyRow(row);
  }
  async list() {
    return this.s.all(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, rowid`).map(apiKeyRow);
  }
  async revoke(id: string, at: string) {
    return this.s.run("UPDATE api_keys SET revoked_at = ?, status = 'inactive' WHERE id = ? AND revoked_at IS NULL", at, id) > 0;
  }
  async update(id: string, patch: { name?: string; status?: ApiKeyStatus }, at: string) {
    return this.s.tx(() => {
      if (!this.s.get('SELECT 1 AS x FROM api_keys WHERE id = ?', id)) return false;
      if (patch.name !== undefined) this.s.run('UPDATE api_keys SET name = ? WHERE id = ?', patch.name, id);
      if (patch.status === 'active') this.s.run("UPDATE api_keys SET status = 'active', revoked_at = NULL WHERE id = ? AND status <> 'archived'", id);
      else if (patch.status) this.s.run('UPDATE api_keys SET status = ?, revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', patch.status, at, id);
      return true;
    });
  }
  async rotate(id: string, hash: string, hint: string) {
    return this.s.run("UPDATE api_keys SET hash = ?, hint = ? WHERE id = ? AND status = 'active'", hash, hint, id) > 0;
  }
  async touch(id: string, at: string) {
    this.s.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', at, id);
  }
  async setSource(id: string, source: ApiKeySource) {
    this.s.run('UPDATE api_keys SET source = ? WHERE id = ?', source, id);
  }
}

class SqliteAgentRepo implements AgentRepo {
  private readonly s: SqliteStore;
  constructor(s: SqliteStore) {
    this.s = s;
  }

  private withArchive(data: string, archivedAt: unknown): Json {
    return { ...JSON.parse(data), archived_at: (archivedAt as string | null) ?? null };
  }

  async insert(agent: Json & { id: string; version: number; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    const data = JSON.stringify(agent);
    this.s.tx(() => {
      this.s.run('INSERT INTO agents (id, version, created_at, data, workspace_id) VALUES (?, ?, ?, ?, ?)', agent.id, agent.version, agent.created_at, data, workspaceId);
      this.s.run('INSERT INTO agent_versions (agent_id, version, data) VALUES (?, ?, ?)', agent.id, agent.version, data);
    });
  }

  async get(id: string, version?: number) {
    const head = this.s.get('SELECT version, archived_at, data FROM agents WHERE id = ?', id);
    if (!head) return undefined;
    if (version === undefined || version === Number(head.version)) return this.withArchive(String(head.data), head.archived_at);
    const v = this.s.get('SELECT data FROM agent_versions WHERE agent_id = ? AND version = ?', id, version);
    return v ? this.withArchive(String(v.data), head.archived_at) : undefined;
  }

  async addVersion(agent: Json & { id: string; version: number }, previousVersion: number) {
    const data = JSON.stringify(agent);
    return this.s.tx(() => {
      const changed = this.s.run('UPDATE agents SET version = ?, data = ? WHERE id = ? AND version = ?', agent.version, data, agent.id, previousVersion);
      if (changed === 0) return false;
      this.s.run('INSERT INTO agent_versions (agent_id, version, data) VALUES (?, ?, ?)', agent.id, agent.version, data);
      return true;
    });
  }

  async archive(id: string, at: string) {
    this.s.run('UPDATE agents SET archived_at = COALESCE(archived_at, ?) WHERE id = ?', at, id);
  }

  async list(q: PageQuery & { createdGte?: string; createdLte?: string; includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number> = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (!q.includeArchived) where += ' AND archived_at IS NULL';
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = this.s.all(`SELECT seq, archived_at, data FROM agents ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.withArchive(String(r.data), r.archived_at));
  }

  async listVersions(id: string, q: PageQuery) {
    const head = this.s.get('SELECT archived_at FROM agents WHERE id = ?', id);
    const k = keyset(q, 'version');
    const rows = this.s.all(
      `SELECT version AS seq, data FROM agent_versions WHERE agent_id = ?${k.where}${k.orderBy}`, id, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.withArchive(String(r.data), head?.archived_at));
  }
}

class SqliteEnvironmentRepo implements EnvironmentRepo {
  private readonly s: SqliteStore;
  constructor(s: SqliteStore) {
    this.s = s;
  }

  async insert(env: Json & { id: string; name: string; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    try {
      this.s.run('INSERT INTO environments (id, name, archived_at, data, workspace_id) VALUES (?, ?, ?, ?, ?)',
        env.id, env.name, (env.archived_at as string | null) ?? null, JSON.stringify(env), workspaceId);
    } catch (err) {
      if (isUniqueError(err)) throw new UniqueViolation(`an environment named "${env.name}" already exists`);
      throw err;
    }
  }

  async get(id: string) {
    const r = this.s.get('SELECT data FROM environments WHERE id = ?', id);
    return r ? (JSON.parse(String(r.data)) as Json) : undefined;
  }

  async update(env: Json & { id: string; name: string }) {
    try {
      this.s.run('UPDATE environments SET name = ?, archived_at = ?, data = ? WHERE id = ?',
        env.name, (env.archived_at as string | null) ?? null, JSON.stringify(env), env.id);
    } catch (err) {
      if (isUniqueError(err)) throw new UniqueViolation(`an environment named "${env.name}" already exists`);
      throw err;
    }
  }

  async delete(id: string) {
    return this.s.run('DELETE FROM environments WHERE id = ?', id) > 0;
  }

  async list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = q.includeArchived ? 'WHERE 1=1' : 'WHERE archived_at IS NULL';
    const params: string[] = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = this.s.all(`SELECT seq, data FROM environments ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as Json);
  }
}

/** How many sessions' parsed logs stay cached (least recently used are evicted). */
const LOG_CACHE_SESSIONS = 256;
/** How many sessions' parsed rows stay cached (least recently used are evicted). */
const ROW_CACHE_SESSIONS = 256;

/** Freezes every object and array below `top` (not `top` itself), so shared parsed values stay intact. */
function freezeNested<T extends Record<string, unknown>>(top: T): T {
  const freeze = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
    for (const x of Object.values(v)) freeze(x);
    Object.freeze(v);
  };
  for (const x of Object.values(top)) freeze(x);
  return top;
}

class SqliteSessionRepo implements SessionRepo {
  private readonly s: SqliteStore;
  /**
   * Parsed logs of recently active sessions, updated in step with every write this repo makes, so
   * the harness does not re-read and re-parse a whole log at every step. One server process owns an
   * SQLite file; a cached log is still checked against the session's last seq, so appends by another
   * process are seen.
   */
  private readonly logs = new Map<string, StoredEvent[]>();
  /**
   * The parsed `data` of recently read session rows beside the text it was parsed from (a turn reads
   * its row 6-9 times). A read reuses it only when the text it just read is that same text, so a
   * write by this or any other process is seen at the next read. Nested values are frozen: every
   * reader shares them, and a caller mutating one would throw instead of corrupting the others.
   */
  private readonly rows = new Map<string, { data: string; parsed: Record<string, unknown> }>();

  constructor(s: SqliteStore) {
    this.s = s;
  }

  private toRow(r: Row): SessionRow {
    const id = String(r.id);
    const data = String(r.data);
    let cached = this.rows.get(id);
    if (cached?.data === data) {
      this.rows.delete(id); // re-insert: most recently used last
    } else {
      this.s.counters.sessionRowParses++;
      cached = { data, parsed: freezeNested(JSON.parse(data)) };
      if (this.rows.size >= ROW_CACHE_SESSIONS) this.rows.delete(this.rows.keys().next().value!);
    }
    this.rows.set(id, cached);
    // A top-level copy per reader, as a fresh parse gave: callers may set its own fields.
    const session = { ...cached.parsed } as SessionRow['session'];
    session.status = r.status as SessionRow['session']['status'];
    session.archived_at = (r.archived_at as string | null) ?? null;
    return {
      session,
      runningSince: r.running_since === null ? null : Number(r.running_since),
      retryCount: Number(r.retry_count),
      workspaceId: String(r.workspace_id),
    };
  }

  private toEvent(r: Row): StoredEvent {
    this.s.counters.eventParses++;
    const event = JSON.parse(String(r.data));
    event.processed_at = (r.processed_at as string | null) ?? null;
    return { seq: Number(r.seq), event, processedSeq: r.processed_seq === null ? null : Number(r.processed_seq) };
  }

  private appendAll(sessionId: string, events: Array<StoredEvent['event']>, now: string): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const e of events) {
      const { processed_at, ...rest } = e;
      const info = this.s.stmt(
        'INSERT INTO events (session_id, id, type, created_at, processed_at, data) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(sessionId, e.id, e.type, now, processed_at, JSON.stringify(rest));
      out.push({ seq: Number(info.lastInsertRowid), event: e, processedSeq: null });
    }
    return out;
  }

  async insert(row: SessionRow, initialEvents: Array<StoredEvent['event']>) {
    const s = row.session;
    const agent = s.agent as { id: string; version: number };
    return this.s.tx(() => {
      this.s.run(
        `INSERT INTO sessions (id, status, agent_id, agent_version, created_at, archived_at, running_since, retry_count, data, workspace_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        s.id, s.status, agent.id, agent.version, String(s.created_at), null, row.runningSince, row.retryCount, JSON.stringify(s),
        row.workspaceId ?? DEFAULT_WORKSPACE_ID);
      return this.appendAll(s.id, initialEvents, String(s.created_at));
    });
  }

  async get(id: string) {
    const r = this.s.get('SELECT * FROM sessions WHERE id = ?', id);
    return r ? this.toRow(r) : undefined;
  }

  async list(q: SessionListQuery) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number> = [];
    if (!q.includeArchived) where += ' AND archived_at IS NULL';
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (q.agentId) { where += ' AND agent_id = ?'; params.push(q.agentId); }
    if (q.agentVersion !== undefined) { where += ' AND agent_version = ?'; params.push(q.agentVersion); }
    if (q.statuses?.length) { where += ` AND status IN (${q.statuses.map(() => '?').join(',')})`; params.push(...q.statuses); }
    if (q.createdGt) { where += ' AND created_at > ?'; params.push(q.createdGt); }
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLt) { where += ' AND created_at < ?'; params.push(q.createdLt); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = this.s.all(`SELECT * FROM sessions ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => ({ seq: Number(r.seq), row: this.toRow(r) }));
  }

  async delete(id: string) {
    this.logs.delete(id);
    this.rows.delete(id);
    return this.s.tx(() => {
      this.s.run('DELETE FROM events WHERE session_id = ?', id);
      return this.s.run('DELETE FROM sessions WHERE id = ?', id) > 0;
    });
  }

  async commit<P extends CommitPlan>(sessionId: string, decide: (row: SessionRow, log: () => StoredEvent[]) => P) {
    let processedTop = 0;
    let headBefore: number | undefined;
    const result = this.s.tx(() => {
      const current = this.s.get('SELECT * FROM sessions WHERE id = ?', sessionId);
      if (!current) return undefined;
      let row = this.toRow(current);
      let cachedLog: StoredEvent[] | undefined;
      const plan = decide(row, () => (cachedLog ??= this.readLog(sessionId)));
      // The log's head before this commit's writes: the cache may only be extended in place when it
      // ends there, else another process appended since it was read (and a later MAX(seq) check
      // could not see the gap).
      if (plan.markProcessed?.length || (plan.events?.length && this.logs.has(sessionId))) {
        headBefore = Number(this.s.get('SELECT COALESCE(MAX(seq), 0) AS m FROM events WHERE session_id = ?', sessionId)!.m);
      }
      if (plan.markProcessed?.length) {
        processedTop = headBefore ?? 0;
        for (const id of plan.markProcessed) {
          this.s.run('UPDATE events SET processed_at = ?, processed_seq = ? WHERE session_id = ? AND id = ? AND processed_at IS NULL',
            plan.now, processedTop, sessionId, id);
        }
      }
      const stored = plan.events?.length ? this.appendAll(sessionId, plan.events, plan.now) : [];
      const p = plan.patch;
      if (p) {
        const session = { ...row.session, ...(p.fields ?? {}) } as SessionRow['session'];
        if (p.status) session.status = p.status;
        row = {
          session,
          runningSince: p.runningSince !== undefined ? p.runningSince : row.runningSince,
          retryCount: p.retryCount ?? row.retryCount,
          workspaceId: row.workspaceId,
        };
        const { status, archived_at, ...data } = session;
        this.s.run('UPDATE sessions SET status = ?, archived_at = ?, running_since = ?, retry_count = ?, data = ? WHERE id = ?',
          status, (archived_at as string | null) ?? null, row.runningSince, row.retryCount, JSON.stringify(data), sessionId);
        if (p.pendingWake !== undefined) this.s.run('UPDATE sessions SET pending_wake = ? WHERE id = ?', p.pendingWake ? 1 : 0, sessionId);
      }
      return { stored, row, plan };
    });
    // The cache follows only committed writes (a throwing `decide` rolled everything back).
    if (result) this.cacheCommitted(sessionId, result.plan, processedTop, result.stored, headBefore);
    return result;
  }

  private cacheCommitted(sessionId: string, plan: CommitPlan, processedTop: number, stored: StoredEvent[], headBefore: number | undefined): void {
    const cached = this.logs.get(sessionId);
    if (!cached) return;
    if (headBefore !== undefined && headBefore !== (cached[cached.length - 1]?.seq ?? 0)) {
      this.logs.delete(sessionId); // stale: the next read re-reads the whole log
      return;
    }
    if (plan.markProcessed?.length) {
      const ids = new Set(plan.markProcessed);
      for (let i = 0; i < cached.length; i++) {
        const e = cached[i];
        if (ids.has(e.event.id) && e.event.processed_at === null) {
          cached[i] = { ...e, event: { ...e.event, processed_at: plan.now }, processedSeq: processedTop };
        }
      }
    }
    for (const e of stored) cached.push({ ...e, event: { ...e.event } });
  }

  /** The session's log, from the cache when it is current; callers get their own array. */
  private readLog(sessionId: string): StoredEvent[] {
    const cached = this.logs.get(sessionId);
    if (cached) {
      // MAX(seq) is one descent of the (session_id, seq) index, where COUNT(*) walked every entry of
      // the session. It is enough: seq only grows (AUTOINCREMENT, writers serialized by BEGIN
      // IMMEDIATE), so an append by any process raises it, and events are only ever deleted with
      // their whole session.
      const head = this.s.get('SELECT COALESCE(MAX(seq), 0) AS m FROM events WHERE session_id = ?', sessionId)!;
      const last = cached[cached.length - 1];
      if (Number(head.m) === (last?.seq ?? 0)) {
        this.logs.delete(sessionId);
        this.logs.set(sessionId, cached); // most recently used
        return cached.slice();
      }
    }
    const fresh = this.s.all('SELECT * FROM events WHERE session_id = ? ORDER BY seq', sessionId).map((r) => this.toEvent(r));
    this.logs.delete(sessionId);
    this.logs.set(sessionId, fresh);
    if (this.logs.size > LOG_CACHE_SESSIONS) this.logs.delete(this.logs.keys().next().value!);
    return fresh.slice();
  }

  async events(sessionId: string, q: EventQuery) {
    const k = keyset(q);
    let where = 'WHERE session_id = ?';
    const params: Array<string | number> = [sessionId];
    if (q.types?.length) { where += ` AND type IN (${q.types.map(() => '?').join(',')})`; params.push(...q.types); }
    if (q.createdGt) { where += ' AND created_at > ?'; params.push(q.createdGt); }
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLt) { where += ' AND created_at < ?'; params.push(q.createdLt); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = this.s.all(`SELECT * FROM events ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.toEvent(r));
  }

  async log(sessionId: string) {
    return this.readLog(sessionId);
  }

  async findEvent(sessionId: string, eventId: string) {
    const r = this.s.get('SELECT * FROM events WHERE session_id = ? AND id = ?', sessionId, eventId);
    return r ? this.toEvent(r) : undefined;
  }

  async acquireLease(sessionId: string, owner: string, ttlMs: number, nowMs: number) {
    const prefix = nodePrefix(owner);
    const changed = this.s.run(
      `UPDATE sessions SET lease_owner = ?, lease_expires_at = ?
       WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?
         OR (? <> '' AND substr(lease_owner, 1, length(?)) = ?))`,
      owner, nowMs + ttlMs, sessionId, owner, nowMs, prefix, prefix, prefix);
    return changed > 0;
  }

  async releaseLease(sessionId: string, owner: string) {
    this.s.run('UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?', sessionId, owner);
  }

  async orphaned(nowMs: number, limit: number, reclaimFor?: string) {
    const prefix = reclaimFor ? nodePrefix(reclaimFor) : '';
    return this.s.all(
      `SELECT id FROM sessions WHERE (status IN ('running', 'rescheduling') OR pending_wake = 1)
       AND (lease_owner IS NULL OR lease_expires_at < ?
         OR (? <> '' AND lease_owner <> ? AND substr(lease_owner, 1, length(?)) = ?)) ORDER BY seq LIMIT ?`,
      nowMs, prefix, reclaimFor ?? '', prefix, prefix, limit).map((r) => String(r.id));
  }
}

class SqliteFileRepo implements FileRepo {
  private readonly s: SqliteStore;
  constructor(s: SqliteStore) {
    this.s = s;
  }

  private toRow(r: Row): FileRow {
    return {
      file: JSON.parse(String(r.data)),
      scopeId: (r.scope_id as string | null) ?? null,
      expiresAt: (r.expires_at as string | null) ?? null,
      sha256: String(r.sha256),
      workspaceId: String(r.workspace_id),
    };
  }

  private upsertCapture(c: OutputCapture): void {
    this.s.run(
      `INSERT INTO output_captures (session_id, path, size_bytes, mtime_ms, sha256, file_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms,
       sha256 = excluded.sha256, file_id = excluded.file_id`,
      c.sessionId, c.path, c.sizeBytes, c.mtimeMs, c.sha256, c.fileId);
  }

  async insert(row: FileRow, capture?: OutputCapture, replaces?: string) {
    this.s.tx(() => {
      this.s.run(`INSERT INTO files (id, scope_id, expires_at, sha256, data, workspace_id)
        VALUES (?, ?, ?, ?, ?, COALESCE((SELECT workspace_id FROM sessions WHERE id = ?), ?))`,
      row.file.id, row.scopeId, row.expiresAt, row.sha256, JSON.stringify(row.file), row.scopeId, row.workspaceId ?? DEFAULT_WORKSPACE_ID);
      if (capture) this.upsertCapture(capture);
      if (replaces !== undefined) this.s.run('DELETE FROM files WHERE id = ?', replaces);
    });
  }

  async get(id: string) {
    const r = this.s.get('SELECT * FROM files WHERE id = ?', id);
    return r ? this.toRow(r) : undefined;
  }

  async list(q: FileListQuery) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number> = [];
    if (q.scopeId !== undefined) { where += ' AND scope_id = ?'; params.push(q.scopeId); }
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (q.ids) { where += ` AND id IN (${q.ids.map(() => '?').join(',') || 'NULL'})`; params.push(...q.ids); }
    if (q.liveAt !== undefined) { where += ' AND (expires_at IS NULL OR expires_at > ?)'; params.push(q.liveAt); }
    const rows = this.s.all(`SELECT * FROM files ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.toRow(r));
  }

  async delete(id: string) {
    return this.s.run('DELETE FROM files WHERE id = ?', id) > 0;
  }

  async scopeBytes(scopeId: string) {
    return Number(this.s.get("SELECT COALESCE(SUM(json_extract(data, '$.size_bytes')), 0) AS n FROM files WHERE scope_id = ?", scopeId)!.n);
  }

  async expired(now: string, limit: number) {
    return this.s.all('SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?', now, limit)
      .map((r) => String(r.id));
  }

  async capture(sessionId: string, path: string) {
    const r = this.s.get('SELECT * FROM output_captures WHERE session_id = ? AND path = ?', sessionId, path);
    if (!r) return undefined;
    return {
      sessionId, path, sizeBytes: Number(r.size_bytes), mtimeMs: Number(r.mtime_ms), sha256: String(r.sha256), fileId: String(r.file_id),
    };
  }

  async putCapture(capture: OutputCapture) {
    this.upsertCapture(capture);
  }

  async deleteCaptures(sessionId: string) {
    this.s.run('DELETE FROM output_captures WHERE session_id = ?', sessionId);
  }
}
