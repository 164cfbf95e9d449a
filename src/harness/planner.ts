// The status machine of docs/API-SPEC.md §5.1 as one pure function: given the session row and its log,
// decide the next step — events to append, queued input to mark processed, the status patch, and
// what the harness must do next. The harness commits the plan atomically, then performs the action.
import type { CommitPlan, SessionPatch, SessionRow, StoredEvent } from '../ports/store.ts';
import { EventFactory, ZERO_MODEL_USAGE } from '../domain/session-events.ts';
import { deriveLogState, type LogState, type LogStateOptions, type OpenToolUse } from './log-state.ts';
import { isoAt } from '../ports/clock.ts';
import { budgetBlocks, type BudgetFields } from '../domain/budget.ts';
import { spendWaitOf } from '../domain/spend.ts';
import { outcomeEvaluations } from '../domain/outcomes.ts';

export type StepAction =
  | { type: 'none' }
  | { type: 'continue' }
  | { type: 'model' }
  | { type: 'tools'; uses: OpenToolUse[] }
  /** Grade the active outcome; `startId` is an evaluation span already opened (resumed after a crash). */
  | { type: 'evaluate'; outcomeId: string; iteration: number; startId: string | null };

export interface StepPlan extends CommitPlan {
  action: StepAction;
}

export const INTERRUPTED_TOOL_MESSAGE = 'Tool execution was interrupted by the user.';
export const INTERRUPTED_OUTCOME_MESSAGE = 'The outcome was interrupted by the user.';
export const RESTARTED_TOOL_MESSAGE = 'The server restarted while this tool was running; it may or may not have completed.';

/**
 * Tool calls whose execution began and whose result is not recorded yet (a store-side marker on
 * the session row, hidden from clients like every `_` field). The harness commits the marker
 * before running a call and clears it with the result, so a call found marked by a later planner
 * was cut short by a crash or shutdown: it is answered with an error, never run a second time.
 */
export function startedTools(session: Record<string, unknown>): string[] {
  return (session._tools_started as string[] | undefined) ?? [];
}

export function withoutStarted(session: Record<string, unknown>, ids: readonly string[]): string[] {
  return startedTools(session).filter((id) => !ids.includes(id));
}

/** Drops a model request's budget reservation (its span ended). */
export function withoutReservation(session: Record<string, unknown>, startId: string): Record<string, number> {
  const reserved = { ...((session._reserved as Record<string, number> | undefined) ?? {}) };
  delete reserved[startId];
  return reserved;
}

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
  return planFromState(row, deriveLogState(log, opts), () => log, nextId, nowMs);
}

/**
 * `planStep` from the log's derived state (a `LogView`'s, kept current without re-reading the log);
 * `log` is read only when the session has outcomes, whose evaluations the plan keeps in step.
 */
export function planFromState(row: SessionRow, s: LogState, log: () => StoredEvent[], nextId: () => string, nowMs: number): StepPlan {
  const plan = planCore(row, s, nextId, nowMs);
  return s.definesOutcome ? withOutcomeFields(plan, row, log()) : plan;
}

/** Keeps `session.outcome_evaluations` in step with the log, in the same commit. */
function withOutcomeFields(plan: StepPlan, row: SessionRow, log: StoredEvent[]): StepPlan {
  if (!log.some((e) => e.event.type === 'user.define_outcome')) return plan;
  const top = log.length ? log[log.length - 1].seq : 0;
  const after = [...log, ...(plan.events ?? []).map((event, i) => ({ seq: top + 1 + i, event, processedSeq: null }))];
  const status = plan.patch?.status ?? row.session.status;
  const evaluations = outcomeEvaluations(after, status === 'running' || status === 'rescheduling');
  if (JSON.stringify(evaluations) === JSON.stringify(row.session.outcome_evaluations)) return plan;
  return { ...plan, patch: { ...plan.patch, fields: { ...plan.patch?.fields, outcome_evaluations: evaluations } } };
}

function planCore(row: SessionRow, s: LogState, nextId: () => string, nowMs: number): StepPlan {
  const now = isoAt(nowMs);
  const f = new EventFactory(nextId, now);
  const status = row.session.status;
  const done = (plan: Omit<StepPlan, 'now' | 'action'> = {}): StepPlan =>
    ({ now, ...plan, action: { type: 'none' }, patch: { ...plan.patch, pendingWake: false } });

  if (status === 'terminated') return done();

  // An interrupt jumps the queue: close what is in flight, answer open calls with errors, go idle.
  if (s.pendingInterruptIds.length) {
    const events = [];
    if (s.danglingSpanId) events.push(f.modelRequestEnd(s.danglingSpanId, true, ZERO_MODEL_USAGE));
    for (const use of s.openToolUses) {
      events.push(use.type === 'agent.mcp_tool_use'
        ? f.agentMcpToolResult(use.id, INTERRUPTED_TOOL_MESSAGE, true)
        : f.agentToolResult(use.id, INTERRUPTED_TOOL_MESSAGE, true));
    }
    if (s.outcome) {
      const o = s.outcome;
      events.push(f.outcomeEvaluationEnd(o.danglingStartId ?? '', o.outcomeId, o.iteration, 'interrupted', INTERRUPTED_OUTCOME_MESSAGE, ZERO_MODEL_USAGE));
    }
    // Idle with calls awaiting the client counts as work to stop: its last idle still says requires_action.
    const stopping = status !== 'idle' || s.openToolUses.length > 0;
    if (stopping) events.push(f.statusIdle({ type: 'end_turn' }));
    // Whatever was in flight is over: its budget reservation goes with it.
    let reserved = row.session._reserved as Record<string, number> | undefined;
    for (const id of [s.danglingSpanId, s.outcome?.danglingStartId]) if (id && reserved) reserved = withoutReservation({ _reserved: reserved }, id);
    const idle = stopping ? idlePatch(row, nowMs) : undefined;
    let fields = reserved !== row.session._reserved ? { ...idle?.fields, _reserved: reserved } : idle?.fields;
    // Every open call is answered above, so none of them is running any more.
    if (startedTools(row.session).length) fields = { ...fields, _tools_started: withoutStarted(row.session, s.openToolUses.map((u) => u.id)) };
    const patch = idle || fields ? { ...idle, fields } : undefined;
    return { now, events, markProcessed: s.pendingInterruptIds, patch, action: { type: 'continue' } };
  }

  // The process died during a model call: that call failed; the step will be redone.
  if (s.danglingSpanId) {
    return {
      now, events: [f.modelRequestEnd(s.danglingSpanId, true, ZERO_MODEL_USAGE)],
      patch: { fields: { _reserved: withoutReservation(row.session, s.danglingSpanId) } },
      action: { type: 'continue' },
    };
  }

  // Died during a retry backoff: the retry begins now.
  if (status === 'rescheduling') {
    return { now, events: [f.statusRunning()], patch: runningPatch(row, nowMs), action: { type: 'continue' } };
  }

  const runnable = s.openToolUses.filter((u) => u.waitsFor === 'server');
  const waiting = s.openToolUses.filter((u) => u.waitsFor !== 'server');

  if (status === 'running' && runnable.length) {
    // Started by a process that died (or shut down) before recording the result: the side effect
    // may have happened, so the call is answered with an error instead of being run again.
    const started = new Set(startedTools(row.session));
    const cut = runnable.filter((u) => started.has(u.id));
    if (cut.length) {
      const events = cut.map((u) => u.type === 'agent.mcp_tool_use'
        ? f.agentMcpToolResult(u.id, RESTARTED_TOOL_MESSAGE, true)
        : f.agentToolResult(u.id, RESTARTED_TOOL_MESSAGE, true));
      return { now, events, patch: { fields: { _tools_started: withoutStarted(row.session, cut.map((u) => u.id)) } }, action: { type: 'continue' } };
    }
    return { now, action: { type: 'tools', uses: runnable } };
  }

  if (waiting.length) {
    const ids = waiting.map((u) => u.id);
    if (status === 'running') return done({ events: [f.statusIdle({ type: 'requires_action', event_ids: ids })], patch: idlePatch(row, nowMs) });
    // Idle already: a partial resolution re-announces what is still pending.
    if (!runnable.length && !sameIds(ids, s.lastIdleEventIds)) {
      return done({ events: [f.statusIdle({ type: 'requires_action', event_ids: ids })] });
    }
    if (!runnable.length) return done();
  }

  const budget = row.session as unknown as BudgetFields;
  if (status === 'idle') {
    // A budget pause holds until an update raises (or removes) the budget; settle events don't end it.
    if (s.lastIdleReason === 'budget_reached') {
      if (budgetBlocks(budget) || spendWaitOf(row.session)) return done();
      return { now, events: [f.statusRunning()], markProcessed: s.queuedInputIds, patch: runningPatch(row, nowMs), action: { type: 'continue' } };
    }
    if (s.queuedInputIds.length || s.inputSinceIdle) {
      return { now, events: [f.statusRunning()], markProcessed: s.queuedInputIds, patch: runningPatch(row, nowMs), action: { type: 'continue' } };
    }
    return done();
  }

  // Running with nothing open: queued messages join the conversation at this boundary.
  if (s.queuedInputIds.length) return { now, markProcessed: s.queuedInputIds, action: { type: 'continue' } };

  // The budget gate runs before every model request (agent or grader); the crossing request finished.
  const needsModel = s.contextEndsWithUser || s.outcome?.danglingStartId || s.evaluationDue;
  const usageEvent = () => f.sessionUsage(row.session.usage as Record<string, unknown>, (budget.budget as Record<string, unknown> | null | undefined) ?? null);
  const resuming = s.contextEndsWithUser ? undefined : s.outcome?.danglingStartId ?? undefined;
  if (needsModel && budgetBlocks(budget, resuming)) {
    return done({ events: [usageEvent(), f.statusIdle({ type: 'budget_reached' })], patch: idlePatch(row, nowMs) });
  }
  if (s.contextEndsWithUser) return { now, action: { type: 'model' } };
  if (s.outcome && (s.outcome.danglingStartId || s.evaluationDue)) {
    const o = s.outcome;
    return { now, action: { type: 'evaluate', outcomeId: o.outcomeId, iteration: o.iteration, startId: o.danglingStartId } };
  }
  // Budgeted sessions report their usage at the end of every turn.
  const events = budget.budget ? [usageEvent(), f.statusIdle({ type: 'end_turn' })] : [f.statusIdle({ type: 'end_turn' })];
  return done({ events, patch: idlePatch(row, nowMs) });
}
