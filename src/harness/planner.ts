// The status machine of API-SPEC §5.1 as one pure function: given the session row and its log,
// decide the next step — events to append, queued input to mark processed, the status patch, and
// what the harness must do next. The harness commits the plan atomically, then performs the action.
import type { CommitPlan, SessionPatch, SessionRow, StoredEvent } from '../ports/store.ts';
import { EventFactory, ZERO_MODEL_USAGE } from '../domain/session-events.ts';
import { deriveLogState, type LogStateOptions, type OpenToolUse } from './log-state.ts';
import { isoAt } from '../ports/clock.ts';

export type StepAction =
  | { type: 'none' }
  | { type: 'continue' }
  | { type: 'model' }
  | { type: 'tools'; uses: OpenToolUse[] };

export interface StepPlan extends CommitPlan {
  action: StepAction;
}

export const INTERRUPTED_TOOL_MESSAGE = 'Tool execution was interrupted by the user.';

/** Patch moving a session to idle: closes the active period into `usage.active_seconds`. */
export function idlePatch(row: SessionRow, nowMs: number): SessionPatch {
  const usage = { ...(row.session.usage as Record<string, unknown>) };
  if (row.runningSince !== null) {
    usage.active_seconds = round3(Number(usage.active_seconds ?? 0) + (nowMs - row.runningSince) / 1000);
  }
  return { status: 'idle', runningSince: null, retryCount: 0, fields: { usage, updated_at: isoAt(nowMs) } };
}

export function runningPatch(row: SessionRow, nowMs: number): SessionPatch {
  return { status: 'running', runningSince: row.runningSince ?? nowMs, fields: { updated_at: isoAt(nowMs) } };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function sameIds(a: string[], b: string[] | null): boolean {
  if (!b || a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((x) => set.has(x));
}

export function planStep(row: SessionRow, log: StoredEvent[], nextId: () => string, nowMs: number, opts: LogStateOptions = {}): StepPlan {
  const now = isoAt(nowMs);
  const f = new EventFactory(nextId, now);
  const s = deriveLogState(log, opts);
  const status = row.session.status;
  const done = (plan: Omit<StepPlan, 'now' | 'action'> = {}): StepPlan =>
    ({ now, ...plan, action: { type: 'none' }, patch: { ...plan.patch, pendingWake: false } });

  if (status === 'terminated') return done();

  // An interrupt jumps the queue: close what is in flight, answer open calls with errors, go idle.
  if (s.pendingInterruptIds.length) {
    const events = [];
    if (s.danglingSpanId) events.push(f.modelRequestEnd(s.danglingSpanId, true, ZERO_MODEL_USAGE));
    for (const use of s.openToolUses) events.push(f.agentToolResult(use.id, INTERRUPTED_TOOL_MESSAGE, true));
    // Idle with calls awaiting the client counts as work to stop: its last idle still says requires_action.
    const stopping = status !== 'idle' || s.openToolUses.length > 0;
    if (stopping) events.push(f.statusIdle({ type: 'end_turn' }));
    return { now, events, markProcessed: s.pendingInterruptIds, patch: stopping ? idlePatch(row, nowMs) : undefined, action: { type: 'continue' } };
  }

  // The process died during a model call: that call failed; the step will be redone.
  if (s.danglingSpanId) {
    return { now, events: [f.modelRequestEnd(s.danglingSpanId, true, ZERO_MODEL_USAGE)], action: { type: 'continue' } };
  }

  // Died during a retry backoff: the retry begins now.
  if (status === 'rescheduling') {
    return { now, events: [f.statusRunning()], patch: runningPatch(row, nowMs), action: { type: 'continue' } };
  }

  const runnable = s.openToolUses.filter((u) => u.waitsFor === 'server');
  const waiting = s.openToolUses.filter((u) => u.waitsFor !== 'server');

  if (status === 'running' && runnable.length) return { now, action: { type: 'tools', uses: runnable } };

  if (waiting.length) {
    const ids = waiting.map((u) => u.id);
    if (status === 'running') return done({ events: [f.statusIdle({ type: 'requires_action', event_ids: ids })], patch: idlePatch(row, nowMs) });
    // Idle already: a partial resolution re-announces what is still pending.
    if (!runnable.length && !sameIds(ids, s.lastIdleEventIds)) {
      return done({ events: [f.statusIdle({ type: 'requires_action', event_ids: ids })] });
    }
    if (!runnable.length) return done();
  }

  if (status === 'idle') {
    if (s.queuedInputIds.length || s.inputSinceIdle) {
      return { now, events: [f.statusRunning()], markProcessed: s.queuedInputIds, patch: runningPatch(row, nowMs), action: { type: 'continue' } };
    }
    return done();
  }

  // Running with nothing open: queued messages join the conversation at this boundary.
  if (s.queuedInputIds.length) return { now, markProcessed: s.queuedInputIds, action: { type: 'continue' } };
  if (s.contextEndsWithUser) return { now, action: { type: 'model' } };
  return done({ events: [f.statusIdle({ type: 'end_turn' })], patch: idlePatch(row, nowMs) });
}
