// `hangar keys list|create|revoke`: the server's API keys, managed on the host that holds its data
// directory, or in its PostgreSQL database (HANGAR_DATABASE_URL / --database-url). It opens the
// database directly (SQLite in WAL mode takes a second process while the server runs, and every node
// looks keys up on every request, so a revocation applies at once), which also works when no key is
// left to call an API with. Run it as the server's user.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createApiKey } from '../server/auth.ts';
import type { ApiKeyRepo, WorkspaceRepo } from '../ports/store.ts';
import { isRoleName, ROLE_NAMES } from '../domain/roles.ts';

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

export async function listKeys(o: KeysCommandOptions): Promise<void> {
  const keys = await withKeys(o, (repo) => repo.list());
  if (keys.length === 0) {
    o.out('no API keys');
    return;
  }
  const rows = keys.map((k) => [
    k.id, k.name ?? '-', k.createdAt, k.hint ?? '-', k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.source, k.role, k.workspaceId ?? 'organization',
  ]);
  const header = ['ID', 'NAME', 'CREATED_AT', 'HINT', 'STATUS', 'SOURCE', 'ROLE', 'WORKSPACE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) o.out(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

/**
 * `--role` (default admin) and `--workspace` (default none: an organization key, acting in any
 * workspace) — the same bindings as `POST /v1/organizations/api_keys`.
 */
export async function createKey(name: string, o: KeysCommandOptions & { role?: string; workspace?: string }): Promise<void> {
  if (name.trim() === '' || name.length > 200) throw new KeysCommandError('--name must be 1 to 200 characters');
  const role = o.role ?? 'admin';
  if (!isRoleName(role)) throw new KeysCommandError(`--role must be one of ${ROLE_NAMES.join(', ')}`);
  const { id, key } = await withKeys(o, async (repo, workspaces) => {
    const ws = o.workspace === undefined ? undefined : await workspaces.get(o.workspace);
    if (o.workspace !== undefined && (!ws || ws.archived_at)) throw new KeysCommandError(`no active workspace ${o.workspace}`);
    return createApiKey(repo, name, o.now(), { role, workspaceId: o.workspace ?? null });
  });
  o.out(`API key ${id} "${name}" (${role}, ${o.workspace ?? 'organization'}; shown only once; only its hash is stored):\n\n  ${key}\n`);
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
