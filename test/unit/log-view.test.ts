// The harness's in-memory log views (issue 14, constant cost per step): advanced commit by commit
// through a real SQLite store, they must always equal what the whole log derives (state, conversation
// order, rendered messages), rebuild when another writer changed the log (append or mark alone), and
// never change messages already handed to an earlier request.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { MemoryEventBus } from '../../src/adapters/bus-memory/memory-event-bus.ts';
import { SessionLog } from '../../src/harness/session-log.ts';
import { LogView, viewMismatch } from '../../src/harness/log-view.ts';
import { ItemTokenCache } from '../../src/harness/token-count.ts';
import type { CommitPlan, SessionRow, StoredEvent } from '../../src/ports/store.ts';
import type { CompactionRecord } from '../../src/harness/compaction.ts';

const NOW = '2026-12-01T00:00:00.000Z';
let n = 0;
const id = () => `sevt_lv${String(++n).padStart(6, '0')}`;
type Ev = StoredEvent['event'];
const ev = (type: string, fields: Record<string, unknown> = {}, processed: string | null = NOW): Ev => ({ id: id(), type, ...fields, processed_at: processed });
const text = (t: string) => [{ type: 'text', text: t }];

function row(sessionId: string): SessionRow {
  return {
    session: {
      type: 'session', id: sessionId, status: 'idle', title: null, created_at: NOW, updated_at: NOW, archived_at: null,
      agent: { id: 'agent_x', version: 1 }, metadata: {}, usage: { input_tokens: 0, output_tokens: 0, active_seconds: 0 },
    },
    runningSince: null, retryCount: 0,
  };
}

describe('LogView (incremental log state)', () => {
  let dir: string;
  let store: SqliteStore;
  let log: SessionLog;
  const sessionId = 'sesn_logview';

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logview-'));
    store = new SqliteStore(join(dir, 'hangar.db'));
    log = new SessionLog(store, new MemoryEventBus());
    await store.sessions.insert(row(sessionId), [ev('session.status_idle', { stop_reason: { type: 'end_turn' } })]);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Commits `plan` through the session log, first checking the view it is given against the whole log. */
  async function commit(plan: Omit<CommitPlan, 'now'>, via = log): Promise<string | undefined> {
    let mismatch: string | undefined;
    await via.commit(sessionId, (_row, readLog, view) => {
      mismatch = viewMismatch(view!(), readLog(), new ItemTokenCache(), undefined, 400);
      return { now: NOW, ...plan };
    });
    return mismatch;
  }

  async function checkNow(via = log): Promise<string | undefined> {
    return commit({}, via);
  }

  it('matches the whole log after every commit of turns, queued input, tool calls, confirmations and interrupts, without re-reading it', async () => {
    const script: Array<Omit<CommitPlan, 'now'>> = [];
    const queued: Ev[] = [];
    for (let t = 0; t < 30; t++) {
      const msg = ev('user.message', { content: text(`turn ${t}`) }, null);
      queued.push(msg);
      script.push({ events: [msg], patch: { pendingWake: true } });
      // Two messages queued before a boundary share it and keep their order.
      if (t % 5 === 1) {
        const extra = ev('user.message', { content: text(`also ${t}`) }, null);
        script.push({ events: [extra] });
        queued.push(extra);
      }
      script.push({ events: [ev('session.status_running')], markProcessed: queued.splice(0).map((e) => e.id) });
      const start = ev('span.model_request_start');
      script.push({ events: [start] });
      if (t % 3 === 0) {
        const use = ev('agent.tool_use', { name: 'bash', input: { command: `echo ${t}` }, evaluated_permission: t % 2 ? 'ask' : 'allow' });
        script.push({ events: [ev('agent.message', { content: text(`calling ${t}`) }), use, ev('span.model_request_end', { model_request_start_id: start.id, is_error: false })] });
        if (t % 2) {
          script.push({ events: [ev('session.status_idle', { stop_reason: { type: 'requires_action', event_ids: [use.id] } })] });
          script.push({ events: [ev('user.tool_confirmation', { tool_use_id: use.id, result: t % 4 === 1 ? 'deny' : 'allow', deny_message: null })] });
        }
        script.push({ events: [ev('agent.tool_result', { tool_use_id: use.id, content: text('x'.repeat(t * 500)), is_error: false })] });
        const again = ev('span.model_request_start');
        script.push({ events: [again] });
        script.push({ events: [ev('agent.message', { content: text(`done ${t}`) }), ev('span.model_request_end', { model_request_start_id: again.id, is_error: false })] });
      } else {
        script.push({ events: [ev('agent.message', { content: text(`answer ${t}`) }), ev('span.model_request_end', { model_request_start_id: start.id, is_error: false })] });
      }
      if (t % 7 === 6) {
        // An interrupt arrives and is handled alone (marked without an append).
        const stop = ev('user.interrupt', {}, null);
        script.push({ events: [stop] });
        script.push({ markProcessed: [stop.id] });
      }
      script.push({ events: [ev('session.status_idle', { stop_reason: { type: 'end_turn' } })] });
    }
    for (const plan of script) {
      expect(await commit(plan)).toBeUndefined();
    }
    expect(await checkNow()).toBeUndefined();
    // Built from the log once; every later commit was applied in place.
    expect(log.views.counters.rebuilds).toBe(1);
    expect(log.views.counters.applied).toBeGreaterThanOrEqual(script.length);
  });

  it('rebuilds from the log when another writer appended, or only marked input processed', async () => {
    const other = new SessionLog(new SqliteStore(join(dir, 'hangar.db')), new MemoryEventBus());
    const msg = ev('user.message', { content: text('hello') }, null);
    expect(await commit({ events: [msg] })).toBeUndefined();
    expect(log.views.counters.rebuilds).toBe(1);
    // Another process marks the message processed: no append, so only the revision tells.
    expect(await commit({ markProcessed: [msg.id] }, other)).toBeUndefined();
    expect(await checkNow()).toBeUndefined();
    expect(log.views.counters.rebuilds).toBe(2);
    const view = (await log.view(sessionId, (await store.sessions.get(sessionId))!))!;
    expect(view.state().queuedInputIds).toEqual([]);
    expect(view.conversation().map((e) => e.event.id)).toEqual([msg.id]);
    // And appends.
    expect(await commit({ events: [ev('agent.message', { content: text('hi') })] }, other)).toBeUndefined();
    expect(await checkNow()).toBeUndefined();
    expect(log.views.counters.rebuilds).toBe(3);
    expect((await log.view(sessionId, (await store.sessions.get(sessionId))!))!.conversation()).toHaveLength(2);
  });

  it('keeps the messages it rendered for an earlier request unchanged while it appends new ones', async () => {
    const tokens = new ItemTokenCache();
    const first = ev('user.message', { content: text('one') });
    const use = ev('agent.tool_use', { name: 'read', input: {}, evaluated_permission: 'allow' });
    await commit({ events: [first, ev('agent.message', { content: text('two') }), use] });
    const view = (await log.view(sessionId, (await store.sessions.get(sessionId))!))!;
    const earlier = view.render(undefined, 400, tokens).rendered.messages;
    const copy = structuredClone(earlier);
    // A request marks its last message for caching: the view's own rendering must not see it.
    earlier[earlier.length - 1] = { ...earlier[earlier.length - 1], content: [] };
    await commit({ events: [ev('agent.tool_result', { tool_use_id: use.id, content: text('r'), is_error: false }), ev('user.message', { content: text('three') })] });
    const later = view.render(undefined, 400, tokens).rendered.messages;
    expect(structuredClone(earlier.slice(0, -1))).toEqual(copy.slice(0, -1));
    expect(later.slice(0, copy.length - 1)).toEqual(copy.slice(0, -1));
    expect(later[later.length - 1]).toEqual({ role: 'user', content: [
      { type: 'tool_result', tool_use_id: use.id, content: text('r'), is_error: false }, { type: 'text', text: 'three' },
    ] });
    expect(await checkNow()).toBeUndefined();
  });

  it('renders a compacted conversation as the summary plus the items after it, like the whole-log rendering', async () => {
    const items = Array.from({ length: 6 }, (_, i) => ev(i % 2 ? 'agent.message' : 'user.message', { content: text(`m${i}`) }));
    await commit({ events: items });
    const record: CompactionRecord = { eventId: 'sevt_compacted', throughId: items[2].id, summary: 'the first three', covered: 3 };
    const view = (await log.view(sessionId, (await store.sessions.get(sessionId))!))!;
    const tokens = new ItemTokenCache();
    const { view: v, rendered } = view.render(record, 400, tokens);
    expect(v.summary).toBe('the first three');
    expect(v.items.map((e) => e.event.id)).toEqual(items.slice(3).map((e) => e.id));
    expect(rendered.cacheMarks).toBe(1);
    expect(viewMismatch(view, await store.sessions.log(sessionId), tokens, record, 400)).toBeUndefined();
    await commit({ events: [ev('user.message', { content: text('after') })] });
    expect(viewMismatch(view, await store.sessions.log(sessionId), tokens, record, 400)).toBeUndefined();
  });

  it('derives the same state as deriveLogState for a log it was built from (outcome sessions included)', () => {
    const define = ev('user.define_outcome', { outcome_id: 'outc_1', description: 'd', rubric: { type: 'text', content: 'r' }, max_iterations: 2 });
    const log: StoredEvent[] = [define, ev('agent.message', { content: text('working') })].map((event, i) => ({ seq: i + 1, event, processedSeq: null }));
    const view = new LogView(log, undefined);
    expect(viewMismatch(view, log, new ItemTokenCache())).toBeUndefined();
    expect(view.state().outcome?.outcomeId).toBe('outc_1');
    expect(view.state().evaluationDue).toBe(true);
  });
});
