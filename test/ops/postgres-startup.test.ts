// Starting on PostgreSQL through the built entry point (`node dist/cli/main.js serve`, what
// `npm start` runs): a node needs only HANGAR_DATABASE_URL and HANGAR_MASTER_KEY; a URL that is not
// one, an unreachable server, a wrong password, a missing database, a missing master key and a
// master key other than the one that sealed the database each stop it with one clear
// `hangar: …` line and a non-zero exit, never a stack trace or the password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort, serverNode } from '../kit/child-server.ts';
import { createTestDatabase, postgresServerUrl, withDatabase, type TestDatabase } from '../kit/postgres.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = await postgresServerUrl();
const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');

let root: string;
let db: TestDatabase;

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the built server with `env`; resolves at exit, or when stdout shows `until` (then stops it). */
function serve(env: Record<string, string>, until?: RegExp): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
  const child = spawn(serverNode(), ['--disable-warning=ExperimentalWarning', 'dist/cli/main.js', 'serve'], {
    cwd: REPO_ROOT,
    env: { ...inherited, HANGAR_HOST: '127.0.0.1', HANGAR_PORT: '0', HANGAR_DATA_DIR: join(root, `d-${randomBytes(4).toString('hex')}`), HANGAR_SANDBOX: 'unsafe-local', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`the server did not exit within 30 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (c) => {
      stdout += c;
      if (until?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

function expectOneLine(run: Run, pattern: RegExp): void {
  expect(run.code, run.stderr).not.toBe(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^hangar: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!server)('starting on PostgreSQL', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hangar-pgstart-'));
    chmodSync(root, 0o755);
    db = await createTestDatabase(server!);
  });
  afterAll(async () => {
    await db?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('starts with only HANGAR_DATABASE_URL and HANGAR_MASTER_KEY and says it runs on PostgreSQL', async () => {
    const run = await serve({ HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: KEY_A }, /"msg":"hangar listening"/);
    expect(run.stdout).toMatch(/store\s+postgres 127\.0\.0\.1:\d+\/hangar_test_/);
    expect(run.stderr).not.toMatch(/hangar: /);
  });

  it('refuses a master key other than the one that sealed the database, saying so', async () => {
    const run = await serve({ HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: KEY_B });
    expectOneLine(run, /the master key does not match this installation's data/);
  });

  it('refuses to start on PostgreSQL without HANGAR_MASTER_KEY', async () => {
    expectOneLine(await serve({ HANGAR_DATABASE_URL: db.url }), /set HANGAR_MASTER_KEY .*the same on every node/);
  });

  it('refuses a value that is not a URL, or not a PostgreSQL one', async () => {
    expectOneLine(await serve({ HANGAR_DATABASE_URL: 'not a url', HANGAR_MASTER_KEY: KEY_A }), /HANGAR_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expectOneLine(await serve({ HANGAR_DATABASE_URL: 'postgresql://[bad', HANGAR_MASTER_KEY: KEY_A }), /HANGAR_DATABASE_URL is not a valid URL/);
  });

  it('refuses the database timeouts without PostgreSQL, and out-of-range values', async () => {
    expectOneLine(await serve({ HANGAR_DATABASE_STATEMENT_TIMEOUT_MS: '5000' }),
      /HANGAR_DATABASE_STATEMENT_TIMEOUT_MS apply to PostgreSQL only \(HANGAR_DATABASE_URL\).*unset it/);
    expectOneLine(await serve({ HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: KEY_A, HANGAR_DATABASE_CONNECT_TIMEOUT_MS: '10' }),
      /HANGAR_DATABASE_CONNECT_TIMEOUT_MS/);
  });

  it('names an unreachable server', async () => {
    const port = await freePort();
    expectOneLine(await serve({ HANGAR_DATABASE_URL: `postgres://hangar@127.0.0.1:${port}/hangar`, HANGAR_MASTER_KEY: KEY_A }),
      new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/hangar \\(HANGAR_DATABASE_URL\\): connection refused`));
  });

  it('names a wrong password without printing it, and a missing database', async () => {
    const role = `hangar_pw_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server! });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'right-password'`);
      const u = new URL(db.url);
      u.username = role;
      u.password = 'wrong-secret-password';
      const run = await serve({ HANGAR_DATABASE_URL: u.toString(), HANGAR_MASTER_KEY: KEY_A });
      expectOneLine(run, /password authentication failed; check the user and password in the URL/);
      expect(run.stderr).not.toContain('wrong-secret-password');
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await admin.end();
    }
    const missing = withDatabase(server!, 'hangar_no_such_database');
    expectOneLine(await serve({ HANGAR_DATABASE_URL: missing, HANGAR_MASTER_KEY: KEY_A }), /the database does not exist; create it first/);
  });
});
