// The SQLite adapter against the store port contract, plus what only a file-backed store can show:
// data and migrations survive a reopen.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runAuditRepoSuite, runPackageLayerRepoSuite, runSpendRepoSuite, runStoreSuite, runTelemetryDestinationRepoSuite, runWorkspaceRepoSuite } from '../kit/store-suite.ts';

runStoreSuite('sqlite', () => new SqliteStore(':memory:'));
runWorkspaceRepoSuite('sqlite', () => new SqliteStore(':memory:'));
runPackageLayerRepoSuite('sqlite', () => new SqliteStore(':memory:'));
runSpendRepoSuite('sqlite', () => new SqliteStore(':memory:'));
runAuditRepoSuite('sqlite', () => new SqliteStore(':memory:'));
runTelemetryDestinationRepoSuite('sqlite', () => new SqliteStore(':memory:'));

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

describe('SqliteStore log cache with a second process on the same file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-2p-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ev = (id: string) => ({ id, type: 'user.message', content: [{ type: 'text', text: id }], processed_at: null });
  const now = '2026-05-01T00:00:01.000Z';
  const ids = async (s: SqliteStore) => (await s.sessions.log('sesn_2p')).map((e) => e.event.id);

  it("sees the other instance's appends, including one made between its own cached read and its own append", async () => {
    const file = join(dir, 'hangar.db');
    // Two connections on one WAL database behave as two processes do: each has its own cache.
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const session = {
        type: 'session', id: 'sesn_2p', status: 'idle' as const, created_at: '2026-05-01T00:00:00.000Z',
        agent: { id: 'agent_1', version: 1 }, usage: {},
      };
      await a.sessions.insert({ session, runningSince: null, retryCount: 0 }, [ev('sevt_1')]);
      expect(await ids(a)).toEqual(['sevt_1']); // cached in a

      await b.sessions.commit('sesn_2p', () => ({ now, events: [ev('sevt_2')] }));
      expect(await ids(a)).toEqual(['sevt_1', 'sevt_2']); // a's cache was stale and is re-read

      // b appends, then a appends without reading its log first: a's cached log must not skip b's event.
      await b.sessions.commit('sesn_2p', () => ({ now, events: [ev('sevt_3')] }));
      const before = a.counters.writeTransactions;
      await a.sessions.commit('sesn_2p', () => ({ now, events: [ev('sevt_4')] }));
      expect(a.counters.writeTransactions - before).toBe(1);
      expect(await ids(a)).toEqual(['sevt_1', 'sevt_2', 'sevt_3', 'sevt_4']);
      expect(await ids(b)).toEqual(['sevt_1', 'sevt_2', 'sevt_3', 'sevt_4']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('SqliteStore session row cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sqlite-rows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses an unchanged row once, sees writes by another instance, and keeps readers apart', async () => {
    const file = join(dir, 'hangar.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    try {
      const session = {
        type: 'session', id: 'sesn_rows', status: 'idle' as const, created_at: '2026-05-01T00:00:00.000Z',
        agent: { id: 'agent_1', version: 1 }, usage: { input_tokens: 1 }, title: 'one',
      };
      await a.sessions.insert({ session, runningSince: null, retryCount: 0 }, []);
      const parses = a.counters.sessionRowParses;
      const first = (await a.sessions.get('sesn_rows'))!;
      const second = (await a.sessions.get('sesn_rows'))!;
      expect(a.counters.sessionRowParses - parses).toBe(1);
      expect(second.session).toEqual(first.session);

      // Readers get their own top-level object; shared nested values cannot be changed under others.
      first.session.title = 'changed by a reader';
      expect((await a.sessions.get('sesn_rows'))!.session.title).toBe('one');
      expect(() => { (first.session.usage as Record<string, number>).input_tokens = 99; }).toThrow(TypeError);

      // Another process rewrites the row: the next read parses the new text.
      await b.sessions.commit('sesn_rows', () => ({ now: '2026-05-01T00:00:01.000Z', patch: { status: 'running', fields: { title: 'two' } } }));
      const after = (await a.sessions.get('sesn_rows'))!;
      expect(after.session).toMatchObject({ title: 'two', status: 'running', usage: { input_tokens: 1 } });
      expect(a.counters.sessionRowParses - parses).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
