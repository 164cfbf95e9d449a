// Test kit: starts a real Hangar server in-process on a random loopback port with its own data dir,
// and hands back an official SDK client pointed at it. With HANGAR_TEST_STORE=postgres the server
// runs on PostgreSQL instead (test/kit/postgres.ts): a fresh database and master key per data dir,
// kept for a restart on the same data dir, dropped when the server that created the dir closes.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import pg from 'pg';
import { loadConfig } from '../../src/server/config.ts';
import { createHangar, type Hangar, type HangarOverrides } from '../../src/server/hangar.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from './postgres.ts';

export interface TestHangar {
  url: string;
  apiKey: string;
  client: Anthropic;
  hangar: Hangar;
  dataDir: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Fake upstream URL (ANTHROPIC_BASE_URL). */
  upstreamUrl?: string;
  /** Extra environment variables (HANGAR_*). */
  env?: Record<string, string>;
  /** Reuse a data dir (e.g. to restart on the same database); removed on close only if created here. */
  dataDir?: string;
  overrides?: HangarOverrides;
}

/** Which store servers started here use: HANGAR_TEST_STORE=postgres, else the embedded SQLite. */
export const testStore = (): 'sqlite' | 'postgres' => (process.env.HANGAR_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite');

/** Per data dir: its PostgreSQL database and master key (so a restart on the dir finds its data). */
const pgByDataDir = new Map<string, { db: TestDatabase; masterKey: string }>();

async function postgresEnv(dataDir: string): Promise<Record<string, string>> {
  let entry = pgByDataDir.get(dataDir);
  if (!entry) {
    const server = await postgresServerUrl();
    if (!server) throw new Error('HANGAR_TEST_STORE=postgres, but no PostgreSQL server is available (see test/kit/postgres.ts)');
    entry = { db: await createTestDatabase(server), masterKey: randomBytes(32).toString('base64') };
    pgByDataDir.set(dataDir, entry);
  }
  return { HANGAR_DATABASE_URL: entry.db.url, HANGAR_MASTER_KEY: entry.masterKey };
}

/** The store variables a process needs to open the same store as the servers started here on `dataDir` (none on SQLite). */
export function storeEnvFor(dataDir: string): Record<string, string> {
  const entry = pgByDataDir.get(dataDir);
  return entry ? { HANGAR_DATABASE_URL: entry.db.url } : {};
}

/**
 * Every byte the store keeps for `dataDir` at rest: on SQLite the database file, its WAL and shared
 * memory; on PostgreSQL every row of the database as text plus, when this process can read the
 * server's files (a local test cluster), the database's relation files after a CHECKPOINT and the WAL
 * (`rowsOnly`: the rows alone, what a purge guarantees on PostgreSQL before VACUUM; see the README).
 */
export async function storedBytes(dataDir: string, opts: { rowsOnly?: boolean } = {}): Promise<Buffer> {
  const entry = pgByDataDir.get(dataDir);
  if (!entry) {
    const parts = ['hangar.db', 'hangar.db-wal', 'hangar.db-shm'].map((f) => join(dataDir, f)).filter(existsSync).map((f) => readFileSync(f));
    return Buffer.concat(parts);
  }
  const client = new pg.Client({ connectionString: entry.db.url });
  await client.connect();
  try {
    const parts: Buffer[] = [];
    const tables = (await client.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).rows.map((r) => String(r.tablename));
    for (const t of tables) {
      for (const r of (await client.query(`SELECT t::text AS row FROM "${t}" t`)).rows) parts.push(Buffer.from(String(r.row)));
    }
    if (opts.rowsOnly) return Buffer.concat(parts);
    await client.query('CHECKPOINT');
    const dataDirectory = String((await client.query('SHOW data_directory')).rows[0].data_directory);
    const oid = String((await client.query('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0].oid);
    for (const dir of [join(dataDirectory, 'base', oid), join(dataDirectory, 'pg_wal')]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue; // another machine's server, or files this user may not read: the rows above still count
      }
      for (const n of names) {
        try {
          parts.push(readFileSync(join(dir, n)));
        } catch { /* a directory, or a file that went away */ }
      }
    }
    return Buffer.concat(parts);
  } finally {
    await client.end();
  }
}

export async function startHangar(opts: StartOptions = {}): Promise<TestHangar> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hangar-test-'));
  // The unprivileged sandbox user must be able to traverse to the workspaces (mkdtemp makes 0700).
  if (ownDir) chmodSync(dataDir, 0o755);
  const apiKey = `sk-test-${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    HANGAR_HOST: '127.0.0.1',
    HANGAR_PORT: '0',
    HANGAR_DATA_DIR: dataDir,
    HANGAR_API_KEY: apiKey,
    HANGAR_LOG_LEVEL: 'silent',
    ANTHROPIC_API_KEY: 'sk-upstream-test',
    ANTHROPIC_BASE_URL: opts.upstreamUrl ?? 'http://127.0.0.1:9',
    HANGAR_RETRY_BASE_MS: '10',
    HANGAR_RETRY_MAX_MS: '40',
    HANGAR_LEASE_TTL_MS: '2000',
    ...(testStore() === 'postgres' ? await postgresEnv(dataDir) : {}),
    ...opts.env,
  });
  const hangar = await createHangar(config, opts.overrides);
  const url = await hangar.listen();
  const client = new Anthropic({ baseURL: url, apiKey, maxRetries: 0, timeout: 20_000 });
  return {
    url, apiKey, client, hangar, dataDir,
    async close() {
      await hangar.close();
      if (ownDir) {
        rmSync(dataDir, { recursive: true, force: true });
        await pgByDataDir.get(dataDir)?.db.drop();
        pgByDataDir.delete(dataDir);
      }
    },
  };
}
