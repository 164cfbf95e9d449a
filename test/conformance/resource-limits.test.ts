// Resource limits and private data over the official SDK and raw HTTP against a live Hangar:
// uploads refused with 507 below the free-space floor, array query parameters capped at 100
// values, the statement cache bounded however many query shapes a client sends, and the
// database created private to the service user (another local user cannot read a transcript).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import type { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { rejection } from './helpers.ts';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('free-space floor on uploads', () => {
  let h: TestHangar;
  beforeAll(async () => {
    // A floor far above any real disk's free space (16 TiB): every upload must be refused.
    h = await startHangar({ env: { HANGAR_MIN_FREE_DISK_MB: String(16 * 1024 * 1024) } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 507 in the error envelope and stores nothing', async () => {
    const err = await rejection(h.client.beta.files.upload({ file: await toFile(Buffer.from('hello'), 'a.txt') }));
    expect(err.status).toBe(507);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(/low on disk space/) } });
    expect(err.requestID).toBeTruthy();
    expect((await h.client.beta.files.list()).data).toEqual([]);
    expect(readdirSync(join(h.dataDir, 'files')).filter((n) => n !== '.tmp')).toEqual([]);
    expect(readdirSync(join(h.dataDir, 'files', '.tmp'))).toEqual([]);
  });
});

describe('query shapes and private data', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (path: string) => fetch(`${h.url}${path}`, { headers: { 'x-api-key': h.apiKey, 'anthropic-version': '2023-06-01' } });

  it('rejects more than 100 values of an array parameter with a 400 and changes nothing', async () => {
    const store = h.hangar.store as SqliteStore;
    // Unknown session ids are a 404 before the query is read (the workspace guard answers unknown and
    // other-workspace ids alike), so the events limit is checked on a session that exists.
    const agent = await h.client.beta.agents.create({ name: 'limits', model: 'claude-sonnet-4-6' });
    const env = await h.client.beta.environments.create({ name: 'limits' });
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    // Rejected requests still authenticate: prepare the auth path's statements before counting.
    expect((await get('/v1/sessions')).status).toBe(200);
    expect((await get(`/v1/sessions/${session.id}/events`)).status).toBe(200);
    const before = store.statementCacheSize;
    const statuses = Array.from({ length: 101 }, () => 'statuses[]=idle').join('&');
    const res = await get(`/v1/sessions?${statuses}`);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'statuses: at most 100 values per request' } });
    expect(body.request_id).toBeTruthy();
    const ids = Array.from({ length: 101 }, (_, i) => `ids[]=file_${i}`).join('&');
    expect((await get(`/v1/files?${ids}`)).status).toBe(400);
    const types = Array.from({ length: 101 }, () => 'types[]=user.message').join('&');
    expect((await get(`/v1/sessions/${session.id}/events?${types}`)).status).toBe(400);
    expect(store.statementCacheSize).toBe(before);
    // 100 values is still fine.
    expect((await get(`/v1/sessions?${Array.from({ length: 100 }, () => 'statuses[]=idle').join('&')}`)).status).toBe(200);
  });

  it('keeps the statement cache bounded across hundreds of distinct query shapes', async () => {
    const store = h.hangar.store as SqliteStore;
    const extras = ['', '&created_at[gt]=2020-01-01T00:00:00Z', '&created_at[lt]=2099-01-01T00:00:00Z', '&created_at[gt]=2020-01-01T00:00:00Z&created_at[lt]=2099-01-01T00:00:00Z'];
    let shapes = 0;
    for (let n = 1; n <= 100; n++) {
      const statuses = Array.from({ length: n }, () => 'statuses[]=idle').join('&');
      for (const extra of extras) {
        const res = await get(`/v1/sessions?${statuses}${extra}`);
        expect(res.status).toBe(200);
        shapes++;
      }
    }
    expect(shapes).toBe(400);
    expect(store.statementCacheSize).toBeGreaterThan(0);
    expect(store.statementCacheSize).toBeLessThanOrEqual(200);
    // The server still answers the fixed queries (evicted statements are prepared again).
    expect((await h.client.beta.agents.list()).data).toBeInstanceOf(Array);
  });

  it('creates the database, its WAL and the blob directory private to the service user', async () => {
    const agent = await h.client.beta.agents.create({ name: 'private', model: 'claude-sonnet-4-5' });
    expect(agent.id).toBeTruthy();
    const db = join(h.dataDir, 'hangar.db');
    expect(mode(db)).toBe('600');
    for (const side of ['-wal', '-shm']) expect(mode(db + side), side).toBe('600');
    expect(mode(join(h.dataDir, 'files'))).toBe('700');
    expect(mode(join(h.dataDir, 'files', '.tmp'))).toBe('700');
    expect(mode(join(h.dataDir, 'master.key'))).toBe('600'); // generated at the first start
  });

  it('creates a missing data directory listable by no one else', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'hangar-fresh-'));
    chmodSync(parent, 0o755);
    const dataDir = join(parent, 'data');
    const fresh = await startHangar({ dataDir });
    try {
      expect(mode(dataDir)).toBe('700');
      expect(mode(join(dataDir, 'hangar.db'))).toBe('600');
    } finally {
      await fresh.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('another local user cannot read the transcript database', async (ctx) => {
    if (process.getuid?.() !== 0) {
      // Switching to another user needs root; CI runs as root, so there this must not be skipped.
      if (process.env.CI === 'true') throw new Error('this test needs root (to run a command as uid 65534)');
      ctx.skip();
    }
    const db = join(h.dataDir, 'hangar.db');
    const asNobody = (path: string) => spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'cat', path], { encoding: 'utf8' });
    // Control: the same command reads a world-readable file beside it, so the refusal below is the mode's doing.
    const control = join(h.dataDir, 'control.txt');
    writeFileSync(control, 'readable', { mode: 0o644 });
    expect(asNobody(control).stdout).toBe('readable');
    const denied = asNobody(db);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);
    expect(asNobody(`${db}-wal`).stderr).toMatch(/Permission denied/);
  });
});
