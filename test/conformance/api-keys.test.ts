// Revocable API keys (issue 9): HANGAR_API_KEY is the bootstrap key, so a changed value revokes the
// old one at the next start, and `hangar keys list|create|revoke|rotate` manages keys in the data
// directory (or PostgreSQL database) while the server runs, effective on its next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, storeEnvFor, storedBytes, testStore, type TestHangar } from '../kit/hangar.ts';
import { createTestDatabase, postgresServerUrl } from '../kit/postgres.ts';
import { ConfigError } from '../../src/server/config.ts';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEY_A = 'sk-rotate-aaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'sk-rotate-bbbbbbbbbbbbbbbbbbbbbbbb';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hangar-keys-'));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

const start = (dir: string, apiKey: string) => startHangar({ dataDir: dir, env: { HANGAR_API_KEY: apiKey } });

/** The status of an authenticated list call with `key`. */
async function statusWith(h: TestHangar, key: string): Promise<number> {
  const res = await fetch(`${h.url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } });
  return res.status;
}

/** Runs `hangar keys …` on the store of the servers started on `dir` (its data dir, or its PostgreSQL database). */
async function hangar(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return hangarWith({ HANGAR_DATA_DIR: dir, ...storeEnvFor(dir) }, ...args);
}

async function hangarWith(vars: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_'))), ...vars };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'keys', ...args], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('rotating HANGAR_API_KEY', () => {
  it('revokes the previous value at the next start and refuses to bring a revoked value back', async () => {
    const dir = dataDir();
    let h = await start(dir, KEY_A);
    expect(await statusWith(h, KEY_A)).toBe(200);
    await h.close();

    h = await start(dir, KEY_B);
    expect(await statusWith(h, KEY_B)).toBe(200);
    expect(await statusWith(h, KEY_A)).toBe(401);
    await h.close();

    // Restarting with the same value keeps it; going back to the revoked value is a start-up error.
    h = await start(dir, KEY_B);
    expect(await statusWith(h, KEY_B)).toBe(200);
    await h.close();
    const back = await start(dir, KEY_A).then((x) => x.close().then(() => undefined), (err: unknown) => err);
    expect(back).toBeInstanceOf(ConfigError);
    expect(String((back as Error).message)).toMatch(/HANGAR_API_KEY holds the revoked key key_\w+/);
    expect(String((back as Error).message)).not.toContain(KEY_A);
  });

  it('unsetting the variable revokes the bootstrap key and generates a new one, printed once', async () => {
    const dir = dataDir();
    let h = await start(dir, KEY_A);
    await h.close();
    h = await start(dir, '');
    const generated = h.hangar.generatedApiKey!;
    expect(generated).toMatch(/^sk-hangar-/);
    expect(await statusWith(h, generated)).toBe(200);
    expect(await statusWith(h, KEY_A)).toBe(401);
    await h.close();
    // The generated key is kept across starts without the variable, and only its hash is stored.
    h = await start(dir, '');
    expect(h.hangar.generatedApiKey).toBeUndefined();
    expect(await statusWith(h, generated)).toBe(200);
    await h.close();
    const db = await storedBytes(dir);
    expect(db.length).toBeGreaterThan(0);
    expect(db.includes(Buffer.from(generated))).toBe(false);
    expect(db.includes(Buffer.from(KEY_A))).toBe(false);
  });

  it('leaves keys made with `hangar keys create` valid across a rotation', async () => {
    const dir = dataDir();
    let h = await start(dir, KEY_A);
    const created = await hangar(dir, 'create', '--name', 'deploy');
    const key = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    await h.close();
    h = await start(dir, KEY_B);
    expect(await statusWith(h, key)).toBe(200);
    expect(await statusWith(h, KEY_A)).toBe(401);
    await h.close();
  });
});

describe('hangar keys', () => {
  let dir: string;
  let h: TestHangar;
  beforeAll(async () => {
    dir = dataDir();
    h = await start(dir, KEY_A);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates a key (shown once) that the running server accepts, lists it without the secret, and revokes it at once', async () => {
    const created = await hangar(dir, 'create', '--name', 'ci runner');
    expect(created.code, created.stderr).toBe(0);
    const key = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    const id = /(key_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    const client = new Anthropic({ baseURL: h.url, apiKey: key, maxRetries: 0 });
    expect((await client.beta.agents.list()).data).toEqual([]);

    const listed = await hangar(dir, 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+CREATED_AT\s+HINT\s+STATUS\s+SOURCE\s+ROLE\s+WORKSPACE\s+EXPIRES_AT$/m);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(id))!;
    expect(line).toMatch(new RegExp(`^${id}\\s+ci runner\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+…${key.slice(-4)}\\s+active\\s+cli\\s+admin\\s+organization\\s+-$`));
    expect(listed.stdout).toMatch(/HANGAR_API_KEY\s+\S+\s+…aaaa\s+active\s+env/);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(KEY_A);

    const revoked = await hangar(dir, 'revoke', id);
    expect(revoked.code, revoked.stderr).toBe(0);
    await expect(client.beta.agents.list()).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    expect((await hangar(dir, 'list')).stdout).toMatch(new RegExp(`^${id}\\s+ci runner\\s+\\S+\\s+\\S+\\s+revoked \\d{4}-`, 'm'));
    expect(await statusWith(h, KEY_A)).toBe(200);
  });

  it('fails clearly on unknown or already revoked ids, a missing name, and a missing data dir', async () => {
    const unknown = await hangar(dir, 'revoke', 'key_doesnotexist');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key key_doesnotexist');
    const created = await hangar(dir, 'create', '--name', 'twice');
    const id = /(key_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    expect((await hangar(dir, 'revoke', id)).code).toBe(0);
    const again = await hangar(dir, 'revoke', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already revoked');
    const noName = await hangar(dir, 'create');
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('--name');
    const nowhere = join(dir, 'nope');
    const missing = await hangar(nowhere, 'list');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no Hangar database at ${join(nowhere, 'hangar.db')}`);
    expect(readdirSync(dir)).not.toContain('nope');
    if (testStore() === 'postgres') {
      // A database no node has started on is refused, never given Hangar's tables by `hangar keys`.
      const empty = await createTestDatabase((await postgresServerUrl())!);
      try {
        const none = await hangarWith({ HANGAR_DATABASE_URL: empty.url }, 'list');
        expect(none.code).toBe(1);
        expect(none.stderr).toContain(`no Hangar database at 127.0.0.1:${new URL(empty.url).port}/${empty.name}`);
        const unreachable = await hangarWith({ HANGAR_DATABASE_URL: 'postgres://hangar@127.0.0.1:9/hangar' }, 'list');
        expect(unreachable.code).toBe(1);
        expect(unreachable.stderr).toContain('connection refused');
      } finally {
        await empty.drop();
      }
    }
    const bad = await hangar(dir, 'rotate');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("missing required argument 'key_id'");
  });

  it('creates keys with a role and a workspace binding the running server enforces', async () => {
    const ws = await new Anthropic({ baseURL: h.url, apiKey: KEY_A, maxRetries: 0 }).beta.organization.workspaces.create({ name: 'cli-ws' });
    const created = await hangar(dir, 'create', '--name', 'cli viewer', '--role', 'viewer', '--workspace', ws.id);
    expect(created.code, created.stderr).toBe(0);
    const key = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    const id = /(key_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    const viewer = new Anthropic({ baseURL: h.url, apiKey: key, maxRetries: 0 });
    expect((await viewer.beta.agents.list()).data).toEqual([]);
    await expect(viewer.beta.agents.create({ name: 'x', model: 'claude-sonnet-4-6' })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    await expect(viewer.beta.agents.list({ workspace_id: 'wrkspc_default' })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((await hangar(dir, 'list')).stdout).toMatch(new RegExp(`^${id}\\s.*\\sviewer\\s+${ws.id}\\s+-$`, 'm'));
    const badRole = await hangar(dir, 'create', '--name', 'x', '--role', 'root');
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain('--role must be one of admin, developer, runner, viewer');
    const badWs = await hangar(dir, 'create', '--name', 'x', '--workspace', 'wrkspc_nope');
    expect(badWs.code).toBe(1);
    expect(badWs.stderr).toContain('no active workspace wrkspc_nope');
  });

  it('rotates a key: same id, role and binding, a new secret the running server accepts; the old one is refused at once', async () => {
    const ws = await new Anthropic({ baseURL: h.url, apiKey: KEY_A, maxRetries: 0 }).beta.organization.workspaces.create({ name: 'cli-rotate' });
    const created = await hangar(dir, 'create', '--name', 'to rotate', '--role', 'runner', '--workspace', ws.id);
    const oldKey = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    const id = /(key_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    expect(await statusWith(h, oldKey)).toBe(200);
    const rotated = await hangar(dir, 'rotate', id);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain(`rotated ${id}`);
    const newKey = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(rotated.stdout)![1];
    expect(newKey).not.toBe(oldKey);
    expect(await statusWith(h, oldKey)).toBe(401);
    const client = new Anthropic({ baseURL: h.url, apiKey: newKey, maxRetries: 0 });
    expect((await client.beta.agents.list()).data).toEqual([]);
    // Same key: its role and workspace binding hold (a runner cannot create agents; it acts in its workspace).
    await expect(client.beta.agents.create({ name: 'x', model: 'claude-sonnet-4-6' })).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    const line = (await hangar(dir, 'list')).stdout.split('\n').find((l) => l.startsWith(id))!;
    expect(line).toMatch(new RegExp(`^${id}\\s+to rotate\\s+\\S+\\s+…${newKey.slice(-4)}\\s+active\\s+cli\\s+runner\\s+${ws.id}\\s+-$`));
    expect(await statusWith(h, KEY_A)).toBe(200);

    // Refused: unknown, revoked, and the bootstrap key (rotated by setting a new HANGAR_API_KEY).
    const unknown = await hangar(dir, 'rotate', 'key_doesnotexist');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key key_doesnotexist');
    expect((await hangar(dir, 'revoke', id)).code).toBe(0);
    const revoked = await hangar(dir, 'rotate', id);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain(`API key ${id} is inactive; only active keys can be rotated`);
    expect(await statusWith(h, newKey)).toBe(401);
    const bootstrapId = /^(key_\w+)\s+HANGAR_API_KEY/m.exec((await hangar(dir, 'list')).stdout)![1];
    const bootstrap = await hangar(dir, 'rotate', bootstrapId);
    expect(bootstrap.code).toBe(1);
    expect(bootstrap.stderr).toContain('bootstrap key HANGAR_API_KEY');
    expect(await statusWith(h, KEY_A)).toBe(200);
  });

  it('creates a key with --expires-at (stored in UTC, listed, in the API), lists a passed one as expired and will not rotate it, and rejects bad expiries', async () => {
    const at = new Date(Date.now() + 3_600_000);
    const created = await hangar(dir, 'create', '--name', 'expiring', '--expires-at', at.toISOString().replace(/\.\d+Z$/, '+00:00'));
    expect(created.code, created.stderr).toBe(0);
    const key = /(sk-hangar-[A-Za-z0-9_-]+)/.exec(created.stdout)![1];
    const id = /(key_[A-Za-z0-9]+)/.exec(created.stdout)![1];
    const stored = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString();
    expect(created.stdout).toContain(`expires ${stored}`);
    expect(await statusWith(h, key)).toBe(200);
    const admin = new Anthropic({ baseURL: h.url, apiKey: KEY_A, maxRetries: 0 });
    expect((await admin.beta.organization.apiKeys.retrieve(id)).expires_at).toBe(stored);
    expect((await hangar(dir, 'list')).stdout).toMatch(new RegExp(`^${id}\\s+expiring\\s.*\\sactive\\s+cli\\s+admin\\s+organization\\s+${stored}$`, 'm'));

    // Passed (the stored expiry moved into the past, as the clock would): refused by the server, listed as expired, not rotatable.
    await h.hangar.store.apiKeys.insert('key_cliexpired00000000000001', 'f'.repeat(64), new Date(0).toISOString(), {
      name: 'cli-expired', source: 'cli', role: 'admin', expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect((await hangar(dir, 'list')).stdout).toMatch(/^key_cliexpired00000000000001\s+cli-expired\s.*\sexpired\s+cli\s/m);
    const expiredRotate = await hangar(dir, 'rotate', 'key_cliexpired00000000000001');
    expect(expiredRotate.code).toBe(1);
    expect(expiredRotate.stderr).toContain('is expired; only active keys can be rotated');

    const keysBefore = (await hangar(dir, 'list')).stdout;
    for (const [value, message] of [
      ['tomorrow', '--expires-at must be an RFC 3339 date-time'],
      ['2027-01-31', '--expires-at must be an RFC 3339 date-time'],
      ['2020-01-01T00:00:00Z', '--expires-at must be in the future'],
    ]) {
      const bad = await hangar(dir, 'create', '--name', 'bad expiry', '--expires-at', value);
      expect(bad.code, value).toBe(1);
      expect(bad.stderr).toContain(message);
    }
    expect((await hangar(dir, 'list')).stdout).toBe(keysBefore);
  });

  it('warns when the last active key is revoked', async () => {
    const solo = dataDir();
    const s = await start(solo, KEY_B);
    await s.close();
    const listed = await hangar(solo, 'list');
    const id = /(key_[A-Za-z0-9]+)/.exec(listed.stdout)![1];
    const revoked = await hangar(solo, 'revoke', id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('no active API key is left');
  });
});
