// One thread's window on its session: a virtual session row (the thread's status, agent and retry
// count over the session's shared budget, usage and markers) and its planner view of the log, plus
// a commit that translates what the single-agent harness code decided back into the real session:
// events tagged with the thread, `session.status_*` turned into `session.thread_status_*`, the
// thread's state written to `_threads`, the aggregate session status (and its events) recomputed,
// and a finished child's reply delivered to its parent — all in the same transaction.
import { newId } from '../../protocol/ids.ts';
import type { CommitPlan, SessionRow, Store, StoredEvent } from '../../ports/store.ts';
import type { SessionLog } from '../session-log.ts';
import {
  aggregateStatus, aggregateStopReason, isAdvisorThread, lastReply, plannerView, primaryThreadId, threadsOf,
  type ThreadMap, type ThreadState, type ThreadStatus,
} from './thread-model.ts';

/** What the harness needs of a log: commit-then-publish and stream-only previews. */
export type SessionLogPort = Pick<SessionLog, 'commit' | 'preview'>;

/** What a harness step reads and writes: the whole session, or one thread of it. */
export interface StepScope {
  threadId: string | null;
  log: SessionLogPort;
  get(sessionId: string): Promise<SessionRow | undefined>;
  read(sessionId: string): Promise<StoredEvent[]>;
  findEvent(sessionId: string, eventId: string): Promise<StoredEvent | undefined>;
}

export function sessionScope(store: Store, log: SessionLog): StepScope {
  return {
    threadId: null, log,
    get: (id) => store.sessions.get(id),
    read: (id) => store.sessions.log(id),
    findEvent: (id, eventId) => store.sessions.findEvent(id, eventId),
  };
}

/** The session row as the thread's planner sees it. */
export function virtualRow(row: SessionRow, thread: ThreadState): SessionRow {
  // `runningSince` stays null: active time is accounted per thread and per session by `translate`.
  // The primary runs the session's own agent (its roster and any session-level tool changes).
  const agent = thread.parent_thread_id === null ? row.session.agent : thread.agent;
  return { session: { ...row.session, status: thread.status, agent }, runningSince: null, retryCount: thread.retry_count };
}

const SECONDS = (ms: number) => Math.round(ms) / 1000;
const nextId = () => newId('sevt');

/** Turns a thread-local plan into the session's plan (see the header). */
export function translate<P extends CommitPlan>(plan: P, row: SessionRow, readLog: () => StoredEvent[], threadId: string): P {
  const sessionId = String(row.session.id);
  const primaryId = primaryThreadId(sessionId);
  const isPrimary = threadId === primaryId;
  const threads: ThreadMap = { ...threadsOf(row.session) };
  const before = threads[threadId];
  if (!before) return plan;
  const nowMs = Date.parse(plan.now);
  const next: ThreadState = { ...before };
  const events: Array<StoredEvent['event']> = [];
  let reported = false;
  for (const e of plan.events ?? []) {
    if (e.type.startsWith('session.status_')) {
      const suffix = e.type.slice('session.status_'.length);
      const ev: StoredEvent['event'] = { ...e, type: `session.thread_status_${suffix}`, session_thread_id: threadId, agent_name: before.agent_name };
      if (suffix === 'idle') {
        ev.stop_details = e.stop_details ?? null;
        next.stop_reason = e.stop_reason as ThreadState['stop_reason'];
      }
      events.push(ev);
    } else if (e.type === 'session.usage' && !isPrimary) {
      continue; // session.usage is reported on the primary stream only
    } else {
      events.push(isPrimary ? e : { ...e, session_thread_id: threadId });
    }
  }
  const patch = plan.patch ?? {};
  if (patch.status !== undefined && patch.status !== before.status) {
    const working = (s: ThreadStatus) => s === 'running' || s === 'rescheduling';
    if (working(patch.status) && next.running_since === null) next.running_since = nowMs;
    if (!working(patch.status) && next.running_since !== null) {
      next.active_seconds = SECONDS(next.active_seconds * 1000 + nowMs - next.running_since);
      next.running_since = null;
    }
    next.status = patch.status;
    // A child that finished its turn reports to its parent (interrupted turns do not report).
    const interrupted = (plan.markProcessed ?? []).some((id) => readLog().some((x) => x.event.id === id && x.event.type === 'user.interrupt'));
    const reason = next.stop_reason?.type;
    const finished = patch.status === 'terminated' || (patch.status === 'idle' && reason !== 'requires_action' && reason !== 'budget_reached');
    // Advisor consults deliver their advice themselves (as the tool result).
    if (!isPrimary && finished && !interrupted && before.parent_thread_id && !isAdvisorThread(before)) {
      const top = readLog().length ? readLog()[readLog().length - 1].seq : 0;
      const view = [...plannerView(readLog(), threadId, primaryId), ...events.map((event, i) => ({ seq: top + 1 + i, event, processedSeq: null }))];
      const content = patch.status === 'terminated' ? [{ type: 'text' as const, text: 'The thread stopped with an error and cannot continue.' }] : lastReply(view);
      events.push({
        id: nextId(), type: 'agent.thread_message_received', from_session_thread_id: threadId, from_agent_name: before.agent_name,
        content, processed_at: null,
        ...(before.parent_thread_id !== primaryId ? { session_thread_id: before.parent_thread_id } : {}),
      });
      reported = true;
    }
  }
  if (patch.retryCount !== undefined) next.retry_count = patch.retryCount;
  next.updated_at = plan.now;
  threads[threadId] = next;
  return { ...plan, events: [...events, ...aggregateEvents(row, threads, primaryId, plan.now)], patch: realPatch(plan, row, threads, primaryId, nowMs, reported) };
}

/** Session status events when the aggregate changes (or an all-idle session's reason does). */
function aggregateEvents(row: SessionRow, threads: ThreadMap, primaryId: string, now: string): Array<StoredEvent['event']> {
  const agg = aggregateStatus(threads, primaryId);
  const current = row.session.status;
  const make = (type: string, extra: Record<string, unknown> = {}) => ({ id: nextId(), type, ...extra, processed_at: now });
  if (agg === 'idle') {
    const reason = aggregateStopReason(threads, primaryId);
    if (current !== 'idle' || JSON.stringify(reason) !== JSON.stringify(row.session._announced_stop ?? null)) {
      return [make('session.status_idle', { stop_reason: reason, stop_details: null })];
    }
    return [];
  }
  if (agg === current) return [];
  if (agg === 'running') return [make('session.status_running')];
  if (agg === 'rescheduling') return [make('session.status_rescheduled')];
  return [make('session.status_terminated')];
}

function realPatch(plan: CommitPlan, row: SessionRow, threads: ThreadMap, primaryId: string, nowMs: number, reported: boolean) {
  const agg = aggregateStatus(threads, primaryId);
  const fields: Record<string, unknown> = { ...plan.patch?.fields, _threads: threads };
  let runningSince = row.runningSince;
  if (agg === 'running' || agg === 'rescheduling') runningSince ??= nowMs;
  else if (runningSince !== null) {
    const usage = { ...((fields.usage ?? row.session.usage) as Record<string, unknown>) };
    usage.active_seconds = SECONDS(Number(usage.active_seconds ?? 0) * 1000 + nowMs - runningSince);
    fields.usage = usage;
    runningSince = null;
  }
  if (agg === 'idle') fields._announced_stop = aggregateStopReason(threads, primaryId);
  // One thread having nothing to do says nothing about the others: a thread's `pendingWake: false`
  // is dropped, so a confirmation or report queued for another thread keeps the session due for a
  // wake (after a crash, the sweep still finds it). The team loop clears it when every thread is
  // quiet (`planTeamQuiet`).
  const pendingWake = reported ? true : plan.patch?.pendingWake === false ? undefined : plan.patch?.pendingWake;
  return { ...(pendingWake !== undefined ? { pendingWake } : {}), status: agg, runningSince, retryCount: 0, fields };
}

/** A step scope confined to one thread of a team session. */
export function threadScope(store: Store, log: SessionLog, threadId: string): StepScope {
  const primaryOf = (row: SessionRow) => primaryThreadId(String(row.session.id));
  const scoped: SessionLogPort = {
    commit: (sessionId, decide) => log.commit(sessionId, (row, readLog) => {
      const thread = threadsOf(row.session)[threadId];
      if (!thread) return decide(row, () => []);
      let cached: StoredEvent[] | undefined;
      const plan = decide(virtualRow(row, thread), () => (cached ??= plannerView(readLog(), threadId, primaryOf(row))));
      return translate(plan, row, readLog, threadId);
    }) as never,
    preview: (sessionId, payload) => log.preview(sessionId, payload, threadId),
  };
  return {
    threadId, log: scoped,
    async get(id) {
      const row = await store.sessions.get(id);
      const thread = row && threadsOf(row.session)[threadId];
      return row && thread ? virtualRow(row, thread) : undefined;
    },
    read: async (id) => plannerView(await store.sessions.log(id), threadId, primaryThreadId(id)),
    findEvent: (id, eventId) => store.sessions.findEvent(id, eventId),
  };
}
