// API-key authentication: `Authorization: Bearer <key>` or `x-api-key`. Only SHA-256 hashes are
// stored, and a presented key is looked up by its hash, so no comparison runs over the secret itself
// (the lookup's timing depends on the hash, which tells a guesser nothing about the key).
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRepo } from '../ports/store.ts';
import { ConfigError } from './config.ts';
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

/** What `hangar keys list` shows of a key: its last four characters, never more. */
export function keyHint(key: string): string {
  return `…${key.slice(-4)}`;
}

/**
 * Makes the stored keys match the environment (issue 9). HANGAR_API_KEY is the bootstrap key: a
 * changed value revokes the previous one (and any key stored before keys had a source), an unset
 * variable revokes it without a replacement. A value that was revoked is refused: revoked keys never
 * come back. When no active key is left, a key is generated and returned so the entry point can
 * print it once. Keys made with `hangar keys create` are left alone.
 */
export async function bootstrapApiKey(repo: ApiKeyRepo, configured: string | undefined, now: string): Promise<string | undefined> {
  const active = (await repo.list()).filter((k) => k.revokedAt === null);
  if (configured) {
    const current = await repo.findByHash(hashKey(configured));
    if (current?.revokedAt) {
      throw new ConfigError(`HANGAR_API_KEY holds the revoked key ${current.id} (revoked ${current.revokedAt}); set a new value`);
    }
    for (const k of active) {
      if ((k.source === 'env' || k.source === 'legacy') && k.id !== current?.id) await repo.revoke(k.id, now);
    }
    if (!current) await repo.insert(newId('key'), hashKey(configured), now, { name: 'HANGAR_API_KEY', hint: keyHint(configured), source: 'env' });
    else if (current.source === 'legacy') await repo.setSource(current.id, 'env');
    return undefined;
  }
  for (const k of active) if (k.source === 'env') await repo.revoke(k.id, now);
  if ((await repo.count()) > 0) return undefined;
  const key = generateApiKey();
  await repo.insert(newId('key'), hashKey(key), now, { name: 'generated at start', hint: keyHint(key), source: 'generated' });
  return key;
}

/** `hangar keys create`: a new key, whose secret is returned once and stored only as a hash. */
export async function createApiKey(
  repo: ApiKeyRepo, name: string, now: string, binding: { role?: string; workspaceId?: string | null; expiresAt?: string | null } = {},
): Promise<{ id: string; key: string }> {
  const key = generateApiKey();
  const id = newId('key');
  await repo.insert(id, hashKey(key), now, {
    name, hint: keyHint(key), source: 'cli', role: binding.role, workspaceId: binding.workspaceId, expiresAt: binding.expiresAt ?? null,
  });
  return { id, key };
}
