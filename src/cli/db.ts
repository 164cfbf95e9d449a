// `hangar db migrate-to-postgres --from <data dir> --to <url>`: moves an embedded SQLite
// installation to PostgreSQL (every table, vault ciphertext still sealed), refusing a target that
// already holds Hangar data, and says what the nodes need next (the same master key, the files).
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { migrateSqliteToPostgres, MigrateError } from '../adapters/store-postgres/pg-import-sqlite.ts';

export class DbCommandError extends Error {}

export async function migrateToPostgres(o: { from: string; to: string; out: (line: string) => void }): Promise<void> {
  try {
    const { counts } = await migrateSqliteToPostgres({
      dataDir: o.from,
      url: o.to,
      // Loaded here, not at start-up: the rest of the CLI must run on a Node without node:sqlite.
      openSqlite: async (file) => {
        const { SqliteStore } = await import('../adapters/store-sqlite/sqlite-store.ts');
        return new SqliteStore(file);
      },
      log: o.out,
    });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    o.out(`done: ${total} rows copied and verified (${counts.agents} agents, ${counts.sessions} sessions, ${counts.events} events, ${counts.vault_credentials} credentials)`);
    const keyFile = join(o.from, 'master.key');
    o.out('next: start every node with HANGAR_DATABASE_URL set to the target and HANGAR_MASTER_KEY set to the key that sealed this data' +
      (existsSync(keyFile) ? ` (the content of ${keyFile})` : ' (the HANGAR_MASTER_KEY this installation ran with)') + '.');
    o.out(`uploaded files and outputs stay in ${join(o.from, 'files')}: give the nodes that directory (HANGAR_DATA_DIR=${o.from}, or a shared mount of it).`);
  } catch (err) {
    if (err instanceof MigrateError) throw new DbCommandError(err.message);
    throw err;
  }
}
