// The status machine of docs/API-SPEC.md §5.1 as the planner owns it, driven with hand-built logs: one test
// per transition, plus the log reading it decides on (deriveLogState) and the checks a client's
// events pass against that log before they are appended (validateAgainstLog).
import { describe, expect, it } from 'vitest';
import type { SessionRow, SessionStatus, StoredEvent } from '../../src/ports/store.ts';
import type { StepPlan } from '../../src/harness/planner.ts';
import { INTERRUPTED_TOOL_MESSAGE, RESTARTED_TOOL_MESSAGE, planStep } from '../../src/harness/planner.ts';
import { conversationOrder, deriveLogState, type OpenToolUse } from '../../src/harness/log-state.ts';
import { builtinPolicy, toolUseEvent } from '../../src/harness/permissions.ts';
import type { AgentSnapshot } from '../../src/harness/context.ts';
import { EventFactory } from '../../src/domain/session-events.ts';
import { presentSession, validateAgainstLog } from '../../src/harness/session-service.ts';
import type { SendableEvent } from '../../src/protocol/event-schemas.ts';
import { ApiError } from '../../src/protocol/errors.ts';
import { isoAt } from '../../src/ports/clock.ts';

const T0_MS = Date.parse('2026-05-01T00:00:00.000Z');
const T0 = isoAt(T0_MS);
/** When the step under test is planned: 90 s after the session started running. */
const NOW_MS = T0_MS + 90_000;
const NOW = isoAt(NOW_MS);

type Fields = Record<string, unknown>;

/** A session log under construction, with the event shapes the platform and clients write. */
class LogBuilder {
  readonly events: StoredEvent[] = [];

  add(type: string, fields: Fields = {}, opts: { id?: string; queued?: boolean } = {}): string {
    const seq = this.events.length + 1;
    const id = opts.id ?? `sevt_${seq}_${type.replace(/\W/g, '_')}`;
    this.events.push({ seq, event: { id, type, ...fields, processed_at: opts.queued ? null : T0 }, processedSeq: null });
    return id;
  }

  /** Marks queued events processed the way the store does: at the current end of the log. */
  process(...ids: string[]): void {
    const top = this.events.length;
    for (const e of this.events) {
      if (ids.includes(e.event.id) && e.event.processed_at === null) {
        e.event.processed_at = T0;
        e.processedSeq = top;
      }
    }
  }

  message(text: string, opts: { queued?: boolean; id?: string } = {}) {
    return this.add('user.message', { content: [{ type: 'text', text }] }, opts);
  }
  interrupt(opts: { queued?: boolean } = { queued: true }) { return this.add('user.interrupt', {}, opts); }
  running() { return this.add('session.status_running'); }
  idle(stop_reason: Fields) { return this.add('session.status_idle', { stop_reason, stop_details: null }); }
  spanStart() { return this.add('span.model_request_start'); }
  spanEnd(startId: string, isError = false) {
    return this.add('span.model_request_end', { model_request_start_id: startId, is_error: isError, model_usage: {} });
  }
  agentMessage(text: string) { return this.add('agent.message', { content: [{ type: 'text', text }] }); }
  toolUse(name: string, permission: 'allow' | 'ask' | 'deny' = 'allow') {
    return this.add('agent.tool_use', { name, input: {}, evaluated_permission: permission });
  }
  mcpToolUse(name: string, permission: 'allow' | 'ask' = 'ask') {
    return this.add('agent.mcp_tool_use', { name, mcp_server_name: 'docs', input: {}, evaluated_permission: permission });
  }
  customToolUse(name: string) { return this.add('agent.custom_tool_use', { name, input: {} }); }
  agentToolResult(useId: string) { return this.add('agent.tool_result', { tool_use_id: useId, content: [], is_error: false }); }
  mcpToolResult(useId: string) { return this.add('agent.mcp_tool_result', { mcp_tool_use_id: useId, content: [], is_error: false }); }
  userToolResult(useId: string) { return this.add('user.tool_result', { tool_use_id: useId, content: [], is_error: false }); }
  customResult(useId: string) { return this.add('user.custom_tool_result', { custom_tool_use_id: useId, content: [] }); }
  confirm(useId: string, result: 'allow' | 'deny', deny_message?: string | null) {
    return this.add('user.tool_confirmation', { tool_use_id: useId, result, ...(deny_message !== undefined ? { deny_message } : {}) });
  }

  /** A completed model request whose answer is `answer` (event-adding callbacks run between span start and end). */
  modelTurn(answer: () => void): void {
    const start = this.spanStart();
    answer();
    this.spanEnd(start);
  }
}

function row(status: SessionStatus, opts: { runningSince?: number | null; activeSeconds?: number; retryCount?: number } = {}): SessionRow {
  const live = status === 'running' || status === 'rescheduling';
  return {
    session: {
      id: 'sesn_test', status, created_at: T0,
      agent: { id: 'agent_test', version: 1, model: { id: 'claude-sonnet-4-6' }, system: null, tools: [] },
      usage: { input_tokens: 0, output_tokens: 0, active_seconds: opts.activeSeconds ?? 0 },
    },
    runningSince: opts.runningSince !== undefined ? opts.runningSince : live ? T0_MS : null,
    retryCount: opts.retryCount ?? 0,
  };
}

function idSource(): () => string {
  let n = 0;
  return () => `sevt_new_${++n}`;
}

const plan = (r: SessionRow, log: LogBuilder, nowMs = NOW_MS): StepPlan => planStep(r, log.events, idSource(), nowMs);
const types = (p: StepPlan) => (p.events ?? []).map((e) => e.type);
/** The tool calls of a `tools` action (fails the test for any other action). */
function usesOf(p: StepPlan): OpenToolUse[] {
  expect(p.action.type).toBe('tools');
  return p.action.type === 'tools' ? p.action.uses : [];
}

/** A session that ran one turn and went idle with end_turn. */
function finishedTurn(): LogBuilder {
  const log = new LogBuilder();
  log.message('hi');
  log.running();
  log.modelTurn(() => log.agentMessage('hello'));
  log.idle({ type: 'end_turn' });
  return log;
}

/** Running, after a model request that called the given custom tools. */
function awaitingCustomTools(...names: string[]): { log: LogBuilder; ids: string[] } {
  const log = new LogBuilder();
  log.message('go');
  log.running();
  const ids: string[] = [];
  log.modelTurn(() => names.forEach((n) => ids.push(log.customToolUse(n))));
  return { log, ids };
}

describe('planStep: idle', () => {
  it('starts a turn on a queued user.message: status_running, the message marked processed, running patch', () => {
    const log = finishedTurn();
    const msg = log.message('again', { queued: true });
    const p = plan(row('idle'), log);
    expect(types(p)).toEqual(['session.status_running']);
    expect(p.events![0]).toMatchObject({ id: 'sevt_new_1', processed_at: NOW });
    expect(p.markProcessed).toEqual([msg]);
    expect(p.patch).toMatchObject({ status: 'running', runningSince: NOW_MS });
    expect(p.action).toEqual({ type: 'continue' });
  });

  it('marks every queued message (and system.message) processed at once, in log order', () => {
    const log = new LogBuilder();
    const a = log.message('a', { queued: true });
    const b = log.add('system.message', { content: [{ type: 'text', text: 'b' }] }, { queued: true });
    const p = plan(row('idle'), log);
    expect(p.markProcessed).toEqual([a, b]);
    expect(types(p)).toEqual(['session.status_running']);
  });

  it('starts running when the last pending custom tool call is resolved', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.idle({ type: 'requires_action', event_ids: ids });
    log.customResult(ids[0]);
    const p = plan(row('idle'), log);
    expect(types(p)).toEqual(['session.status_running']);
    expect(p.patch).toMatchObject({ status: 'running', runningSince: NOW_MS });
    expect(p.markProcessed).toEqual([]);
    expect(p.action).toEqual({ type: 'continue' });
  });

  it('does nothing (and clears the pending wake) when idle with no input', () => {
    const p = plan(row('idle'), finishedTurn());
    expect(p.events ?? []).toEqual([]);
    expect(p.markProcessed ?? []).toEqual([]);
    expect(p.action).toEqual({ type: 'none' });
    expect(p.patch).toEqual({ pendingWake: false });
  });

  it('does nothing on a brand-new session with an empty log', () => {
    const p = plan(row('idle'), new LogBuilder());
    expect(p.events ?? []).toEqual([]);
    expect(p.action).toEqual({ type: 'none' });
  });
});

describe('planStep: running', () => {
  it('asks for a model request when the context ends with the user', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    const p = plan(row('running'), log);
    expect(p.action).toEqual({ type: 'model' });
    expect(p.events ?? []).toEqual([]);
    expect(p.patch).toBeUndefined();
  });

  it('asks for a model request after every tool result of the round is in', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    let use = '';
    log.modelTurn(() => { use = log.toolUse('bash'); });
    log.agentToolResult(use);
    expect(plan(row('running'), log).action).toEqual({ type: 'model' });
  });

  it('ends the turn with idle end_turn when the assistant spoke last, accruing active_seconds', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    log.modelTurn(() => log.agentMessage('hello'));
    const p = plan(row('running', { runningSince: T0_MS, activeSeconds: 1.5, retryCount: 2 }), log);
    expect(types(p)).toEqual(['session.status_idle']);
    expect(p.events![0]).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null, processed_at: NOW });
    expect(p.patch).toMatchObject({ status: 'idle', runningSince: null, retryCount: 0, pendingWake: false });
    expect((p.patch!.fields!.usage as Fields).active_seconds).toBe(91.5);
    expect(p.patch!.fields!.updated_at).toBe(NOW);
    expect(p.action).toEqual({ type: 'none' });
  });

  it('keeps the other usage counters when it accrues active_seconds', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    log.modelTurn(() => log.agentMessage('hello'));
    const r = row('running');
    (r.session.usage as Fields).input_tokens = 42;
    const p = plan(r, log);
    expect(p.patch!.fields!.usage).toMatchObject({ input_tokens: 42, active_seconds: 90 });
  });

  it('goes idle requires_action with the ids of every pending custom tool call', () => {
    const { log, ids } = awaitingCustomTools('lookup', 'fetch');
    const p = plan(row('running', { activeSeconds: 0 }), log);
    expect(types(p)).toEqual(['session.status_idle']);
    expect(p.events![0].stop_reason).toEqual({ type: 'requires_action', event_ids: ids });
    expect(p.patch).toMatchObject({ status: 'idle', runningSince: null, pendingWake: false });
    expect((p.patch!.fields!.usage as Fields).active_seconds).toBe(90);
    expect(p.action).toEqual({ type: 'none' });
  });

  it('goes idle requires_action for a tool call whose permission is ask', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let use = '';
    log.modelTurn(() => { use = log.toolUse('bash', 'ask'); });
    const p = plan(row('running'), log);
    expect(p.events![0].stop_reason).toEqual({ type: 'requires_action', event_ids: [use] });
  });

  it('runs allowed tool calls before announcing the ones that wait on the client', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let run = '';
    log.modelTurn(() => { run = log.toolUse('bash'); log.customToolUse('lookup'); });
    const p = plan(row('running'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.action).toMatchObject({ type: 'tools', uses: [{ id: run, name: 'bash', waitsFor: 'server' }] });
  });

  it('continues with the model when a custom tool result arrived before the idle did', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.customResult(ids[0]);
    expect(plan(row('running'), log).action).toEqual({ type: 'model' });
  });

  it('takes queued input into the conversation at a model-request boundary without status events', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    const queued = log.message('also this', { queued: true });
    log.modelTurn(() => log.agentMessage('hello'));
    const p = plan(row('running'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.markProcessed).toEqual([queued]);
    expect(p.patch).toBeUndefined();
    expect(p.action).toEqual({ type: 'continue' });
  });
});

describe('planStep: partial resolution of requires_action', () => {
  it('re-emits idle requires_action with the calls still pending after one of two is answered', () => {
    const { log, ids } = awaitingCustomTools('lookup', 'fetch');
    log.idle({ type: 'requires_action', event_ids: ids });
    log.customResult(ids[0]);
    const p = plan(row('idle'), log);
    expect(types(p)).toEqual(['session.status_idle']);
    expect(p.events![0].stop_reason).toEqual({ type: 'requires_action', event_ids: [ids[1]] });
    expect(p.patch?.status).toBeUndefined();
    expect(p.markProcessed ?? []).toEqual([]);
    expect(p.action).toEqual({ type: 'none' });
  });

  it('does not re-emit the idle when the pending set is unchanged', () => {
    const { log, ids } = awaitingCustomTools('lookup', 'fetch');
    log.idle({ type: 'requires_action', event_ids: ids });
    log.customResult(ids[0]);
    log.idle({ type: 'requires_action', event_ids: [ids[1]] });
    const p = plan(row('idle'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.action).toEqual({ type: 'none' });
  });

  it('treats the same pending ids in another order as unchanged', () => {
    const { log, ids } = awaitingCustomTools('lookup', 'fetch');
    log.idle({ type: 'requires_action', event_ids: [ids[1], ids[0]] });
    expect(plan(row('idle'), log).events ?? []).toEqual([]);
  });

  it('leaves a message sent while calls are pending queued until they are resolved', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.idle({ type: 'requires_action', event_ids: ids });
    log.message('any news?', { queued: true });
    const p = plan(row('idle'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.markProcessed ?? []).toEqual([]);
    expect(p.action).toEqual({ type: 'none' });
  });
});

describe('planStep: interrupts', () => {
  it('answers open tool calls with errors, goes idle end_turn and marks the interrupt processed', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let server = '';
    let custom = '';
    log.modelTurn(() => { server = log.toolUse('bash'); custom = log.customToolUse('lookup'); });
    const interrupt = log.interrupt();
    const p = plan(row('running', { activeSeconds: 2 }), log);
    expect(types(p)).toEqual(['agent.tool_result', 'agent.tool_result', 'session.status_idle']);
    expect(p.events![0]).toMatchObject({ tool_use_id: server, is_error: true, content: [{ type: 'text', text: INTERRUPTED_TOOL_MESSAGE }] });
    expect(p.events![1]).toMatchObject({ tool_use_id: custom, is_error: true });
    expect(p.events![2].stop_reason).toEqual({ type: 'end_turn' });
    expect(p.markProcessed).toEqual([interrupt]);
    expect(p.patch).toMatchObject({ status: 'idle', runningSince: null });
    expect((p.patch!.fields!.usage as Fields).active_seconds).toBe(92);
  });

  it('closes a model request in flight as failed before going idle', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    const start = log.spanStart();
    log.interrupt();
    const p = plan(row('running'), log);
    expect(types(p)).toEqual(['span.model_request_end', 'session.status_idle']);
    expect(p.events![0]).toMatchObject({ model_request_start_id: start, is_error: true });
  });

  it('jumps the queue: queued messages stay queued while the interrupt is applied', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    const queued = log.message('later', { queued: true });
    const interrupt = log.interrupt();
    const p = plan(row('running'), log);
    expect(p.markProcessed).toEqual([interrupt]);
    expect(p.markProcessed).not.toContain(queued);
  });

  it('stops a rescheduling session: idle end_turn', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    log.interrupt();
    const p = plan(row('rescheduling'), log);
    expect(types(p)).toEqual(['session.status_idle']);
    expect(p.patch).toMatchObject({ status: 'idle', retryCount: 0 });
  });

  it('is a no-op on an idle session: no status events, only the interrupt marked processed', () => {
    const log = finishedTurn();
    const interrupt = log.interrupt();
    const p = plan(row('idle'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.markProcessed).toEqual([interrupt]);
    expect(p.patch?.status).toBeUndefined();
  });

  it('ends a requires_action idle: error results for the pending calls, then idle end_turn', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.idle({ type: 'requires_action', event_ids: ids });
    log.interrupt();
    const p = plan(row('idle'), log);
    expect(types(p)).toEqual(['agent.tool_result', 'session.status_idle']);
    expect(p.events![1].stop_reason).toEqual({ type: 'end_turn' });
  });
});

describe('planStep: crash recovery and retries', () => {
  it('closes a dangling model-request span as failed and redoes the step', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    const start = log.spanStart();
    const p = plan(row('running'), log);
    expect(types(p)).toEqual(['span.model_request_end']);
    expect(p.events![0]).toMatchObject({
      model_request_start_id: start, is_error: true,
      model_usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    // Its budget reservation (none here) is released with it; nothing else changes.
    expect(p.patch).toEqual({ fields: { _reserved: {} } });
    expect(p.action).toEqual({ type: 'continue' });
    // After the close is appended, the same conversation asks for the model again.
    log.spanEnd(start, true);
    expect(plan(row('running'), log).action).toEqual({ type: 'model' });
  });

  it('begins the retry of a rescheduling session: status_running, keeping the active period', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    const start = log.spanStart();
    log.spanEnd(start, true);
    log.add('session.error', { error: { type: 'model_overloaded_error', message: 'x', retry_status: { type: 'retrying' } } });
    log.add('session.status_rescheduled');
    const since = T0_MS + 5_000;
    const p = plan(row('rescheduling', { runningSince: since, retryCount: 1 }), log);
    expect(types(p)).toEqual(['session.status_running']);
    expect(p.patch).toMatchObject({ status: 'running', runningSince: since });
    expect(p.action).toEqual({ type: 'continue' });
  });
});

describe('planStep: tool calls cut short by a restart (at most once per tool_use id)', () => {
  /** Running, after a model request that made an allowed bash call and an allowed MCP call. */
  function twoServerCalls() {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let bash = '';
    let mcp = '';
    log.modelTurn(() => { bash = log.toolUse('bash'); mcp = log.mcpToolUse('echo', 'allow'); });
    return { log, bash, mcp };
  }
  const started = (r: SessionRow, ids: string[]): SessionRow => ({ ...r, session: { ...r.session, _tools_started: ids } });

  it('runs calls that were never started', () => {
    const { log, bash, mcp } = twoServerCalls();
    expect(usesOf(plan(row('running'), log)).map((u) => u.id)).toEqual([bash, mcp]);
    expect(usesOf(plan(started(row('running'), []), log)).map((u) => u.id)).toEqual([bash, mcp]);
  });

  it('answers a started call without a result with an error instead of running it again, and clears its marker', () => {
    const { log, bash, mcp } = twoServerCalls();
    const p = plan(started(row('running'), [bash]), log);
    expect(types(p)).toEqual(['agent.tool_result']);
    expect(p.events![0]).toMatchObject({ tool_use_id: bash, is_error: true, content: [{ type: 'text', text: RESTARTED_TOOL_MESSAGE }] });
    expect(p.patch).toEqual({ fields: { _tools_started: [] } });
    expect(p.action).toEqual({ type: 'continue' });
    // Once that error is in the log, only the never-started call runs.
    log.add('agent.tool_result', { tool_use_id: bash, content: [], is_error: true });
    expect(usesOf(plan(row('running'), log)).map((u) => u.id)).toEqual([mcp]);
  });

  it('answers a started MCP call with agent.mcp_tool_result, keeping markers of other calls', () => {
    const { log, mcp } = twoServerCalls();
    const p = plan(started(row('running'), [mcp, 'sevt_elsewhere']), log);
    expect(types(p)).toEqual(['agent.mcp_tool_result']);
    expect(p.events![0]).toMatchObject({ mcp_tool_use_id: mcp, is_error: true, content: [{ type: 'text', text: RESTARTED_TOOL_MESSAGE }] });
    expect(p.patch).toEqual({ fields: { _tools_started: ['sevt_elsewhere'] } });
  });

  it('an interrupt answers started calls once and clears their markers', () => {
    const { log, bash, mcp } = twoServerCalls();
    log.interrupt();
    const p = plan(started(row('running'), [bash]), log);
    expect(types(p)).toEqual(['agent.tool_result', 'agent.mcp_tool_result', 'session.status_idle']);
    expect(p.events![0]).toMatchObject({ tool_use_id: bash, content: [{ type: 'text', text: INTERRUPTED_TOOL_MESSAGE }] });
    expect(p.events![1]).toMatchObject({ mcp_tool_use_id: mcp });
    expect(p.patch!.fields!._tools_started).toEqual([]);
  });
});

describe('planStep: terminated', () => {
  it('does nothing for a terminated session, even with queued input and an interrupt', () => {
    const log = finishedTurn();
    log.add('session.status_terminated');
    log.message('hello?', { queued: true });
    log.interrupt();
    const p = plan(row('terminated'), log);
    expect(p.events ?? []).toEqual([]);
    expect(p.markProcessed ?? []).toEqual([]);
    expect(p.patch).toEqual({ pendingWake: false });
    expect(p.action).toEqual({ type: 'none' });
  });
});

describe('planStep: confirmations', () => {
  function askedFor(name: string): { log: LogBuilder; use: string } {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let use = '';
    log.modelTurn(() => { use = log.toolUse(name, 'ask'); });
    log.idle({ type: 'requires_action', event_ids: [use] });
    return { log, use };
  }

  it('allow: the session runs again, then the call becomes a runnable tools action', () => {
    const { log, use } = askedFor('bash');
    log.confirm(use, 'allow');
    const first = plan(row('idle'), log);
    expect(types(first)).toEqual(['session.status_running']);
    expect(first.action).toEqual({ type: 'continue' });
    log.running();
    const second = plan(row('running'), log);
    expect(second.events ?? []).toEqual([]);
    expect(usesOf(second)).toEqual([{ id: use, type: 'agent.tool_use', name: 'bash', waitsFor: 'server' }]);
  });

  it('deny: the tools action carries the denial and its message, so the call is answered, never run', () => {
    const { log, use } = askedFor('bash');
    log.confirm(use, 'deny', 'not on prod');
    log.running();
    const p = plan(row('running'), log);
    expect(p.action).toEqual({ type: 'tools', uses: [{ id: use, type: 'agent.tool_use', name: 'bash', waitsFor: 'server', denied: { message: 'not on prod' } }] });
  });

  it('deny without a message carries a null message', () => {
    const { log, use } = askedFor('bash');
    log.confirm(use, 'deny');
    log.running();
    expect(usesOf(plan(row('running'), log))[0].denied).toEqual({ message: null });
  });

  it('allowing one of two asked calls runs it while the other keeps waiting', () => {
    const log = new LogBuilder();
    log.message('go');
    log.running();
    let a = '';
    let b = '';
    log.modelTurn(() => { a = log.toolUse('bash', 'ask'); b = log.mcpToolUse('search', 'ask'); });
    log.idle({ type: 'requires_action', event_ids: [a, b] });
    log.confirm(a, 'allow');
    expect(types(plan(row('idle'), log))).toEqual(['session.status_running']);
    log.running();
    expect(plan(row('running'), log).action).toMatchObject({ type: 'tools', uses: [{ id: a }] });
    log.agentToolResult(a);
    const p = plan(row('running'), log);
    expect(p.events![0].stop_reason).toEqual({ type: 'requires_action', event_ids: [b] });
  });
});

describe('deriveLogState', () => {
  it('reads an empty log as nothing queued, open or owed', () => {
    expect(deriveLogState([])).toEqual({
      queuedInputIds: [], pendingInterruptIds: [], danglingSpanId: null, openToolUses: [],
      lastIdleSeq: 0, lastIdleEventIds: null, inputSinceIdle: false, contextEndsWithUser: false,
      lastIdleReason: null, outcome: undefined, evaluationDue: false, definesOutcome: false,
    });
  });

  it('counts only unprocessed messages and interrupts as queued', () => {
    const log = new LogBuilder();
    log.message('done');
    const q = log.message('queued', { queued: true });
    const s = log.add('system.message', { content: [{ type: 'text', text: 's' }] }, { queued: true });
    log.interrupt({ queued: false });
    const i = log.interrupt();
    const state = deriveLogState(log.events);
    expect(state.queuedInputIds).toEqual([q, s]);
    expect(state.pendingInterruptIds).toEqual([i]);
  });

  it('tracks only the latest model-request span and ignores ends of other spans', () => {
    const log = new LogBuilder();
    const a = log.spanStart();
    log.spanEnd(a);
    const b = log.spanStart();
    log.spanEnd('sevt_some_other_span');
    expect(deriveLogState(log.events).danglingSpanId).toBe(b);
    log.spanEnd(b);
    expect(deriveLogState(log.events).danglingSpanId).toBeNull();
  });

  it('classifies open calls: custom -> client, ask -> confirmation, allow -> server', () => {
    const log = new LogBuilder();
    const c = log.customToolUse('lookup');
    const ask = log.toolUse('bash', 'ask');
    const mcpAsk = log.mcpToolUse('search', 'ask');
    const allow = log.toolUse('read');
    const mcpAllow = log.mcpToolUse('fetch', 'allow');
    const waits = Object.fromEntries(deriveLogState(log.events).openToolUses.map((u) => [u.id, u.waitsFor]));
    expect(waits).toEqual({ [c]: 'client', [ask]: 'confirmation', [mcpAsk]: 'confirmation', [allow]: 'server', [mcpAllow]: 'server' });
  });

  it('closes a call with each kind of result: agent/user tool_result, custom and MCP results', () => {
    const log = new LogBuilder();
    const a = log.toolUse('bash');
    const b = log.toolUse('read');
    const c = log.customToolUse('lookup');
    const d = log.mcpToolUse('search', 'allow');
    const e = log.toolUse('grep');
    log.agentToolResult(a);
    log.userToolResult(b);
    log.customResult(c);
    log.mcpToolResult(d);
    expect(deriveLogState(log.events).openToolUses.map((u) => u.id)).toEqual([e]);
  });

  it('applies a confirmation only to a call that awaits one', () => {
    const log = new LogBuilder();
    const allowed = log.toolUse('bash');
    log.confirm(allowed, 'deny', 'no');
    const [use] = deriveLogState(log.events).openToolUses;
    expect(use).toEqual({ id: allowed, type: 'agent.tool_use', name: 'bash', waitsFor: 'server' });
  });

  it('records the last idle: its seq, its requires_action ids, and resets input-since-idle', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.customResult(ids[0]);
    expect(deriveLogState(log.events).inputSinceIdle).toBe(true);
    log.idle({ type: 'requires_action', event_ids: ids });
    let state = deriveLogState(log.events);
    expect(state.lastIdleSeq).toBe(log.events.length);
    expect(state.lastIdleEventIds).toEqual(ids);
    expect(state.inputSinceIdle).toBe(false);
    log.idle({ type: 'end_turn' });
    state = deriveLogState(log.events);
    expect(state.lastIdleEventIds).toBeNull();
  });

  it('counts a confirmation or a user-side result after the idle as input, but not a harness result', () => {
    const log = new LogBuilder();
    const a = log.toolUse('bash');
    const b = log.toolUse('read', 'ask');
    log.idle({ type: 'requires_action', event_ids: [b] });
    log.agentToolResult(a);
    expect(deriveLogState(log.events).inputSinceIdle).toBe(false);
    log.confirm(b, 'allow');
    expect(deriveLogState(log.events).inputSinceIdle).toBe(true);
  });

  it('says the context ends with the user for a processed message or a tool result, not for a queued one', () => {
    const log = new LogBuilder();
    log.message('hi');
    expect(deriveLogState(log.events).contextEndsWithUser).toBe(true);
    log.agentMessage('hello');
    log.message('queued', { queued: true });
    expect(deriveLogState(log.events).contextEndsWithUser).toBe(false);
    const use = log.toolUse('bash');
    expect(deriveLogState(log.events).contextEndsWithUser).toBe(false);
    log.agentToolResult(use);
    expect(deriveLogState(log.events).contextEndsWithUser).toBe(true);
  });

  it('places a queued message where it was processed, so it can end the context after a later answer', () => {
    const log = new LogBuilder();
    log.message('hi');
    const queued = log.message('one more thing', { queued: true });
    log.agentMessage('hello');
    log.process(queued);
    expect(deriveLogState(log.events).contextEndsWithUser).toBe(true);
    expect(conversationOrder(log.events).map((e) => e.event.id)).toEqual([
      log.events[0].event.id, log.events[2].event.id, queued,
    ]);
  });

  it('keeps send order among messages processed at the same boundary', () => {
    const log = new LogBuilder();
    const a = log.message('a', { queued: true });
    const b = log.message('b', { queued: true });
    log.agentMessage('x');
    log.process(b, a);
    expect(conversationOrder(log.events).map((e) => e.event.id).slice(1)).toEqual([a, b]);
  });
});

describe('tool-use permission evaluation', () => {
  const agent = (tools: Array<Record<string, unknown>>): AgentSnapshot => ({ model: { id: 'm' }, system: null, tools });
  const f = () => new EventFactory(idSource(), NOW);
  const custom = { type: 'custom', name: 'lookup', description: 'd', input_schema: { type: 'object' } };

  it('resolves a built-in policy from the tool config, then the default config, then always_allow', () => {
    const a = agent([{
      type: 'agent_toolset_20260401',
      default_config: { permission_policy: { type: 'always_ask' } },
      configs: [{ name: 'read', permission_policy: { type: 'always_allow' } }, { name: 'write', enabled: false }],
    }]);
    expect(builtinPolicy(a, 'read')).toEqual({ type: 'always_allow' });
    expect(builtinPolicy(a, 'bash')).toEqual({ type: 'always_ask' });
    expect(builtinPolicy(a, 'write')).toBeUndefined();
    expect(builtinPolicy(agent([{ type: 'agent_toolset_20260401' }]), 'bash')).toEqual({ type: 'always_allow' });
    expect(builtinPolicy(agent([]), 'bash')).toBeUndefined();
  });

  it('turns a custom tool call into agent.custom_tool_use for the client', () => {
    const { event, denial } = toolUseEvent(f(), agent([custom]), { name: 'lookup', input: { q: 1 } }, new Set(['lookup']));
    expect(event).toMatchObject({ type: 'agent.custom_tool_use', name: 'lookup', input: { q: 1 } });
    expect(denial).toBeUndefined();
  });

  it('marks an always_ask built-in call ask with an always_ask evaluation', () => {
    const a = agent([{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }]);
    const { event } = toolUseEvent(f(), a, { name: 'bash', input: {} }, new Set(['bash']));
    expect(event).toMatchObject({ type: 'agent.tool_use', evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
  });

  it('marks an allowed built-in call allow with an always_allow evaluation', () => {
    const { event, denial } = toolUseEvent(f(), agent([{ type: 'agent_toolset_20260401' }]), { name: 'bash', input: {} }, new Set(['bash']));
    expect(event).toMatchObject({ type: 'agent.tool_use', evaluated_permission: 'allow', evaluation: { type: 'always_allow' } });
    expect(denial).toBeUndefined();
  });

  it('evaluates an MCP call by its toolset policy: always_allow allows, always_ask and auto ask (MCP tools are opaque to auto)', () => {
    const route = (type: 'always_allow' | 'always_ask' | 'auto') => new Map([['mcp__docs__rm', { server: 'docs', tool: 'rm', policy: { type } }]]);
    const call = { name: 'mcp__docs__rm', input: { path: '/' } };
    const a = agent([{ type: 'mcp_toolset', mcp_server_name: 'docs' }]);
    const allowed = toolUseEvent(f(), a, call, new Set([call.name]), route('always_allow'));
    expect(allowed.event).toMatchObject({ type: 'agent.mcp_tool_use', mcp_server_name: 'docs', name: 'rm', evaluated_permission: 'allow', evaluation: { type: 'always_allow' } });
    const asked = toolUseEvent(f(), a, call, new Set([call.name]), route('always_ask'));
    expect(asked.event).toMatchObject({ evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    const auto = toolUseEvent(f(), a, call, new Set([call.name]), route('auto'));
    expect(auto.event).toMatchObject({ evaluated_permission: 'ask', evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } } });
    expect(auto.denial).toBeUndefined();
    // An ask waits for the user: the planner never runs it on its own.
    const log = new LogBuilder();
    log.message('go');
    log.running();
    const { id: _id, type: _type, processed_at: _at, ...fields } = auto.event as Fields;
    let useId = '';
    log.modelTurn(() => { useId = log.add('agent.mcp_tool_use', fields); });
    const p = plan(row('running'), log);
    expect(p.action).toEqual({ type: 'none' });
    expect(p.events![0].stop_reason).toEqual({ type: 'requires_action', event_ids: [useId] });
  });

  it('denies a call to a tool that was never offered, with no evaluation and a denial text', () => {
    const { event, denial } = toolUseEvent(f(), agent([{ type: 'agent_toolset_20260401' }]), { name: 'bash', input: {} }, new Set());
    expect(event).toMatchObject({ type: 'agent.tool_use', evaluated_permission: 'deny' });
    expect(event).not.toHaveProperty('evaluation');
    expect(denial).toMatch(/^Permission to use bash has been denied/);
  });
});

describe('validateAgainstLog (client events checked against the log)', () => {
  function errorOf(fn: () => unknown): ApiError {
    try {
      fn();
    } catch (e) {
      if (e instanceof ApiError) return e;
      throw e;
    }
    throw new Error('expected an ApiError');
  }
  const customResult = (id: string): SendableEvent => ({ type: 'user.custom_tool_result', custom_tool_use_id: id, content: [] }) as SendableEvent;
  const confirmation = (id: string, result: 'allow' | 'deny'): SendableEvent => ({ type: 'user.tool_confirmation', tool_use_id: id, result }) as SendableEvent;

  it('echoes messages and interrupts as queued, tool results and confirmations as processed', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    const ask = log.toolUse('bash', 'ask');
    const echoes = validateAgainstLog([
      { type: 'user.message', content: [{ type: 'text', text: 'x' }] } as SendableEvent,
      customResult(ids[0]),
      confirmation(ask, 'allow'),
      { type: 'user.interrupt' } as SendableEvent,
    ], log.events, NOW);
    expect(echoes.map((e) => [e.type, e.processed_at])).toEqual([
      ['user.message', null], ['user.custom_tool_result', NOW], ['user.tool_confirmation', NOW], ['user.interrupt', null],
    ]);
    for (const e of echoes) expect(e.id).toMatch(/^sevt_/);
    expect(new Set(echoes.map((e) => e.id)).size).toBe(4);
  });

  it('rejects a custom tool result for an unknown id with 400', () => {
    const { log } = awaitingCustomTools('lookup');
    const err = errorOf(() => validateAgainstLog([customResult('sevt_nope')], log.events, NOW));
    expect([err.status, err.type]).toEqual([400, 'invalid_request_error']);
  });

  it('rejects a custom tool result naming a built-in tool use with 400', () => {
    const log = new LogBuilder();
    const use = log.toolUse('bash', 'ask');
    expect(errorOf(() => validateAgainstLog([customResult(use)], log.events, NOW)).status).toBe(400);
  });

  it('rejects a second result for an answered custom tool call with 400', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    log.customResult(ids[0]);
    expect(errorOf(() => validateAgainstLog([customResult(ids[0])], log.events, NOW)).status).toBe(400);
  });

  it('rejects a duplicate result within one request with 400', () => {
    const { log, ids } = awaitingCustomTools('lookup');
    expect(errorOf(() => validateAgainstLog([customResult(ids[0]), customResult(ids[0])], log.events, NOW)).status).toBe(400);
  });

  it('rejects a confirmation for a call whose permission is not ask with 400', () => {
    const log = new LogBuilder();
    const use = log.toolUse('bash', 'allow');
    const err = errorOf(() => validateAgainstLog([confirmation(use, 'allow')], log.events, NOW));
    expect(err.status).toBe(400);
    expect(err.message).toContain('evaluated_permission');
  });

  it('rejects a confirmation for an unknown id and a second confirmation with 400', () => {
    const log = new LogBuilder();
    const use = log.toolUse('bash', 'ask');
    expect(errorOf(() => validateAgainstLog([confirmation('sevt_nope', 'allow')], log.events, NOW)).status).toBe(400);
    log.confirm(use, 'deny');
    expect(errorOf(() => validateAgainstLog([confirmation(use, 'allow')], log.events, NOW)).status).toBe(400);
  });
});

describe('presentSession', () => {
  it('adds the live active period to usage and stats while running', () => {
    const r = row('running', { runningSince: T0_MS + 10_000, activeSeconds: 5 });
    const s = presentSession(r, NOW_MS);
    expect((s.usage as Fields).active_seconds).toBe(85);
    expect(s.stats).toEqual({ active_seconds: 85, duration_seconds: 90 });
    expect((r.session.usage as Fields).active_seconds).toBe(5);
  });

  it('reports the stored active_seconds when idle', () => {
    const s = presentSession(row('idle', { activeSeconds: 12.25 }), NOW_MS);
    expect(s.stats).toEqual({ active_seconds: 12.25, duration_seconds: 90 });
  });
});
