// Picks the store adapter from the configuration: PostgreSQL when HANGAR_DATABASE_URL is set
// (several nodes share it), else the embedded SQLite file in the data directory. Connection
// problems become one clear ConfigError line, never a stack or the URL's password.
import { join } from 'node:path';
import type { HangarConfig } from './config.ts';
import { ConfigError } from './config.ts';
import type { Store } from '../ports/store.ts';

/** Where the store lives, for the start-up summary (never the password). */
export function describeStore(config: Pick<HangarConfig, 'dataDir' | 'databaseUrl'>): { kind: 'sqlite' | 'postgres'; where: string } {
  if (config.databaseUrl) {
    try {
      const u = new URL(config.databaseUrl);
      return { kind: 'postgres', where: `${u.hostname}:${u.port || '5432'}${u.pathname}` };
    } catch {
      return { kind: 'postgres', where: 'HANGAR_DATABASE_URL' };
    }
  }
  return { kind: 'sqlite', where: join(config.dataDir, 'hangar.db') };
}

/**
 * Opens the configured store. With PostgreSQL the master key must come from HANGAR_MASTER_KEY (the
 * same value on every node): a key file generated in one node's data directory would differ on the next.
 */
export async function openStore(config: Pick<HangarConfig, 'dataDir' | 'databaseUrl' | 'masterKey'> & Partial<Pick<HangarConfig, 'database'>>): Promise<Store> {
  const url = config.databaseUrl;
  if (url === undefined || url.trim() === '') {
    const { SqliteStore } = await import('../adapters/store-sqlite/sqlite-store.ts');
    return new SqliteStore(join(config.dataDir, 'hangar.db'));
  }
  if (config.masterKey === undefined || config.masterKey.trim() === '') {
    throw new ConfigError(
      'HANGAR_DATABASE_URL selects PostgreSQL, which several nodes share: set HANGAR_MASTER_KEY to the installation\'s master key, ' +
        'the same on every node (a new installation: `openssl rand -base64 32`; one moved from SQLite: the content of <data dir>/master.key)',
    );
  }
  // Loaded only when used: an SQLite installation never loads the pg driver.
  const { PgStore } = await import('../adapters/store-postgres/pg-store.ts');
  const { PgConnectError } = await import('../adapters/store-postgres/pg-db.ts');
  try {
    return await PgStore.open(url, { ...config.database });
  } catch (err) {
    if (err instanceof PgConnectError) throw new ConfigError(err.message);
    throw err;
  }
}
