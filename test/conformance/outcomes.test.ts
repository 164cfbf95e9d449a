// Outcomes (docs/API-SPEC.md §4.4 outcome_evaluations, §4.5 user.define_outcome, §5.2 flow 8, §6) driven
// through the official SDK against a live Hangar whose upstream is scripted: the agent's requests
// and the independent grader's (told apart by the forced `submit_verdict` tool) get separate
// scripts. Covers satisfied / needs_revision / failed / max_iterations_reached / interrupted, the
// one-active-outcome rule, file rubrics, malformed verdicts and the evaluation heartbeat.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import {
  EventTap, agentRequests, customTool, defineOutcome, gate, graderRequests, interrupt, isGraderRequest, isIdle, isType,
  lastUserText, listEvents, MODEL, newAgent, newSession, persisted, rejection, requestText, routeModelRequests, say,
  sendEvents, startRig, text, toolUse, types, verdict, waitForStatus, type Ev, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;

const AGENT_SYSTEM = 'AGENT-SYSTEM-PROMPT: you are the worker, never the judge.';

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const isEvalEnd = isType('span.outcome_evaluation_end');
const ofType = (events: Ev[], type: string) => events.filter((e) => e.type === type);
const outcomeSession = async () => newSession(rig, { agent: (await newAgent(client, { system: AGENT_SYSTEM })).id });

/** Defines an outcome on an idle session and returns its echo plus every event through the next idle. */
async function runOutcome(sessionId: string, outcome = defineOutcome('Write a haiku about the sea', 'Exactly three lines; mentions waves.'), timeoutMs?: number) {
  const tap = await EventTap.open(client, sessionId);
  try {
    const [echo] = await sendEvents(client, sessionId, outcome);
    const turn = await tap.until(isIdle, timeoutMs);
    return { echo, turn };
  } finally {
    tap.close();
  }
}

describe('user.define_outcome: satisfied on the first evaluation', () => {
  it('is echoed with an outc_ id and max_iterations 3, runs the agent, grades once and idles with end_turn', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('Waves fold on the shore / salt wind carries gull voices / the tide keeps its time')],
      grader: [verdict('satisfied', 'Three lines, mentions waves.', { usage: { input_tokens: 321, output_tokens: 45 } })],
    });
    const outcome = defineOutcome('Write a haiku about the sea', 'RUBRIC-TEXT: exactly three lines; mentions waves.');
    const { echo, turn } = await runOutcome(s.id, outcome);

    expect(echo).toMatchObject({
      type: 'user.define_outcome', description: 'Write a haiku about the sea',
      rubric: { type: 'text', content: 'RUBRIC-TEXT: exactly three lines; mentions waves.' }, max_iterations: 3,
    });
    expect(echo.id).toMatch(/^sevt_/);
    expect(echo.outcome_id).toMatch(/^outc_/);
    // Processed on receipt (§5.2): the echo already carries processed_at.
    expect(echo.processed_at).toEqual(expect.any(String));

    expect(types(turn)).toEqual([
      'user.define_outcome', 'session.status_running',
      'span.model_request_start', 'agent.message', 'span.model_request_end',
      'span.outcome_evaluation_start', 'span.outcome_evaluation_end',
      'session.status_idle',
    ]);
    const start = turn.find(isType('span.outcome_evaluation_start'))!;
    const end = turn.find(isEvalEnd)!;
    expect(start).toMatchObject({ outcome_id: echo.outcome_id, iteration: 0 });
    expect(start.id).toMatch(/^sevt_/);
    expect(end).toMatchObject({
      outcome_evaluation_start_id: start.id, outcome_id: echo.outcome_id, iteration: 0,
      result: 'satisfied', explanation: 'Three lines, mentions waves.',
      usage: { input_tokens: 321, output_tokens: 45, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });

    // The stream and the persisted log agree.
    expect((await listEvents(client, s.id)).map((e) => e.id)).toEqual(persisted(turn).map((e) => e.id));

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.status).toBe('idle');
    expect(session.outcome_evaluations).toHaveLength(1);
    expect(session.outcome_evaluations[0]).toMatchObject({
      type: 'outcome_evaluation', outcome_id: echo.outcome_id, description: 'Write a haiku about the sea',
      result: 'satisfied', explanation: 'Three lines, mentions waves.',
    });
    expect(session.outcome_evaluations[0].completed_at).toEqual(expect.any(String));
  });

  it('gives the agent the outcome as its task and the grader its own context: rubric, description and evidence, never the agent system prompt', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('FINAL-ANSWER-TEXT: the sea is wide')],
      grader: [verdict('satisfied', 'ok')],
    });
    await runOutcome(s.id, defineOutcome('DESCRIPTION-TEXT: describe the sea', 'RUBRIC-TEXT: one sentence'));

    expect(rig.up.requests).toHaveLength(2);
    const [agentReq, graderReq] = rig.up.requests;
    expect(isGraderRequest(agentReq)).toBe(false);
    expect(requestText(agentReq)).toContain(AGENT_SYSTEM);
    expect(lastUserText(agentReq)).toContain('DESCRIPTION-TEXT: describe the sea');

    expect(isGraderRequest(graderReq)).toBe(true);
    // The grader defaults to the agent's model.
    expect(graderReq.body.model).toBe(MODEL);
    expect(graderReq.body.tool_choice).toEqual({ type: 'tool', name: 'submit_verdict' });
    expect(graderReq.body.tools).toHaveLength(1);
    expect(graderReq.body.tools[0]).toMatchObject({
      name: 'submit_verdict',
      input_schema: { type: 'object', properties: { result: { enum: ['satisfied', 'needs_revision', 'failed'] } }, required: ['result', 'explanation'] },
    });
    const graderText = requestText(graderReq);
    expect(graderText).not.toContain(AGENT_SYSTEM);
    expect(graderText).toContain('RUBRIC-TEXT: one sentence');
    expect(graderText).toContain('DESCRIPTION-TEXT: describe the sea');
    expect(graderText).toContain('FINAL-ANSWER-TEXT: the sea is wide');
    // Its own context: a single user turn, not the agent's conversation.
    expect(graderReq.body.messages).toHaveLength(1);
    expect(graderReq.body.messages[0].role).toBe('user');
  });

  it('accepts the outcome in initial_events: the session starts running with the outcome pending, then completes it', async () => {
    routeModelRequests(rig.up, { agent: [say('done')], grader: [verdict('satisfied', 'fine')] });
    const agent = await newAgent(client);
    const s = await client.beta.sessions.create({
      agent: agent.id, environment_id: rig.envId, initial_events: [defineOutcome('Say done')],
    });
    expect(s.status).toBe('running');
    expect(s.outcome_evaluations).toHaveLength(1);
    expect(s.outcome_evaluations[0]).toMatchObject({
      type: 'outcome_evaluation', description: 'Say done', iteration: 0, result: 'pending', explanation: null, completed_at: null,
    });
    expect(s.outcome_evaluations[0].outcome_id).toMatch(/^outc_/);
    await waitForStatus(client, s.id, 'idle');
    const log = await listEvents(client, s.id);
    expect(log[0]).toMatchObject({ type: 'user.define_outcome', outcome_id: s.outcome_evaluations[0].outcome_id, max_iterations: 3 });
    expect(ofType(log, 'span.outcome_evaluation_end')).toMatchObject([{ result: 'satisfied', iteration: 0 }]);
    expect((await client.beta.sessions.retrieve(s.id)).outcome_evaluations[0].result).toBe('satisfied');
  });

  it('reports outcome_evaluations[].result pending → running → evaluating → satisfied', async () => {
    const agentGate = gate();
    const graderGate = gate();
    routeModelRequests(rig.up, {
      agent: [async () => { await agentGate.wait; return say('work'); }],
      grader: [async () => { await graderGate.wait; return verdict('satisfied', 'good work'); }],
    });
    const agent = await newAgent(client);
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, initial_events: [defineOutcome('Do the work')] });
    expect(s.outcome_evaluations[0].result).toBe('pending');

    await rig.up.waitForRequests(1);
    const working = await client.beta.sessions.retrieve(s.id);
    expect(working.outcome_evaluations[0]).toMatchObject({ result: 'running', iteration: 0, completed_at: null });

    agentGate.open();
    await rig.up.waitForRequests(2);
    const grading = await client.beta.sessions.retrieve(s.id);
    expect(grading.status).toBe('running');
    expect(grading.outcome_evaluations[0]).toMatchObject({ result: 'evaluating', iteration: 0, completed_at: null });

    graderGate.open();
    const done = await waitForStatus(client, s.id, 'idle');
    expect(done.outcome_evaluations[0]).toMatchObject({ result: 'satisfied', explanation: 'good work' });
    expect(done.outcome_evaluations[0].completed_at).toEqual(expect.any(String));
  });

  it('keeps outcome_evaluations[].iteration at the evaluated revision cycle once the outcome is terminal (0-indexed, as on the span)', async () => {
    // SDK: `iteration` is the "0-indexed revision cycle the outcome is currently on". An outcome
    // satisfied on cycle 0 never starts a cycle 1; one satisfied after a revision ends on cycle 1.
    const first = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('done')], grader: [verdict('satisfied', 'fine')] });
    const once = (await runOutcome(first.id)).turn.filter(isEvalEnd).at(-1)!;

    const second = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('draft'), say('fixed')], grader: [verdict('needs_revision', 'fix'), verdict('satisfied', 'fine')] });
    const revised = (await runOutcome(second.id)).turn.filter(isEvalEnd).at(-1)!;
    expect([once.iteration, revised.iteration]).toEqual([0, 1]);

    const shown = await Promise.all([first.id, second.id].map(async (id) => (await client.beta.sessions.retrieve(id)).outcome_evaluations[0].iteration));
    expect(shown).toEqual([0, 1]);
  });
});

describe('user.define_outcome: revisions and terminal results', () => {
  it('needs revision twice then satisfied: each revision request to the agent carries the grader explanation', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('DRAFT-1'), say('DRAFT-2'), say('DRAFT-3')],
      grader: [
        verdict('needs_revision', 'EXPLANATION-A: the second line is missing.'),
        verdict('needs_revision', 'EXPLANATION-B: mention the waves.'),
        verdict('satisfied', 'All criteria met.'),
      ],
    });
    const { echo, turn } = await runOutcome(s.id);

    // One running period: the session stays running across evaluations and revisions.
    expect(ofType(turn, 'session.status_running')).toHaveLength(1);
    expect(ofType(turn, 'session.status_idle')).toHaveLength(1);
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    const starts = ofType(turn, 'span.outcome_evaluation_start');
    const ends = ofType(turn, 'span.outcome_evaluation_end');
    expect(starts.map((e) => e.iteration)).toEqual([0, 1, 2]);
    expect(ends.map((e) => [e.iteration, e.result])).toEqual([[0, 'needs_revision'], [1, 'needs_revision'], [2, 'satisfied']]);
    ends.forEach((e, i) => {
      expect(e.outcome_evaluation_start_id).toBe(starts[i].id);
      expect(e.outcome_id).toBe(echo.outcome_id);
    });
    expect(ends.map((e) => e.explanation)).toEqual(['EXPLANATION-A: the second line is missing.', 'EXPLANATION-B: mention the waves.', 'All criteria met.']);
    expect(ofType(turn, 'agent.message').map((e) => e.content[0].text)).toEqual(['DRAFT-1', 'DRAFT-2', 'DRAFT-3']);

    // Agent, grader, agent, grader, agent, grader.
    expect(rig.up.requests.map(isGraderRequest)).toEqual([false, true, false, true, false, true]);
    const [a1, a2, a3] = agentRequests(rig.up.requests);
    expect(lastUserText(a1)).not.toContain('EXPLANATION-A');
    expect(lastUserText(a2)).toContain('EXPLANATION-A: the second line is missing.');
    expect(lastUserText(a3)).toContain('EXPLANATION-B: mention the waves.');
    // Each evaluation judges the latest work.
    const [g1, g2, g3] = graderRequests(rig.up.requests);
    expect(requestText(g1)).toContain('DRAFT-1');
    expect(requestText(g2)).toContain('DRAFT-2');
    expect(requestText(g3)).toContain('DRAFT-3');

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.outcome_evaluations[0]).toMatchObject({ result: 'satisfied', explanation: 'All criteria met.' });
  });

  it('shows the revision cycle in outcome_evaluations while the agent revises', async () => {
    const revising = gate();
    routeModelRequests(rig.up, {
      agent: [say('DRAFT-1'), async () => { await revising.wait; return say('DRAFT-2'); }],
      grader: [verdict('needs_revision', 'FIX-IT'), verdict('satisfied', 'ok')],
    });
    const s = await outcomeSession();
    await sendEvents(client, s.id, defineOutcome('Do it'));
    await rig.up.waitForRequests(3);
    const mid = await client.beta.sessions.retrieve(s.id);
    expect(mid.status).toBe('running');
    expect(mid.outcome_evaluations[0]).toMatchObject({ result: 'running', iteration: 1, explanation: 'FIX-IT', completed_at: null });
    revising.open();
    await waitForStatus(client, s.id, 'idle');
  });

  it('failed ends the outcome at once and idles with end_turn', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('I cannot do that')], grader: [verdict('failed', 'The rubric cannot apply to this work.')] });
    const { turn } = await runOutcome(s.id);
    expect(ofType(turn, 'span.outcome_evaluation_end')).toMatchObject([{ result: 'failed', iteration: 0, explanation: 'The rubric cannot apply to this work.' }]);
    expect(turn.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    expect(rig.up.requests).toHaveLength(2);
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.outcome_evaluations[0]).toMatchObject({ result: 'failed', explanation: 'The rubric cannot apply to this work.' });
    expect(session.outcome_evaluations[0].completed_at).toEqual(expect.any(String));
  });

  it('max_iterations_reached: a needs_revision on the last allowed evaluation gets one wrap-up turn, then idle without more grading', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('DRAFT-1'), say('DRAFT-2'), say('WRAP-UP: here is what remains')],
      grader: [verdict('needs_revision', 'FIX-ONE'), verdict('needs_revision', 'FIX-TWO')],
    });
    const { echo, turn } = await runOutcome(s.id, defineOutcome('Do it well', 'be perfect', { max_iterations: 2 }));
    expect(echo.max_iterations).toBe(2);

    const ends = ofType(turn, 'span.outcome_evaluation_end');
    expect(ends.map((e) => [e.iteration, e.result])).toEqual([[0, 'needs_revision'], [1, 'max_iterations_reached']]);
    expect(ends[1].explanation).toBe('FIX-TWO');
    // After the last verdict: exactly one more agent request (the wrap-up), no evaluation, then idle.
    const after = turn.slice(turn.indexOf(ends[1]) + 1);
    expect(types(after)).toEqual(['span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle']);
    expect(after[1].content[0].text).toBe('WRAP-UP: here is what remains');
    expect(after.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });

    expect(rig.up.requests.map(isGraderRequest)).toEqual([false, true, false, true, false]);
    const wrapUp = agentRequests(rig.up.requests)[2];
    expect(lastUserText(wrapUp)).toContain('FIX-TWO');

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.outcome_evaluations[0]).toMatchObject({ result: 'max_iterations_reached', explanation: 'FIX-TWO' });
    expect(session.outcome_evaluations[0].completed_at).toEqual(expect.any(String));
  });

  it('with max_iterations 1 the first needs_revision is already max_iterations_reached', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('DRAFT'), say('WRAP')], grader: [verdict('needs_revision', 'not yet')] });
    const { turn } = await runOutcome(s.id, defineOutcome('Do it', 'rubric', { max_iterations: 1 }));
    expect(ofType(turn, 'span.outcome_evaluation_end')).toMatchObject([{ iteration: 0, result: 'max_iterations_reached' }]);
    expect(rig.up.requests.map(isGraderRequest)).toEqual([false, true, false]);
  });

  it('a turn with tool calls is graded only once it is finished, and the evidence includes the calls and their results', async () => {
    const agent = await newAgent(client, { tools: [customTool('lookup')] });
    const s = await newSession(rig, { agent: agent.id });
    routeModelRequests(rig.up, {
      agent: [{ content: [toolUse('lookup', { q: 'QUERY-7' })] }, say('The answer is 42.')],
      grader: [verdict('satisfied', 'uses the lookup')],
    });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, defineOutcome('Find the answer'));
      const first = await tap.until(isIdle);
      expect(first.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action' } });
      expect(ofType(first, 'span.outcome_evaluation_start')).toHaveLength(0);
      expect(graderRequests(rig.up.requests)).toHaveLength(0);
      const use = first.find(isType('agent.custom_tool_use'))!;
      await sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'TOOL-RESULT-42' }] });
      const rest = await tap.until(isIdle);
      expect(ofType(rest, 'span.outcome_evaluation_end')).toMatchObject([{ result: 'satisfied' }]);
      expect(rest.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    } finally {
      tap.close();
    }
    const [g] = graderRequests(rig.up.requests);
    const evidence = requestText(g);
    expect(evidence).toContain('lookup');
    expect(evidence).toContain('QUERY-7');
    expect(evidence).toContain('TOOL-RESULT-42');
    expect(evidence).toContain('The answer is 42.');
  });
  it('an outcome defined while the agent answers an earlier message is worked on before it is graded', async () => {
    // §4.5/§5.2: define_outcome is processed on receipt and "starts work". The in-flight answer was
    // written before the agent knew the outcome, so it must not be what the grader judges.
    const hold = gate();
    routeModelRequests(rig.up, {
      agent: [async () => { await hold.wait; return say('REPLY-TO-HI'); }, say('OUTCOME-WORK')],
      grader: [verdict('satisfied', 'ok')],
    });
    const s = await outcomeSession();
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('hi'));
      await rig.up.waitForRequests(1);
      await sendEvents(client, s.id, defineOutcome('OUTCOME-DESC: write the report'));
      hold.open();
      await tap.until(isEvalEnd);
      await tap.until(isIdle);
    } finally {
      tap.close();
    }
    expect(rig.up.requests.map((r) => (isGraderRequest(r) ? 'grader' : 'agent'))).toEqual(['agent', 'agent', 'grader']);
    expect(lastUserText(rig.up.requests[1])).toContain('OUTCOME-DESC: write the report');
    expect(requestText(rig.up.requests[2])).toContain('OUTCOME-WORK');
  });
});

describe('user.define_outcome: malformed verdicts', () => {
  it('retries a malformed verdict and uses the first valid one', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('work')],
      grader: [say('I think it is fine.'), verdict('satisfied', 'ok now')],
    });
    const { turn } = await runOutcome(s.id);
    expect(ofType(turn, 'span.outcome_evaluation_start')).toHaveLength(1);
    expect(ofType(turn, 'span.outcome_evaluation_end')).toMatchObject([{ result: 'satisfied', explanation: 'ok now' }]);
    expect(graderRequests(rig.up.requests)).toHaveLength(2);
  });

  it('after three malformed verdicts (no tool call, bad enum, missing explanation) the result is failed, with usage summed over the attempts', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, {
      agent: [say('work')],
      grader: [
        { content: [{ type: 'text', text: 'no tool call' }], usage: { input_tokens: 100, output_tokens: 10 } },
        { content: [{ type: 'tool_use', name: 'submit_verdict', input: { result: 'great', explanation: 'x' } }], usage: { input_tokens: 200, output_tokens: 20 } },
        { content: [{ type: 'tool_use', name: 'submit_verdict', input: { result: 'satisfied' } }], usage: { input_tokens: 300, output_tokens: 30, cache_read_input_tokens: 7 } },
      ],
    });
    const { turn } = await runOutcome(s.id);
    const [end] = ofType(turn, 'span.outcome_evaluation_end');
    expect(end).toMatchObject({
      result: 'failed', iteration: 0,
      usage: { input_tokens: 600, output_tokens: 60, cache_read_input_tokens: 7, cache_creation_input_tokens: 0 },
    });
    expect(end.explanation).toEqual(expect.any(String));
    expect(end.explanation.length).toBeGreaterThan(0);
    expect(graderRequests(rig.up.requests)).toHaveLength(3);
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect((await client.beta.sessions.retrieve(s.id)).outcome_evaluations[0].result).toBe('failed');
  });
});

describe('user.define_outcome: interrupts', () => {
  it('an interrupt while the grader works ends the evaluation with interrupted and idles with end_turn', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('work')], grader: [{ content: [{ type: 'text', text: '' }], hang: true }] });
    const tap = await EventTap.open(client, s.id);
    try {
      const [echo] = await sendEvents(client, s.id, defineOutcome('Do it'));
      const upToStart = await tap.until(isType('span.outcome_evaluation_start'));
      const start = upToStart.at(-1)!;
      await rig.up.waitForRequests(2);
      expect((await client.beta.sessions.retrieve(s.id)).outcome_evaluations[0].result).toBe('evaluating');

      await sendEvents(client, s.id, interrupt());
      const rest = await tap.until(isIdle);
      expect(types(rest)).toEqual(['user.interrupt', 'span.outcome_evaluation_end', 'session.status_idle']);
      expect(rest[1]).toMatchObject({ outcome_evaluation_start_id: start.id, outcome_id: echo.outcome_id, iteration: 0, result: 'interrupted' });
      expect(rest[2]).toMatchObject({ stop_reason: { type: 'end_turn' } });
    } finally {
      tap.close();
    }
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.status).toBe('idle');
    expect(session.outcome_evaluations[0]).toMatchObject({ result: 'interrupted' });
    expect(session.outcome_evaluations[0].completed_at).toEqual(expect.any(String));

    // The outcome is over: a later message is answered without grading.
    routeModelRequests(rig.up, { agent: [say('hello again')] });
    const before = rig.up.requests.length;
    const tap2 = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('hi'));
    const turn = await tap2.until(isIdle);
    tap2.close();
    expect(ofType(turn, 'span.outcome_evaluation_start')).toHaveLength(0);
    expect(rig.up.requests.slice(before).some(isGraderRequest)).toBe(false);
  });

  it('an interrupt while the agent works ends the outcome with interrupted and an empty start id', async () => {
    const s = await outcomeSession();
    routeModelRequests(rig.up, { agent: [{ content: [{ type: 'text', text: 'partial work that never ends' }], hang: true }] });
    const tap = await EventTap.open(client, s.id);
    try {
      const [echo] = await sendEvents(client, s.id, defineOutcome('Do it'));
      await rig.up.waitForRequests(1);
      await tap.until(isType('span.model_request_start'));
      await sendEvents(client, s.id, interrupt());
      const rest = await tap.until(isIdle);
      const [end] = ofType(rest, 'span.outcome_evaluation_end');
      expect(end).toMatchObject({ outcome_evaluation_start_id: '', outcome_id: echo.outcome_id, iteration: 0, result: 'interrupted' });
      expect(ofType(rest, 'span.outcome_evaluation_start')).toHaveLength(0);
      expect(rest.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    } finally {
      tap.close();
    }
    expect(graderRequests(rig.up.requests)).toHaveLength(0);
    expect((await client.beta.sessions.retrieve(s.id)).outcome_evaluations[0].result).toBe('interrupted');
  });
});

describe('user.define_outcome: one active outcome at a time', () => {
  it('rejects a second outcome while one is active with 400, and accepts a new one once the first is terminal', async () => {
    const hold = gate();
    routeModelRequests(rig.up, {
      agent: [async () => { await hold.wait; return say('first'); }, say('second')],
      grader: [verdict('satisfied', 'one'), verdict('satisfied', 'two')],
    });
    const s = await outcomeSession();
    const [first] = await sendEvents(client, s.id, defineOutcome('First outcome'));
    await rig.up.waitForRequests(1);

    const err = await rejection(sendEvents(client, s.id, defineOutcome('Second outcome')));
    expect(err.status).toBe(400);
    expect((err.error as any)?.error?.type).toBe('invalid_request_error');
    // Nothing of the rejected request was persisted.
    expect(ofType(await listEvents(client, s.id), 'user.define_outcome')).toHaveLength(1);

    hold.open();
    await waitForStatus(client, s.id, 'idle');
    expect((await client.beta.sessions.retrieve(s.id)).outcome_evaluations[0].result).toBe('satisfied');

    const { echo: second } = await runOutcome(s.id, defineOutcome('Second outcome'));
    expect(second.outcome_id).toMatch(/^outc_/);
    expect(second.outcome_id).not.toBe(first.outcome_id);
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.outcome_evaluations.map((o) => [o.outcome_id, o.description, o.result])).toEqual([
      [first.outcome_id, 'First outcome', 'satisfied'],
      [second.outcome_id, 'Second outcome', 'satisfied'],
    ]);
  });

  it('rejects two outcomes in one send, and two in initial_events, with 400', async () => {
    const s = await outcomeSession();
    const err = await rejection(sendEvents(client, s.id, defineOutcome('one'), defineOutcome('two')));
    expect(err.status).toBe(400);
    expect(await listEvents(client, s.id)).toEqual([]);

    const agent = await newAgent(client);
    const err2 = await rejection(client.beta.sessions.create({
      agent: agent.id, environment_id: rig.envId, initial_events: [defineOutcome('one'), defineOutcome('two')],
    }));
    expect(err2.status).toBe(400);
    expect(rig.up.requests).toHaveLength(0);
  });

  it('validates max_iterations (1..20) and requires a description and rubric content', async () => {
    const s = await outcomeSession();
    for (const bad of [
      defineOutcome('x', 'r', { max_iterations: 0 }),
      defineOutcome('x', 'r', { max_iterations: 21 }),
      defineOutcome('', 'r'),
      defineOutcome('x', ''),
    ]) {
      const err = await rejection(sendEvents(client, s.id, bad));
      expect(err.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await listEvents(client, s.id)).toEqual([]);
    // 20 is the documented maximum.
    routeModelRequests(rig.up, { agent: [say('ok')], grader: [verdict('satisfied', 'ok')] });
    const { echo } = await runOutcome(s.id, defineOutcome('x', 'r', { max_iterations: 20 }));
    expect(echo.max_iterations).toBe(20);
  });
});

describe('user.define_outcome: rubric from a file', () => {
  it('grades against the text of an uploaded rubric file', async () => {
    const file = await client.beta.files.upload({
      file: await toFile(Buffer.from('FILE-RUBRIC: the poem must mention penguins.\n'), 'rubric.md', { type: 'text/markdown' }),
    });
    const s = await outcomeSession();
    routeModelRequests(rig.up, { agent: [say('Penguins waddle')], grader: [verdict('satisfied', 'mentions penguins')] });
    const { echo, turn } = await runOutcome(s.id, defineOutcome('Write a poem', { type: 'file', file_id: file.id }));
    // The echo may carry the file reference or its resolved text (SDK: clients handle both).
    expect(['file', 'text']).toContain(echo.rubric.type);
    expect(ofType(turn, 'span.outcome_evaluation_end')).toMatchObject([{ result: 'satisfied' }]);
    const [g] = graderRequests(rig.up.requests);
    expect(requestText(g)).toContain('FILE-RUBRIC: the poem must mention penguins.');
  });

  it('rejects an unknown rubric file with 400 (on send and in initial_events)', async () => {
    const s = await outcomeSession();
    const err = await rejection(sendEvents(client, s.id, defineOutcome('x', { type: 'file', file_id: 'file_doesnotexist0000000000' })));
    expect(err.status).toBe(400);
    expect(await listEvents(client, s.id)).toEqual([]);

    const agent = await newAgent(client);
    const err2 = await rejection(client.beta.sessions.create({
      agent: agent.id, environment_id: rig.envId, initial_events: [defineOutcome('x', { type: 'file', file_id: 'file_doesnotexist0000000000' })],
    }));
    expect(err2.status).toBe(400);
    expect(rig.up.requests).toHaveLength(0);
  });
});

describe('user.define_outcome: heartbeat and grader model', () => {
  let fast: Rig;
  beforeAll(async () => {
    fast = await startRig({ HANGAR_OUTCOME_ONGOING_MS: '20', HANGAR_GRADER_MODEL: 'claude-haiku-4-5' });
  });
  afterAll(async () => {
    await fast?.close();
  });

  it('emits span.outcome_evaluation_ongoing while a slow grader works, and grades with the configured grader model', async () => {
    const agent = await newAgent(fast.client);
    const s = await newSession(fast, { agent: agent.id });
    routeModelRequests(fast.up, { agent: [say('work')], grader: [verdict('satisfied', 'slow but sure', { delayMs: 250 })] });
    const tap = await EventTap.open(fast.client, s.id);
    let turn: Ev[];
    let echo: Ev;
    try {
      [echo] = await sendEvents(fast.client, s.id, defineOutcome('Do it'));
      turn = await tap.until(isIdle);
    } finally {
      tap.close();
    }
    const startIdx = turn.findIndex(isType('span.outcome_evaluation_start'));
    const endIdx = turn.findIndex(isEvalEnd);
    const ongoing = ofType(turn, 'span.outcome_evaluation_ongoing');
    expect(ongoing.length).toBeGreaterThanOrEqual(1);
    for (const e of ongoing) {
      expect(e).toMatchObject({ outcome_id: echo.outcome_id, iteration: 0 });
      expect(e.id).toMatch(/^sevt_/);
      const i = turn.indexOf(e);
      expect(i).toBeGreaterThan(startIdx);
      expect(i).toBeLessThan(endIdx);
    }
    // Persisted like the other spans (§6).
    expect(ofType(await listEvents(fast.client, s.id), 'span.outcome_evaluation_ongoing').length).toBeGreaterThanOrEqual(1);

    const [agentReq, graderReq] = fast.up.requests;
    expect(agentReq.body.model).toBe(MODEL);
    expect(graderReq.body.model).toBe('claude-haiku-4-5');
  });
});
