// SessionFeed: streams get a session's events from the log by seq — in order, each once, whoever
// committed them (a local commit on the bus or another node's hint) — with local previews in their
// place, and a missed hint repaired by the next read or a re-sync.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { MemoryEventBus } from '../../src/adapters/bus-memory/memory-event-bus.ts';
import { SessionFeed } from '../../src/harness/session-feed.ts';
import { SessionLog } from '../../src/harness/session-log.ts';
import type { BusMessage } from '../../src/ports/event-bus.ts';
import type { SessionRow, Store, StoredEvent } from '../../src/ports/store.ts';

const NOW = '2026-05-01T00:00:00.000Z';
let n = 0;
const ev = (type: string, processed: string | null = NOW): StoredEvent['event'] => ({ id: `sevt_${++n}`, type, processed_at: processed });

function sessionRow(id: string): SessionRow {
  return {
    session: {
      type: 'session', id, status: 'idle', title: null, created_at: NOW, updated_at: NOW, archived_at: null,
      agent: { id: 'agent_x', version: 1 }, metadata: {}, usage: { input_tokens: 0, output_tokens: 0 },
    },
    runningSince: null, retryCount: 0,
  };
}

/** Resolves once `cond` holds (polling the event loop), or fails after 5 s. */
async function until(cond: () => boolean): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > 5_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('SessionFeed', () => {
  let dir: string;
  let store: Store;
  let bus: MemoryEventBus;
  let feed: SessionFeed;
  let log: SessionLog;
  const sid = 'sesn_feed';

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-feed-'));
    store = new SqliteStore(join(dir, 'hangar.db'));
    bus = new MemoryEventBus();
    feed = new SessionFeed({ store, bus });
    log = new SessionLog(store, bus);
    await store.sessions.insert(sessionRow(sid), [ev('user.message')]);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (...events: StoredEvent['event'][]) => log.commit(sid, () => ({ now: NOW, events }));
  /** A commit another node made: in the store, with no local bus message. */
  const appendRemotely = (...events: StoredEvent['event'][]) => store.sessions.commit(sid, () => ({ now: NOW, events }));

  it('starts after the head and delivers local commits in seq order, each once', async () => {
    const got: BusMessage[] = [];
    const off = feed.subscribe(sid, await feed.head(sid), (m) => got.push(m));
    const a = ev('agent.message');
    const b = ev('agent.message');
    const c = ev('session.status_idle');
    await append(a);
    await append(b, c);
    await until(() => got.length >= 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(got.map((m) => m.payload.id)).toEqual([a.id, b.id, c.id]);
    off();
    expect(feed.followed()).toBe(0);
  });

  it('delivers another node\'s commits on its hint, and repairs a missed hint with the next one', async () => {
    const got: string[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => got.push(String(m.payload.id)));
    const a = ev('agent.message');
    await appendRemotely(a); // its hint is lost
    const b = ev('agent.message');
    const stored = await appendRemotely(b);
    feed.hint({ kind: 'events', sessionId: sid, seq: stored!.stored[0].seq });
    await until(() => got.length >= 2);
    expect(got).toEqual([a.id, b.id]);
    // A stale hint (already delivered) reads nothing new and delivers nothing twice.
    feed.hint({ kind: 'events', sessionId: sid, seq: stored!.stored[0].seq });
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([a.id, b.id]);
  });

  it('re-sync makes every open stream read what it missed', async () => {
    const got: string[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => got.push(String(m.payload.id)));
    const a = ev('agent.message');
    await appendRemotely(a);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([]);
    feed.hint({ kind: 'resync' });
    await until(() => got.length >= 1);
    expect(got).toEqual([a.id]);
  });

  it('keeps previews in their place between committed events', async () => {
    const got: string[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => got.push(`${m.kind}:${String(m.payload.type)}`));
    const a = ev('agent.message');
    // The commit's read is still pending when the next preview arrives: it must wait its turn.
    const committing = append(a);
    await committing;
    log.preview(sid, { type: 'event_start', event: { id: 'sevt_next', type: 'agent.message' } });
    await until(() => got.length >= 2);
    expect(got).toEqual(['event:agent.message', 'preview:event_start']);
  });

  it('a stream opened later starts at its own head; an earlier one still gets everything', async () => {
    const first: string[] = [];
    const second: string[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => first.push(String(m.payload.id)));
    const a = ev('agent.message');
    await append(a);
    await until(() => first.length >= 1);
    feed.subscribe(sid, await feed.head(sid), (m) => second.push(String(m.payload.id)));
    const b = ev('agent.message');
    await append(b);
    await until(() => second.length >= 1 && first.length >= 2);
    expect(first).toEqual([a.id, b.id]);
    expect(second).toEqual([b.id]);
  });

  it('a local commit keeps its payload as committed (processed_at null even if processed since)', async () => {
    const got: BusMessage[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => got.push(m));
    const input = ev('user.message', null);
    await append(input);
    await store.sessions.commit(sid, () => ({ now: NOW, markProcessed: [input.id] }));
    await until(() => got.length >= 1);
    expect(got[0].payload.processed_at).toBeNull();
  });

  it('another node\'s delete reaches the stream as session.deleted', async () => {
    const got: string[] = [];
    feed.subscribe(sid, await feed.head(sid), (m) => got.push(String(m.payload.type)));
    feed.hint({ kind: 'deleted', sessionId: sid });
    await until(() => got.length >= 1);
    expect(got).toEqual(['session.deleted']);
    // Hints for sessions nobody here follows are ignored.
    feed.hint({ kind: 'deleted', sessionId: 'sesn_other' });
    feed.hint({ kind: 'events', sessionId: 'sesn_other', seq: 99 });
  });

  it('a failed read is reported and the next hint delivers what it missed', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const flaky: Store = {
      ...store,
      sessions: Object.assign(Object.create(store.sessions), {
        events: (id: string, q: Parameters<Store['sessions']['events']>[1]) => (fail ? Promise.reject(new Error('db down')) : store.sessions.events(id, q)),
      }),
    };
    const flakyFeed = new SessionFeed({ store: flaky, bus: new MemoryEventBus(), onError: (err) => errors.push(err) });
    const got: string[] = [];
    fail = false;
    const head = await flakyFeed.head(sid);
    fail = true;
    flakyFeed.subscribe(sid, head, (m) => got.push(String(m.payload.id)));
    const a = ev('agent.message');
    const stored = await appendRemotely(a);
    flakyFeed.hint({ kind: 'events', sessionId: sid, seq: stored!.stored[0].seq });
    await until(() => errors.length >= 1);
    expect(got).toEqual([]);
    fail = false;
    flakyFeed.hint({ kind: 'resync' });
    await until(() => got.length >= 1);
    expect(got).toEqual([a.id]);
  });
});
