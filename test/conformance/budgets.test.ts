// Budgets and list cost (docs/API-SPEC.md §4.4 budget/usage, §4.5 settle-only rule, §5.1 budget row,
// §5.2 flow 9, §6 session.usage/session.updated) through the official SDK against a live Hangar
// with a scripted upstream. Most tests price a test model at exactly one cent per token
// (HANGAR_PRICING), so caps and spend read as token counts; the arithmetic test uses the real
// list price of the default model.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  EventTap, customTool, defineOutcome, graderRequests, isGraderRequest, isIdle, isType, lastUserText, listEvents, MODEL,
  newAgent, newSession, rejection, routeModelRequests, say, sendEvents, startRig, text, toolUse, types, verdict, waitForStatus,
  lacks, type Ev, type Rig,
} from './helpers.ts';
import type { FakeReply } from '../kit/fake-upstream.ts';

/** One cent per input or output token: 10 000 USD per million tokens. */
const CENT_MODEL = 'cent-model';
const FREE_MODEL = 'free-model';
const PRICING = JSON.stringify({
  [CENT_MODEL]: { input: 10_000, output: 10_000 },
  [FREE_MODEL]: { input: 0, output: 0, cache_write_5m: 0, cache_write_1h: 0, cache_read: 0 },
});

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig({ HANGAR_PRICING: PRICING });
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const usd = (cents: number | string) => ({ type: 'limit' as const, max_list_cost: { amount: String(cents), currency: 'USD' as const } });
const costs = (inputTokens: number, outputTokens: number, t = 'ok'): FakeReply => ({ content: [{ type: 'text', text: t }], usage: { input_tokens: inputTokens, output_tokens: outputTokens } });
const isBudgetIdle = (e: Ev) => e.type === 'session.status_idle' && e.stop_reason?.type === 'budget_reached';
const ofType = (events: Ev[], type: string) => events.filter((e) => e.type === type);

async function budgetedSession(cents: number | string, opts: { model?: string; tools?: any[] } = {}) {
  const agent = await newAgent(client, { model: opts.model ?? CENT_MODEL, ...(opts.tools ? { tools: opts.tools } : {}) });
  return newSession(rig, { agent: agent.id, budget: usd(cents) });
}

/** Sends events and returns every streamed event up to the first match of `until`. */
async function drive(sessionId: string, send: () => Promise<unknown>, until: (e: Ev) => boolean = isIdle): Promise<Ev[]> {
  const tap = await EventTap.open(client, sessionId);
  try {
    await send();
    return await tap.until(until);
  } finally {
    tap.close();
  }
}

/**
 * A session with a 100-cent cap that spent 120 cents in its first turn (the crossing request
 * finishes), then was paused by the gate when a second message arrived.
 */
async function pausedSession() {
  const s = await budgetedSession(100);
  rig.up.script(costs(70, 50, 'first answer'));
  const first = await drive(s.id, () => sendEvents(client, s.id, text('first')));
  const paused = await drive(s.id, () => sendEvents(client, s.id, text('SECOND-MESSAGE')));
  return { s, first, paused };
}

describe('budget at creation', () => {
  it('is stored on the session, and usage.list_cost starts at 0 USD', async () => {
    const s = await budgetedSession(2500);
    expect(s.budget).toEqual(usd(2500));
    expect(s.usage.list_cost).toEqual({ amount: '0', currency: 'USD' });
    expect((await client.beta.sessions.retrieve(s.id)).budget).toEqual(usd(2500));
  });

  it('rejects a budget for a model without a list price (model_not_budgetable); without a budget its list_cost is null', async () => {
    const agent = await newAgent(client, { model: 'claude-unpriced-model-x' });
    const err = await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, budget: usd(100) }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('model_not_budgetable');
    const s = await newSession(rig, { agent: agent.id });
    expect(s.budget).toBeNull();
    expect(s.usage.list_cost ?? null).toBeNull();
  });

  it('accepts a budget for a model priced at 0 by configuration, which never spends', async () => {
    const s = await budgetedSession(1, { model: FREE_MODEL });
    rig.up.script(costs(5000, 5000));
    const turn = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect((await client.beta.sessions.retrieve(s.id)).usage.list_cost).toEqual({ amount: '0', currency: 'USD' });
  });

  it('rejects a malformed budget with 400', async () => {
    const agent = await newAgent(client, { model: CENT_MODEL });
    const bad = [
      { type: 'limit', max_list_cost: { amount: '100', currency: 'EUR' } },
      { type: 'limit', max_list_cost: { amount: '1.50', currency: 'USD' } },
      { type: 'limit', max_list_cost: { amount: '-5', currency: 'USD' } },
      { type: 'other', max_list_cost: { amount: '100', currency: 'USD' } },
    ];
    for (const budget of bad) {
      const err = await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, budget: budget as any }));
      expect(err.status, JSON.stringify(budget)).toBe(400);
    }
  });
});

describe('budget gate', () => {
  it('lets the crossing request finish, reports usage before each end-of-turn idle, then pauses: session.usage, status_idle budget_reached', async () => {
    const { s, first, paused } = await pausedSession();
    // Turn 1: the crossing request finishes and the turn ends normally, usage reported right before the idle.
    expect(types(first)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end',
      'session.usage', 'session.status_idle',
    ]);
    expect(first.at(-2)).toMatchObject({ usage: { input_tokens: 70, output_tokens: 50, list_cost: { amount: '120', currency: 'USD' } }, budget: usd(100) });
    expect(first.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });

    // Turn 2: the gate stops the model request.
    expect(types(paused)).toEqual(['user.message', 'session.status_running', 'session.usage', 'session.status_idle']);
    expect(paused[2]).toMatchObject({ usage: { list_cost: { amount: '120', currency: 'USD' } }, budget: usd(100) });
    expect(paused[3]).toMatchObject({ stop_reason: { type: 'budget_reached' } });
    expect(rig.up.requests).toHaveLength(1);

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.status).toBe('idle');
    expect(session.usage.list_cost).toEqual({ amount: '120', currency: 'USD' });
    // Persisted in the same order.
    const log = await listEvents(client, s.id);
    expect(types(log.slice(-4))).toEqual(types(paused));
  });

  it('gates the next request of the same turn: a custom tool result after a crossing request pauses the session', async () => {
    const s = await budgetedSession(100, { tools: [customTool('lookup')] });
    rig.up.script({ content: [toolUse('lookup', { q: 'x' })], usage: { input_tokens: 100, output_tokens: 50 } });
    const first = await drive(s.id, () => sendEvents(client, s.id, text('look it up')));
    // Requires-action outranks the budget: the pending call is announced, not a budget pause.
    expect(first.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action' } });
    const use = first.find(isType('agent.custom_tool_use'))!;

    const rest = await drive(s.id, () => sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'found' }] }));
    expect(types(rest)).toEqual(['user.custom_tool_result', 'session.status_running', 'session.usage', 'session.status_idle']);
    expect(rest.at(-1)).toMatchObject({ stop_reason: { type: 'budget_reached' } });
    expect(rest[2]).toMatchObject({ usage: { list_cost: { amount: '150', currency: 'USD' } }, budget: usd(100) });
    expect(rig.up.requests).toHaveLength(1);
  });

  it('also gates the grader: a crossing agent request pauses before the evaluation, and raising the budget runs it', async () => {
    const s = await budgetedSession(100);
    routeModelRequests(rig.up, {
      agent: [costs(100, 50, 'the work')],
      grader: [verdict('satisfied', 'good', { usage: { input_tokens: 10, output_tokens: 5 } })],
    });
    const paused = await drive(s.id, () => sendEvents(client, s.id, defineOutcome('Do the work')));
    expect(types(paused)).toEqual([
      'user.define_outcome', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end',
      'session.usage', 'session.status_idle',
    ]);
    expect(paused.at(-1)).toMatchObject({ stop_reason: { type: 'budget_reached' } });
    expect(graderRequests(rig.up.requests)).toHaveLength(0);
    const during = await client.beta.sessions.retrieve(s.id);
    expect(['pending', 'running']).toContain(during.outcome_evaluations[0].result);

    const resumed = await drive(s.id, () => client.beta.sessions.update(s.id, { budget: usd(1000) }));
    expect(types(resumed)).toEqual([
      'session.updated', 'session.status_running', 'span.outcome_evaluation_start', 'span.outcome_evaluation_end',
      'session.usage', 'session.status_idle',
    ]);
    expect(resumed[3]).toMatchObject({ result: 'satisfied' });
    // The grader's request counts in list_cost: 150 + 15 cents.
    expect(resumed[4]).toMatchObject({ usage: { list_cost: { amount: '165', currency: 'USD' } }, budget: usd(1000) });
    expect(resumed.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(rig.up.requests.map(isGraderRequest)).toEqual([false, true]);
  });
});

describe('settle-only rule during a budget pause', () => {
  it('rejects user.message and user.define_outcome with 400 and persists nothing', async () => {
    const { s } = await pausedSession();
    const before = await listEvents(client, s.id);
    const err = await rejection(sendEvents(client, s.id, text('more please')));
    expect(err.status).toBe(400);
    expect((err.error as any)?.error?.type).toBe('invalid_request_error');
    expect(err.message).toMatch(/budget/i);
    const err2 = await rejection(sendEvents(client, s.id, defineOutcome('new goal')));
    expect(err2.status).toBe(400);
    expect(await listEvents(client, s.id)).toEqual(before);
    expect(rig.up.requests).toHaveLength(1);
  });

  it('echoes a user.interrupt without persisting it, and the pause holds', async () => {
    const { s } = await pausedSession();
    const before = await listEvents(client, s.id);
    const [echo] = await sendEvents(client, s.id, { type: 'user.interrupt' });
    expect(echo).toMatchObject({ type: 'user.interrupt' });
    await new Promise((r) => setTimeout(r, 100));
    const after = await listEvents(client, s.id);
    expect(after).toEqual(before);
    expect(ofType(after, 'user.interrupt')).toHaveLength(0);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    expect((await rejection(sendEvents(client, s.id, text('still paused?')))).status).toBe(400);
  });

  it('lets settle events through the pause check (a tool result is judged on its own merits)', async () => {
    const { s } = await pausedSession();
    const err = await rejection(sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_unknown', content: [] }));
    expect(err.status).toBe(400);
    expect(err.message).not.toMatch(/budget/i);
  });
});

describe('budget updates', () => {
  it('raising the budget appends session.updated, resumes the paused turn and completes it', async () => {
    const { s } = await pausedSession();
    rig.up.script(costs(10, 5, 'second answer'));
    let updated!: Anthropic.Beta.Sessions.BetaManagedAgentsSession;
    const resumed = await drive(s.id, async () => {
      updated = await client.beta.sessions.update(s.id, { budget: usd(500) });
    });
    expect(updated.budget).toEqual(usd(500));
    expect(types(resumed)).toEqual([
      'session.updated', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end',
      'session.usage', 'session.status_idle',
    ]);
    expect(resumed[0]).toMatchObject({ budget: usd(500) });
    expect(Object.keys(resumed[0]).sort()).toEqual(['budget', 'id', 'processed_at', 'type']);
    expect(resumed[5]).toMatchObject({ usage: { list_cost: { amount: '135', currency: 'USD' } }, budget: usd(500) });
    expect(resumed.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    // The message accepted before the pause is what the resumed request answers.
    expect(lastUserText(rig.up.requests[1])).toContain('SECOND-MESSAGE');
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.budget).toEqual(usd(500));
    expect(session.usage.list_cost).toEqual({ amount: '135', currency: 'USD' });
  });

  it('rejects a budget at or below what was already spent (budget_not_raised) and stays paused', async () => {
    const { s } = await pausedSession();
    const before = await listEvents(client, s.id);
    for (const cents of [50, 119, 120]) {
      const err = await rejection(client.beta.sessions.update(s.id, { budget: usd(cents) }));
      expect(err.status, `${cents} cents`).toBe(400);
      expect(err.message).toContain('budget_not_raised');
    }
    expect(await listEvents(client, s.id)).toEqual(before);
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.budget).toEqual(usd(100));
    expect(session.status).toBe('idle');
    expect(rig.up.requests).toHaveLength(1);
  });

  it('accepts a lower budget that still exceeds the spend on a session that is not paused', async () => {
    const s = await budgetedSession(1000);
    rig.up.script(costs(70, 50));
    await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    const updated = await client.beta.sessions.update(s.id, { budget: usd(121) });
    expect(updated.budget).toEqual(usd(121));
    const log = await listEvents(client, s.id);
    expect(log.at(-1)).toMatchObject({ type: 'session.updated', budget: usd(121) });
  });

  it('null removes the budget for good: session.updated{budget:null}, a paused session resumes, and a budget cannot be re-added', async () => {
    const { s } = await pausedSession();
    rig.up.script(costs(10, 5, 'unbounded now'));
    const resumed = await drive(s.id, () => client.beta.sessions.update(s.id, { budget: null }));
    expect(resumed[0]).toMatchObject({ type: 'session.updated', budget: null });
    expect(types(resumed)).toEqual([
      'session.updated', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    expect(resumed.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.budget).toBeNull();
    // Cost is still tracked without a budget.
    expect(session.usage.list_cost).toEqual({ amount: '135', currency: 'USD' });

    const err = await rejection(client.beta.sessions.update(s.id, { budget: usd(10_000) }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('budget_create_only');
  });

  it('a session created without a budget cannot get one (budget_create_only)', async () => {
    const agent = await newAgent(client, { model: CENT_MODEL });
    const s = await newSession(rig, { agent: agent.id });
    const err = await rejection(client.beta.sessions.update(s.id, { budget: usd(100) }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('budget_create_only');
    expect(await listEvents(client, s.id)).toEqual([]);
    expect((await client.beta.sessions.retrieve(s.id)).budget).toBeNull();
  });

  it('an interrupted evaluation does not keep holding budget: the next turn runs normally', async () => {
    // 1000-cent cap; the agent's request spends 15 cents, the grader hangs and is interrupted.
    const s = await budgetedSession(1000);
    routeModelRequests(rig.up, {
      agent: [costs(10, 5, 'work'), costs(10, 5, 'hello again')],
      grader: [{ content: [{ type: 'text', text: '' }], hang: true }],
    });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, defineOutcome('Do it'));
      await tap.until(isType('span.outcome_evaluation_start'));
      await rig.up.waitForRequests(2);
      await sendEvents(client, s.id, { type: 'user.interrupt' });
      const stopped = await tap.until(isIdle);
      expect(stopped.find(isType('span.outcome_evaluation_end'))).toMatchObject({ result: 'interrupted' });
    } finally {
      tap.close();
    }
    const spent = (await client.beta.sessions.retrieve(s.id)).usage.list_cost;
    expect(spent).toEqual({ amount: '15', currency: 'USD' });
    // 15 of 1000 cents spent: the next message must reach the model.
    const turn = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(turn.some(isBudgetIdle)).toBe(false);
    expect(rig.up.requests).toHaveLength(3);
  });
  it('a transient grader error does not pause a session far below its cap: the retried evaluation runs', async () => {
    // 1000-cent cap, 15 cents spent by the agent; the grader's first request fails with a
    // retryable 500 and its retry must be allowed (nothing close to the cap has been spent).
    const s = await budgetedSession(1000);
    routeModelRequests(rig.up, {
      agent: [costs(10, 5, 'work')],
      grader: [{ kind: 'error', status: 500, type: 'api_error', message: 'transient' }, verdict('satisfied', 'ok', { usage: { input_tokens: 10, output_tokens: 5 } })],
    });
    const turn = await drive(s.id, () => sendEvents(client, s.id, defineOutcome('Do it')));
    expect(turn.some(isBudgetIdle)).toBe(false);
    expect(turn.find(isType('session.error'))).toMatchObject({ error: { retry_status: { type: 'retrying' } } });
    expect(turn.find(isType('span.outcome_evaluation_end'))).toMatchObject({ result: 'satisfied' });
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(graderRequests(rig.up.requests)).toHaveLength(2);
    expect((await client.beta.sessions.retrieve(s.id)).usage.list_cost).toEqual({ amount: '30', currency: 'USD' });
  });
});

describe('failed agent requests release their reservation', () => {
  // Each request reserves its worst case (prompt + max_tokens at one cent per token, far above
  // the 1000-cent cap) while in flight. A failed request spent nothing: if its reservation
  // stayed, the gate would count it and pause the session with budget_reached.
  it('a transient 500 then a retry: the retried request runs and the turn completes', async () => {
    const s = await budgetedSession(1000);
    rig.up.script({ kind: 'error', status: 500, type: 'api_error', message: 'transient' }, costs(10, 5, 'after retry'));
    const turn = await drive(s.id, () => sendEvents(client, s.id, text('go')));
    expect(turn.some(isBudgetIdle)).toBe(false);
    expect(turn.find(isType('session.error'))).toMatchObject({ error: { retry_status: { type: 'retrying' } } });
    expect(turn.filter(isType('agent.message')).map((e) => e.content[0].text)).toEqual(['after retry']);
    expect(turn.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(rig.up.requests).toHaveLength(2);
    expect((await client.beta.sessions.retrieve(s.id)).usage.list_cost).toEqual({ amount: '15', currency: 'USD' });
    // And the next turn is not held back either.
    rig.up.script(costs(10, 5, 'second turn'));
    const next = await drive(s.id, () => sendEvents(client, s.id, text('again')));
    expect(next.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(rig.up.requests).toHaveLength(3);
  });

  it('a request that ends the turn (401, retries_exhausted) releases it too: the next message runs', async () => {
    const s = await budgetedSession(1000);
    rig.up.script({ kind: 'error', status: 401, type: 'authentication_error', message: 'invalid x-api-key' });
    const failed = await drive(s.id, () => sendEvents(client, s.id, text('go')));
    expect(failed.at(-1)).toMatchObject({ stop_reason: { type: 'retries_exhausted' } });
    rig.up.script(costs(10, 5, 'key fixed'));
    const next = await drive(s.id, () => sendEvents(client, s.id, text('again')));
    expect(next.some(isBudgetIdle)).toBe(false);
    expect(next.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    expect(rig.up.requests).toHaveLength(2);
  });
});

describe('list cost arithmetic', () => {
  it.skipIf(lacks('openai', 'it prices cache-write tokens, which Chat Completions does not report (openai-provider.test.ts checks list_cost with cached reads)'))('sums every model request (grader included) at the model list price, reported in whole cents rounded down', async () => {
    // claude-sonnet-4-6 is priced as claude-sonnet-4 (USD per million tokens): input 3, output 15,
    // 5-minute cache write 3.75, cache read 0.3. The fake upstream reports cache_creation_input_tokens
    // without a TTL breakdown, which counts as 5-minute writes.
    const P = { input: 3, output: 15, cacheWrite5m: 3.75, cacheRead: 0.3 };
    const requests = [
      { kind: 'agent', usage: { input_tokens: 12_000, output_tokens: 8_000, cache_read_input_tokens: 50_000, cache_creation_input_tokens: 20_000 } },
      { kind: 'grader', usage: { input_tokens: 30_000, output_tokens: 2_500, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } },
      { kind: 'agent', usage: { input_tokens: 1_000, output_tokens: 10_000, cache_read_input_tokens: 70_000, cache_creation_input_tokens: 3_000 } },
      { kind: 'grader', usage: { input_tokens: 31_000, output_tokens: 3_733, cache_read_input_tokens: 1, cache_creation_input_tokens: 1 } },
    ];
    const micros = requests.map(({ usage: u }) => Math.round(
      u.input_tokens * P.input + u.output_tokens * P.output + u.cache_read_input_tokens * P.cacheRead + u.cache_creation_input_tokens * P.cacheWrite5m,
    ));
    expect(micros).toEqual([246_000, 127_500, 185_250, 148_999]);
    const cumulativeCents = micros.map((_, i) => Math.floor(micros.slice(0, i + 1).reduce((a, b) => a + b, 0) / 10_000));
    // 707 749 micro-USD = 70.77 cents → "70" (rounded down, never up).
    expect(cumulativeCents).toEqual([24, 37, 55, 70]);

    const agent = await newAgent(client, { model: MODEL });
    const s = await newSession(rig, { agent: agent.id, budget: usd(100_000) });
    // Before each request, record the list cost the session shows (what the earlier requests cost).
    const seen: string[] = [];
    const snapshot = async () => {
      const cur = await client.beta.sessions.retrieve(s.id);
      seen.push(String(cur.usage.list_cost?.amount));
    };
    const reply = (i: number, r: FakeReply) => async () => {
      await snapshot();
      return { ...r, usage: requests[i].usage } as FakeReply;
    };
    routeModelRequests(rig.up, {
      agent: [reply(0, say('DRAFT-1')), reply(2, say('DRAFT-2'))],
      grader: [reply(1, verdict('needs_revision', 'more')), reply(3, verdict('satisfied', 'good'))],
    });
    const turn = await drive(s.id, () => sendEvents(client, s.id, defineOutcome('Write it')));
    expect(rig.up.requests.map(isGraderRequest)).toEqual([false, true, false, true]);
    expect(seen).toEqual(['0', '24', '37', '55']);

    const usageEvent = turn.at(-2)!;
    expect(usageEvent.type).toBe('session.usage');
    expect(usageEvent.usage.list_cost).toEqual({ amount: '70', currency: 'USD' });

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.usage).toMatchObject({
      input_tokens: 74_000, output_tokens: 24_233, cache_read_input_tokens: 120_001,
      cache_creation: { ephemeral_5m_input_tokens: 23_001, ephemeral_1h_input_tokens: 0 },
      list_cost: { amount: '70', currency: 'USD' },
    });
    // Each evaluation's span carries its grader's usage.
    expect(turn.filter(isType('span.outcome_evaluation_end')).map((e) => e.usage)).toEqual([requests[1].usage, requests[3].usage]);
  });

  it('accumulates across turns and keeps the cents of a session without a budget', async () => {
    const agent = await newAgent(client, { model: CENT_MODEL });
    const s = await newSession(rig, { agent: agent.id });
    expect(s.usage.list_cost).toEqual({ amount: '0', currency: 'USD' });
    for (const [i, o, total] of [[3, 4, '7'], [10, 0, '17'], [0, 1, '18']] as const) {
      rig.up.script(costs(i, o));
      const turn = await drive(s.id, () => sendEvents(client, s.id, text('again')));
      // No budget: no session.usage at the end of the turn.
      expect(turn.filter(isType('session.usage'))).toHaveLength(0);
      expect((await client.beta.sessions.retrieve(s.id)).usage.list_cost).toEqual({ amount: total, currency: 'USD' });
    }
    await waitForStatus(client, s.id, 'idle');
  });
});
