// The store port's contract (src/ports/store.ts) as one reusable suite: every adapter's test is a
// call to `runStoreSuite(name, makeStore)`. `makeStore` must return an empty store (a fresh file,
// schema or truncated tables); each test closes it afterwards. Tests never depend on raw sort-key
// values, so an adapter whose keys are not small consecutive integers passes too.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  UniqueViolation, LeaseLost,
  type Json, type Page, type SessionRow, type SessionStatus, type SpendLimitObject, type Store, type AuditEvent, type AuditQuery, type StoredEvent,
} from '../../src/ports/store.ts';
import { SpendLimitReached } from '../../src/domain/spend.ts';

const BASE_MS = Date.parse('2026-05-01T00:00:00.000Z');
const at = (minutes: number) => new Date(BASE_MS + minutes * 60_000).toISOString();

type WireEvent = StoredEvent['event'];

/** Walks a keyset-paginated list to the end; fails on an empty page or a cursor that never ends. */
async function collect<T>(fetch: (after: number | undefined) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let after: number | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await fetch(after);
    pages.push(page.data);
    if (page.next === null) return pages;
    expect(page.data.length, 'a page with a next cursor must not be empty').toBeGreaterThan(0);
    after = page.next;
  }
  throw new Error('pagination did not end');
}

const ids = (items: Array<{ id?: unknown }>) => items.map((x) => x.id);

export function runStoreSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract: ${name}`, () => {
    let store: Store;
    let n = 0;
    /** Fresh ids per test, so ids never collide even in a reused database. */
    const uid = (prefix: string) => `${prefix}_${name.replace(/\W/g, '')}${Date.now().toString(36)}${(++n).toString(36)}`;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    // ---- agents -------------------------------------------------------------------------------

    const agentObj = (id: string, version: number, created = at(0), extra: Json = {}) => ({
      type: 'agent', id, version, name: `agent ${id}`, created_at: created, updated_at: created, ...extra,
    });

    describe('agents', () => {
      it('inserts and gets the latest version with archived_at null', async () => {
        const id = uid('agent');
        await store.agents.insert(agentObj(id, 1));
        expect(await store.agents.get(id)).toMatchObject({ id, version: 1, name: `agent ${id}`, archived_at: null });
        expect(await store.agents.get(id, 1)).toMatchObject({ id, version: 1 });
      });

      it('returns undefined for an unknown agent or version', async () => {
        const id = uid('agent');
        expect(await store.agents.get(id)).toBeUndefined();
        await store.agents.insert(agentObj(id, 1));
        expect(await store.agents.get(id, 2)).toBeUndefined();
      });

      it('adds versions: the latest moves, older versions stay readable', async () => {
        const id = uid('agent');
        await store.agents.insert(agentObj(id, 1));
        expect(await store.agents.addVersion(agentObj(id, 2, at(0), { name: 'renamed' }), 1)).toBe(true);
        expect(await store.agents.get(id)).toMatchObject({ version: 2, name: 'renamed' });
        expect(await store.agents.get(id, 1)).toMatchObject({ version: 1, name: `agent ${id}` });
      });

      it('loses an addVersion race: returns false and stores nothing', async () => {
        const id = uid('agent');
        await store.agents.insert(agentObj(id, 1));
        expect(await store.agents.addVersion(agentObj(id, 2, at(0), { name: 'winner' }), 1)).toBe(true);
        expect(await store.agents.addVersion(agentObj(id, 2, at(0), { name: 'loser' }), 1)).toBe(false);
        expect(await store.agents.get(id)).toMatchObject({ version: 2, name: 'winner' });
        expect(await store.agents.get(id, 2)).toMatchObject({ name: 'winner' });
        const versions = await store.agents.listVersions(id, { limit: 10, order: 'asc' });
        expect(versions.data.map((v) => v.version)).toEqual([1, 2]);
      });

      it('returns false from addVersion for an unknown agent', async () => {
        expect(await store.agents.addVersion(agentObj(uid('agent'), 2), 1)).toBe(false);
      });

      it('archives: every version reports archived_at, and archiving again keeps the first time', async () => {
        const id = uid('agent');
        await store.agents.insert(agentObj(id, 1));
        await store.agents.addVersion(agentObj(id, 2), 1);
        await store.agents.archive(id, at(5));
        expect((await store.agents.get(id))!.archived_at).toBe(at(5));
        expect((await store.agents.get(id, 1))!.archived_at).toBe(at(5));
        await store.agents.archive(id, at(9));
        expect((await store.agents.get(id))!.archived_at).toBe(at(5));
        const versions = await store.agents.listVersions(id, { limit: 10, order: 'desc' });
        expect(versions.data.map((v) => [v.version, v.archived_at])).toEqual([[2, at(5)], [1, at(5)]]);
      });

      it('lists with archived filtering and created_at bounds', async () => {
        const [a, b, c] = [uid('agent'), uid('agent'), uid('agent')];
        await store.agents.insert(agentObj(a, 1, at(1)));
        await store.agents.insert(agentObj(b, 1, at(2)));
        await store.agents.insert(agentObj(c, 1, at(3)));
        await store.agents.archive(b, at(4));
        const q = { limit: 10, order: 'asc' as const };
        expect(ids((await store.agents.list({ ...q, includeArchived: false })).data)).toEqual([a, c]);
        expect(ids((await store.agents.list({ ...q, includeArchived: true })).data)).toEqual([a, b, c]);
        expect(ids((await store.agents.list({ ...q, includeArchived: true, createdGte: at(2) })).data)).toEqual([b, c]);
        expect(ids((await store.agents.list({ ...q, includeArchived: true, createdLte: at(2) })).data)).toEqual([a, b]);
        expect(ids((await store.agents.list({ ...q, includeArchived: true, createdGte: at(2), createdLte: at(2) })).data)).toEqual([b]);
      });

      it('paginates to the end in both orders, with no empty last page', async () => {
        const all: string[] = [];
        for (let i = 0; i < 6; i++) {
          const id = uid('agent');
          all.push(id);
          await store.agents.insert(agentObj(id, 1, at(i)));
        }
        for (const order of ['asc', 'desc'] as const) {
          const pages = await collect((after) => store.agents.list({ limit: 2, order, after, includeArchived: true }));
          expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
          expect(pages.flat().map((a) => a.id)).toEqual(order === 'asc' ? all : [...all].reverse());
        }
        const uneven = await collect((after) => store.agents.list({ limit: 4, order: 'asc', after, includeArchived: true }));
        expect(uneven.map((p) => p.length)).toEqual([4, 2]);
      });

      it('paginates versions in both orders', async () => {
        const id = uid('agent');
        await store.agents.insert(agentObj(id, 1));
        for (let v = 2; v <= 5; v++) expect(await store.agents.addVersion(agentObj(id, v), v - 1)).toBe(true);
        const asc = await collect((after) => store.agents.listVersions(id, { limit: 2, order: 'asc', after }));
        expect(asc.flat().map((a) => a.version)).toEqual([1, 2, 3, 4, 5]);
        const desc = await collect((after) => store.agents.listVersions(id, { limit: 2, order: 'desc', after }));
        expect(desc.flat().map((a) => a.version)).toEqual([5, 4, 3, 2, 1]);
      });
    });

    // ---- environments -------------------------------------------------------------------------

    const envObj = (id: string, name: string, extra: Json = {}) => ({
      type: 'environment', id, name, created_at: at(0), archived_at: null, ...extra,
    });

    describe('environments', () => {
      it('inserts, gets, updates and deletes', async () => {
        const id = uid('env');
        const name = uid('name');
        await store.environments.insert(envObj(id, name, { description: 'd' }));
        expect(await store.environments.get(id)).toMatchObject({ id, name, description: 'd' });
        await store.environments.update(envObj(id, `${name}-2`, { description: 'e' }));
        expect(await store.environments.get(id)).toMatchObject({ name: `${name}-2`, description: 'e' });
        expect(await store.environments.delete(id)).toBe(true);
        expect(await store.environments.get(id)).toBeUndefined();
        expect(await store.environments.delete(id)).toBe(false);
      });

      it('throws UniqueViolation on a duplicate name at insert and leaves the first in place', async () => {
        const name = uid('name');
        const first = uid('env');
        await store.environments.insert(envObj(first, name));
        const second = uid('env');
        await expect(store.environments.insert(envObj(second, name))).rejects.toBeInstanceOf(UniqueViolation);
        expect(await store.environments.get(second)).toBeUndefined();
        expect(await store.environments.get(first)).toMatchObject({ name });
      });

      it('throws UniqueViolation when an update takes a used name, and keeps the old object', async () => {
        const [a, b] = [uid('env'), uid('env')];
        const [na, nb] = [uid('name'), uid('name')];
        await store.environments.insert(envObj(a, na));
        await store.environments.insert(envObj(b, nb));
        await expect(store.environments.update(envObj(b, na))).rejects.toBeInstanceOf(UniqueViolation);
        expect(await store.environments.get(b)).toMatchObject({ name: nb });
      });

      it('frees a name when its environment is deleted', async () => {
        const name = uid('name');
        const a = uid('env');
        await store.environments.insert(envObj(a, name));
        await store.environments.delete(a);
        await expect(store.environments.insert(envObj(uid('env'), name))).resolves.toBeUndefined();
      });

      it('lists with archived filtering and paginates to the end', async () => {
        const all: string[] = [];
        for (let i = 0; i < 5; i++) {
          const id = uid('env');
          all.push(id);
          await store.environments.insert(envObj(id, uid('name'), i === 2 ? { archived_at: at(1) } : {}));
        }
        const live = await collect((after) => store.environments.list({ limit: 2, order: 'asc', after, includeArchived: false }));
        expect(live.flat().map((e) => e.id)).toEqual(all.filter((_, i) => i !== 2));
        const everything = await collect((after) => store.environments.list({ limit: 2, order: 'desc', after, includeArchived: true }));
        expect(everything.flat().map((e) => e.id)).toEqual([...all].reverse());
        // Archiving through update is seen by the filter.
        await store.environments.update(envObj(all[0], uid('name'), { archived_at: at(2) }));
        const after = await store.environments.list({ limit: 10, order: 'asc', includeArchived: false });
        expect(ids(after.data)).toEqual([all[1], all[3], all[4]]);
      });
    });

    // ---- sessions -----------------------------------------------------------------------------

    function sessionRow(id: string, opts: { status?: SessionStatus; created?: string; agentId?: string; agentVersion?: number } = {}): SessionRow {
      const status = opts.status ?? 'idle';
      return {
        session: {
          type: 'session', id, status, title: null, created_at: opts.created ?? at(0), updated_at: opts.created ?? at(0), archived_at: null,
          agent: { id: opts.agentId ?? 'agent_x', version: opts.agentVersion ?? 1 }, metadata: {},
          usage: { input_tokens: 0, output_tokens: 0, active_seconds: 0 },
        },
        runningSince: status === 'running' ? BASE_MS : null,
        retryCount: 0,
      };
    }

    let eventCounter = 0;
    const ev = (type: string, fields: Json = {}, processed: string | null = at(0)): WireEvent =>
      ({ id: uid(`sevt${++eventCounter}`), type, ...fields, processed_at: processed });
    const userMessage = (text: string, processed: string | null = null) =>
      ev('user.message', { content: [{ type: 'text', text }] }, processed);

    async function newSession(opts: Parameters<typeof sessionRow>[1] = {}, initial: WireEvent[] = []) {
      const id = uid('sesn');
      const stored = await store.sessions.insert(sessionRow(id, opts), initial);
      return { id, stored };
    }

    const append = (sessionId: string, events: WireEvent[], now = at(1)) =>
      store.sessions.commit(sessionId, () => ({ now, events }));

    describe('sessions', () => {
      it('inserts with initial events and gets the row back', async () => {
        const initial = [userMessage('hi', at(0)), ev('session.status_running')];
        const { id, stored } = await newSession({ status: 'running' }, initial);
        expect(stored.map((s) => s.event)).toEqual(initial);
        expect(stored.every((s) => s.processedSeq === null)).toBe(true);
        expect(stored[1].seq).toBeGreaterThan(stored[0].seq);
        const row = await store.sessions.get(id);
        expect(row).toMatchObject({ runningSince: BASE_MS, retryCount: 0 });
        expect(row!.session).toMatchObject({ id, status: 'running', title: null, archived_at: null, agent: { id: 'agent_x', version: 1 } });
        expect((await store.sessions.log(id)).map((s) => s.event)).toEqual(initial);
      });

      it('counts sessions by status, every status present (archived ones included)', async () => {
        const before = await store.sessions.countByStatus();
        expect(Object.keys(before).sort()).toEqual(['idle', 'rescheduling', 'running', 'terminated']);
        await newSession({ status: 'idle' });
        await newSession({ status: 'idle' });
        await newSession({ status: 'running' });
        const archived = await newSession({ status: 'terminated' });
        await store.sessions.commit(archived.id, () => ({ now: at(2), patch: { fields: { archived_at: at(2) } } }));
        const after = await store.sessions.countByStatus();
        expect({
          idle: after.idle - before.idle, running: after.running - before.running,
          rescheduling: after.rescheduling - before.rescheduling, terminated: after.terminated - before.terminated,
        }).toEqual({ idle: 2, running: 1, rescheduling: 0, terminated: 1 });
      });

      it('returns undefined for an unknown session', async () => {
        expect(await store.sessions.get(uid('sesn'))).toBeUndefined();
      });

      it('lists by agent, agent version, statuses and created_at bounds', async () => {
        const agentA = uid('agent');
        const s1 = (await newSession({ agentId: agentA, agentVersion: 1, status: 'idle', created: at(1) })).id;
        const s2 = (await newSession({ agentId: agentA, agentVersion: 2, status: 'running', created: at(2) })).id;
        const s3 = (await newSession({ agentId: agentA, agentVersion: 2, status: 'terminated', created: at(3) })).id;
        const s4 = (await newSession({ agentId: uid('agent'), status: 'rescheduling', created: at(4) })).id;
        const list = async (q: Partial<Parameters<Store['sessions']['list']>[0]>) =>
          (await store.sessions.list({ limit: 50, order: 'asc', includeArchived: true, ...q })).data.map((x) => x.row.session.id);
        expect(await list({ agentId: agentA })).toEqual([s1, s2, s3]);
        expect(await list({ agentId: agentA, agentVersion: 2 })).toEqual([s2, s3]);
        const mine = [s1, s2, s3, s4];
        const only = (got: string[]) => got.filter((x) => mine.includes(x));
        expect(only(await list({ statuses: ['running', 'rescheduling'] }))).toEqual([s2, s4]);
        expect(only(await list({ statuses: ['terminated'] }))).toEqual([s3]);
        expect(only(await list({ createdGt: at(1), createdLt: at(4) }))).toEqual([s2, s3]);
        expect(only(await list({ createdGte: at(2), createdLte: at(4) }))).toEqual([s2, s3, s4]);
        expect(only(await list({ createdGte: at(4) }))).toEqual([s4]);
      });

      it('hides archived sessions unless asked', async () => {
        const agentId = uid('agent');
        const a = (await newSession({ agentId })).id;
        const b = (await newSession({ agentId })).id;
        await store.sessions.commit(a, () => ({ now: at(2), patch: { status: 'terminated' as const, fields: { archived_at: at(2) } } }));
        const q = { limit: 10, order: 'asc' as const, agentId };
        expect((await store.sessions.list({ ...q, includeArchived: false })).data.map((x) => x.row.session.id)).toEqual([b]);
        const all = (await store.sessions.list({ ...q, includeArchived: true })).data;
        expect(all.map((x) => [x.row.session.id, x.row.session.archived_at])).toEqual([[a, at(2)], [b, null]]);
      });

      it('paginates both orders to the end, each item carrying its sort key', async () => {
        const agentId = uid('agent');
        const all: string[] = [];
        for (let i = 0; i < 5; i++) all.push((await newSession({ agentId, created: at(i) })).id);
        for (const order of ['asc', 'desc'] as const) {
          const pages = await collect((after) => store.sessions.list({ limit: 2, order, after, agentId, includeArchived: false }));
          expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
          expect(pages.flat().map((x) => x.row.session.id)).toEqual(order === 'asc' ? all : [...all].reverse());
          const keys = pages.flat().map((x) => x.seq);
          expect(new Set(keys).size).toBe(5);
        }
        // A list can be resumed from any item's sort key.
        const asc = (await store.sessions.list({ limit: 10, order: 'asc', agentId, includeArchived: false })).data;
        const rest = await store.sessions.list({ limit: 10, order: 'asc', agentId, includeArchived: false, after: asc[1].seq });
        expect(rest.data.map((x) => x.row.session.id)).toEqual(all.slice(2));
        const back = await store.sessions.list({ limit: 10, order: 'desc', agentId, includeArchived: false, after: asc[3].seq });
        expect(back.data.map((x) => x.row.session.id)).toEqual([all[2], all[1], all[0]]);
      });

      it('deletes a session and its whole log', async () => {
        const { id } = await newSession({}, [userMessage('hi', at(0))]);
        const other = await newSession({}, [userMessage('keep me', at(0))]);
        const [stored] = await append(id, [ev('agent.message')]).then((r) => r!.stored);
        expect(await store.sessions.delete(id)).toBe(true);
        expect(await store.sessions.get(id)).toBeUndefined();
        expect(await store.sessions.log(id)).toEqual([]);
        expect(await store.sessions.findEvent(id, stored.event.id)).toBeUndefined();
        expect((await store.sessions.events(id, { limit: 10, order: 'asc' })).data).toEqual([]);
        expect(await store.sessions.delete(id)).toBe(false);
        expect(await store.sessions.log(other.id)).toHaveLength(1);
      });
    });

    describe('sessions.commit', () => {
      it('returns undefined and calls nothing for an unknown session', async () => {
        let called = false;
        const result = await store.sessions.commit(uid('sesn'), () => {
          called = true;
          return { now: at(1) };
        });
        expect(result).toBeUndefined();
        expect(called).toBe(false);
      });

      it('appends planned events in order and returns them with increasing log positions', async () => {
        const { id, stored: initial } = await newSession({}, [userMessage('hi', at(0))]);
        const events = [ev('session.status_running'), ev('span.model_request_start'), ev('agent.message', { content: [] })];
        const result = await store.sessions.commit(id, (row, log) => {
          expect(row.session.id).toBe(id);
          expect(log().map((e) => e.event.id)).toEqual([initial[0].event.id]);
          return { now: at(1), events, extra: 'kept' };
        });
        expect(result!.stored.map((s) => s.event)).toEqual(events);
        const seqs = result!.stored.map((s) => s.seq);
        expect(seqs[0]).toBeGreaterThan(initial[0].seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(result!.plan.extra).toBe('kept');
        expect((await store.sessions.log(id)).map((e) => e.event.id)).toEqual([initial[0].event.id, ...events.map((e) => e.id)]);
      });

      it('keeps processed_at as given and null for queued input', async () => {
        const { id } = await newSession();
        const queued = userMessage('later');
        await append(id, [queued, ev('agent.message', {}, at(3))]);
        const log = await store.sessions.log(id);
        expect(log.map((e) => e.event.processed_at)).toEqual([null, at(3)]);
      });

      it('applies the patch: status, runningSince, retryCount and shallow-merged fields', async () => {
        const { id } = await newSession();
        const result = await store.sessions.commit(id, () => ({
          now: at(1),
          patch: { status: 'running' as const, runningSince: BASE_MS + 1_000, retryCount: 3, fields: { title: 'named', usage: { active_seconds: 9 } } },
        }));
        expect(result!.row).toMatchObject({ runningSince: BASE_MS + 1_000, retryCount: 3 });
        expect(result!.row.session).toMatchObject({ status: 'running', title: 'named', usage: { active_seconds: 9 }, metadata: {} });
        const row = await store.sessions.get(id);
        expect(row).toEqual(result!.row);
        // runningSince may be cleared explicitly; an omitted field keeps its value.
        await store.sessions.commit(id, () => ({ now: at(2), patch: { status: 'idle' as const, runningSince: null } }));
        expect(await store.sessions.get(id)).toMatchObject({ runningSince: null, retryCount: 3, session: { status: 'idle', title: 'named' } });
      });

      it('writes nothing when decide throws, and rethrows its error', async () => {
        const { id, stored } = await newSession({}, [userMessage('queued')]);
        const before = await store.sessions.get(id);
        const boom = new Error('decided against it');
        await expect(store.sessions.commit(id, (_row, log) => {
          log();
          throw boom;
        })).rejects.toBe(boom);
        expect(await store.sessions.get(id)).toEqual(before);
        expect(await store.sessions.log(id)).toEqual(stored);
      });

      it('rolls back the whole commit when an append fails (duplicate event id)', async () => {
        const { id } = await newSession({}, [userMessage('queued')]);
        const existing = (await store.sessions.log(id))[0];
        const before = await store.sessions.get(id);
        await expect(store.sessions.commit(id, () => ({
          now: at(1),
          markProcessed: [existing.event.id],
          events: [ev('session.status_running'), { ...ev('agent.message'), id: existing.event.id }],
          patch: { status: 'running' as const, runningSince: BASE_MS },
        }))).rejects.toThrow();
        expect(await store.sessions.get(id)).toEqual(before);
        expect(await store.sessions.log(id)).toEqual([existing]);
      });

      it('marks queued events processed at now, recording the last log position before the append', async () => {
        const { id } = await newSession();
        const q1 = userMessage('one');
        const q2 = userMessage('two');
        const [s1, , s3] = (await append(id, [q1, q2, ev('agent.message')]))!.stored;
        const result = await store.sessions.commit(id, () => ({ now: at(5), markProcessed: [q1.id, q2.id], events: [ev('session.status_running')] }));
        const log = await store.sessions.log(id);
        const byId = new Map(log.map((e) => [e.event.id, e]));
        for (const q of [q1, q2]) {
          expect(byId.get(q.id)!.event.processed_at).toBe(at(5));
          expect(byId.get(q.id)!.processedSeq).toBe(s3.seq);
        }
        expect(byId.get(q1.id)!.seq).toBe(s1.seq);
        expect(result!.stored[0].seq).toBeGreaterThan(s3.seq);
        expect((await store.sessions.findEvent(id, q2.id))!.processedSeq).toBe(s3.seq);
      });

      it('does not re-stamp an event that is already processed', async () => {
        const { id } = await newSession();
        const q = userMessage('one');
        await append(id, [q]);
        await store.sessions.commit(id, () => ({ now: at(2), markProcessed: [q.id] }));
        const first = await store.sessions.findEvent(id, q.id);
        await append(id, [ev('agent.message')]);
        await store.sessions.commit(id, () => ({ now: at(9), markProcessed: [q.id] }));
        expect(await store.sessions.findEvent(id, q.id)).toEqual(first);
        expect(first!.event.processed_at).toBe(at(2));
      });

      it('only marks events of its own session', async () => {
        const a = await newSession();
        const b = await newSession();
        const q = userMessage('b only');
        await append(b.id, [q]);
        await store.sessions.commit(a.id, () => ({ now: at(2), markProcessed: [q.id] }));
        expect((await store.sessions.findEvent(b.id, q.id))!.event.processed_at).toBeNull();
      });

      it('bumps the log revision on every append or mark, and only then', async () => {
        const { id } = await newSession();
        const start = (await store.sessions.get(id))!.logRevision!;
        expect(typeof start).toBe('number');
        const q = userMessage('queued');
        const appended = await append(id, [q]);
        expect(appended!.row.logRevision).toBe(start + 1);
        expect((await store.sessions.get(id))!.logRevision).toBe(start + 1);
        // A patch alone leaves the log as it was.
        const patched = await store.sessions.commit(id, () => ({ now: at(2), patch: { fields: { title: 't' } } }));
        expect(patched!.row.logRevision).toBe(start + 1);
        // Marking processed changes the log without appending.
        let seen: number | undefined;
        const marked = await store.sessions.commit(id, (row) => {
          seen = row.logRevision;
          return { now: at(3), markProcessed: [q.id] };
        });
        expect(seen).toBe(start + 1);
        expect(marked!.row.logRevision).toBe(start + 2);
        expect((await store.sessions.get(id))!.logRevision).toBe(start + 2);
        // A commit that throws changes nothing.
        await expect(store.sessions.commit(id, () => { throw new Error('no'); })).rejects.toThrow('no');
        expect((await store.sessions.get(id))!.logRevision).toBe(start + 2);
      });

      it('serializes concurrent commits on one session', async () => {
        const { id } = await newSession();
        await Promise.all(Array.from({ length: 10 }, (_, i) => store.sessions.commit(id, (_row, log) => {
          const count = log().length;
          return { now: at(1), events: [ev('agent.message', { n: i, seen: count })] };
        })));
        const log = await store.sessions.log(id);
        expect(log).toHaveLength(10);
        // Each decide saw every event committed before it.
        expect(log.map((e) => e.event.seen)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      });
    });

    describe('session events', () => {
      async function sessionWithLog() {
        const { id } = await newSession();
        const events = [
          userMessage('hi', at(1)), ev('session.status_running'), ev('span.model_request_start'),
          ev('agent.message', { content: [{ type: 'text', text: 'yo' }] }), ev('span.model_request_end'), ev('session.status_idle'),
        ];
        await append(id, events.slice(0, 3), at(1));
        await append(id, events.slice(3), at(2));
        return { id, events };
      }

      it('pages the log in both orders to the end', async () => {
        const { id, events } = await sessionWithLog();
        const asc = await collect((after) => store.sessions.events(id, { limit: 4, order: 'asc', after }));
        expect(asc.map((p) => p.length)).toEqual([4, 2]);
        expect(asc.flat().map((e) => e.event.id)).toEqual(events.map((e) => e.id));
        const desc = await collect((after) => store.sessions.events(id, { limit: 3, order: 'desc', after }));
        expect(desc.map((p) => p.length)).toEqual([3, 3]);
        expect(desc.flat().map((e) => e.event.id)).toEqual(events.map((e) => e.id).reverse());
      });

      it('filters by types', async () => {
        const { id, events } = await sessionWithLog();
        const page = await store.sessions.events(id, { limit: 10, order: 'asc', types: ['session.status_running', 'session.status_idle'] });
        expect(page.data.map((e) => e.event.id)).toEqual([events[1].id, events[5].id]);
        expect(page.next).toBeNull();
        const spans = await collect((after) => store.sessions.events(id, { limit: 1, order: 'asc', after, types: ['span.model_request_start', 'span.model_request_end'] }));
        expect(spans.flat().map((e) => e.event.type)).toEqual(['span.model_request_start', 'span.model_request_end']);
      });

      it('filters by created_at (when the event was appended)', async () => {
        const { id, events } = await sessionWithLog();
        const late = await store.sessions.events(id, { limit: 10, order: 'asc', createdGte: at(2) });
        expect(late.data.map((e) => e.event.id)).toEqual(events.slice(3).map((e) => e.id));
        const early = await store.sessions.events(id, { limit: 10, order: 'asc', createdLt: at(2) });
        expect(early.data.map((e) => e.event.id)).toEqual(events.slice(0, 3).map((e) => e.id));
        expect((await store.sessions.events(id, { limit: 10, order: 'asc', createdGt: at(2) })).data).toEqual([]);
        expect((await store.sessions.events(id, { limit: 10, order: 'asc', createdLte: at(1) })).data).toHaveLength(3);
      });

      it('keeps each session\'s log separate', async () => {
        const a = await sessionWithLog();
        const b = await sessionWithLog();
        expect((await store.sessions.log(a.id)).map((e) => e.event.id)).toEqual(a.events.map((e) => e.id));
        expect(await store.sessions.findEvent(a.id, b.events[0].id)).toBeUndefined();
      });

      it('finds one event by id with its stored fields', async () => {
        const { id, events } = await sessionWithLog();
        const found = await store.sessions.findEvent(id, events[3].id);
        expect(found!.event).toEqual(events[3]);
        expect(await store.sessions.findEvent(id, 'sevt_missing')).toBeUndefined();
      });
    });

    // ---- leases and the sweeper ---------------------------------------------------------------

    describe('leases', () => {
      const TTL = 1_000;
      const T = BASE_MS;

      it('grants a free lease, refuses it to others while live, renews for the owner', async () => {
        const { id } = await newSession({ status: 'running' });
        expect(await store.sessions.acquireLease(id, 'a', TTL, T)).toBe(true);
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + 500)).toBe(false);
        expect(await store.sessions.acquireLease(id, 'a', TTL, T + 800)).toBe(true);
        // Renewed until T + 1800: still live at T + 1500.
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + 1_500)).toBe(false);
      });

      it('lets another owner steal an expired lease, after which the old owner is refused', async () => {
        const { id } = await newSession({ status: 'running' });
        expect(await store.sessions.acquireLease(id, 'a', TTL, T)).toBe(true);
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + TTL + 1)).toBe(true);
        expect(await store.sessions.acquireLease(id, 'a', TTL, T + TTL + 2)).toBe(false);
      });

      it('a commit fenced by a lease owner writes only while that owner holds the lease (LeaseLost otherwise, nothing written)', async () => {
        const { id } = await newSession({ status: 'running' });
        const plan = (type: string) => () => ({ now: at(1), events: [ev(type)], patch: { fields: { marker: type } } });
        // No lease at all: a fenced commit is refused.
        await expect(store.sessions.commit(id, plan('agent.message'), { leaseOwner: 'a' })).rejects.toBeInstanceOf(LeaseLost);
        expect(await store.sessions.acquireLease(id, 'a', TTL, T)).toBe(true);
        const ok = await store.sessions.commit(id, plan('agent.thinking'), { leaseOwner: 'a' });
        expect(ok?.stored.map((e) => e.event.type)).toEqual(['agent.thinking']);
        // Another owner takes the expired lease over: the old owner's next write is refused, before decide runs.
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + TTL + 1)).toBe(true);
        let decided = false;
        await expect(store.sessions.commit(id, () => {
          decided = true;
          return plan('agent.message')();
        }, { leaseOwner: 'a' })).rejects.toBeInstanceOf(LeaseLost);
        expect(decided).toBe(false);
        expect((await store.sessions.log(id)).map((e) => e.event.type)).toEqual(['agent.thinking']);
        expect((await store.sessions.get(id))?.session.marker).toBe('agent.thinking');
        // The new owner writes; an unfenced commit (user input) is never refused.
        expect((await store.sessions.commit(id, plan('agent.message'), { leaseOwner: 'b' }))?.stored).toHaveLength(1);
        expect((await store.sessions.commit(id, plan('user.message')))?.stored).toHaveLength(1);
      });

      it('releases only for the owner', async () => {
        const { id } = await newSession({ status: 'running' });
        await store.sessions.acquireLease(id, 'a', TTL, T);
        await store.sessions.releaseLease(id, 'b');
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + 1)).toBe(false);
        await store.sessions.releaseLease(id, 'a');
        expect(await store.sessions.acquireLease(id, 'b', TTL, T + 2)).toBe(true);
      });

      it('a new boot of the same node takes its earlier boot\'s live lease at once; other nodes cannot', async () => {
        const { id } = await newSession({ status: 'running' });
        expect(await store.sessions.acquireLease(id, 'node-1#boot-a', TTL, T)).toBe(true);
        expect(await store.sessions.acquireLease(id, 'node-2#boot-x', TTL, T + 10)).toBe(false);
        // A node id that merely starts with the same letters is another node.
        expect(await store.sessions.acquireLease(id, 'node-#boot-y', TTL, T + 10)).toBe(false);
        expect(await store.sessions.acquireLease(id, 'node-1#boot-b', TTL, T + 20)).toBe(true);
        // Releasing under the earlier boot's owner does not free the new boot's lease.
        await store.sessions.releaseLease(id, 'node-1#boot-a');
        expect(await store.sessions.acquireLease(id, 'node-2#boot-x', TTL, T + 40)).toBe(false);
      });

      it('orphaned(reclaimFor): adds live leases of earlier boots of that node, never its own or another node\'s', async () => {
        const previous = (await newSession({ status: 'running' })).id;
        const own = (await newSession({ status: 'running' })).id;
        const other = (await newSession({ status: 'running' })).id;
        const idle = (await newSession({ status: 'idle' })).id;
        await store.sessions.acquireLease(previous, 'n1#old', TTL, T);
        await store.sessions.acquireLease(own, 'n1#new', TTL, T);
        await store.sessions.acquireLease(other, 'n2#b', TTL, T);
        await store.sessions.acquireLease(idle, 'n1#old', TTL, T);
        const mine = new Set([previous, own, other, idle]);
        const found = (await store.sessions.orphaned(T + 10, 1_000, 'n1#new')).filter((x) => mine.has(x));
        expect(found).toEqual([previous]);
        expect((await store.sessions.orphaned(T + 10, 1_000)).filter((x) => mine.has(x))).toEqual([]);
        expect((await store.sessions.orphaned(T + 10, 1_000, 'plain-owner')).filter((x) => mine.has(x))).toEqual([]);
      });

      it('refuses a lease on an unknown session', async () => {
        expect(await store.sessions.acquireLease(uid('sesn'), 'a', TTL, T)).toBe(false);
      });

      it('orphaned(): running, rescheduling and pending-wake sessions with no live lease', async () => {
        const running = (await newSession({ status: 'running' })).id;
        const rescheduling = (await newSession({ status: 'rescheduling' })).id;
        const expired = (await newSession({ status: 'running' })).id;
        const leased = (await newSession({ status: 'running' })).id;
        const idle = (await newSession({ status: 'idle' })).id;
        const woken = (await newSession({ status: 'idle' })).id;
        const terminated = (await newSession({ status: 'terminated' })).id;
        await store.sessions.acquireLease(expired, 'dead', TTL, T - 5_000);
        await store.sessions.acquireLease(leased, 'alive', TTL, T);
        await store.sessions.commit(woken, () => ({ now: at(1), patch: { pendingWake: true } }));
        const mine = new Set([running, rescheduling, expired, leased, idle, woken, terminated]);
        const found = (await store.sessions.orphaned(T + 10, 1_000)).filter((x) => mine.has(x));
        expect(new Set(found)).toEqual(new Set([running, rescheduling, expired, woken]));
      });

      it('orphaned(): a cleared wake and a live lease drop a session; limit caps the answer', async () => {
        const woken = (await newSession({ status: 'idle' })).id;
        await store.sessions.commit(woken, () => ({ now: at(1), patch: { pendingWake: true } }));
        expect(await store.sessions.orphaned(T, 1_000)).toContain(woken);
        await store.sessions.acquireLease(woken, 'a', TTL, T);
        expect(await store.sessions.orphaned(T + 10, 1_000)).not.toContain(woken);
        expect(await store.sessions.orphaned(T + TTL + 10, 1_000)).toContain(woken);
        await store.sessions.commit(woken, () => ({ now: at(2), patch: { pendingWake: false } }));
        expect(await store.sessions.orphaned(T + TTL + 10, 1_000)).not.toContain(woken);
        for (let i = 0; i < 3; i++) await newSession({ status: 'running' });
        expect(await store.sessions.orphaned(T, 2)).toHaveLength(2);
      });
    });

    // ---- api keys -----------------------------------------------------------------------------

    describe('api keys', () => {
      it('counts, inserts and finds keys by hash', async () => {
        const before = await store.apiKeys.count();
        const hash = uid('hash');
        expect(await store.apiKeys.existsHash(hash)).toBe(false);
        await store.apiKeys.insert(uid('key'), hash, at(0));
        expect(await store.apiKeys.existsHash(hash)).toBe(true);
        expect(await store.apiKeys.count()).toBe(before + 1);
      });
    });
  });
}

/**
 * The files part of the store port (`store.files`): file rows and the output-capture ledger.
 * Kept as its own entry point so adapters opt in with one more line beside `runStoreSuite`.
 */
export function runFileRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (files): ${name}`, () => {
    let store: Store;
    let n = 0;
    const uid = (prefix: string) => `${prefix}_${name.replace(/\W/g, '')}${Date.now().toString(36)}${(++n).toString(36)}`;
    const fileRow = (id: string, opts: { scopeId?: string | null; expiresAt?: string | null } = {}) => ({
      file: { type: 'file', id, filename: `${id}.txt`, size_bytes: 1, created_at: at(0) },
      scopeId: opts.scopeId ?? null,
      expiresAt: opts.expiresAt ?? null,
      sha256: `sha-${id}`,
      workspaceId: 'wrkspc_default',
    });

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('inserts, gets and deletes a file row', async () => {
      const id = uid('file');
      expect(await store.files.get(id)).toBeUndefined();
      await store.files.insert(fileRow(id, { scopeId: 'sesn_a', expiresAt: at(60) }));
      expect(await store.files.get(id)).toEqual(fileRow(id, { scopeId: 'sesn_a', expiresAt: at(60) }));
      expect(await store.files.delete(id)).toBe(true);
      expect(await store.files.delete(id)).toBe(false);
      expect(await store.files.get(id)).toBeUndefined();
    });

    it('lists newest first in pages, filtered by scope, ids and liveness', async () => {
      const scope = uid('sesn');
      const a = uid('file');
      const b = uid('file');
      const c = uid('file');
      await store.files.insert(fileRow(a, { scopeId: scope }));
      await store.files.insert(fileRow(b, { scopeId: scope, expiresAt: at(10) }));
      await store.files.insert(fileRow(c, { scopeId: scope }));
      const pages = await collect((after) => store.files.list({ order: 'desc', limit: 2, after, scopeId: scope }));
      expect(pages.flat().map((r) => r.file.id)).toEqual([c, b, a]);
      expect(pages[0]).toHaveLength(2);
      const live = await store.files.list({ order: 'desc', limit: 10, scopeId: scope, liveAt: at(10) });
      expect(live.data.map((r) => r.file.id)).toEqual([c, a]);
      const picked = await store.files.list({ order: 'desc', limit: 10, ids: [a, c, uid('file')] });
      expect(picked.data.map((r) => r.file.id)).toEqual([c, a]);
      expect((await store.files.list({ order: 'desc', limit: 10, ids: [] })).data).toEqual([]);
      expect((await store.files.list({ order: 'desc', limit: 10, scopeId: uid('sesn') })).data).toEqual([]);
    });

    it('finds expired files, oldest expiry first', async () => {
      const soon = uid('file');
      const sooner = uid('file');
      const never = uid('file');
      await store.files.insert(fileRow(soon, { expiresAt: at(20) }));
      await store.files.insert(fileRow(sooner, { expiresAt: at(10) }));
      await store.files.insert(fileRow(never));
      const expired = await store.files.expired(at(20), 100);
      expect(expired.filter((id) => [soon, sooner, never].includes(id))).toEqual([sooner, soon]);
      expect(await store.files.expired(at(15), 100)).not.toContain(soon);
    });

    it('records output captures with the file in one step and upserts them by path', async () => {
      const session = uid('sesn');
      const id = uid('file');
      const capture = { sessionId: session, path: 'out/a.txt', sizeBytes: 5, mtimeMs: 1714.5, sha256: 'h1', fileId: id };
      expect(await store.files.capture(session, 'out/a.txt')).toBeUndefined();
      await store.files.insert(fileRow(id, { scopeId: session }), capture);
      expect(await store.files.capture(session, 'out/a.txt')).toEqual(capture);
      await store.files.putCapture({ ...capture, sizeBytes: 6, mtimeMs: 2000, sha256: 'h2' });
      expect(await store.files.capture(session, 'out/a.txt')).toEqual({ ...capture, sizeBytes: 6, mtimeMs: 2000, sha256: 'h2' });
      await store.files.deleteCaptures(session);
      expect(await store.files.capture(session, 'out/a.txt')).toBeUndefined();
      expect(await store.files.get(id)).toBeDefined();
    });

    it('writes nothing when the file insert fails (duplicate id)', async () => {
      const session = uid('sesn');
      const id = uid('file');
      await store.files.insert(fileRow(id));
      await expect(store.files.insert(fileRow(id), { sessionId: session, path: 'x', sizeBytes: 1, mtimeMs: 1, sha256: 'h', fileId: id })).rejects.toThrow();
      expect(await store.files.capture(session, 'x')).toBeUndefined();
    });
  });
}

/**
 * The idempotency-key part of the store port (`store.idempotency`): claims, stored responses,
 * expiry and the sweep. Its own entry point, like the files suite.
 */
export function runIdempotencyRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (idempotency keys): ${name}`, () => {
    let store: Store;
    let n = 0;
    const T = BASE_MS;
    const DAY = 24 * 3600_000;
    const opts = (now: number) => ({ expiredBefore: now - DAY, staleBefore: now - 60_000 });
    const keyOf = (extra: Partial<{ scope: string; method: string; path: string; key: string }> = {}) =>
      ({ scope: 'api_key:a', method: 'POST', path: '/v1/sessions', key: `k-${name}-${Date.now()}-${++n}`, ...extra });
    const response = { status: 200, contentType: 'application/json; charset=utf-8', body: '{"id":"sesn_1"}' };

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('claims a new key once; the second claim sees the in-flight claim, then the stored response', async () => {
      const id = keyOf();
      expect(await store.idempotency.claim(id, { fingerprint: 'f1', claimId: 'c1', nowMs: T }, opts(T))).toEqual({ claimed: true });
      expect(await store.idempotency.claim(id, { fingerprint: 'f1', claimId: 'c2', nowMs: T + 1 }, opts(T + 1)))
        .toEqual({ claimed: false, record: { fingerprint: 'f1', claimId: 'c1', response: null, createdAt: T } });
      await store.idempotency.complete(id, 'c1', response);
      expect(await store.idempotency.claim(id, { fingerprint: 'f2', claimId: 'c3', nowMs: T + 2 }, opts(T + 2)))
        .toEqual({ claimed: false, record: { fingerprint: 'f1', claimId: 'c1', response, createdAt: T } });
    });

    it('keeps callers, methods, paths and keys apart', async () => {
      const id = keyOf();
      await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c', nowMs: T }, opts(T));
      for (const other of [{ scope: 'api_key:b' }, { method: 'PUT' }, { path: '/v1/agents' }, { key: `${id.key}x` }]) {
        expect(await store.idempotency.claim({ ...id, ...other }, { fingerprint: 'f', claimId: 'c', nowMs: T }, opts(T))).toEqual({ claimed: true });
      }
    });

    it('release frees the key; only the claim owner completes or releases', async () => {
      const id = keyOf();
      await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c1', nowMs: T }, opts(T));
      await store.idempotency.release(id, 'other');
      await store.idempotency.complete(id, 'other', response);
      const seen = await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c2', nowMs: T }, opts(T));
      expect(seen).toMatchObject({ claimed: false, record: { claimId: 'c1', response: null } });
      await store.idempotency.release(id, 'c1');
      expect(await store.idempotency.claim(id, { fingerprint: 'g', claimId: 'c3', nowMs: T }, opts(T))).toEqual({ claimed: true });
    });

    it('a stored response is never released and expires only after the TTL', async () => {
      const id = keyOf();
      await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c1', nowMs: T }, opts(T));
      await store.idempotency.complete(id, 'c1', response);
      await store.idempotency.release(id, 'c1');
      const hour = T + 3600_000; // well past the in-flight staleness, within the TTL
      expect(await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c2', nowMs: hour }, opts(hour))).toMatchObject({ claimed: false, record: { response } });
      const later = T + DAY;
      expect(await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c3', nowMs: later }, opts(later))).toEqual({ claimed: true });
      // The new claim replaced the old record: a late completion of the old claim writes nothing.
      await store.idempotency.complete(id, 'c1', { ...response, body: 'stale' });
      expect(await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c4', nowMs: later }, opts(later)))
        .toMatchObject({ claimed: false, record: { claimId: 'c3', response: null } });
    });

    it('an in-flight claim older than the staleness bound can be taken over', async () => {
      const id = keyOf();
      await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c1', nowMs: T }, opts(T));
      expect(await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c2', nowMs: T + 59_000 }, opts(T + 59_000))).toMatchObject({ claimed: false });
      expect(await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c2', nowMs: T + 60_000 }, opts(T + 60_000))).toEqual({ claimed: true });
    });

    it('sweep deletes records at or before the bound, at most `limit` at a time', async () => {
      const old = [keyOf(), keyOf(), keyOf()];
      const fresh = keyOf();
      for (const id of old) await store.idempotency.claim(id, { fingerprint: 'f', claimId: 'c', nowMs: T }, opts(T));
      await store.idempotency.claim(fresh, { fingerprint: 'f', claimId: 'c', nowMs: T + 10 }, opts(T + 10));
      expect(await store.idempotency.sweep(T, 2)).toBe(2);
      expect(await store.idempotency.sweep(T, 100)).toBe(1);
      expect(await store.idempotency.sweep(T, 100)).toBe(0);
      // Swept keys are free; the fresh one is still held (a far staleness bound shows it unchanged).
      const keep = { expiredBefore: 0, staleBefore: 0 };
      for (const id of old) expect(await store.idempotency.claim(id, { fingerprint: 'g', claimId: 'd', nowMs: T + 20 }, keep)).toEqual({ claimed: true });
      expect(await store.idempotency.claim(fresh, { fingerprint: 'g', claimId: 'd', nowMs: T + 20 }, keep)).toMatchObject({ claimed: false });
    });
  });
}

/**
 * Spend limits and their ledger (issue 11): limit upserts, and what session commits do to the
 * ledger — reservations and spend applied to both scopes in the same transaction, a reservation
 * that does not fit rolled back with everything else, concurrent reservations never admitted past
 * the limit, deletes releasing what a session still had reserved, and the waiting list.
 */
export function runSpendRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (spend limits): ${name}`, () => {
    let store: Store;
    let n = 0;
    const uid = (prefix: string) => `${prefix}_${name.replace(/\W/g, '')}${Date.now().toString(36)}${(++n).toString(36)}`;
    const now = at(0);
    const month = now.slice(0, 7);
    const ws = () => uid('wrkspc');
    const limitRow = (scope: SpendLimitObject['scope'], amount: string | null, id = uid('spl'), t = now) => ({
      limit: { type: 'spend_limit' as const, id, amount, currency: 'USD' as const, is_enabled: true as const, period: 'monthly' as const, scope, created_at: t, updated_at: t },
      scopeKey: scope.type === 'workspace' ? `workspace:${scope.workspace_id}` : 'organization',
    });
    async function session(workspaceId: string) {
      const id = uid('sesn');
      await store.sessions.insert({
        session: { type: 'session', id, status: 'running', agent: { id: 'agent_x', version: 1 }, created_at: now, _workspace_id: workspaceId },
        runningSince: BASE_MS, retryCount: 0,
      }, []);
      return id;
    }
    const reserve = (id: string, rid: string, micros: number) => store.sessions.commit(id, (row) => ({
      now, events: [{ id: uid('sevt'), type: 'span.model_request_start', processed_at: now }],
      patch: { fields: { _reserved: { ...(row.session._reserved as Record<string, number> ?? {}), [rid]: micros } } },
    }));
    const settle = (id: string, rid: string, spent: number) => store.sessions.commit(id, (row) => {
      const reserved = { ...(row.session._reserved as Record<string, number> ?? {}) };
      delete reserved[rid];
      return { now, patch: { fields: { _reserved: reserved, _cost_micros: Number(row.session._cost_micros ?? 0) + spent } } };
    });
    const ledgerOf = async (scope: string) => (await store.spend.ledger([scope]))[0];

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('upserts a limit on its scope and period, keeping its id and created_at; gets, lists with filters and deletes', async () => {
      const w = ws();
      const first = await store.spend.putLimit(limitRow({ type: 'workspace', workspace_id: w }, '100'));
      const again = await store.spend.putLimit(limitRow({ type: 'workspace', workspace_id: w }, '200', uid('spl'), at(5)));
      expect(again.limit).toMatchObject({ id: first.limit.id, created_at: first.limit.created_at, amount: '200', updated_at: at(5) });
      expect((await store.spend.getLimit(first.limit.id))!.limit.amount).toBe('200');
      const org = await store.spend.putLimit(limitRow({ type: 'organization' }, null));
      const pages = await collect((after) => store.spend.listLimits({ limit: 1, order: 'desc', after }));
      expect(pages.flat().map((r) => r.limit.id)).toEqual([org.limit.id, first.limit.id]);
      expect((await store.spend.listLimits({ limit: 10, order: 'desc', scopeTypes: ['workspace'] })).data.map((r) => r.limit.id)).toEqual([first.limit.id]);
      expect((await store.spend.listLimits({ limit: 10, order: 'desc', workspaceId: w })).data.map((r) => r.limit.id)).toEqual([first.limit.id]);
      expect((await store.spend.limitsFor([`workspace:${w}`])).map((r) => r.limit.id)).toEqual([first.limit.id]);
      expect(await store.spend.deleteLimit(first.limit.id)).toBe(true);
      expect(await store.spend.deleteLimit(first.limit.id)).toBe(false);
      expect(await store.spend.getLimit(first.limit.id)).toBeUndefined();
    });

    it('applies reservations and spend of session commits to the workspace and organization ledgers', async () => {
      const w = ws();
      const id = await session(w);
      await reserve(id, 'r1', 500);
      expect(await ledgerOf(`workspace:${w}`)).toEqual({ scope: `workspace:${w}`, month, spentMicros: 0, reservedMicros: 500 });
      const org = (await ledgerOf('organization'))!;
      expect(org.reservedMicros).toBeGreaterThanOrEqual(500);
      await settle(id, 'r1', 120);
      expect(await ledgerOf(`workspace:${w}`)).toEqual({ scope: `workspace:${w}`, month, spentMicros: 120, reservedMicros: 0 });
      expect((await ledgerOf('organization'))!.reservedMicros).toBe(org.reservedMicros - 500);
    });

    it('rolls a commit back whole when its reservation does not fit a limit', async () => {
      const w = ws();
      await store.spend.putLimit(limitRow({ type: 'workspace', workspace_id: w }, '1')); // 10 000 micro-USD
      const id = await session(w);
      await reserve(id, 'r1', 6_000);
      await expect(reserve(id, 'r2', 6_000)).rejects.toThrow(SpendLimitReached);
      expect(Object.keys((await store.sessions.get(id))!.session._reserved as object)).toEqual(['r1']);
      expect(await store.sessions.log(id)).toHaveLength(1);
      expect((await ledgerOf(`workspace:${w}`))!.reservedMicros).toBe(6_000);
      // A session of another workspace is not held by this limit.
      await reserve(await session(ws()), 'r1', 6_000);
    });

    it('admits concurrent reservations of many sessions one at a time: never past the limit', async () => {
      const w = ws();
      await store.spend.putLimit(limitRow({ type: 'workspace', workspace_id: w }, '10')); // 100 000 micro-USD
      const ids = await Promise.all(Array.from({ length: 50 }, () => session(w)));
      const results = await Promise.allSettled(ids.map((id) => reserve(id, 'r', 10_000)));
      const admitted = results.filter((r) => r.status === 'fulfilled').length;
      expect(admitted).toBe(10);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof SpendLimitReached)).toBe(true);
      expect((await ledgerOf(`workspace:${w}`))!.reservedMicros).toBe(100_000);
    });

    it('counts spend per month: a commit in a later month starts the month at zero', async () => {
      const w = ws();
      const id = await session(w);
      await settle(id, 'none', 300);
      const later = '2026-06-02T00:00:00.000Z';
      await store.sessions.commit(id, (row) => ({ now: later, patch: { fields: { _cost_micros: Number(row.session._cost_micros) + 40 } } }));
      expect(await ledgerOf(`workspace:${w}`)).toMatchObject({ month: '2026-06', spentMicros: 40 });
    });

    it('releases what a deleted session still had reserved', async () => {
      const w = ws();
      const id = await session(w);
      await reserve(id, 'r1', 700);
      expect(await store.sessions.delete(id)).toBe(true);
      expect((await ledgerOf(`workspace:${w}`))!.reservedMicros).toBe(0);
    });

    it('tracks sessions waiting on a scope through their _spend_wait field', async () => {
      const w = ws();
      const id = await session(w);
      const wait = { limit_id: 'spl_x', scope: `workspace:${w}`, month, needed_micros: 5 };
      await store.sessions.commit(id, () => ({ now, patch: { fields: { _spend_wait: wait } } }));
      expect(await store.spend.waiting(`workspace:${w}`)).toEqual([id]);
      expect(await store.spend.waiting('organization')).toContain(id);
      expect(await store.spend.waiting(`workspace:${ws()}`)).toEqual([]);
      await store.sessions.commit(id, () => ({ now, patch: { fields: { _spend_wait: null } } }));
      expect(await store.spend.waiting(`workspace:${w}`)).toEqual([]);
    });
  });
}

/** The append-only audit log (issue 11): appends, keyset paging in both orders, and every filter. */
export function runAuditRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (audit log): ${name}`, () => {
    let store: Store;
    let n = 0;
    const record = (minutes: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
      type: 'audit_event', id: `audevt_${name}${Date.now().toString(36)}${(++n).toString(36)}`, created_at: at(minutes),
      actor: { type: 'api_key', key_id: 'key_a', role: 'admin' }, method: 'POST', route: '/v1/agents',
      resource: { type: 'agent', id: `agent_${n}` }, parent: null, workspace_id: 'wrkspc_default', status: 200, request_id: `req_${n}`, ...extra,
    });

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('lists appended records newest first (or oldest first) with keyset paging and filters', async () => {
      const a = record(1);
      const b = record(2, { actor: { type: 'api_key', key_id: 'key_b', role: 'developer' }, workspace_id: 'wrkspc_team' });
      const c = record(3, { resource: { type: 'session', id: 'sesn_1' }, method: 'DELETE', route: '/v1/sessions/:id', status: 404 });
      for (const e of [a, b, c]) await store.audit.append(e);
      const desc = await collect((after) => store.audit.list({ limit: 2, order: 'desc', after }));
      expect(desc.flat()).toEqual([c, b, a]);
      expect((await store.audit.list({ limit: 10, order: 'asc' })).data).toEqual([a, b, c]);
      const ids = async (q: Partial<AuditQuery>) => (await store.audit.list({ limit: 10, order: 'asc', ...q })).data.map((e) => e.id);
      expect(await ids({ actorId: 'key_b' })).toEqual([b.id]);
      expect(await ids({ workspaceId: 'wrkspc_team' })).toEqual([b.id]);
      expect(await ids({ resourceType: 'session' })).toEqual([c.id]);
      expect(await ids({ resourceId: 'sesn_1' })).toEqual([c.id]);
      expect(await ids({ createdGte: at(2) })).toEqual([b.id, c.id]);
      expect(await ids({ createdGt: at(2) })).toEqual([c.id]);
      expect(await ids({ createdLte: at(2), createdLt: at(3) })).toEqual([a.id, b.id]);
    });
  });
}

/**
 * Workspaces (issue 11): workspace objects, the workspace every top-level resource carries, lists
 * scoped to one workspace, environment names unique per workspace, and API key bindings and roles.
 */
export function runWorkspaceRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (workspaces): ${name}`, () => {
    let store: Store;
    let n = 0;
    const uid = (prefix: string) => `${prefix}_${name.replace(/\W/g, '')}${Date.now().toString(36)}${(++n).toString(36)}`;
    const wsObj = (id: string, created = at(0)) => ({ type: 'workspace', id, name: `ws ${id}`, created_at: created, archived_at: null });

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('inserts, gets, updates and lists workspaces (archived ones only when asked)', async () => {
      const a = uid('wrkspc');
      const b = uid('wrkspc');
      await store.workspaces.insert(wsObj(a, at(1)));
      await store.workspaces.insert(wsObj(b, at(2)));
      expect(await store.workspaces.get(a)).toMatchObject({ id: a, name: `ws ${a}`, archived_at: null });
      expect(await store.workspaces.get(uid('wrkspc'))).toBeUndefined();
      await store.workspaces.update({ ...wsObj(b, at(2)), name: 'renamed', archived_at: at(3) });
      expect(await store.workspaces.get(b)).toMatchObject({ name: 'renamed', archived_at: at(3) });
      const live = (await store.workspaces.list({ limit: 100, order: 'asc', includeArchived: false, ids: [a, b] })).data;
      expect(ids(live)).toEqual([a]);
      const all = (await store.workspaces.list({ limit: 100, order: 'asc', includeArchived: true, ids: [a, b] })).data;
      expect(ids(all)).toEqual([a, b]);
    });

    it('records the workspace of every top-level resource and scopes lists to it', async () => {
      const a = uid('wrkspc');
      const b = uid('wrkspc');
      const agentA = uid('agent');
      const agentB = uid('agent');
      await store.agents.insert({ type: 'agent', id: agentA, version: 1, created_at: at(0) }, a);
      await store.agents.insert({ type: 'agent', id: agentB, version: 1, created_at: at(0) }, b);
      const envA = uid('env');
      await store.environments.insert({ type: 'environment', id: envA, name: 'same', created_at: at(0) }, a);
      // Names are unique per workspace: the same name in another workspace is fine, in the same one not.
      const envB = uid('env');
      await store.environments.insert({ type: 'environment', id: envB, name: 'same', created_at: at(0) }, b);
      await expect(store.environments.insert({ type: 'environment', id: uid('env'), name: 'same', created_at: at(0) }, b)).rejects.toBeInstanceOf(UniqueViolation);
      const vaultA = uid('vlt');
      await store.vaults.insert({ type: 'vault', id: vaultA, created_at: at(0) }, a);
      const sesnA = uid('sesn');
      await store.sessions.insert({
        session: { type: 'session', id: sesnA, status: 'idle', agent: { id: agentA, version: 1 }, created_at: at(0) }, runningSince: null, retryCount: 0, workspaceId: a,
      }, []);
      const fileB = uid('file');
      await store.files.insert({ file: { type: 'file', id: fileB, created_at: at(0), size_bytes: 1 }, scopeId: null, expiresAt: null, sha256: 'x', workspaceId: b });
      // A file an agent wrote to a session's outputs belongs to the session's workspace.
      const output = uid('file');
      await store.files.insert({ file: { type: 'file', id: output, created_at: at(0), size_bytes: 1 }, scopeId: sesnA, expiresAt: null, sha256: 'y' });

      expect(await store.workspaces.ownerOf('agent', agentA)).toBe(a);
      expect(await store.workspaces.ownerOf('agent', agentB)).toBe(b);
      expect(await store.workspaces.ownerOf('environment', envB)).toBe(b);
      expect(await store.workspaces.ownerOf('vault', vaultA)).toBe(a);
      expect(await store.workspaces.ownerOf('session', sesnA)).toBe(a);
      expect(await store.workspaces.ownerOf('file', fileB)).toBe(b);
      expect(await store.workspaces.ownerOf('file', output)).toBe(a);
      expect(await store.workspaces.ownerOf('agent', uid('agent'))).toBeUndefined();
      expect((await store.sessions.get(sesnA))!.workspaceId).toBe(a);
      expect((await store.files.get(output))!.workspaceId).toBe(a);

      const q = { limit: 100, order: 'asc' as const, includeArchived: true };
      expect(ids((await store.agents.list({ ...q, workspaceId: a })).data)).toEqual([agentA]);
      expect(ids((await store.agents.list({ ...q, workspaceId: b })).data)).toEqual([agentB]);
      expect(ids((await store.environments.list({ ...q, workspaceId: a })).data)).toEqual([envA]);
      expect(ids((await store.vaults.list({ ...q, workspaceId: b })).data)).toEqual([]);
      expect((await store.sessions.list({ ...q, workspaceId: a })).data.map((s) => s.row.session.id)).toEqual([sesnA]);
      expect((await store.sessions.list({ ...q, workspaceId: b })).data).toEqual([]);
      expect((await store.files.list({ limit: 100, order: 'asc', workspaceId: a })).data.map((f) => f.file.id)).toEqual([output]);
      expect((await store.files.list({ limit: 100, order: 'asc', workspaceId: b })).data.map((f) => f.file.id)).toEqual([fileB]);
    });

    it('stores API key bindings, roles and expiry; updates status and name; rotates the hash; records use', async () => {
      const id = uid('key');
      const ws = uid('wrkspc');
      await store.apiKeys.insert(id, `h1${id}`, at(0), { name: 'ci', hint: '…abcd', source: 'api', workspaceId: ws, role: 'runner', expiresAt: at(60), createdBy: 'key_admin' });
      expect(await store.apiKeys.get(id)).toEqual({
        id, name: 'ci', hint: '…abcd', source: 'api', createdAt: at(0), revokedAt: null, status: 'active',
        workspaceId: ws, role: 'runner', expiresAt: at(60), lastUsedAt: null, createdBy: 'key_admin',
      });
      expect(await store.apiKeys.get(uid('key'))).toBeUndefined();
      // Keys inserted without a binding are organization admin keys (the bootstrap key's kind).
      const org = uid('key');
      await store.apiKeys.insert(org, `h2${org}`, at(0));
      expect(await store.apiKeys.get(org)).toMatchObject({ workspaceId: null, role: 'admin', status: 'active', expiresAt: null });

      await store.apiKeys.touch(id, at(5));
      expect((await store.apiKeys.get(id))!.lastUsedAt).toBe(at(5));

      expect(await store.apiKeys.update(id, { name: 'renamed', status: 'inactive' }, at(6))).toBe(true);
      expect(await store.apiKeys.get(id)).toMatchObject({ name: 'renamed', status: 'inactive', revokedAt: at(6) });
      expect(await store.apiKeys.existsHash(`h1${id}`)).toBe(false);
      expect(await store.apiKeys.rotate(id, `h3${id}`, '…wxyz')).toBe(false); // only active keys rotate
      expect(await store.apiKeys.update(id, { status: 'active' }, at(7))).toBe(true);
      expect(await store.apiKeys.get(id)).toMatchObject({ status: 'active', revokedAt: null });

      expect(await store.apiKeys.rotate(id, `h3${id}`, '…wxyz')).toBe(true);
      expect(await store.apiKeys.findByHash(`h1${id}`)).toBeUndefined();
      expect(await store.apiKeys.findByHash(`h3${id}`)).toMatchObject({ id, hint: '…wxyz' });

      // Archived is permanent: reactivating it changes nothing.
      expect(await store.apiKeys.update(id, { status: 'archived' }, at(8))).toBe(true);
      expect(await store.apiKeys.update(id, { status: 'active' }, at(9))).toBe(true);
      expect(await store.apiKeys.get(id)).toMatchObject({ status: 'archived' });
      expect(await store.apiKeys.update(uid('key'), { name: 'x' }, at(9))).toBe(false);
    });
  });
}

/**
 * The package-layer part of the store port (`store.packageLayers`): one row per key, claims under
 * a lease (exclusive, taken over once expired), finishing only by the owner, and failed builds
 * retried on request. Its own entry point, like the files suite.
 */
export function runPackageLayerRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (package layers): ${name}`, () => {
    let store: Store;
    let n = 0;
    const T = BASE_MS;
    const now = new Date(T).toISOString();
    const pkgs = { apt: [], npm: ['cowsay@1.6.0'] };
    const keyOf = () => `layer-${name}-${Date.now()}-${++n}`;

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('requests a key once: the second request returns the same pending row', async () => {
      const key = keyOf();
      const first = await store.packageLayers.request(key, pkgs, now, { retryFailed: true });
      expect(first).toMatchObject({ key, packages: pkgs, status: 'pending', error: null, startedAt: null, finishedAt: null, leaseOwner: null });
      const again = await store.packageLayers.request(key, { npm: ['other'] }, now, { retryFailed: true });
      expect(again).toEqual(first);
      expect(await store.packageLayers.get('layer-missing')).toBeUndefined();
      expect(await store.packageLayers.unclaimed(T, 1000)).toContain(key);
    });

    it('lets one owner claim a build; another takes it over only once the lease expired', async () => {
      const key = keyOf();
      await store.packageLayers.request(key, pkgs, now, { retryFailed: false });
      expect(await store.packageLayers.claim(key, 'a', T, 1000, now)).toBe(true);
      expect(await store.packageLayers.claim(key, 'b', T + 500, 1000, now)).toBe(false);
      expect(await store.packageLayers.unclaimed(T + 500, 1000)).not.toContain(key);
      expect(await store.packageLayers.renew(key, 'b', T + 500, 1000)).toBe(false);
      expect(await store.packageLayers.renew(key, 'a', T + 500, 1000)).toBe(true); // now expires at T + 1500
      expect(await store.packageLayers.claim(key, 'b', T + 1200, 1000, now)).toBe(false);
      expect(await store.packageLayers.unclaimed(T + 1600, 1000)).toContain(key);
      expect(await store.packageLayers.claim(key, 'b', T + 1600, 1000, now)).toBe(true);
      expect(await store.packageLayers.get(key)).toMatchObject({ status: 'building', leaseOwner: 'b', leaseExpiresAt: T + 2600, startedAt: now });
      // The previous owner's late result is not written.
      expect(await store.packageLayers.finish(key, 'a', { status: 'ready', error: null, logTail: null, now })).toBe(false);
      expect(await store.packageLayers.finish(key, 'b', { status: 'ready', error: null, logTail: 'done\n', now })).toBe(true);
      expect(await store.packageLayers.get(key)).toMatchObject({ status: 'ready', logTail: 'done\n', finishedAt: now, leaseOwner: null, leaseExpiresAt: null });
      expect(await store.packageLayers.claim(key, 'c', T + 99_000, 1000, now)).toBe(false);
    });

    it('keeps a failed build failed until a request asks to retry it', async () => {
      const key = keyOf();
      await store.packageLayers.request(key, pkgs, now, { retryFailed: false });
      await store.packageLayers.claim(key, 'a', T, 1000, now);
      await store.packageLayers.finish(key, 'a', { status: 'failed', error: 'npm: 404 no-such-package', logTail: 'npm error 404', now });
      expect(await store.packageLayers.get(key)).toMatchObject({ status: 'failed', error: 'npm: 404 no-such-package', logTail: 'npm error 404' });
      expect(await store.packageLayers.unclaimed(T + 99_000, 1000)).not.toContain(key);
      expect((await store.packageLayers.request(key, pkgs, now, { retryFailed: false })).status).toBe('failed');
      expect(await store.packageLayers.request(key, pkgs, now, { retryFailed: true })).toMatchObject({ status: 'pending', error: null, logTail: null });
    });
  });
}

/** Telemetry destinations (issue 11): rows with sealed headers, compare-and-swap updates, paging. */
export function runTelemetryDestinationRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (telemetry destinations): ${name}`, () => {
    let store: Store;
    let n = 0;
    const row = (extra: Json = {}) => {
      const id = `tdst_${name}${Date.now().toString(36)}${(++n).toString(36)}`;
      return { destination: { type: 'telemetry_destination', id, created_at: at(n), updated_at: at(n), ...extra }, sealed: `sealed-${id}`, sealedKeyId: 'k1', revision: 1 };
    };

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('inserts, gets, lists newest first, updates only from the revision read, and deletes', async () => {
      const a = row();
      const b = row();
      await store.telemetryDestinations.insert(a);
      await store.telemetryDestinations.insert(b);
      expect(await store.telemetryDestinations.get(a.destination.id)).toEqual(a);
      const pages = await collect((after) => store.telemetryDestinations.list({ limit: 1, order: 'desc', after }));
      expect(pages.flat().map((r) => r.destination.id)).toEqual([b.destination.id, a.destination.id]);
      expect((await store.telemetryDestinations.all()).map((r) => r.destination.id)).toEqual([a.destination.id, b.destination.id]);
      const changed = { ...a, destination: { ...a.destination, display_name: 'x' }, sealed: null, sealedKeyId: null };
      expect(await store.telemetryDestinations.update(changed)).toBe(true);
      expect(await store.telemetryDestinations.update(changed)).toBe(false); // revision 1 is gone
      expect(await store.telemetryDestinations.get(a.destination.id)).toEqual({ ...changed, revision: 2 });
      expect(await store.telemetryDestinations.delete(a.destination.id)).toBe(true);
      expect(await store.telemetryDestinations.delete(a.destination.id)).toBe(false);
      expect(await store.telemetryDestinations.get(a.destination.id)).toBeUndefined();
    });
  });
}
