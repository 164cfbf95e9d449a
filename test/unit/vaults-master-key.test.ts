// Starting Hangar against existing encrypted data: a wrong, malformed or exposed master key stops
// the start loudly (in-process and through `npm start`'s entry point) without printing the key;
// rotation with `new,old` re-seals everything so the old key can then be dropped.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startHangar } from '../kit/hangar.ts';
import { ConfigError } from '../../src/server/config.ts';
import { masterKeyId } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';

const REPO = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hangar-mk-'));
  dirs.push(d);
  return d;
}

const newKey = () => randomBytes(32);

async function startFailure(dir: string, env: Record<string, string> = {}): Promise<Error> {
  try {
    const h = await startHangar({ dataDir: dir, env });
    await h.close();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the start to fail');
}

/** Starts, stores one static_bearer credential, stops. Returns its ids and token. */
async function seed(dir: string, env: Record<string, string> = {}) {
  const h = await startHangar({ dataDir: dir, env });
  try {
    const v = await h.client.beta.vaults.create({ display_name: 'v' });
    const token = `tok-${randomBytes(8).toString('hex')}`;
    await h.client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token } });
    return { vaultId: v.id, token };
  } finally {
    await h.close();
  }
}

describe('master key at start-up', () => {
  it('fails loudly with a wrong HANGAR_MASTER_KEY, naming key ids but never the key', async () => {
    const dir = dataDir();
    const right = newKey();
    await seed(dir, { HANGAR_MASTER_KEY: right.toString('base64') });
    const wrong = newKey();
    const e = await startFailure(dir, { HANGAR_MASTER_KEY: wrong.toString('base64') });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/the master key does not match this installation's data/);
    expect(e.message).toContain(masterKeyId(right));
    expect(e.message).toContain(masterKeyId(wrong));
    expect(e.message).not.toContain(wrong.toString('base64'));
    expect(e.message).not.toContain(right.toString('base64'));
    // The right key still works afterwards (nothing was overwritten by the failed start).
    const h = await startHangar({ dataDir: dir, env: { HANGAR_MASTER_KEY: right.toString('base64') } });
    await h.close();
  });

  it('fails when the generated key file is replaced, lost or exposed', async () => {
    const dir = dataDir();
    await seed(dir);
    const keyFile = join(dir, 'master.key');
    chmodSync(keyFile, 0o644);
    expect((await startFailure(dir)).message).toMatch(/accessible by group or others.*chmod 600/);
    chmodSync(keyFile, 0o600);
    unlinkSync(keyFile);
    expect((await startFailure(dir)).message).toMatch(/master key file .* is missing, but this database already holds encrypted secrets/);
    expect(existsSync(keyFile)).toBe(false);
  });

  it('rejects a master key of the wrong length before touching the data', async () => {
    const short = randomBytes(24).toString('base64');
    const e = await startFailure(dataDir(), { HANGAR_MASTER_KEY: short });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/HANGAR_MASTER_KEY decodes to 24 bytes; a master key must be exactly 32 bytes/);
    expect(e.message).not.toContain(short);
  });

  it('rotates with "new,old": secrets are re-sealed, after which the new key alone works and the old alone fails', async () => {
    const dir = dataDir();
    const oldKey = newKey();
    const next = newKey();
    const { vaultId, token } = await seed(dir, { HANGAR_MASTER_KEY: oldKey.toString('base64') });

    const rotating = await startHangar({ dataDir: dir, env: { HANGAR_MASTER_KEY: `${next.toString('base64')},${oldKey.toString('base64')}` } });
    try {
      expect(await rotating.hangar.vaults.mcpCredential([vaultId], 'https://mcp.example.com/mcp')).toMatchObject({ token });
      const page = await rotating.hangar.store.vaults.listCredentials(vaultId, { limit: 10, order: 'asc', includeArchived: false });
      expect(page.data.map((r) => r.sealedKeyId)).toEqual([masterKeyId(next)]);
    } finally {
      await rotating.close();
    }
    const after = await startHangar({ dataDir: dir, env: { HANGAR_MASTER_KEY: next.toString('base64') } });
    try {
      expect(await after.hangar.vaults.mcpCredential([vaultId], 'https://mcp.example.com/mcp')).toMatchObject({ token });
    } finally {
      await after.close();
    }
    expect((await startFailure(dir, { HANGAR_MASTER_KEY: oldKey.toString('base64') })).message).toMatch(/does not match/);
  });

  it('`npm start` exits with status 2 and a one-line reason when the key is wrong', async () => {
    const dir = dataDir();
    await seed(dir, { HANGAR_MASTER_KEY: newKey().toString('base64') });
    const wrong = newKey().toString('base64');
    const node = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : join(REPO, 'node_modules', '.bin', 'node');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
    const r = spawnSync(node, ['--disable-warning=ExperimentalWarning', 'src/server/main.ts'], {
      cwd: REPO, encoding: 'utf8', timeout: 20_000,
      env: { ...env, HANGAR_DATA_DIR: dir, HANGAR_PORT: '0', HANGAR_MASTER_KEY: wrong, HANGAR_LOG_LEVEL: 'silent', HANGAR_API_KEY: 'sk-test-0123456789abcdef' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^hangar: the master key does not match this installation's data/);
    expect(r.stderr + r.stdout).not.toContain(wrong);
  });
});
