// The AES-256-GCM secret box and master-key loading: round trips, context binding, tampering,
// rotation across key ids, strict key parsing, the key file's creation and permission rules, and
// known-answer vectors pinning the sealed format and the key id.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { AesGcmSecretBox, masterKeyId } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';
import { loadMasterKeys, parseMasterKeys } from '../../src/adapters/secret-box/master-key.ts';
import { MasterKeyError, SecretBoxError } from '../../src/ports/secret-box.ts';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { VaultService } from '../../src/harness/vault-service.ts';
import { systemClock } from '../../src/ports/clock.ts';

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

  it('refuses a sealed value with anything before or after it', async () => {
    const box = new AesGcmSecretBox([key()]);
    const sealed = await box.seal('s3cret', 'ctx');
    for (const bad of [`x${sealed}`, `${sealed}x`, ` ${sealed}`, `${sealed}\n`]) {
      expect((await failure(box.open(bad, 'ctx'))).code, JSON.stringify(bad)).toBe('malformed');
      expect(box.keyIdOf(bad)).toBeUndefined();
    }
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
    // The whole entry must be base64, not just its end.
    expect(() => parseMasterKeys(`#${key().toString('base64')}`, 'HANGAR_MASTER_KEY')).toThrow(/is not valid base64/);
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

// Known-answer vectors: produced once by this code and committed as constants. If the key id
// derivation, the data-key derivation (HKDF info string), the sealed format or the associated data
// changes, every secret already stored would become unreadable; these fail first.
describe('known-answer vectors for the sealed format and the key id', () => {
  const KAT_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const KAT_KEY_ID = '0b9ae7d158f673d1';
  const KAT_CONTEXT = 'vault_credential:vcrd_kat';
  const KAT_PLAINTEXT = '{"type":"static_bearer","token":"known-answer-token-🔑"}';
  const KAT_SEALED = 'hsb1.0b9ae7d158f673d1.vk8Ygp-qzsKPh-Cr.-597-rTcqVEUH9nUmTHmxGSwzjWwqMEUVa5gllq4u-xeSIz6GxB3DS-s7ZnhvRz47I8KNP192CYOOw.vi5ijrdJNlbdXa3_vyNlnw';
  /** The master-key check value VaultService writes on first start, sealed under KAT_KEY. */
  const KAT_KEY_CHECK = 'hsb1.0b9ae7d158f673d1.8xfeusW1AOwD5nUG.nfkUXLfrbUJMrZzHCJ_XO-OErRCjP-fDiwo.NUE4EyF2JZ-sP_9EXl8i4g';

  it('derives the fixed key id from the fixed key', () => {
    expect(masterKeyId(KAT_KEY)).toBe(KAT_KEY_ID);
    expect(new AesGcmSecretBox([KAT_KEY]).currentKeyId).toBe(KAT_KEY_ID);
    expect(parseMasterKeys('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'test')[0].equals(KAT_KEY)).toBe(true);
  });

  it('opens the committed sealed value to the known plaintext (and only in its context)', async () => {
    const box = new AesGcmSecretBox([KAT_KEY]);
    expect(box.keyIdOf(KAT_SEALED)).toBe(KAT_KEY_ID);
    expect(await box.open(KAT_SEALED, KAT_CONTEXT)).toBe(KAT_PLAINTEXT);
    expect((await failure(box.open(KAT_SEALED, 'vault_credential:vcrd_other'))).code).toBe('integrity');
  });

  it('matches the documented format, decoded here independently of the box', () => {
    // hsb1.<key id>.<iv b64url>.<ciphertext b64url>.<tag b64url>; AES-256-GCM under
    // HKDF-SHA256(master, salt "", info "hangar secret-box v1 aes-256-gcm"), AAD "hsb1.<key id>.<context>".
    const [format, keyId, iv, ct, tag] = KAT_SEALED.split('.');
    expect([format, keyId]).toEqual(['hsb1', KAT_KEY_ID]);
    const dataKey = Buffer.from(hkdfSync('sha256', KAT_KEY, Buffer.alloc(0), 'hangar secret-box v1 aes-256-gcm', 32));
    const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    d.setAAD(Buffer.from(`hsb1.${KAT_KEY_ID}.${KAT_CONTEXT}`));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    expect(Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8')).toBe(KAT_PLAINTEXT);
    const id = createHash('sha256').update('hangar secret-box key id\0').update(KAT_KEY).digest().subarray(0, 8).toString('hex');
    expect(id).toBe(KAT_KEY_ID);
  });

  it('accepts the committed master-key check value at start-up (its context and plaintext are fixed too)', async () => {
    const store = new SqliteStore(':memory:');
    try {
      await store.vaults.putKeyCheck(KAT_KEY_CHECK, KAT_KEY_ID, '2026-01-01T00:00:00.000Z');
      const vaults = new VaultService({ store, box: new AesGcmSecretBox([KAT_KEY]), clock: systemClock });
      expect(await vaults.verifyMasterKey()).toEqual({ initialized: false, resealed: 0 });
      expect(await store.vaults.keyCheck()).toBe(KAT_KEY_CHECK);
      const other = new VaultService({ store, box: new AesGcmSecretBox([key()]), clock: systemClock });
      await expect(other.verifyMasterKey()).rejects.toBeInstanceOf(MasterKeyError);
    } finally {
      await store.close();
    }
  });
});
