// `hangar keys list|create|revoke|rotate`: the server's API keys, managed on the host that holds its data
// directory, or in its PostgreSQL database (HANGAR_DATABASE_URL / --database-url). It opens the
// database directly (SQLite in WAL mode takes a second process while the server runs, and every node
// looks keys up on every request, so a revocation applies at once), which also works when no key is
// left to call an API with. Run it as the server's user.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createApiKey, generateApiKey, hashKey, keyHint } from '../server/auth.ts';
import type { ApiKeyRepo, ApiKeyRow, WorkspaceRepo } from '../ports/store.ts';
import { isRoleName, ROLE_NAMES } from '../domain/roles.ts';
import { apiKeyStatus } from '../domain/organization.ts';
import { isoAt } from '../ports/clock.ts';

export interface KeysCommandOptions {
  dataDir: string;
  /** The server's PostgreSQL database; when set, the data directory is not used. */
  databaseUrl?: string;
  out: (line: string) => void;
  now: () => string;
}

export class KeysCommandError extends Error {}

/** Opens the server's database for `fn`; a missing database (or one without Hangar's tables) is an error, never created here. */
async function withKeys<T>(o: KeysCommandOptions, fn: (repo: ApiKeyRepo, workspaces: WorkspaceRepo) => Promise<T>): Promise<T> {
  if (o.databaseUrl) {
    const { PgStore } = await import('../adapters/store-postgres/pg-store.ts');
    const { PgConnectError } = await import('../adapters/store-postgres/pg-db.ts');
    const store = await PgStore.open(o.databaseUrl, { requireSchema: true, maxConnections: 2 }).catch((err: unknown) => {
      throw err instanceof PgConnectError ? new KeysCommandError(err.message) : err;
    });
    try {
      return await fn(store.apiKeys, store.workspaces);
    } finally {
      await store.close();
    }
  }
  const file = join(o.dataDir, 'hangar.db');
  if (!existsSync(file)) {
    throw new KeysCommandError(`no Hangar database at ${file}: pass --data-dir or set HANGAR_DATA_DIR to the server's data directory`);
  }
  // Loaded here, not at start-up: the rest of the CLI must run on a Node without node:sqlite.
  const { SqliteStore } = await import('../adapters/store-sqlite/sqlite-store.ts');
  const store = new SqliteStore(file);
  try {
    return await fn(store.apiKeys, store.workspaces);
  } finally {
    await store.close();
  }
}

/** `active`, `expired` (past its expiry), or `revoked <when>` (inactive or archived). */
function statusOf(k: ApiKeyRow, nowMs: number): string {
  if (k.revokedAt) return `revoked ${k.revokedAt}`;
  return apiKeyStatus(k, nowMs) === 'expired' ? 'expired' : k.status;
}

const EXPIRES_AT = z.iso.datetime({ offset: true });

/** `--expires-at`: an RFC 3339 date-time in the future, stored in UTC like the API's `expires_at`. */
function expiryOf(value: string | undefined, nowIso: string): string | null {
  if (value === undefined) return null;
  if (!EXPIRES_AT.safeParse(value).success) throw new KeysCommandError(`--expires-at must be an RFC 3339 date-time such as 2027-01-31T00:00:00Z (got "${value.slice(0, 64)}")`);
  const at = Date.parse(value);
  if (at <= Date.parse(nowIso)) throw new KeysCommandError(`--expires-at must be in the future (${value} has passed)`);
  return isoAt(at);
}

export async function listKeys(o: KeysCommandOptions): Promise<void> {
  const keys = await withKeys(o, (repo) => repo.list());
  if (keys.length === 0) {
    o.out('no API keys');
    return;
  }
  const now = Date.parse(o.now());
  const rows = keys.map((k) => [
    k.id, k.name ?? '-', k.createdAt, k.hint ?? '-', statusOf(k, now), k.source, k.role, k.workspaceId ?? 'organization', k.expiresAt ?? '-',
  ]);
  const header = ['ID', 'NAME', 'CREATED_AT', 'HINT', 'STATUS', 'SOURCE', 'ROLE', 'WORKSPACE', 'EXPIRES_AT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) o.out(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

/**
 * `--role` (default admin), `--workspace` (default none: an organization key, acting in any
 * workspace) and `--expires-at` (default never) — the same bindings as `POST /v1/organizations/api_keys`.
 */
export async function createKey(name: string, o: KeysCommandOptions & { role?: string; workspace?: string; expiresAt?: string }): Promise<void> {
  if (name.trim() === '' || name.length > 200) throw new KeysCommandError('--name must be 1 to 200 characters');
  const role = o.role ?? 'admin';
  if (!isRoleName(role)) throw new KeysCommandError(`--role must be one of ${ROLE_NAMES.join(', ')}`);
  const expiresAt = expiryOf(o.expiresAt, o.now());
  const { id, key } = await withKeys(o, async (repo, workspaces) => {
    const ws = o.workspace === undefined ? undefined : await workspaces.get(o.workspace);
    if (o.workspace !== undefined && (!ws || ws.archived_at)) throw new KeysCommandError(`no active workspace ${o.workspace}`);
    return createApiKey(repo, name, o.now(), { role, workspaceId: o.workspace ?? null, expiresAt });
  });
  const expiry = expiresAt ? `, expires ${expiresAt}` : '';
  o.out(`API key ${id} "${name}" (${role}, ${o.workspace ?? 'organization'}${expiry}; shown only once; only its hash is stored):\n\n  ${key}\n`);
}

/**
 * Replaces an active key's secret, keeping its id, name, role, binding and expiry (like
 * `POST /v1/organizations/api_keys/{id}/rotate`): the old secret is refused from the next request on.
 * The bootstrap key is rotated by setting a new HANGAR_API_KEY instead (a rotated bootstrap key would
 * be replaced by the variable's old value at the next start).
 */
export async function rotateKey(id: string, o: KeysCommandOptions): Promise<void> {
  const secret = await withKeys(o, async (repo) => {
    const key = await repo.get(id);
    if (!key) throw new KeysCommandError(`no API key ${id} (see hangar keys list)`);
    if (key.source === 'env') throw new KeysCommandError(`API key ${id} is the bootstrap key HANGAR_API_KEY: rotate it by setting a new value and restarting the server`);
    const status = apiKeyStatus(key, Date.parse(o.now()));
    if (status !== 'active') throw new KeysCommandError(`API key ${id} is ${status}; only active keys can be rotated`);
    const next = generateApiKey();
    if (!(await repo.rotate(id, hashKey(next), keyHint(next)))) throw new KeysCommandError(`API key ${id} is no longer active`);
    return next;
  });
  o.out(`rotated ${id}; its previous secret is refused from the next request on. The new one (shown only once; only its hash is stored):\n\n  ${secret}\n`);
}

export async function revokeKey(id: string, o: KeysCommandOptions): Promise<void> {
  await withKeys(o, async (repo) => {
    if (!(await repo.revoke(id, o.now()))) {
      const known = (await repo.list()).some((k) => k.id === id);
      throw new KeysCommandError(known ? `API key ${id} is already revoked` : `no API key ${id} (see hangar keys list)`);
    }
    o.out(`revoked ${id}; requests with it are refused from now on`);
    if ((await repo.count()) === 0) {
      o.out('warning: no active API key is left; create one with `hangar keys create` (or set a new HANGAR_API_KEY and restart the server)');
    }
  });
}
