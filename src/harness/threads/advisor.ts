// The advisor (docs/notes/threads.md): an agent whose multiagent configuration enables an advisor
// (`advisor: {type:"enabled", model}`, or a coordinator roster's `{type:"advisor", model}` entry)
// gets an `advisor` tool on its primary thread. A call consults the advisor model with the
// conversation so far (as a transcript) and returns its advice as the tool result. Each consult is
// a short-lived thread named `anthropic.advisor`: created, running (its model span), advice
// received on the primary, idle, terminated. It shares the session's budget (reservation, spend)
// and is exempt from the active-thread limit. Crash safety: the call is marked started in the
// commit that opens the thread, so a restarted process answers it with the restart error (never
// consults twice) and closes the orphaned thread (`planAdvisorRecovery`).
import { newId } from '../../protocol/ids.ts';
import { EventFactory } from '../../domain/session-events.ts';
import { budgetBlocks, type BudgetFields } from '../../domain/budget.ts';
import { isoAt } from '../../ports/clock.ts';
import { ModelError, type ModelMessage, type ModelRequest, type ModelToolDefinition } from '../../ports/model.ts';
import type { CommitPlan, SessionRow, StoredEvent } from '../../ports/store.ts';
import { buildMessages } from '../context.ts';
import { resultTarget } from '../log-state.ts';
import { accountCall, reserveCall, type ModelStepDeps } from '../model-step.ts';
import { withoutReservation, withoutStarted } from '../planner.ts';
import { translate } from './thread-log.ts';
import {
  ADVISOR_THREAD_NAME, ADVISOR_TOOL, isAdvisorThread, plannerView, primaryThreadId, threadsOf, type ThreadMap, type ThreadState,
} from './thread-model.ts';

/** Characters of transcript sent to the advisor (the most recent part of the conversation). */
const TRANSCRIPT_LIMIT = 200_000;
const ADVISOR_SYSTEM = 'You are an advisor to an AI agent working on a task. You see a transcript of its conversation so far and, ' +
  'possibly, a question from it. Give concise, concrete advice on how the agent should proceed: what to check, what to avoid, ' +
  'what to do next. You cannot call tools; answer in plain text.';

/** The advisor model of an agent's multiagent configuration, or undefined without one. */
export function advisorModelOf(agent: Record<string, unknown>): string | undefined {
  const m = agent.multiagent as Record<string, any> | null | undefined;
  if (!m) return undefined;
  if (m.type === 'coordinator') return (m.agents as Array<Record<string, any>>).find((a) => a.type === 'advisor')?.model;
  return m.advisor?.type === 'enabled' ? m.advisor.model : undefined;
}

export function advisorToolDefinition(): ModelToolDefinition {
  return {
    name: ADVISOR_TOOL,
    description: 'Consult an advisor: a stronger model that reads the conversation so far and advises you on how to proceed. ' +
      'Use it when stuck, before a risky step, or to check a plan. Optionally ask a specific question.',
    input_schema: { type: 'object', properties: { question: { type: 'string', description: 'What you want advice on (optional).' } } },
  };
}

function blockText(b: Record<string, any>): string {
  if (b.type === 'text') return String(b.text);
  if (b.type === 'tool_use') return `[tool call ${b.name} ${JSON.stringify(b.input)}]`;
  if (b.type === 'tool_result') {
    const inner = (b.content as Array<Record<string, any>>).map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
    return `[tool result${b.is_error ? ' (error)' : ''}: ${inner}]`;
  }
  return `[${b.type}]`;
}

/** The primary's conversation so far as one transcript message, plus the question. */
export function advisorMessages(primaryView: StoredEvent[], useId: string, question: string | undefined): ModelMessage[] {
  const messages = buildMessages(primaryView);
  let transcript = messages.map((m) => `${m.role.toUpperCase()}:\n${m.content
    .filter((b) => !(b.type === 'tool_use' && b.id === useId))
    .map((b) => blockText(b as Record<string, any>)).join('\n')}`).join('\n\n');
  if (transcript.length > TRANSCRIPT_LIMIT) transcript = `[earlier conversation omitted]\n${transcript.slice(-TRANSCRIPT_LIMIT)}`;
  const ask = question?.trim() ? `The agent asks: ${question.trim()}` : 'The agent asks for your advice on how to proceed.';
  return [{ role: 'user', content: [{ type: 'text', text: `Transcript of the agent's conversation so far:\n\n${transcript}\n\n${ask}` }] }];
}

const nextId = () => newId('sevt');

type Started = CommitPlan & { threadId?: string; startId?: string };

/**
 * Opens a consult: the advisor thread (running), its model span with the budget reservation, and
 * the call's start marker — one commit. Answers the call with an error instead when the budget is
 * reached; does nothing when the call was answered already or the primary is not running.
 */
export function planAdvisorStart(deps: ModelStepDeps, row: SessionRow, log: StoredEvent[], use: { id: string }, request: ModelRequest, nowMs: number): Started {
  const now = isoAt(nowMs);
  const sessionId = String(row.session.id);
  const primaryId = primaryThreadId(sessionId);
  const threads = threadsOf(row.session);
  if (threads[primaryId].status !== 'running' || log.some((e) => resultTarget(e.event) === use.id)) return { now };
  const f = new EventFactory(nextId, now);
  if (budgetBlocks(row.session as unknown as BudgetFields)) {
    return { now, events: [f.agentToolResult(use.id, 'The advisor was not consulted: the session\'s budget is reached.', true)] };
  }
  const id = newId('sthr');
  const thread: ThreadState = {
    id, agent_name: ADVISOR_THREAD_NAME, agent: { type: 'advisor', model: request.model.id }, parent_thread_id: primaryId, status: 'running',
    running_since: nowMs, retry_count: 0, active_seconds: 0, stop_reason: null, created_at: now, updated_at: now, archived_at: null,
  };
  const start = { ...f.modelRequestStart(), session_thread_id: id };
  const events = [
    { id: nextId(), type: 'session.thread_created', session_thread_id: id, agent_name: ADVISOR_THREAD_NAME, workflow_run_id: null, processed_at: now },
    { id: nextId(), type: 'session.thread_status_running', session_thread_id: id, agent_name: ADVISOR_THREAD_NAME, processed_at: now },
    start,
  ];
  const fields = {
    ...reserveCall(deps, row.session, request.model.id, request, start.id),
    _threads: { ...threads, [id]: thread } satisfies ThreadMap,
    _tools_started: [...withoutStarted(row.session, [use.id]), use.id],
  };
  return { now, events, patch: { fields }, threadId: id, startId: start.id };
}

export type ConsultOutcome =
  | { type: 'ok'; advice: string; usage: Parameters<typeof accountCall>[3] }
  | { type: 'failed'; message: string }
  | { type: 'interrupted' };

/**
 * Closes a consult: the span (usage and spend accounted), the advice delivered (a message received
 * on the primary, and the call's result), the thread idle then terminated. An interrupted consult
 * only closes its thread: the primary's interrupt answers the call.
 */
export function planAdvisorEnd(
  deps: ModelStepDeps, row: SessionRow, readLog: () => StoredEvent[], use: { id: string }, threadId: string, startId: string, model: string,
  outcome: ConsultOutcome, nowMs: number,
): CommitPlan {
  const now = isoAt(nowMs);
  const f = new EventFactory(nextId, now);
  const zero = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const u = outcome.type === 'ok' ? outcome.usage : undefined;
  const spanEnd = f.modelRequestEnd(startId, !u, u ? {
    input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_input_tokens: u.cache_read_input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens,
  } : zero);
  const fields: Record<string, unknown> = u ? accountCall(deps, row.session, model, u, startId) : { _reserved: withoutReservation(row.session, startId) };
  const answered = readLog().some((e) => resultTarget(e.event) === use.id);
  if (!answered && outcome.type !== 'interrupted') fields._tools_started = withoutStarted(row.session, [use.id]);
  const threadPlan = translate({
    now, events: [spanEnd, f.statusIdle({ type: 'end_turn' }), f.statusTerminated()], patch: { status: 'terminated', fields },
  }, row, readLog, threadId);
  const events = [...(threadPlan.events ?? [])];
  if (!answered && outcome.type !== 'interrupted') {
    const text = outcome.type === 'ok' ? outcome.advice : `The advisor could not be consulted: ${outcome.message}`;
    if (outcome.type === 'ok') {
      // The advice as the primary received it (shown on its stream; the model gets it as the result).
      events.splice(1, 0, {
        id: nextId(), type: 'agent.thread_message_received', from_session_thread_id: threadId, from_agent_name: ADVISOR_THREAD_NAME,
        content: [{ type: 'text', text }], processed_at: now,
      });
    }
    events.push(f.agentToolResult(use.id, text, outcome.type !== 'ok'));
  }
  return { ...threadPlan, events };
}

export function hasOpenAdvisorThread(row: SessionRow): boolean {
  return Object.values(threadsOf(row.session)).some((t) => isAdvisorThread(t) && t.status === 'running');
}

/**
 * Closes advisor threads a dead process left running (its span failed, the thread terminated), so
 * the session's status does not stay `running` for a consult nobody performs. Undefined when none.
 */
export function planAdvisorRecovery(row: SessionRow, log: StoredEvent[], nowMs: number): CommitPlan | undefined {
  const orphans = Object.values(threadsOf(row.session)).filter((t) => isAdvisorThread(t) && t.status === 'running');
  if (!orphans.length) return undefined;
  const now = isoAt(nowMs);
  let current = row;
  let plan: CommitPlan = { now, events: [] };
  const sessionId = String(row.session.id);
  for (const t of orphans) {
    const view = plannerView(log, t.id, primaryThreadId(sessionId));
    const ends = new Set(view.filter((e) => e.event.type === 'span.model_request_end').map((e) => e.event.model_request_start_id));
    const dangling = view.find((e) => e.event.type === 'span.model_request_start' && !ends.has(e.event.id))?.event.id;
    const f = new EventFactory(nextId, now);
    const zero = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    const fields = dangling ? { _reserved: withoutReservation(current.session, dangling) } : {};
    const events = [...(dangling ? [f.modelRequestEnd(dangling, true, zero)] : []), f.statusIdle({ type: 'end_turn' }), f.statusTerminated()];
    const step = translate({ now, events, patch: { status: 'terminated', fields } }, current, () => log, t.id);
    plan = { now, events: [...(plan.events ?? []), ...(step.events ?? [])], patch: { ...plan.patch, ...step.patch, fields: { ...plan.patch?.fields, ...step.patch?.fields } } };
    current = { ...current, session: { ...current.session, ...step.patch?.fields, status: step.patch?.status ?? current.session.status } as SessionRow['session'] };
  }
  return plan;
}

/** Performs one advisor call end to end (see the header). */
export async function runAdvisorCall(
  deps: ModelStepDeps & { log: { commit: ModelStepDeps['log']['commit'] } }, sessionId: string, use: { id: string }, input: Record<string, unknown>,
  model: string, signal: AbortSignal, isShutdown: () => boolean,
): Promise<void> {
  let request: ModelRequest | undefined;
  const started = await deps.log.commit(sessionId, (row, readLog) => {
    const log = readLog();
    const view = plannerView(log, primaryThreadId(sessionId), primaryThreadId(sessionId));
    const question = typeof input.question === 'string' ? input.question : undefined;
    request = { model: { id: model }, system: [{ text: ADVISOR_SYSTEM }], tools: [], messages: advisorMessages(view, use.id, question), maxTokens: deps.maxTokens };
    return planAdvisorStart(deps, row, log, use, request, deps.clock.now());
  });
  const threadId = started?.plan.threadId;
  const startId = started?.plan.startId;
  if (!threadId || !startId || !request) return;
  let outcome: ConsultOutcome;
  try {
    const response = await deps.model.stream(request, { signal });
    const advice = response.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n').trim() || '(the advisor gave no advice)';
    outcome = { type: 'ok', advice, usage: response.usage };
  } catch (err) {
    const error = err instanceof ModelError ? err : new ModelError('request_failed', String(err), { retryable: false, cause: err });
    if (error.kind === 'aborted' && isShutdown()) return; // the next process closes the thread and answers the call
    outcome = error.kind === 'aborted' ? { type: 'interrupted' } : { type: 'failed', message: error.message };
  }
  await deps.log.commit(sessionId, (row, readLog) => {
    if (threadsOf(row.session)[threadId]?.status !== 'running') return { now: isoAt(deps.clock.now()) };
    return planAdvisorEnd(deps, row, readLog, use, threadId, startId, model, outcome, deps.clock.now());
  });
}
