// Copies an embedded SQLite installation (its hangar.db) into an empty PostgreSQL database: every
// table row for row, sort keys included, in one PostgreSQL transaction (a failure leaves the target
// empty), then checks that each table holds as many rows as the source. Vault ciphertext is copied
// still sealed, so the same master key opens it on PostgreSQL.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PgDb, type Querier } from './pg-db.ts';
import { PORTABLE_TABLES } from './pg-migrations.ts';
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';

/** Source tables that are bookkeeping of SQLite itself or of its migrations, never copied. */
const SQLITE_INTERNAL = new Set(['schema_migrations', 'sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);

/** Rows per INSERT, and a bound on the JSON text of one batch (events can be large). */
const BATCH_ROWS = 1000;
const BATCH_BYTES = 8 * 1024 * 1024;

export class MigrateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface MigrateResult {
  /** Rows copied per table (equal in source and target). */
  counts: Record<string, number>;
}

type Row = Record<string, unknown>;

/** What the copy needs of the SQLite side (SqliteStore has it). */
export interface SqliteSource {
  all(sql: string, ...params: Array<string | number | null>): Row[];
  close(): Promise<void>;
}

export async function migrateSqliteToPostgres(opts: {
  dataDir: string;
  url: string;
  openSqlite: (file: string) => Promise<SqliteSource>;
  log?: (line: string) => void;
}): Promise<MigrateResult> {
  const file = join(opts.dataDir, 'hangar.db');
  if (!existsSync(file)) throw new MigrateError(`no Hangar database at ${file}: --from must be the data directory of an SQLite installation`);
  const log = opts.log ?? (() => {});
  const source = await opts.openSqlite(file);
  let target: PgDb | undefined;
  try {
    const tables = source.all("SELECT name FROM sqlite_master WHERE type = 'table'").map((r) => String(r.name)).filter((t) => !SQLITE_INTERNAL.has(t));
    const unknown = tables.filter((t) => !(PORTABLE_TABLES as readonly string[]).includes(t));
    if (unknown.length) {
      throw new MigrateError(`the SQLite database has tables this version cannot copy to PostgreSQL (${unknown.join(', ')}); upgrade Hangar and retry`);
    }
    target = await PgDb.open(opts.url, { urlName: '--to', statementTimeoutMs: 0 }).catch((err: unknown) => {
      throw new MigrateError((err as Error).message);
    });
    const occupied: string[] = [];
    for (const t of PORTABLE_TABLES) {
      // The default workspace is written by the migrations of both stores; it is not "data".
      const n = Number((await target.get(`SELECT COUNT(*) AS n FROM ${t}${t === 'workspaces' ? ` WHERE id <> '${DEFAULT_WORKSPACE_ID}'` : ''}`))!.n);
      if (n > 0) occupied.push(`${t}: ${n}`);
    }
    if (occupied.length) {
      throw new MigrateError(`the target database already holds Hangar data (${occupied.join(', ')} rows); migrate into an empty database (e.g. \`createdb hangar_new\`)`);
    }
    const counts: Record<string, number> = {};
    await target.tx(async (q) => {
      // The source's copy of the default workspace (possibly renamed) replaces the target's.
      if (tables.includes('workspaces')) await q.run('DELETE FROM workspaces');
      for (const t of PORTABLE_TABLES) {
        counts[t] = tables.includes(t) ? await copyTable(source, q, t) : t === 'workspaces' ? 1 : 0;
        log(`copied ${t}: ${counts[t]} rows`);
      }
      await fixSequencesAndHeads(q);
    });
    for (const t of PORTABLE_TABLES) {
      const inTarget = Number((await target.get(`SELECT COUNT(*) AS n FROM ${t}`))!.n);
      const inSource = tables.includes(t) ? Number(source.all(`SELECT COUNT(*) AS n FROM ${t}`)[0].n) : t === 'workspaces' ? 1 : 0;
      if (inTarget !== inSource || inTarget !== counts[t]) {
        throw new MigrateError(`verification failed for ${t}: ${inSource} rows in SQLite, ${inTarget} in PostgreSQL; the target is not usable, drop it and retry`);
      }
    }
    return { counts };
  } finally {
    await target?.close();
    await source.close();
  }
}

/** Copies one table in rowid order, batching rows into `INSERT … SELECT … FROM json_populate_recordset`. */
async function copyTable(source: SqliteSource, q: Querier, table: string): Promise<number> {
  const sourceColumns = source.all(`PRAGMA table_info(${table})`).map((r) => String(r.name));
  const targetColumns = new Set((await q.all(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?", table)).map((r) => String(r.column_name)));
  const missing = sourceColumns.filter((c) => !targetColumns.has(c));
  if (missing.length) throw new MigrateError(`the PostgreSQL table ${table} lacks columns ${missing.join(', ')}; upgrade Hangar and retry`);
  const cols = sourceColumns.join(', ');
  const insert = `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${table}, ?::json)`;
  let copied = 0;
  let after = 0;
  for (;;) {
    const rows = source.all(`SELECT rowid AS hangar_rowid, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`, after, BATCH_ROWS);
    if (rows.length === 0) return copied;
    let batch: Row[] = [];
    let bytes = 0;
    for (const r of rows) {
      const { hangar_rowid: rowid, ...values } = r;
      after = Number(rowid);
      const size = JSON.stringify(values).length;
      if (batch.length && bytes + size > BATCH_BYTES) {
        await q.run(insert, JSON.stringify(batch));
        batch = [];
        bytes = 0;
      }
      batch.push(values);
      bytes += size;
    }
    if (batch.length) await q.run(insert, JSON.stringify(batch));
    copied += rows.length;
  }
}

/** Moves every serial sequence past the copied sort keys and records each session's last event. */
async function fixSequencesAndHeads(q: Querier): Promise<void> {
  const withSeq = (await q.all(
    "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'seq'")).map((r) => String(r.table_name));
  for (const t of PORTABLE_TABLES.filter((x) => withSeq.includes(x))) {
    const seq = await q.get('SELECT pg_get_serial_sequence(?, ?) AS s', t, 'seq');
    if (!seq?.s) continue;
    await q.get(`SELECT setval(?::regclass, COALESCE((SELECT MAX(seq) FROM ${t}), 0) + 1, false)`, String(seq.s));
  }
  await q.run('UPDATE sessions s SET log_head = COALESCE((SELECT MAX(seq) FROM events e WHERE e.session_id = s.id), 0)');
}
