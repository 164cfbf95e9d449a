// Spend limits (issue 11) through the official SDK's `client.beta.organization.spendLimits` against
// live Hangar nodes with a scripted upstream: the wire shapes, bad input, and the race — 50 sessions
// on two nodes sharing one store, all sending at once against a workspace limit that admits 10
// requests' worst case, never spend past it; raising the limit resumes the paused sessions.
// Run again on PostgreSQL by test/conformance/postgres/spend-limits.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { eventually, listEvents, rejection, text, type Ev } from './helpers.ts';
import { DEFAULT_WORKSPACE_ID } from '../../src/domain/workspace.ts';
import { clientFor } from './workspace-kit.ts';

/** Output costs one cent per token, input nothing: a request's worst case is exactly MAX_TOKENS cents. */
const MODEL = 'cent-output-model';
const MAX_TOKENS = 10;
const PRICING = JSON.stringify({ [MODEL]: { input: 0, output: 10_000, cache_write_5m: 0, cache_write_1h: 0, cache_read: 0 } });
const SESSIONS = 50;
/** Admits exactly 10 requests' worst case. */
const LIMIT_CENTS = 10 * MAX_TOKENS;

let up: FakeUpstream;
let a: TestHangar;
let b: TestHangar;
/** Node b's client, with the key both nodes share (node b's start set HANGAR_API_KEY to node a's). */
let bClient: Anthropic;
let envId: string;

beforeAll(async () => {
  up = await startFakeUpstream();
  // Every answer spends its whole worst case, slowly, so many requests are in flight at once.
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 5, output_tokens: MAX_TOKENS }, delayMs: 150 }));
  const env = { HANGAR_PRICING: PRICING, HANGAR_MAX_OUTPUT_TOKENS: String(MAX_TOKENS) };
  a = await startHangar({ upstreamUrl: up.url, env });
  // A second node on the same store (the same database / file), with the same API key.
  b = await startHangar({ upstreamUrl: up.url, env: { ...env, HANGAR_API_KEY: a.apiKey, HANGAR_NODE_ID: 'node-b' }, dataDir: a.dataDir });
  bClient = new Anthropic({ baseURL: b.url, apiKey: a.apiKey, maxRetries: 0, timeout: 20_000 });
  envId = (await a.client.beta.environments.create({ name: `spend-${Math.random().toString(36).slice(2)}` })).id;
}, 60_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  await up?.close();
});

const limits = () => a.client.beta.organization.spendLimits;
const isIdle = (e: Ev) => e.type === 'session.status_idle';

async function lastIdle(client: Anthropic, id: string): Promise<Ev | undefined> {
  return (await listEvents(client, id)).filter(isIdle).at(-1);
}

describe('spend limit objects', () => {
  it('sets (upserting on scope and period), retrieves, lists and deletes limits in the SDK shapes', async () => {
    const org = await limits().set({ amount: '50000', scope: { type: 'organization' } });
    expect(org).toMatchObject({ type: 'spend_limit', amount: '50000', currency: 'USD', is_enabled: true, period: 'monthly', scope: { type: 'organization' } });
    expect(org.id).toMatch(/^spl_/);
    const again = await limits().set({ amount: '60000', scope: { type: 'organization' }, period: 'monthly' });
    expect(again.id).toBe(org.id);
    expect(again.created_at).toBe(org.created_at);
    expect(await limits().retrieve(org.id)).toMatchObject({ id: org.id, amount: '60000' });
    const ws = await limits().set({ amount: null, scope: { type: 'workspace', workspace_id: 'wrkspc_other' } });
    expect(ws.amount).toBeNull();

    const all = [];
    for await (const l of limits().list({ limit: 1 })) all.push(l.id);
    expect(all).toEqual([ws.id, org.id]);
    const onlyWs = await limits().list({ scope_type: ['workspace'] });
    expect(onlyWs.data.map((l) => l.id)).toEqual([ws.id]);
    expect((await limits().list({ workspace_id: 'wrkspc_other' })).data.map((l) => l.id)).toEqual([ws.id]);

    const report = await limits().effective.list();
    const row = report.data.find((r) => r.spend_limit_id === org.id)!;
    expect(row).toMatchObject({ amount: '60000', currency: 'USD', period: 'monthly', scope: { type: 'organization' }, source: { type: 'organization' } });
    expect(row.actor).toMatchObject({ type: 'scoped_api_key_actor' });
    expect(row.actor.type === 'scoped_api_key_actor' && row.actor.scoped_api_key_id).toMatch(/^key_/);

    expect(await limits().delete(ws.id)).toEqual({ id: ws.id, type: 'spend_limit_deleted' });
    expect(await limits().delete(org.id)).toEqual({ id: org.id, type: 'spend_limit_deleted' });
    expect((await rejection(limits().retrieve(org.id))).status).toBe(404);
    expect((await rejection(limits().delete(org.id))).status).toBe(404);
  });

  it('rejects malformed limits, unsupported scopes and periods, and bad filters with a 400 that changes nothing', async () => {
    const bad: Array<Record<string, unknown>> = [
      { amount: '-1', scope: { type: 'organization' } },
      { amount: '1.50', scope: { type: 'organization' } },
      { amount: 100, scope: { type: 'organization' } },
      { scope: { type: 'organization' } },
      { amount: '100', scope: { type: 'user', user_id: 'user_1' } },
      { amount: '100', scope: { type: 'workspace', workspace_id: 'not-a-workspace' } },
      { amount: '100', scope: { type: 'organization' }, period: 'daily' },
      { amount: '100', scope: { type: 'organization' }, extra: true },
    ];
    for (const body of bad) {
      const err = await rejection(limits().set(body as never));
      expect(err.status, JSON.stringify(body)).toBe(400);
      expect(err.type).toBe('invalid_request_error');
    }
    expect((await limits().list()).data).toEqual([]);
    expect((await rejection(limits().list({ scope_type: ['user'] }))).status).toBe(400);
    expect((await rejection(limits().list({ scope_type: ['nonsense' as never] }))).status).toBe(400);
    expect((await rejection(limits().list({ workspace_id: 'bad id' }))).status).toBe(400);
    expect((await rejection(limits().effective.list({ user_ids: ['user_1'] }))).status).toBe(400);
    expect((await rejection(limits().effective.list({ period: ['yearly' as never] }))).status).toBe(400);
    expect((await rejection(limits().retrieve('spl_unknown'))).status).toBe(404);
  });
});

describe('enforcement across sessions and nodes', () => {
  it(`${SESSIONS} concurrent sessions on two nodes never spend past a workspace limit; raising it resumes them`, async () => {
    const limit = await limits().set({ amount: String(LIMIT_CENTS), scope: { type: 'workspace', workspace_id: DEFAULT_WORKSPACE_ID } });
    const agent = await a.client.beta.agents.create({ name: 'spender', model: MODEL });
    const nodes = [a.client, bClient];
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, i) =>
      nodes[i % 2].beta.sessions.create({ agent: agent.id, environment_id: envId })));
    const before = up.requests.length;
    // Everyone at once, half through each node.
    await Promise.all(sessions.map((s, i) => nodes[i % 2].beta.sessions.events.send(s.id, { events: [text('go')] })));

    const idles = await eventually(async () => Promise.all(sessions.map((s) => lastIdle(a.client, s.id))),
      (all) => all.every((e) => e !== undefined), 30_000, 'every session idle');
    const sent = up.requests.length - before;
    const ended = idles.filter((e) => e!.stop_reason.type === 'end_turn').length;
    const paused = idles.filter((e) => e!.stop_reason.type === 'budget_reached').length;
    // The bound: each admitted request reserved its worst case (10 cents) first, so at most 10 fit.
    expect(sent * MAX_TOKENS).toBeLessThanOrEqual(LIMIT_CENTS);
    expect(sent).toBe(LIMIT_CENTS / MAX_TOKENS);
    expect(ended).toBe(sent);
    expect(paused).toBe(SESSIONS - sent);
    const costs = await Promise.all(sessions.map(async (s) => Number((await a.client.beta.sessions.retrieve(s.id)).usage.list_cost?.amount ?? 0)));
    expect(costs.reduce((x, y) => x + y, 0)).toBe(sent * MAX_TOKENS);
    const report = (await limits().effective.list()).data.find((r) => r.spend_limit_id === limit.id)!;
    expect(Number(report.period_to_date_spend)).toBe(sent * MAX_TOKENS);
    expect(Number(report.period_to_date_spend)).toBeLessThanOrEqual(LIMIT_CENTS);
    expect((report as unknown as { period_to_date_reserved: string }).period_to_date_reserved).toBe('0');

    // A paused session says why, pauses like a budget, and refuses new work while paused.
    const pausedSession = sessions[idles.findIndex((e) => e!.stop_reason.type === 'budget_reached')];
    const events = await listEvents(a.client, pausedSession.id);
    const error = events.find((e) => e.type === 'session.error')!;
    expect(error.error.type).toBe('billing_error');
    expect(error.error.message).toContain(limit.id);
    expect(error.error.message).toContain(`workspace ${DEFAULT_WORKSPACE_ID}`);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['session.usage', 'session.status_idle']);
    const refused = await rejection(bClient.beta.sessions.events.send(pausedSession.id, { events: [text('more')] }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain(limit.id);

    // Raising the limit resumes every paused session, on whichever node holds it.
    await limits().set({ amount: String(LIMIT_CENTS * 10), scope: { type: 'workspace', workspace_id: DEFAULT_WORKSPACE_ID } });
    await eventually(async () => Promise.all(sessions.map((s) => lastIdle(a.client, s.id))),
      (all) => all.every((e) => e?.stop_reason.type === 'end_turn'), 30_000, 'every session resumed and finished');
    expect(up.requests.length - before).toBe(SESSIONS);
    const after = (await limits().effective.list()).data.find((r) => r.spend_limit_id === limit.id)!;
    expect(Number(after.period_to_date_spend)).toBe(SESSIONS * MAX_TOKENS);
    await limits().delete(limit.id);
  }, 90_000);

  it('deleting the limit resumes a paused session', async () => {
    const limit = await limits().set({ amount: '0', scope: { type: 'organization' } });
    const agent = await a.client.beta.agents.create({ name: 'spender-2', model: MODEL });
    const s = await a.client.beta.sessions.create({ agent: agent.id, environment_id: envId });
    await a.client.beta.sessions.events.send(s.id, { events: [text('go')] });
    const idle = await eventually(() => lastIdle(a.client, s.id), (e) => e !== undefined, 10_000, 'paused');
    expect(idle!.stop_reason.type).toBe('budget_reached');
    await limits().delete(limit.id);
    await eventually(() => lastIdle(a.client, s.id), (e) => e?.stop_reason.type === 'end_turn', 10_000, 'resumed');
  });
});

describe('the workspace object shows its month', () => {
  type Spend = { month: string; currency: string; spent_cents: string; reserved_cents: string; limit_id: string | null; limit_amount: string | null };
  const spendOf = (w: unknown) => (w as { spend: Spend }).spend;

  it('GET and list show the workspace\'s spend, what a request in flight reserved, and its limit; reserved is 0 after settling', async () => {
    const org = a.client.beta.organization;
    const ws = await org.workspaces.create({ name: 'spend-shown' });
    const month = new Date().toISOString().slice(0, 7);
    expect(spendOf(ws)).toEqual({ month, currency: 'USD', spent_cents: '0', reserved_cents: '0', limit_id: null, limit_amount: null });
    const limit = await limits().set({ amount: '1000', scope: { type: 'workspace', workspace_id: ws.id } });
    expect(spendOf(await org.workspaces.retrieve(ws.id))).toMatchObject({ spent_cents: '0', reserved_cents: '0', limit_id: limit.id, limit_amount: '1000' });

    // The organization key acting in the new workspace.
    const inWs = clientFor(a, a.apiKey, ws.id);
    const env = await inWs.beta.environments.create({ name: `spend-shown-${Math.random().toString(36).slice(2)}` });
    const agent = await inWs.beta.agents.create({ name: 'shown', model: MODEL });
    const s = await inWs.beta.sessions.create({ agent: agent.id, environment_id: env.id });

    // The upstream holds the answer until released: the request's worst case (MAX_TOKENS cents) is reserved meanwhile.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    up.setResponder(async () => {
      await gate;
      return { content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 5, output_tokens: 7 } };
    });
    try {
      const before = up.requests.length;
      await inWs.beta.sessions.events.send(s.id, { events: [text('go')] });
      await up.waitForRequests(before + 1);
      const inFlight = spendOf(await org.workspaces.retrieve(ws.id));
      expect(inFlight).toMatchObject({ spent_cents: '0', reserved_cents: String(MAX_TOKENS), limit_id: limit.id });
      const listed = (await org.workspaces.list({ ids: [ws.id] })).data;
      expect(listed.map((w) => spendOf(w))).toEqual([inFlight]);

      release();
      const idle = await eventually(() => lastIdle(inWs, s.id), (e) => e !== undefined, 10_000, 'turn ended');
      expect(idle!.stop_reason.type).toBe('end_turn');
      // Settled: the 7 output tokens spent (one cent each), nothing reserved any more.
      expect(spendOf(await org.workspaces.retrieve(ws.id))).toEqual({ month, currency: 'USD', spent_cents: '7', reserved_cents: '0', limit_id: limit.id, limit_amount: '1000' });
      expect(spendOf((await org.workspaces.list({ ids: [ws.id] })).data[0])).toMatchObject({ spent_cents: '7', reserved_cents: '0' });
      // Another workspace's object does not show it.
      const other = await org.workspaces.create({ name: 'spend-other' });
      expect(spendOf(await org.workspaces.retrieve(other.id))).toMatchObject({ spent_cents: '0', reserved_cents: '0', limit_id: null });
    } finally {
      release();
      up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 5, output_tokens: MAX_TOKENS }, delayMs: 150 }));
      await limits().delete(limit.id);
    }
  });
});
