// Test kit: starts a real Hangar server in-process on a random loopback port with its own data dir,
// and hands back an official SDK client pointed at it. With HANGAR_TEST_STORE=postgres the server
// runs on PostgreSQL instead (test/kit/postgres.ts): a fresh database and master key per data dir,
// kept for a restart on the same data dir, dropped when the server that created the dir closes.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
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
