// The PostgreSQL connection layer of the store: a `pg` pool, named (prepared) statements written
// with `?` placeholders like the SQLite adapter's, transactions, start-up connection errors as
// one clear line, and numbered migrations applied under an advisory lock so that several nodes
// starting at once migrate exactly once.
import pg from 'pg';
import { PG_MIGRATIONS } from './pg-migrations.ts';
import { StoreUnavailableError } from '../../ports/store.ts';

export type Row = Record<string, unknown>;
export type Param = string | number | boolean | null | string[] | number[];

/** Something statements run on: the pool (each statement its own transaction) or a transaction's client. */
export interface Querier {
  all(sql: string, ...params: Param[]): Promise<Row[]>;
  get(sql: string, ...params: Param[]): Promise<Row | undefined>;
  /** Rows changed. */
  run(sql: string, ...params: Param[]): Promise<number>;
}

/** Thrown when the database cannot be reached or refuses this server; the message is one line, never the password. */
export class PgConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Advisory lock key under which migrations run ("hangar" in ASCII). */
const MIGRATION_LOCK = 0x68616e676172;

/** Statement texts with `?` turned into `$n`, and their prepared-statement names. */
const prepared = new Map<string, { name: string; text: string }>();

function statement(sql: string): { name: string; text: string } {
  let s = prepared.get(sql);
  if (!s) {
    let n = 0;
    s = { name: `hangar_${prepared.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    prepared.set(sql, s);
  }
  return s;
}

/**
 * SQLSTATEs meaning "the database is not there for us right now": connection exceptions (08),
 * insufficient resources (53, e.g. too many connections), the server shutting down or starting
 * (57P01-57P03) and a statement cancelled by `statement_timeout` (57014).
 */
const UNAVAILABLE_STATE = /^(08|53|57P0[1-3]$|57014$)/;

/**
 * Whether `err` says the database is unreachable rather than that the statement is wrong. The
 * server's own errors carry a SQLSTATE (pg.DatabaseError); everything else the driver throws is
 * about the connection (refused, reset, terminated, connect or query timeout), except programming
 * errors (TypeError/RangeError), which stay what they are.
 */
export function isUnavailableError(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_STATE.test(err.code ?? '');
  return err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError);
}

/** The error a store caller sees: unavailability as StoreUnavailableError (one line), anything else unchanged. */
function translate(err: unknown, target: string): unknown {
  if (err instanceof StoreUnavailableError || !isUnavailableError(err)) return err;
  const e = err as { code?: string; message?: string };
  const why = e.code === '57014' ? 'a statement ran past HANGAR_DATABASE_STATEMENT_TIMEOUT_MS'
    : /timeout/i.test(e.message ?? '') ? `no answer in time (${oneLine(e.message)})`
      : oneLine(e.message) || String(e.code ?? err);
  return new StoreUnavailableError(`PostgreSQL at ${target} is unavailable: ${why}`, { cause: err });
}

function querier(target: pg.Pool | pg.PoolClient, where: string, counters?: { statements: number }): Querier {
  const exec = async (sql: string, params: Param[]) => {
    if (counters) counters.statements++;
    const s = statement(sql);
    try {
      return await target.query({ name: s.name, text: s.text, values: params });
    } catch (err) {
      throw translate(err, where);
    }
  };
  return {
    async all(sql, ...params) {
      return (await exec(sql, params)).rows as Row[];
    },
    async get(sql, ...params) {
      return (await exec(sql, params)).rows[0] as Row | undefined;
    },
    async run(sql, ...params) {
      return (await exec(sql, params)).rowCount ?? 0;
    },
  };
}

/** Where the URL points, for messages: host:port/database, never the user's password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : '/'}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** Whether `url` names a PostgreSQL database (postgres:// or postgresql://). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url.trim());
}

/** A clear one-line reason for a failed connection, by error code. */
export function connectErrorMessage(err: unknown, url: string, envName = 'HANGAR_DATABASE_URL'): string {
  const e = err as { code?: string; message?: string };
  const where = `PostgreSQL at ${describeTarget(url)} (${envName})`;
  switch (e.code) {
    case 'ECONNREFUSED': return `cannot connect to ${where}: connection refused; is the server running and listening there?`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot connect to ${where}: the host name does not resolve`;
    case 'ETIMEDOUT': case 'CONNECT_TIMEOUT': return `cannot connect to ${where}: timed out; check the host, port and firewall`;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return `cannot connect to ${where}: the host is unreachable`;
    case '28P01': return `cannot connect to ${where}: password authentication failed; check the user and password in the URL`;
    case '28000': return `cannot connect to ${where}: the server refused this user or client address (${oneLine(e.message)})`;
    case '3D000': return `cannot connect to ${where}: the database does not exist; create it first (e.g. \`createdb\`)`;
    default: return `cannot connect to ${where}: ${oneLine(e.message ?? String(err))}`;
  }
}

const oneLine = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

export interface PgDbOptions {
  /** Most connections this node keeps (default 10). */
  maxConnections?: number;
  /** How long getting a connection may take, a new one or a free one of the pool (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * Longest a statement may run (server-side `statement_timeout`; the client also gives up 5 s later,
   * for a server that stopped answering). Default 30 s; 0 turns both off (bulk imports).
   */
  statementTimeoutMs?: number;
  /** Where the URL came from, for error messages (default HANGAR_DATABASE_URL). */
  urlName?: string;
  /** Refuse (PgConnectError) a database Hangar has never migrated, instead of creating the tables (tools like `hangar keys`). */
  requireSchema?: boolean;
}

/** The pool, its query helpers and transactions. */
export class PgDb implements Querier {
  readonly pool: pg.Pool;
  /** Running totals for benches: statements sent and transactions run. */
  readonly counters = { statements: 0, transactions: 0 };
  /** host:port/database, for messages. */
  readonly target: string;
  private readonly q: Querier;

  private constructor(pool: pg.Pool, target: string) {
    this.pool = pool;
    this.target = target;
    this.q = querier(pool, target, this.counters);
  }

  /**
   * Connects (checking the URL and the server answer before anything else) and migrates.
   * Throws `PgConnectError` with one clear line when the URL is bad or the server refuses.
   */
  static async open(url: string, opts: PgDbOptions = {}): Promise<PgDb> {
    const urlName = opts.urlName ?? 'HANGAR_DATABASE_URL';
    if (!isPostgresUrl(url)) throw new PgConnectError(`${urlName} must be a postgres:// or postgresql:// URL (postgres://user:password@host:5432/database)`);
    try {
      new URL(url);
    } catch {
      throw new PgConnectError(`${urlName} is not a valid URL (expected postgres://user:password@host:5432/database)`);
    }
    const statementTimeout = opts.statementTimeoutMs ?? 30_000;
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      application_name: 'hangar',
      // TCP keep-alive finds connections a vanished server left half-open.
      keepAlive: true,
      ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + 5_000 } : {}),
    });
    // An idle connection the server drops (restart, network blip) must not crash the process; the
    // next query gets a fresh connection or a clear error.
    pool.on('error', () => {});
    const db = new PgDb(pool, describeTarget(url));
    try {
      const client = await pool.connect().catch((err: unknown) => {
        throw new PgConnectError(connectErrorMessage(err, url, urlName));
      });
      try {
        if (opts.requireSchema && (await client.query("SELECT to_regclass('schema_migrations') AS t")).rows[0].t === null) {
          throw new PgConnectError(`no Hangar database at ${describeTarget(url)} (${urlName}): no Hangar node has started on it yet`);
        }
        await migrate(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return db;
  }

  all(sql: string, ...params: Param[]) {
    return this.q.all(sql, ...params);
  }

  get(sql: string, ...params: Param[]) {
    return this.q.get(sql, ...params);
  }

  run(sql: string, ...params: Param[]) {
    return this.q.run(sql, ...params);
  }

  /** Runs `fn` inside BEGIN … COMMIT on one connection, rolling back on throw. */
  async tx<T>(fn: (q: Querier) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw translate(err, this.target);
    });
    this.counters.transactions++;
    let broken = false;
    const control = (sql: string) => client.query(sql).catch((err: unknown) => {
      throw translate(err, this.target);
    });
    try {
      await control('BEGIN');
      const out = await fn(querier(client, this.target, this.counters));
      await control('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Unique-constraint violation (SQLSTATE 23505). */
export function isUniqueError(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

/**
 * Applies missing migrations, each in its own transaction, while holding a session-level advisory
 * lock: a second node starting at the same moment waits here, then finds everything applied.
 */
async function migrate(client: pg.PoolClient): Promise<void> {
  // Waiting for another node's migration, or a long migration, is not a stuck statement: no
  // statement_timeout here, and the client-side read timeout is a day.
  const q = (text: string, values?: unknown[]) => client.query({ text, values, query_timeout: 86_400_000 } as pg.QueryConfig);
  await q('SET statement_timeout = 0');
  await q('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await q('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set((await q('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
    for (const m of PG_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await q('BEGIN');
      try {
        await q(m.sql);
        await q('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, new Date().toISOString()]);
        await q('COMMIT');
      } catch (err) {
        await q('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await q('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    await q('RESET statement_timeout');
  }
}
