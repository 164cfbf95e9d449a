// Which work-item session tokens authenticate (WorkQueue.authenticate over a real SQLite store):
// the token of the item's current hand-out only, and never once the item is stopped, whether by
// force, by a graceful stop whose lease lapsed, or in a stored row that still carries the hash.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { WorkQueue } from '../../src/harness/work-queue.ts';
import { acknowledge, handOut, hashCredential, newSessionToken, newWorkRow, settle, stop } from '../../src/domain/work.ts';
import { ApiError } from '../../src/protocol/errors.ts';
import type { WorkRow } from '../../src/ports/store.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
let now = T0;
let store: SqliteStore;
let queue: WorkQueue;

beforeEach(() => {
  now = T0;
  store = new SqliteStore(':memory:');
  queue = new WorkQueue({ store, clock: { now: () => now } });
});
afterEach(async () => {
  await store.close();
});

/** Stores an acked item handed out with a fresh token; returns the token. */
async function heldItem(id: string): Promise<string> {
  const token = newSessionToken();
  const row = acknowledge(handOut(newWorkRow({ id, environmentId: 'env_a', data: { type: 'session', id: `sesn_${id}` }, ttlSeconds: 10, nowMs: now }), now, hashCredential(token)), now);
  await store.work.insert(row);
  // A token acts in its session's workspace, so the session must exist.
  const session = { type: 'session', id: `sesn_${id}`, status: 'idle' as const, agent: { id: 'agent_a', version: 1 }, created_at: new Date(now).toISOString() };
  await store.sessions.insert({ session, runningSince: null, retryCount: 0 }, []);
  return token;
}

async function change(id: string, fn: (row: WorkRow) => WorkRow): Promise<void> {
  await store.work.update(id, (r) => ({ row: fn(r), result: null }));
}

async function statusOf(token: string): Promise<number | string> {
  try {
    return (await queue.authenticate(token)).kind;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('session token authentication', () => {
  it('authenticates the holder of a live item as its session token', async () => {
    const token = await heldItem('work_live');
    expect(await queue.authenticate(token)).toEqual({ kind: 'session_token', workspaceId: 'wrkspc_default', sessionId: 'sesn_work_live', workId: 'work_live', environmentId: 'env_a' });
  });

  it('refuses the token of a force-stopped item', async () => {
    const token = await heldItem('work_forced');
    await change('work_forced', (r) => stop(r, now, true));
    expect(await statusOf(token)).toBe(401);
  });

  it('refuses the token once a graceful stop’s lease lapsed, even before anything rewrote the row', async () => {
    const token = await heldItem('work_graceful');
    await change('work_graceful', (r) => stop(r, now, false));
    expect(await statusOf(token)).toBe('session_token'); // still winding down
    now += 11_000; // past the 10 s lease: the item settles to stopped on read
    expect(settle((await store.work.get('work_graceful'))!, now).tokenHash).toBeNull();
    expect(await statusOf(token)).toBe(401);
  });

  it('refuses a stopped item’s token even if its stored row kept the hash', async () => {
    const token = await heldItem('work_stale');
    await change('work_stale', (r) => {
      const stopped = stop(r, now, true);
      return { ...stopped, tokenHash: r.tokenHash };
    });
    expect((await store.work.get('work_stale'))!.tokenHash).toBe(hashCredential(token));
    expect(await statusOf(token)).toBe(401);
  });

  it('refuses the previous token of a re-handed item', async () => {
    const old = await heldItem('work_rehanded');
    const fresh = newSessionToken();
    now += 11_000; // the lease lapsed: the item is queued again and handed to another worker
    await change('work_rehanded', (r) => handOut(settle(r, now), now, hashCredential(fresh)));
    expect(await statusOf(old)).toBe(401);
    expect(await statusOf(fresh)).toBe('session_token');
  });
});
