// The SQLite vault repo against its port contract (test/kit/repo-suites.ts: the active-credential
// limit and key uniqueness, compare-and-swap updates, cascading archive that purges ciphertext,
// rotation queries, the master-key check value), and what only SQLite shows: a replaced secret's
// old ciphertext is gone from the database file, its WAL and shared memory.
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runVaultRepoSuite } from '../kit/repo-suites.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VaultService } from '../../src/harness/vault-service.ts';
import { AesGcmSecretBox } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';
import { systemClock } from '../../src/ports/clock.ts';

runVaultRepoSuite('sqlite', () => new SqliteStore(':memory:'));

describe('replacing a secret leaves no old ciphertext on disk', () => {
  it('an updated credential secret: the old sealed value is in none of hangar.db, -wal, -shm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-wal-'));
    const file = join(dir, 'hangar.db');
    const fileStore = new SqliteStore(file);
    try {
      const vaults = new VaultService({ store: fileStore, box: new AesGcmSecretBox([randomBytes(32)]), clock: systemClock });
      const v = await vaults.createVault({ display_name: 'wal' });
      const c = await vaults.createCredential(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: `old-${'o'.repeat(64)}` } });
      const before = (await fileStore.vaults.getCredential(c.id))!.sealed!;
      await vaults.updateCredential(v.id, c.id, { auth: { type: 'static_bearer', token: `new-${'n'.repeat(64)}` } });
      const after = (await fileStore.vaults.getCredential(c.id))!.sealed!;
      expect(after).not.toBe(before);
      const onDisk = () => Buffer.concat(['', '-wal', '-shm'].map((s) => file + s).filter(existsSync).map((f) => readFileSync(f)));
      // The ciphertext part of the old sealed value (the id and key id prefix are not secret).
      const oldCiphertext = before.split('.')[3];
      expect(oldCiphertext.length).toBeGreaterThan(60);
      expect(onDisk().includes(after.split('.')[3])).toBe(true); // the detector finds the current one
      expect(onDisk().includes(oldCiphertext)).toBe(false);
    } finally {
      await fileStore.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
