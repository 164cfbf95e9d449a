// Test kit: a real PostgreSQL server for tests, and a fresh database per caller.
// The server is HANGAR_TEST_DATABASE_URL when set (.ci/run starts one). Otherwise, outside CI, this
// process starts its own throwaway cluster with test/kit/pg-cluster.sh when `initdb` is installed
// (stopped when the process exits, by a watchdog even if it is killed); without one the tests skip
// with a loud message. Under CI=true a missing server fails instead of skipping.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const SCRIPT = join(import.meta.dirname, 'pg-cluster.sh');

let server: Promise<string | undefined> | undefined;

/** Whether a test server is (or can be made) available; logs loudly when not. Throws under CI=true without one. */
export function postgresServerUrl(): Promise<string | undefined> {
  server ??= findServer();
  return server;
}

async function findServer(): Promise<string | undefined> {
  const fromEnv = process.env.HANGAR_TEST_DATABASE_URL;
  if (fromEnv) return fromEnv;
  if (process.env.CI === 'true') {
    throw new Error('HANGAR_TEST_DATABASE_URL is not set under CI=true: .ci/run must start PostgreSQL for the PostgreSQL tests');
  }
  const dir = mkdtempSync(join(tmpdir(), 'hangar-pg-'));
  let url: string;
  try {
    url = execFileSync('bash', [SCRIPT, 'start', dir, 'fast'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const why = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    process.stderr.write(`\n*** SKIPPING PostgreSQL tests: no HANGAR_TEST_DATABASE_URL and no throwaway cluster could start (${why}) ***\n\n`);
    return undefined;
  }
  // Stop the cluster when this process ends, however it ends.
  const watchdog = spawn('bash', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; bash "$0" stop "$1"`, SCRIPT, dir],
    { detached: true, stdio: 'ignore' });
  watchdog.unref();
  process.once('exit', () => {
    try {
      execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
    } catch { /* the watchdog retries */ }
  });
  return url;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database (closing any connection still open to it). */
  drop(): Promise<void>;
}

/** Creates an empty database with a random name on the test server. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `hangar_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  return {
    url: withDatabase(serverUrl, name),
    name,
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
