// The AES-256-GCM secret box and master-key loading: round trips, context binding, tampering,
// rotation across key ids, strict key parsing, and the key file's creation and permission rules.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AesGcmSecretBox, masterKeyId } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';
import { loadMasterKeys, parseMasterKeys } from '../../src/adapters/secret-box/master-key.ts';
import { MasterKeyError, SecretBoxError } from '../../src/ports/secret-box.ts';

const key = () => randomBytes(32);

async function failure(p: Promise<unknown>): Promise<SecretBoxError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SecretBoxError) return e;
    throw e;
  }
  throw new Error('expected open to fail');
}

describe('AesGcmSecretBox', () => {
  it('round-trips a secret and uses a fresh IV per seal', async () => {
    const box = new AesGcmSecretBox([key()]);
    const a = await box.seal('hunter2-🔑', 'ctx');
    const b = await box.seal('hunter2-🔑', 'ctx');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^hsb1\.[0-9a-f]{16}\./);
    expect(a).not.toContain('hunter2');
    expect(await box.open(a, 'ctx')).toBe('hunter2-🔑');
    expect(box.keyIdOf(a)).toBe(box.currentKeyId);
  });

  it('binds the ciphertext to its context', async () => {
    const box = new AesGcmSecretBox([key()]);
    const sealed = await box.seal('s3cret', 'vault_credential:vcrd_a');
    const e = await failure(box.open(sealed, 'vault_credential:vcrd_b'));
    expect(e.code).toBe('integrity');
  });

  it('detects tampering and malformed input', async () => {
    const box = new AesGcmSecretBox([key()]);
    const sealed = await box.seal('s3cret-value', 'ctx');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3], 'base64url');
    ct[0] ^= 1;
    parts[3] = ct.toString('base64url');
    expect((await failure(box.open(parts.join('.'), 'ctx'))).code).toBe('integrity');
    expect((await failure(box.open('plain text', 'ctx'))).code).toBe('malformed');
    expect(box.keyIdOf('plain text')).toBeUndefined();
  });

  it('opens values sealed under a retired key, seals under the current one, and names unknown key ids', async () => {
    const oldKey = key();
    const newKey = key();
    const oldBox = new AesGcmSecretBox([oldKey]);
    const sealedOld = await oldBox.seal('legacy', 'ctx');
    const rotated = new AesGcmSecretBox([newKey, oldKey]);
    expect(rotated.currentKeyId).toBe(masterKeyId(newKey));
    expect(rotated.keyIds).toEqual([masterKeyId(newKey), masterKeyId(oldKey)]);
    expect(await rotated.open(sealedOld, 'ctx')).toBe('legacy');
    expect(rotated.keyIdOf(await rotated.seal('fresh', 'ctx'))).toBe(masterKeyId(newKey));

    const e = await failure(new AesGcmSecretBox([newKey]).open(sealedOld, 'ctx'));
    expect(e.code).toBe('unknown_key');
    expect(e.message).toContain(masterKeyId(oldKey));
    expect(e.message).not.toContain(oldKey.toString('base64'));
  });

  it('derives key ids that do not reveal the key', () => {
    const k = key();
    const id = masterKeyId(k);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(k.toString('hex')).not.toContain(id);
  });
});

describe('parseMasterKeys', () => {
  it('accepts standard and URL-safe base64 of 32 bytes, comma or whitespace separated, current first', () => {
    const a = key();
    const b = key();
    const keys = parseMasterKeys(`${a.toString('base64')}, ${b.toString('base64url')}\n${a.toString('base64')}`, 'HANGAR_MASTER_KEY');
    expect(keys).toHaveLength(2);
    expect(keys[0].equals(a)).toBe(true);
    expect(keys[1].equals(b)).toBe(true);
  });

  it('rejects other lengths and non-base64 clearly, without echoing the value', () => {
    const short = randomBytes(16).toString('base64');
    const tooShort = () => parseMasterKeys(short, 'HANGAR_MASTER_KEY');
    expect(tooShort).toThrow(MasterKeyError);
    expect(tooShort).toThrow(/decodes to 16 bytes; a master key must be exactly 32 bytes/);
    try {
      tooShort();
    } catch (e) {
      expect((e as Error).message).not.toContain(short);
    }
    expect(() => parseMasterKeys(`${key().toString('base64')},ab$cd!`, 'HANGAR_MASTER_KEY')).toThrow(/key 2 of 2\) is not valid base64/);
    expect(() => parseMasterKeys(' , ', 'HANGAR_MASTER_KEY')).toThrow(/holds no key/);
  });
});

describe('loadMasterKeys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = () => join(dir, `k${++n}`, 'master.key');

  it('creates a 0600 key file on first start and reads the same key afterwards', () => {
    const f = file();
    const first = loadMasterKeys({ value: undefined, keyFile: f, mayCreate: true });
    expect(first.created).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(f, 'utf8').trim(), 'base64').equals(first.keys[0])).toBe(true);
    const second = loadMasterKeys({ value: undefined, keyFile: f, mayCreate: true });
    expect(second.created).toBe(false);
    expect(second.keys[0].equals(first.keys[0])).toBe(true);
  });

  it('refuses a key file readable by group or others', () => {
    const f = file();
    loadMasterKeys({ value: undefined, keyFile: f, mayCreate: true });
    chmodSync(f, 0o644);
    expect(() => loadMasterKeys({ value: undefined, keyFile: f, mayCreate: true })).toThrow(/accessible by group or others \(mode 0644\).*chmod 600/);
    chmodSync(f, 0o640);
    expect(() => loadMasterKeys({ value: undefined, keyFile: f, mayCreate: true })).toThrow(MasterKeyError);
  });

  it('does not replace a missing key file when sealed data exists', () => {
    expect(() => loadMasterKeys({ value: undefined, keyFile: file(), mayCreate: false })).toThrow(/is missing, but this database already holds encrypted secrets/);
  });

  it('prefers HANGAR_MASTER_KEY over the key file and rejects a malformed key file', () => {
    const k = key();
    const f = file();
    const fromEnv = loadMasterKeys({ value: k.toString('base64'), keyFile: f, mayCreate: true });
    expect(fromEnv.origin).toBe('HANGAR_MASTER_KEY');
    expect(fromEnv.keys[0].equals(k)).toBe(true);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'too-short\n', { mode: 0o600 });
    expect(() => loadMasterKeys({ value: undefined, keyFile: bad, mayCreate: true })).toThrow(/bad\.key decodes to \d+ bytes/);
  });
});
