// Local adapter of the secret-box port: AES-256-GCM under per-install master keys. Each sealed
// value names its key id, so a retired key can still open old values while new ones use the
// current key (rotation without a flag day).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { SecretBoxError, type SecretBox } from '../../ports/secret-box.ts';

/** Master keys are exactly 32 random bytes (AES-256). */
export const MASTER_KEY_BYTES = 32;
const FORMAT = 'hsb1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^hsb1\.([0-9a-f]{16})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/;

/**
 * The public id of a master key: the first 8 bytes of a domain-separated SHA-256 of it, in hex.
 * It identifies the key without revealing it (a preimage of a 256-bit random key is out of reach).
 */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('hangar secret-box key id\0').update(key).digest().subarray(0, 8).toString('hex');
}

interface Keyed {
  id: string;
  /** The AES key actually used: derived from the master key so the master never touches data directly. */
  dataKey: Buffer;
}

export class AesGcmSecretBox implements SecretBox {
  readonly specificationVersion = 'v1' as const;
  readonly currentKeyId: string;
  readonly keyIds: readonly string[];
  private readonly keys = new Map<string, Keyed>();

  /** `masterKeys[0]` seals; all of them open. Each must be 32 bytes. */
  constructor(masterKeys: readonly Buffer[]) {
    if (masterKeys.length === 0) throw new Error('AesGcmSecretBox needs at least one master key');
    for (const key of masterKeys) {
      if (key.length !== MASTER_KEY_BYTES) throw new Error(`a master key must be ${MASTER_KEY_BYTES} bytes, got ${key.length}`);
      const id = masterKeyId(key);
      if (this.keys.has(id)) continue;
      const dataKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'hangar secret-box v1 aes-256-gcm', 32));
      this.keys.set(id, { id, dataKey });
    }
    this.keyIds = [...this.keys.keys()];
    this.currentKeyId = this.keyIds[0];
  }

  async seal(plaintext: string, context: string): Promise<string> {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(key.id, context));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, key.id, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const m = SEALED.exec(sealed);
    if (!m) throw new SecretBoxError('malformed', 'not a sealed secret (unknown format)');
    const [, keyId, iv, ct, tag] = m;
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretBoxError('unknown_key', `sealed with master key id ${keyId}, which is not configured (configured: ${this.keyIds.join(', ')})`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.dataKey, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('integrity', `a secret sealed with master key id ${keyId} failed authentication (wrong key, context or tampered data)`);
    }
  }

  keyIdOf(sealed: string): string | undefined {
    return SEALED.exec(sealed)?.[1];
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${FORMAT}.${keyId}.${context}`, 'utf8');
}
