// Test kit: starts a real Hangar server in-process on a random loopback port with its own data dir,
// and hands back an official SDK client pointed at it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { loadConfig } from '../../src/server/config.ts';
import { createHangar, type Hangar, type HangarOverrides } from '../../src/server/hangar.ts';

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
    ...opts.env,
  });
  const hangar = await createHangar(config, opts.overrides);
  const url = await hangar.listen();
  const client = new Anthropic({ baseURL: url, apiKey, maxRetries: 0, timeout: 20_000 });
  return {
    url, apiKey, client, hangar, dataDir,
    async close() {
      await hangar.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
