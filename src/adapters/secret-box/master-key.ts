// Where the master keys come from: `HANGAR_MASTER_KEY` (comma-separated base64 keys, current
// first) or, when unset, a key file in the data dir created on first start with mode 0600.
// Errors name the problem and the key's position, never key material.
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MasterKeyError } from '../../ports/secret-box.ts';
import { AesGcmSecretBox, MASTER_KEY_BYTES } from './aes-gcm-secret-box.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2})$/;

/**
 * Parses a key list: entries separated by commas or whitespace (the key file may hold one per
 * line); each entry is base64 (standard or URL-safe) of exactly 32 bytes. The first entry is the
 * current key; the others are retired keys kept to open older secrets. Duplicates are dropped.
 */
export function parseMasterKeys(text: string, origin: string): Buffer[] {
  const entries = text.split(/[\s,]+/).filter((e) => e !== '');
  if (entries.length === 0) throw new MasterKeyError(`${origin} holds no key; expected base64 of ${MASTER_KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`)`);
  const keys: Buffer[] = [];
  entries.forEach((entry, i) => {
    const which = entries.length === 1 ? origin : `${origin} (key ${i + 1} of ${entries.length})`;
    if (!BASE64.test(entry)) throw new MasterKeyError(`${which} is not valid base64; expected base64 of ${MASTER_KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`)`);
    const key = Buffer.from(entry, entry.includes('-') || entry.includes('_') ? 'base64url' : 'base64');
    if (key.length !== MASTER_KEY_BYTES) {
      throw new MasterKeyError(`${which} decodes to ${key.length} bytes; a master key must be exactly ${MASTER_KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
    }
    if (!keys.some((k) => k.equals(key))) keys.push(key);
  });
  return keys;
}

export interface MasterKeySource {
  /** Current key first. */
  keys: Buffer[];
  /** Human-readable origin for logs: `HANGAR_MASTER_KEY` or the key file path. */
  origin: string;
  /** True when this call generated the key file. */
  created: boolean;
}

/**
 * Resolves the master keys. `value` (HANGAR_MASTER_KEY) wins when set. Otherwise `keyFile` is read;
 * a key file that group or others can access is refused (like ssh refuses such private keys). A
 * missing key file is generated (0600) only when `mayCreate` — the caller passes false when the
 * database already holds sealed data, so a lost key file is reported instead of silently replaced.
 */
export function loadMasterKeys(opts: { value: string | undefined; keyFile: string; mayCreate: boolean }): MasterKeySource {
  if (opts.value !== undefined && opts.value.trim() !== '') {
    return { keys: parseMasterKeys(opts.value, 'HANGAR_MASTER_KEY'), origin: 'HANGAR_MASTER_KEY', created: false };
  }
  const file = opts.keyFile;
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new MasterKeyError(`cannot read the master key file ${file}: ${(err as Error).message}`);
  }
  if (!stat) {
    if (!opts.mayCreate) {
      throw new MasterKeyError(
        `the master key file ${file} is missing, but this database already holds encrypted secrets; ` +
          'restore the key file (or set HANGAR_MASTER_KEY to the original key)',
      );
    }
    const created = createKeyFile(file);
    if (created) return { keys: [created], origin: file, created: true };
    stat = statSync(file); // another process created it first: use theirs
  }
  if (!stat.isFile()) throw new MasterKeyError(`the master key file ${file} is not a regular file`);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new MasterKeyError(
      `the master key file ${file} is accessible by group or others (mode ${mode}); refusing to start. ` +
        `Restrict it with \`chmod 600 ${file}\` (and consider rotating the key if others could have read it)`,
    );
  }
  return { keys: parseMasterKeys(readFileSync(file, 'utf8'), `the master key file ${file}`), origin: file, created: false };
}

/** Writes a fresh key with O_EXCL and mode 0600; undefined when the file appeared meanwhile. */
function createKeyFile(file: string): Buffer | undefined {
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(MASTER_KEY_BYTES);
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new MasterKeyError(`cannot create the master key file ${file}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return key;
}

/** The AES-256-GCM box over the resolved keys. */
export function openSecretBox(opts: { value: string | undefined; keyFile: string; mayCreate: boolean }): { box: AesGcmSecretBox; source: MasterKeySource } {
  const source = loadMasterKeys(opts);
  return { box: new AesGcmSecretBox(source.keys), source };
}
