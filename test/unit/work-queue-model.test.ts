// The work-item lease state machine (src/domain/work.ts) and the SQLite work repo, including hand-
// outs racing across separate database connections (threads), which BEGIN IMMEDIATE serializes.
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runWorkRepoSuite } from '../kit/repo-suites.ts';
import {
  NO_HEARTBEAT, HeartbeatPreconditionFailed, acknowledge, claimable, decodeWorkSecret, encodeWorkSecret, handOut, heartbeat,
  newWorkRow, settle, stop,
} from '../../src/domain/work.ts';
import { ApiError } from '../../src/protocol/errors.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const fresh = (id = 'work_1') => newWorkRow({ id, environmentId: 'env_a', data: { type: 'session', id: `sesn_${id}` }, ttlSeconds: 10, nowMs: T0 });

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ApiError ? err.status : -1;
  }
}

describe('work lease state machine', () => {
  it('hands out, acks, heartbeats and lapses back to the queue', () => {
    let row = fresh();
    expect(claimable(row, T0, 5000)).toBe(true);
    row = handOut(row, T0, 'h1');
    expect(claimable(row, T0 + 4999, 5000)).toBe(false);
    expect(claimable(row, T0 + 5000, 5000)).toBe(true);
    row = acknowledge(row, T0 + 10);
    expect(row.work.state).toBe('starting');
    expect(row.leaseExpiresAt).toBe(T0 + 10 + 10_000);
    const hb = heartbeat(row, T0 + 20, NO_HEARTBEAT, 30);
    expect(hb.response).toEqual({ type: 'work_heartbeat', last_heartbeat: '2026-01-01T00:00:00.020Z', lease_extended: true, state: 'active', ttl_seconds: 30 });
    row = hb.row;
    expect(settle(row, T0 + 20 + 30_000)).toBe(row);
    const lapsed = settle(row, T0 + 20 + 30_001);
    expect(lapsed.work).toMatchObject({ state: 'queued', acknowledged_at: null, started_at: null, latest_heartbeat_at: null });
    expect(lapsed.tokenHash).toBe('h1');
    expect(claimable(lapsed, T0 + 40_000, 5000)).toBe(true);
  });

  it('checks the heartbeat precondition except once stopping', () => {
    const row = heartbeat(acknowledge(handOut(fresh(), T0, 'h'), T0), T0 + 1, NO_HEARTBEAT, 10).row;
    expect(() => heartbeat(row, T0 + 2, NO_HEARTBEAT, 10)).toThrow(HeartbeatPreconditionFailed);
    expect(() => heartbeat(row, T0 + 2, 'nope', 10)).toThrow(HeartbeatPreconditionFailed);
    expect(heartbeat(row, T0 + 2, row.work.latest_heartbeat_at!, 10).response.lease_extended).toBe(true);
    expect(heartbeat(row, T0 + 2, undefined, 10).response.lease_extended).toBe(true);
    const stopping = stop(row, T0 + 3, false);
    expect(heartbeat(stopping, T0 + 4, 'whatever', 10).response).toMatchObject({ state: 'stopping', lease_extended: true });
    const envelope = (() => {
      try {
        heartbeat(row, T0 + 2, 'nope', 10);
      } catch (err) {
        return (err as ApiError).toEnvelope('req_x');
      }
    })()!;
    expect(envelope.error).toMatchObject({ details: { error_code: 'heartbeat_precondition_failed', current_state: { state: 'active', lease_extended: false, ttl_seconds: 10 } } });
  });

  it('stops gracefully, by force, lets a stopping lease lapse to stopped, and refuses to stop twice (409)', () => {
    const active = heartbeat(acknowledge(handOut(fresh(), T0, 'h'), T0), T0, NO_HEARTBEAT, 10).row;
    const stopping = stop(active, T0 + 1, false);
    expect(stopping.work.state).toBe('stopping');
    expect(stop(stopping, T0 + 2, false)).toBe(stopping);
    const stopped = stop(stopping, T0 + 3, true);
    expect(stopped.work).toMatchObject({ state: 'stopped', stop_requested_at: stopping.work.stop_requested_at });
    expect(stopped.tokenHash).toBeNull();
    expect(statusOf(() => stop(stopped, T0 + 4, true))).toBe(409);
    expect(statusOf(() => acknowledge(stopped, T0 + 4))).toBe(409);
    expect(heartbeat(stopped, T0 + 4, 'x', 10).response).toMatchObject({ state: 'stopped', lease_extended: false });
    expect(settle(stopping, T0 + 11_000).work).toMatchObject({ state: 'stopped', stopped_at: '2026-01-01T00:00:10.000Z' });
    expect(stop(fresh(), T0, false).work.state).toBe('stopped');
  });

  it('encodes the secret as base64url JSON the SDK decodes', () => {
    const secret = encodeWorkSecret('sk-ant-req-abc', 'http://127.0.0.1:1');
    expect(secret).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeWorkSecret(secret)).toEqual({ sessions_token: 'sk-ant-req-abc', api_base_url: 'http://127.0.0.1:1' });
  });
});

runWorkRepoSuite('sqlite', () => new SqliteStore(':memory:'));

describe('SQLite work repo', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('inserts one live item per session', async () => {
    const store = new SqliteStore(':memory:');
    expect(await store.work.insertUnlessLive(fresh('work_a'))).toBe(true);
    expect(await store.work.insertUnlessLive({ ...fresh('work_b'), work: { ...fresh('work_b').work, data: { type: 'session', id: 'sesn_work_a' } } })).toBe(false);
    await store.work.update('work_a', (r) => ({ row: stop(r, T0, true), result: null }));
    expect(await store.work.insertUnlessLive({ ...fresh('work_c'), work: { ...fresh('work_c').work, data: { type: 'session', id: 'sesn_work_a' } } })).toBe(true);
    await store.close();
  });

  it('never hands one item to two connections claiming at once (4 threads, 400 items)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-work-'));
    dirs.push(dir);
    const file = join(dir, 'hangar.db');
    const store = new SqliteStore(file);
    for (let i = 0; i < 400; i++) await store.work.insert(fresh(`work_${i}`));
    const barrier = new SharedArrayBuffer(4);
    const threads = Array.from({ length: 4 }, (_, thread) => new Promise<string[]>((resolve, reject) => {
      const w = new Worker(new URL('../worker/claim-thread.ts', import.meta.url), { workerData: { file, environmentId: 'env_a', thread, barrier, threads: 4 } });
      w.once('message', resolve);
      w.once('error', reject);
    }));
    const results = await Promise.all(threads);
    const all = results.flat();
    expect(all.length).toBe(400);
    expect(new Set(all).size).toBe(400);
    expect(results.filter((r) => r.length > 0).length, `claims per thread: ${results.map((r) => r.length)}`).toBeGreaterThan(1);
    await store.close();
  }, 60_000);
});
