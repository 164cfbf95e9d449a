// Object ids: a resource prefix plus 24 random base62 characters (opaque to clients).
import { randomBytes } from 'node:crypto';

export type IdPrefix =
  | 'agent' | 'env' | 'work' | 'sesn' | 'sevt' | 'sthr' | 'sesrsc' | 'outc'
  | 'vlt' | 'vcrd' | 'file' | 'req' | 'key' | 'envkey' | 'wrkspc'
  // Spend limits, audit events, telemetry destinations (issue 11).
  | 'spl' | 'audevt' | 'tdst';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(24);
  let out = '';
  // 62 does not divide 256; the small modulo bias is irrelevant for opaque ids.
  for (const b of bytes) out += ALPHABET[b % 62];
  return `${prefix}_${out}`;
}

/** True when `id` looks like an id of the given prefix (used to reject obviously wrong ids with 400/404). */
export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && id.length > prefix.length + 1 && /^[A-Za-z0-9_]+$/.test(id);
}
