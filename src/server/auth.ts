// API-key authentication: `Authorization: Bearer <key>` or `x-api-key`. Only SHA-256 hashes are stored.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRepo } from '../ports/store.ts';
import { newId } from '../protocol/ids.ts';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `sk-hangar-${randomBytes(24).toString('base64url')}`;
}

/** Reads the presented credential from either header; undefined when none was sent. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

/**
 * Ensures at least one key exists. A configured bootstrap key is always accepted; without one, the
 * first start generates a key and returns it so the entry point can print it once.
 */
export async function bootstrapApiKey(repo: ApiKeyRepo, configured: string | undefined, now: string): Promise<string | undefined> {
  if (configured) {
    if (!(await repo.existsHash(hashKey(configured)))) await repo.insert(newId('key'), hashKey(configured), now);
    return undefined;
  }
  if ((await repo.count()) > 0) return undefined;
  const key = generateApiKey();
  await repo.insert(newId('key'), hashKey(key), now);
  return key;
}
