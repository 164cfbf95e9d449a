// Outcome state read from hand-built session logs (docs/API-SPEC.md §4.4 outcome_evaluations, §5.2 flows 8
// and 9): which outcome is active and on which iteration, what `outcome_evaluations[]` shows, when
// an evaluation is due, what the planner decides (evaluate, budget pause, interrupt), how grader
// feedback joins the agent's conversation, and the grader's own request and verdict parsing.
import { describe, expect, it } from 'vitest';
import type { SessionRow, SessionStatus, StoredEvent } from '../../src/ports/store.ts';
import type { ModelResponse } from '../../src/ports/model.ts';
import { activeOutcome, outcomeEvaluations, readOutcomes } from '../../src/domain/outcomes.ts';
import { deriveLogState } from '../../src/harness/log-state.ts';
import { planStep, type StepPlan } from '../../src/harness/planner.ts';
import { buildMessages } from '../../src/harness/context.ts';
import { VERDICT_TOOL, evidenceOf, graderRequest, parseVerdict } from '../../src/harness/grader.ts';
import { isoAt } from '../../src/ports/clock.ts';

const T0_MS = Date.parse('2026-05-01T00:00:00.000Z');
const T0 = isoAt(T0_MS);
const NOW_MS = T0_MS + 60_000;
const OUTC = 'outc_test_1';

type Fields = Record<string, unknown>;

/** A session log under construction, with the shapes the platform writes for outcomes. */
class LogBuilder {
  readonly events: StoredEvent[] = [];
  private at = T0_MS;

  add(type: string, fields: Fields = {}, opts: { queued?: boolean } = {}): string {
    const seq = this.events.length + 1;
    const id = `sevt_${seq}_${type.replace(/\W/g, '_')}`;
    this.at += 1_000;
    this.events.push({ seq, event: { id, type, ...fields, processed_at: opts.queued ? null : isoAt(this.at) }, processedSeq: null });
    return id;
  }
  processedAt(id: string): string | null {
    return this.events.find((e) => e.event.id === id)!.event.processed_at;
  }
  message(text: string, opts: { queued?: boolean } = {}) { return this.add('user.message', { content: [{ type: 'text', text }] }, opts); }
  define(fields: Fields = {}) {
    return this.add('user.define_outcome', {
      description: 'Write a haiku', rubric: { type: 'text', content: 'Three lines.' }, max_iterations: 3, outcome_id: OUTC, ...fields,
    });
  }
  running() { return this.add('session.status_running'); }
  idle(stop_reason: Fields) { return this.add('session.status_idle', { stop_reason, stop_details: null }); }
  interrupt() { return this.add('user.interrupt', {}, { queued: true }); }
  /** One completed agent model request answering `text`. */
  agentTurn(text: string) {
    const start = this.add('span.model_request_start');
    this.add('agent.message', { content: [{ type: 'text', text }] });
    this.add('span.model_request_end', { model_request_start_id: start, is_error: false, model_usage: {} });
  }
  evalStart(iteration: number, outcomeId = OUTC) { return this.add('span.outcome_evaluation_start', { outcome_id: outcomeId, iteration }); }
  evalEnd(startId: string, iteration: number, result: string, explanation = `verdict ${result} ${iteration}`, outcomeId = OUTC) {
    return this.add('span.outcome_evaluation_end', {
      outcome_evaluation_start_id: startId, outcome_id: outcomeId, iteration, result, explanation,
      usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  }
  /** A full evaluation: span start then end. */
  evaluation(iteration: number, result: string, explanation?: string, outcomeId = OUTC) {
    return this.evalEnd(this.evalStart(iteration, outcomeId), iteration, result, explanation, outcomeId);
  }
}

/** An outcome defined on an idle session that started running; the agent finished its first turn. */
function workedOnce(): LogBuilder {
  const log = new LogBuilder();
  log.define();
  log.running();
  log.agentTurn('Waves fold and fall');
  return log;
}

const usd = (cents: number) => ({ type: 'limit', max_list_cost: { amount: String(cents), currency: 'USD' } });

function row(status: SessionStatus, fields: Fields = {}): SessionRow {
  const live = status === 'running' || status === 'rescheduling';
  return {
    session: {
      id: 'sesn_test', status, created_at: T0,
      agent: { id: 'agent_test', version: 1, model: { id: 'claude-sonnet-4-6' }, system: 'AGENT-SYSTEM', tools: [] },
      usage: { input_tokens: 0, output_tokens: 0, active_seconds: 0, list_cost: { amount: '0', currency: 'USD' } },
      budget: null, outcome_evaluations: [],
      ...fields,
    },
    runningSince: live ? T0_MS : null,
    retryCount: 0,
  };
}

function ids(): () => string {
  let n = 0;
  return () => `sevt_new_${++n}`;
}
const plan = (r: SessionRow, log: LogBuilder): StepPlan => planStep(r, log.events, ids(), NOW_MS);
const types = (p: StepPlan) => (p.events ?? []).map((e) => e.type);

describe('readOutcomes / activeOutcome', () => {
  it('reads a defined outcome: iteration 0, max_iterations, no evaluation yet', () => {
    const log = new LogBuilder();
    log.define({ max_iterations: 5 });
    const [o] = readOutcomes(log.events);
    expect(o).toMatchObject({
      outcomeId: OUTC, description: 'Write a haiku', rubric: { type: 'text', content: 'Three lines.' }, maxIterations: 5,
      definedSeq: 1, iteration: 0, danglingStartId: null, lastEnd: null, terminal: false,
    });
    expect(activeOutcome(log.events)?.outcomeId).toBe(OUTC);
  });

  it('defaults max_iterations to 3 when the event carries none', () => {
    const log = new LogBuilder();
    log.define({ max_iterations: undefined });
    expect(readOutcomes(log.events)[0].maxIterations).toBe(3);
  });

  it('tracks an open evaluation span, and each needs_revision moves to the next iteration', () => {
    const log = workedOnce();
    const start = log.evalStart(0);
    expect(readOutcomes(log.events)[0]).toMatchObject({ danglingStartId: start, iteration: 0, terminal: false });
    log.evalEnd(start, 0, 'needs_revision', 'FIX-IT');
    expect(readOutcomes(log.events)[0]).toMatchObject({
      danglingStartId: null, iteration: 1, terminal: false, lastEnd: { result: 'needs_revision', explanation: 'FIX-IT' },
    });
  });

  it.each(['satisfied', 'failed', 'max_iterations_reached', 'interrupted'])('treats %s as terminal: no active outcome remains', (result) => {
    const log = workedOnce();
    log.evaluation(0, result);
    expect(readOutcomes(log.events)[0].terminal).toBe(true);
    expect(activeOutcome(log.events)).toBeUndefined();
  });

  it('does not count an interrupted evaluation as an iteration', () => {
    const log = workedOnce();
    log.evaluation(0, 'needs_revision');
    log.agentTurn('second try');
    log.evalEnd(log.evalStart(1), 1, 'interrupted');
    expect(readOutcomes(log.events)[0].iteration).toBe(1);
  });

  it('ignores spans of unknown outcomes and finds the one outcome still in play', () => {
    const log = workedOnce();
    log.evaluation(0, 'satisfied');
    log.evaluation(0, 'needs_revision', 'stray', 'outc_unknown');
    log.define({ outcome_id: 'outc_test_2', description: 'Second' });
    const all = readOutcomes(log.events);
    expect(all.map((o) => [o.outcomeId, o.terminal])).toEqual([[OUTC, true], ['outc_test_2', false]]);
    expect(all[0].lastEnd?.explanation).toBe(`verdict satisfied 0`);
    expect(activeOutcome(log.events)?.outcomeId).toBe('outc_test_2');
  });
});

describe('outcomeEvaluations (session.outcome_evaluations[])', () => {
  it('is pending before the agent starts, running while it works, evaluating while graded', () => {
    const log = new LogBuilder();
    log.define();
    expect(outcomeEvaluations(log.events, false)).toEqual([{
      type: 'outcome_evaluation', outcome_id: OUTC, description: 'Write a haiku', iteration: 0, result: 'pending', explanation: null, completed_at: null,
    }]);
    log.running();
    expect(outcomeEvaluations(log.events, true)[0]).toMatchObject({ result: 'running', iteration: 0 });
    log.agentTurn('work');
    log.evalStart(0);
    expect(outcomeEvaluations(log.events, true)[0]).toMatchObject({ result: 'evaluating', iteration: 0, completed_at: null });
  });

  it('shows the revision cycle and the last explanation while the agent revises', () => {
    const log = workedOnce();
    log.evaluation(0, 'needs_revision', 'FIX-IT');
    expect(outcomeEvaluations(log.events, true)[0]).toMatchObject({ result: 'running', iteration: 1, explanation: 'FIX-IT', completed_at: null });
  });

  it('carries the terminal result, explanation and completion time of the last evaluation', () => {
    const log = workedOnce();
    const end = log.evaluation(0, 'failed', 'Cannot apply.');
    expect(outcomeEvaluations(log.events, false)[0]).toMatchObject({ result: 'failed', explanation: 'Cannot apply.', completed_at: log.processedAt(end) });
  });

  it('keeps iteration at the last evaluated revision cycle once terminal (0-indexed, like the span)', () => {
    // SDK: "0-indexed revision cycle the outcome is currently on". Satisfied on cycle 0 → 0;
    // needs_revision on 0 then satisfied on 1 → 1.
    const once = workedOnce();
    once.evaluation(0, 'satisfied');
    const twice = workedOnce();
    twice.evaluation(0, 'needs_revision');
    twice.agentTurn('fixed');
    twice.evaluation(1, 'satisfied');
    expect([outcomeEvaluations(once.events, false)[0].iteration, outcomeEvaluations(twice.events, false)[0].iteration]).toEqual([0, 1]);
  });
});

describe('deriveLogState: when an evaluation is due', () => {
  it('a defined outcome is input that starts work: the model owes an answer, nothing to grade yet', () => {
    const log = new LogBuilder();
    log.define();
    const s = deriveLogState(log.events);
    expect(s.inputSinceIdle).toBe(true);
    expect(s.contextEndsWithUser).toBe(true);
    expect(s.evaluationDue).toBe(false);
  });

  it('is due once the agent finished a turn after the outcome was defined', () => {
    const s = deriveLogState(workedOnce().events);
    expect(s.contextEndsWithUser).toBe(false);
    expect(s.evaluationDue).toBe(true);
    expect(s.outcome?.outcomeId).toBe(OUTC);
  });

  it('is not due while an evaluation span is open', () => {
    const log = workedOnce();
    const start = log.evalStart(0);
    const s = deriveLogState(log.events);
    expect(s.evaluationDue).toBe(false);
    expect(s.outcome?.danglingStartId).toBe(start);
  });

  it('needs_revision and max_iterations_reached hand the turn back to the agent; satisfied ends it', () => {
    const revise = workedOnce();
    revise.evaluation(0, 'needs_revision');
    expect(deriveLogState(revise.events)).toMatchObject({ contextEndsWithUser: true, evaluationDue: false });

    const wrapUp = workedOnce();
    wrapUp.evaluation(0, 'max_iterations_reached');
    const w = deriveLogState(wrapUp.events);
    expect(w).toMatchObject({ contextEndsWithUser: true, evaluationDue: false });
    expect(w.outcome).toBeUndefined();

    const done = workedOnce();
    done.evaluation(0, 'satisfied');
    expect(deriveLogState(done.events)).toMatchObject({ contextEndsWithUser: false, evaluationDue: false, outcome: undefined });
  });

  it('an outcome defined while the agent answered an earlier message still needs the agent\'s work before grading', () => {
    // define_outcome is processed on receipt, so it lands inside the in-flight model request.
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    const start = log.add('span.model_request_start');
    log.define();
    log.add('agent.message', { content: [{ type: 'text', text: 'reply to hi' }] });
    log.add('span.model_request_end', { model_request_start_id: start, is_error: false, model_usage: {} });
    const s = deriveLogState(log.events);
    expect(s.evaluationDue).toBe(false);
    expect(s.contextEndsWithUser).toBe(true);
  });
});

describe('planStep with outcomes', () => {
  it('starting work on an outcome patches outcome_evaluations to running in the same commit', () => {
    const log = new LogBuilder();
    log.define();
    const p = plan(row('idle', { outcome_evaluations: outcomeEvaluations(log.events, false) }), log);
    expect(types(p)).toEqual(['session.status_running']);
    expect(p.patch?.fields?.outcome_evaluations).toMatchObject([{ outcome_id: OUTC, result: 'running' }]);
  });

  it('grades a finished working turn: evaluate action, no events', () => {
    const p = plan(row('running'), workedOnce());
    expect(p.action).toEqual({ type: 'evaluate', outcomeId: OUTC, iteration: 0, startId: null });
    expect(p.events ?? []).toEqual([]);
  });

  it('resumes an evaluation whose span is still open (after a crash) with the same start id', () => {
    const log = workedOnce();
    log.evaluation(0, 'needs_revision');
    log.agentTurn('second');
    const start = log.evalStart(1);
    expect(plan(row('running'), log).action).toEqual({ type: 'evaluate', outcomeId: OUTC, iteration: 1, startId: start });
  });

  it('after a terminal verdict the turn ends with end_turn', () => {
    const log = workedOnce();
    log.evaluation(0, 'satisfied');
    const p = plan(row('running'), log);
    expect(types(p)).toEqual(['session.status_idle']);
    expect(p.events![0]).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(p.patch).toMatchObject({ status: 'idle' });
  });

  it('an interrupt during grading closes the evaluation span as interrupted, then idles', () => {
    const log = workedOnce();
    const start = log.evalStart(0);
    const intr = log.interrupt();
    const p = plan(row('running'), log);
    expect(types(p)).toEqual(['span.outcome_evaluation_end', 'session.status_idle']);
    expect(p.events![0]).toMatchObject({ outcome_evaluation_start_id: start, outcome_id: OUTC, iteration: 0, result: 'interrupted' });
    expect(p.markProcessed).toEqual([intr]);
    expect(p.patch?.fields?.outcome_evaluations).toMatchObject([{ result: 'interrupted' }]);
  });

  it('an interrupt while the agent works ends the outcome with an empty start id', () => {
    const log = new LogBuilder();
    log.define();
    log.running();
    log.add('span.model_request_start');
    log.interrupt();
    const p = plan(row('running'), log);
    expect(types(p)).toEqual(['span.model_request_end', 'span.outcome_evaluation_end', 'session.status_idle']);
    expect(p.events![1]).toMatchObject({ outcome_evaluation_start_id: '', result: 'interrupted', iteration: 0 });
  });

  it('an interrupt during grading releases the evaluation\'s budget reservation', () => {
    const log = workedOnce();
    const start = log.evalStart(0);
    log.interrupt();
    const r = row('running', { budget: usd(1_000), _cost_micros: 150_000, _reserved: { [start]: 90_000_000 } });
    const p = plan(r, log);
    const reserved = (p.patch?.fields?._reserved ?? r.session._reserved) as Record<string, number>;
    expect(reserved).not.toHaveProperty(start);
  });
});

describe('planStep with budgets', () => {
  it('pauses before the grader when the cap is reached: session.usage (with the budget), then status_idle budget_reached', () => {
    const usage = { input_tokens: 100, output_tokens: 50, list_cost: { amount: '150', currency: 'USD' } };
    const p = plan(row('running', { budget: usd(100), _cost_micros: 1_500_000, usage }), workedOnce());
    expect(types(p)).toEqual(['session.usage', 'session.status_idle']);
    expect(p.events![0]).toMatchObject({ usage, budget: usd(100) });
    expect(p.events![1]).toMatchObject({ stop_reason: { type: 'budget_reached' } });
    expect(p.action).toEqual({ type: 'none' });
    expect(p.patch).toMatchObject({ status: 'idle' });
  });

  it('pauses before the agent\'s next request the same way', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    const p = plan(row('running', { budget: usd(100), _cost_micros: 1_000_000 }), log);
    expect(types(p)).toEqual(['session.usage', 'session.status_idle']);
    expect(p.events![1]).toMatchObject({ stop_reason: { type: 'budget_reached' } });
  });

  it('counts in-flight reservations of other requests in the gate', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    const p = plan(row('running', { budget: usd(100), _cost_micros: 500_000, _reserved: { other: 500_000 } }), log);
    expect(p.events![1]).toMatchObject({ stop_reason: { type: 'budget_reached' } });
    const q = plan(row('running', { budget: usd(100), _cost_micros: 500_000, _reserved: { other: 499_999 } }), log);
    expect(q.action).toEqual({ type: 'model' });
  });

  it('reports usage right before every end-of-turn idle of a budgeted session, and not without a budget', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    log.agentTurn('hello');
    expect(types(plan(row('running', { budget: usd(100), _cost_micros: 10 }), log))).toEqual(['session.usage', 'session.status_idle']);
    expect(types(plan(row('running'), log))).toEqual(['session.status_idle']);
  });

  it('a budget pause holds while the cap still blocks, and resumes once it does not', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.running();
    log.add('session.usage', { usage: {}, budget: usd(100) });
    log.idle({ type: 'budget_reached' });
    const held = plan(row('idle', { budget: usd(100), _cost_micros: 1_000_000 }), log);
    expect(held.events ?? []).toEqual([]);
    expect(held.action).toEqual({ type: 'none' });

    const raised = plan(row('idle', { budget: usd(200), _cost_micros: 1_000_000 }), log);
    expect(types(raised)).toEqual(['session.status_running']);
    expect(raised.patch).toMatchObject({ status: 'running' });

    const removed = plan(row('idle', { budget: null, _cost_micros: 1_000_000 }), log);
    expect(types(removed)).toEqual(['session.status_running']);
  });
});

describe('the agent\'s conversation around an outcome', () => {
  it('gives the agent the outcome (description and text rubric) as a user turn', () => {
    const log = new LogBuilder();
    log.define({ description: 'DESC-X', rubric: { type: 'text', content: 'RUBRIC-Y' } });
    const msgs = buildMessages(log.events);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].role).toBe('user');
    const t = JSON.stringify(msgs[0].content);
    expect(t).toContain('DESC-X');
    expect(t).toContain('RUBRIC-Y');
  });

  it('names a file rubric without inlining it', () => {
    const log = new LogBuilder();
    log.define({ rubric: { type: 'file', file_id: 'file_abc' } });
    expect(JSON.stringify(buildMessages(log.events))).toContain('file_abc');
  });

  it('feeds a needs_revision explanation back as the next user turn; a terminal verdict adds nothing', () => {
    const log = workedOnce();
    log.evaluation(0, 'needs_revision', 'EXPLANATION-Z');
    const msgs = buildMessages(log.events);
    expect(msgs.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(msgs[2].content)).toContain('EXPLANATION-Z');

    const done = workedOnce();
    done.evaluation(0, 'satisfied', 'SATISFIED-TEXT');
    const doneMsgs = buildMessages(done.events);
    expect(doneMsgs.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(JSON.stringify(doneMsgs)).not.toContain('SATISFIED-TEXT');
  });

  it('asks for a wrap-up after max_iterations_reached, quoting the last verdict', () => {
    const log = workedOnce();
    log.evaluation(0, 'max_iterations_reached', 'STILL-MISSING');
    const last = buildMessages(log.events).at(-1)!;
    expect(last.role).toBe('user');
    const t = JSON.stringify(last.content);
    expect(t).toContain('STILL-MISSING');
    expect(t.toLowerCase()).toContain('wrap up');
  });
});

describe('the grader\'s request and verdict', () => {
  const response = (content: ModelResponse['content']): ModelResponse => ({
    content, stopReason: 'tool_use',
    usage: { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 },
  });
  const call = (input: Record<string, unknown>, name = VERDICT_TOOL) => response([{ type: 'tool_use', id: 'toolu_1', name, input }]);

  it('builds its own request: grader system prompt, rubric, description, evidence, one forced verdict tool', () => {
    const log = workedOnce();
    const outcome = readOutcomes(log.events)[0];
    const req = graderRequest('claude-haiku-4-5', outcome, 'RUBRIC-TEXT', 'EVIDENCE-TEXT', 32_000);
    expect(req.model.id).toBe('claude-haiku-4-5');
    expect(JSON.stringify(req.system)).not.toContain('AGENT-SYSTEM');
    expect(req.system.length).toBeGreaterThan(0);
    expect(req.toolChoice).toEqual({ type: 'tool', name: VERDICT_TOOL });
    expect(req.tools.map((t) => t.name)).toEqual([VERDICT_TOOL]);
    expect(req.tools[0].input_schema).toMatchObject({
      properties: { result: { enum: ['satisfied', 'needs_revision', 'failed'] } }, required: ['result', 'explanation'],
    });
    expect(req.messages).toHaveLength(1);
    const prompt = JSON.stringify(req.messages[0].content);
    for (const s of ['RUBRIC-TEXT', 'EVIDENCE-TEXT', 'Write a haiku']) expect(prompt).toContain(s);
    expect(req.maxTokens).toBeLessThanOrEqual(4096);
    expect(graderRequest('m', outcome, 'r', 'e', 1000).maxTokens).toBe(1000);
  });

  it('accepts a well-formed verdict', () => {
    expect(parseVerdict(call({ result: 'satisfied', explanation: 'ok' }))).toEqual({ result: 'satisfied', explanation: 'ok' });
    expect(parseVerdict(call({ result: 'needs_revision', explanation: 'fix' }))).toEqual({ result: 'needs_revision', explanation: 'fix' });
    expect(parseVerdict(call({ result: 'failed', explanation: 'no' }))).toEqual({ result: 'failed', explanation: 'no' });
  });

  it.each([
    ['no tool call', response([{ type: 'text', text: 'satisfied' }])],
    ['another tool', call({ result: 'satisfied', explanation: 'ok' }, 'other_tool')],
    ['a result outside the enum', call({ result: 'max_iterations_reached', explanation: 'x' })],
    ['a missing explanation', call({ result: 'satisfied' })],
    ['a blank explanation', call({ result: 'satisfied', explanation: '   ' })],
    ['a non-string result', call({ result: 1, explanation: 'x' })],
  ])('rejects a verdict with %s', (_what, r) => {
    expect(parseVerdict(r)).toBeUndefined();
  });

  it('gathers evidence since the outcome was defined: final message, tool calls and results, earlier verdicts, files', () => {
    const log = new LogBuilder();
    log.message('BEFORE-THE-OUTCOME');
    log.agentTurn('OLD-ANSWER');
    log.define();
    const use = log.add('agent.custom_tool_use', { name: 'lookup', input: { q: 'QUERY-1' } });
    log.add('user.custom_tool_result', { custom_tool_use_id: use, content: [{ type: 'text', text: 'RESULT-1' }] });
    log.add('agent.message', { content: [{ type: 'text', text: 'DRAFT' }] });
    log.evaluation(0, 'needs_revision', 'PREVIOUS-VERDICT');
    log.add('agent.message', { content: [{ type: 'text', text: 'FINAL-TEXT' }] });
    const outcome = readOutcomes(log.events)[0];
    const evidence = evidenceOf(log.events, outcome, ['report.md']);
    for (const s of ['lookup', 'QUERY-1', 'RESULT-1', 'DRAFT', 'PREVIOUS-VERDICT', 'FINAL-TEXT', 'report.md']) expect(evidence).toContain(s);
    expect(evidence).not.toContain('OLD-ANSWER');
    expect(evidence).not.toContain('BEFORE-THE-OUTCOME');
    expect(evidence.match(/<final_message>\n([^<]*)\n<\/final_message>/)?.[1]).toBe('FINAL-TEXT');
    expect(evidenceOf(log.events, outcome, [])).toContain('(none)');
  });
});
