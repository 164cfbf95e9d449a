// The `hangar` command line: env-key create/list/revoke against a live server, worker flag
// parsing, and the errors a mistyped command gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { startWorkRig, type WorkRig } from './work-kit.ts';
import { parseWorkerConfig, WorkerConfigError } from '../../src/worker/worker-config.ts';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let rig: WorkRig;
beforeAll(async () => {
  rig = await startWorkRig();
});
afterAll(async () => {
  await rig?.close();
});

async function hangar(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_')));
  try {
    const { stdout, stderr } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('hangar env-key', () => {
  it('creates a key that polls, lists it, and revokes it', async () => {
    const conn = ['--url', rig.h.url, '--api-key', rig.h.apiKey];
    const created = await hangar('env-key', 'create', rig.envId, ...conn);
    expect(created.code, created.stderr).toBe(0);
    const key = /(sk-ant-oat01-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    const keyId = /(envkey_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    const worker = new Anthropic({ baseURL: rig.h.url, apiKey: null, authToken: key, maxRetries: 0 });
    expect(await worker.beta.environments.work.poll(rig.envId)).toBeNull();

    const listed = await hangar('env-key', 'list', rig.envId, ...conn);
    expect(listed.stdout).toContain(keyId);
    expect(listed.stdout).not.toContain(key);

    expect((await hangar('env-key', 'revoke', rig.envId, keyId, ...conn)).code).toBe(0);
    await expect(worker.beta.environments.work.poll(rig.envId)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('fails clearly without an API key or with an unknown command', async () => {
    const noKey = await hangar('env-key', 'create', rig.envId, '--url', rig.h.url);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('HANGAR_API_KEY');
    const unknown = await hangar('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
    const badKey = await hangar('worker', '--environment', rig.envId, '--key', 'sk-nope');
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('sk-ant-oat01-');
  });

  it('exits 1 when the server rejects the environment key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hangar-cli-worker-'));
    const r = await hangar('worker', '--environment', rig.envId, '--key', 'sk-ant-oat01-unknown', '--url', rig.h.url, '--log-level', 'silent', '--data-dir', dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('401');
  });
});

describe('worker configuration', () => {
  it('takes flags over environment variables and applies defaults', () => {
    const c = parseWorkerConfig({ environment: 'env_abc', 'max-idle-ms': '500', network: 'none' }, { HANGAR_ENVIRONMENT_KEY: 'sk-ant-oat01-x', HANGAR_URL: 'http://h:1/' });
    expect(c).toMatchObject({
      baseUrl: 'http://h:1', environmentId: 'env_abc', environmentKey: 'sk-ant-oat01-x', sandbox: 'bwrap',
      network: { type: 'none' }, maxIdleMs: 500, limits: { memoryBytes: 2048 * 1024 * 1024, pids: 512, cpus: 1 },
    });
    expect(parseWorkerConfig({ environment: 'env_abc', key: 'sk-ant-oat01-y' }, {}).network).toEqual({ type: 'proxy', allowedHosts: null });
  });

  it('reads the sandbox host uid/gid like the server does (one alone sets both; 0 is refused)', () => {
    const env = { HANGAR_ENVIRONMENT_KEY: 'sk-ant-oat01-x' };
    expect(parseWorkerConfig({ environment: 'env_a' }, env).sandboxUser).toBeUndefined();
    expect(parseWorkerConfig({ environment: 'env_a' }, { ...env, HANGAR_SANDBOX_UID: '2100000000' }).sandboxUser).toEqual({ uid: 2100000000, gid: 2100000000 });
    expect(parseWorkerConfig({ environment: 'env_a' }, { ...env, HANGAR_SANDBOX_UID: '2100000000', HANGAR_SANDBOX_GID: '2100000001' }).sandboxUser).toEqual({ uid: 2100000000, gid: 2100000001 });
    expect(() => parseWorkerConfig({ environment: 'env_a' }, { ...env, HANGAR_SANDBOX_UID: '0' })).toThrow(/must not be 0/);
  });

  it('rejects a missing environment, a bad sandbox or a negative limit', () => {
    const env = { HANGAR_ENVIRONMENT_KEY: 'sk-ant-oat01-x' };
    expect(() => parseWorkerConfig({}, env)).toThrow(WorkerConfigError);
    expect(() => parseWorkerConfig({ environment: 'env_a', sandbox: 'docker' }, env)).toThrow(/--sandbox/);
    expect(() => parseWorkerConfig({ environment: 'env_a', pids: '-1' }, env)).toThrow(WorkerConfigError);
  });
});
