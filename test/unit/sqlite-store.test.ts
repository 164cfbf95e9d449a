// The SQLite adapter against the store port contract, plus what only a file-backed store can show:
// data and migrations survive a reopen.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runStoreSuite } from '../kit/store-suite.ts';

runStoreSuite('sqlite', () => new SqliteStore(':memory:'));

describe('SqliteStore on a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates missing parent folders and keeps sessions and events across a reopen', async () => {
    const file = join(dir, 'nested', 'hangar.db');
    const first = new SqliteStore(file);
    const session = {
      type: 'session', id: 'sesn_file1', status: 'idle' as const, created_at: '2026-05-01T00:00:00.000Z',
      agent: { id: 'agent_1', version: 1 }, usage: {},
    };
    await first.sessions.insert({ session, runningSince: null, retryCount: 0 }, [
      { id: 'sevt_file1', type: 'user.message', content: [{ type: 'text', text: 'hi' }], processed_at: null },
    ]);
    await first.close();

    const second = new SqliteStore(file);
    try {
      expect((await second.sessions.get('sesn_file1'))!.session).toMatchObject({ id: 'sesn_file1', status: 'idle' });
      expect((await second.sessions.log('sesn_file1')).map((e) => e.event.id)).toEqual(['sevt_file1']);
    } finally {
      await second.close();
    }
  });
});
