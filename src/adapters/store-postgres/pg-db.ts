// The PostgreSQL connection layer of the store: a `pg` pool, named (prepared) statements written
// with `?` placeholders like the SQLite adapter's, transactions, start-up connection errors as
// one clear line, and numbered migrations applied under an advisory lock so that several nodes
// starting at once migrate exactly once.
import pg from 'pg';
import { PG_MIGRATIONS } from './pg-migrations.ts';

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

function querier(target: pg.Pool | pg.PoolClient, counters?: { statements: number }): Querier {
  const exec = async (sql: string, params: Param[]) => {
    if (counters) counters.statements++;
    const s = statement(sql);
    return target.query({ name: s.name, text: s.text, values: params });
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
  /** How long a connection attempt may take (default 10 s). */
  connectTimeoutMs?: number;
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
  private readonly q: Querier;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
    this.q = querier(pool, this.counters);
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
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'hangar',
    });
    // An idle connection the server drops (restart, network blip) must not crash the process; the
    // next query gets a fresh connection or a clear error.
    pool.on('error', () => {});
    const db = new PgDb(pool);
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
    const client = await this.pool.connect();
    this.counters.transactions++;
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(querier(client, this.counters));
      await client.query('COMMIT');
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
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
    for (const m of PG_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
