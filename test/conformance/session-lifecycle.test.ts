// Session resource lifecycle (docs/API-SPEC.md §4.4, §5.1) through the official SDK against a live Hangar:
// create (agent refs, overrides, initial_events), retrieve, update, archive, delete, and the
// bidirectional list with its filters.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { BetaInvalidMetadataError } from '@anthropic-ai/sdk/resources/beta/environments/environments';
import {
  EventTap, customTool, interrupt, isIdle, isType, listEvents, messageTexts, newAgent, newSession, rejection, startRig, text,
  types, waitForStatus, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const tick = () => new Promise((r) => setTimeout(r, 5));
type ListParams = Anthropic.Beta.Sessions.SessionListParams;

async function listIds(params: ListParams): Promise<string[]> {
  const out: string[] = [];
  for await (const s of client.beta.sessions.list(params)) out.push(s.id);
  return out;
}

/** Starts a model call that never answers, so the session stays `running` until interrupted. */
async function runningSession(agentId?: string) {
  rig.up.script({ content: [], hang: true });
  const s = await newSession(rig, agentId ? { agent: agentId } : {});
  await client.beta.sessions.events.send(s.id, { events: [text('take your time')] });
  await rig.up.waitForRequests(rig.up.requests.length + 1);
  await waitForStatus(client, s.id, 'running');
  return s;
}

async function stopRunning(sessionId: string) {
  await client.beta.sessions.events.send(sessionId, { events: [interrupt()] });
  await waitForStatus(client, sessionId, 'idle');
}

describe('create and retrieve', () => {
  it('creates an idle session on the latest agent version with empty defaults and no events', async () => {
    const agent = await newAgent(client, { system: 'v1 prompt' });
    await client.beta.agents.update(agent.id, { system: 'v2 prompt' });
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });

    expect(s.id).toMatch(/^sesn_/);
    expect(s).toMatchObject({
      type: 'session',
      status: 'idle',
      title: null,
      environment_id: rig.envId,
      metadata: {},
      resources: [],
      vault_ids: [],
      budget: null,
      outcome_evaluations: [],
      archived_at: null,
      agent: { type: 'agent', id: agent.id, version: 2, name: agent.name, system: 'v2 prompt', model: { id: agent.model.id } },
      usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0 } },
    });
    expect(s.created_at).toEqual(expect.any(String));
    expect(Number.isNaN(Date.parse(s.created_at))).toBe(false);
    expect(s.stats).toMatchObject({ duration_seconds: expect.any(Number), active_seconds: expect.any(Number) });

    const got = await client.beta.sessions.retrieve(s.id);
    expect({ ...got, stats: null }).toEqual({ ...s, stats: null });
    expect(await listEvents(client, s.id)).toEqual([]);
  });

  it('pins the requested version with {type:"agent", id, version} and runs on that version', async () => {
    const agent = await newAgent(client, { system: 'old rules' });
    await client.beta.agents.update(agent.id, { system: 'new rules' });
    const s = await client.beta.sessions.create({ agent: { type: 'agent', id: agent.id, version: 1 }, environment_id: rig.envId });
    expect(s.agent).toMatchObject({ id: agent.id, version: 1, system: 'old rules' });

    rig.up.script({ content: [{ type: 'text', text: 'ok' }] });
    const tap = await EventTap.open(client, s.id);
    await client.beta.sessions.events.send(s.id, { events: [text('go')] });
    await tap.until(isIdle);
    tap.close();
    expect(JSON.stringify(rig.up.requests[0].body.system)).toContain('old rules');
    expect(JSON.stringify(rig.up.requests[0].body.system)).not.toContain('new rules');
  });

  it('applies agent_with_overrides to the session only, without creating an agent version', async () => {
    const agent = await newAgent(client, { system: 'agent prompt' });
    const s = await client.beta.sessions.create({
      agent: { type: 'agent_with_overrides', id: agent.id, system: 'x' },
      environment_id: rig.envId,
    });
    expect(s.agent).toMatchObject({ id: agent.id, version: 1, system: 'x' });
    const after = await client.beta.agents.retrieve(agent.id);
    expect(after).toMatchObject({ version: 1, system: 'agent prompt' });

    rig.up.script({ content: [{ type: 'text', text: 'ok' }] });
    const tap = await EventTap.open(client, s.id);
    await client.beta.sessions.events.send(s.id, { events: [text('go')] });
    await tap.until(isIdle);
    tap.close();
    expect(rig.up.requests[0].body.system).toEqual([expect.objectContaining({ type: 'text', text: 'x' })]);
  });

  it('replaces the tool list with agent_with_overrides tools for the session only', async () => {
    const agent = await newAgent(client, { tools: [customTool('from_agent')] });
    const s = await client.beta.sessions.create({
      agent: { type: 'agent_with_overrides', id: agent.id, tools: [customTool('from_session')] },
      environment_id: rig.envId,
    });
    expect(s.agent.tools.map((t) => (t as { name?: string }).name)).toEqual(['from_session']);
    expect((await client.beta.agents.retrieve(agent.id)).tools.map((t) => (t as { name?: string }).name)).toEqual(['from_agent']);

    rig.up.script({ content: [{ type: 'text', text: 'ok' }] });
    const tap = await EventTap.open(client, s.id);
    await client.beta.sessions.events.send(s.id, { events: [text('go')] });
    await tap.until(isIdle);
    tap.close();
    expect(rig.up.requests[0].body.tools.map((t: { name: string }) => t.name)).toEqual(['from_session']);
  });

  it('stores title and metadata', async () => {
    const s = await newSession(rig, { title: 'Order support', metadata: { customer: 'c-42', tier: 'gold' } });
    expect(s).toMatchObject({ title: 'Order support', metadata: { customer: 'c-42', tier: 'gold' } });
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ title: 'Order support', metadata: { customer: 'c-42', tier: 'gold' } });
  });

  it('rejects metadata beyond the limits with invalid_metadata', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const e = await rejection(newSession(rig, { metadata }));
    expect(e).toBeInstanceOf(BetaInvalidMetadataError);
    expect(e.errorCode).toBe('invalid_metadata');
  });

  it('starts running with initial_events, persists them before responding and runs the turn', async () => {
    rig.up.script({ content: [{ type: 'text', text: 'Order 1234 shipped.' }] });
    const agent = await newAgent(client);
    const s = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: rig.envId,
      initial_events: [text('Where is my order #1234?'), text('It was placed Monday.')],
    });
    expect(s.status).toBe('running');

    await waitForStatus(client, s.id, 'idle');
    const log = await listEvents(client, s.id);
    expect(types(log)).toEqual([
      'user.message', 'user.message', 'session.status_running', 'span.model_request_start', 'agent.message',
      'span.model_request_end', 'session.status_idle',
    ]);
    expect(log[0].content).toEqual([{ type: 'text', text: 'Where is my order #1234?' }]);
    expect(log[0].processed_at).toEqual(expect.any(String));
    expect(log[log.length - 1].stop_reason).toEqual({ type: 'end_turn' });
    expect(messageTexts(rig.up.requests[0])).toEqual([{ role: 'user', texts: ['Where is my order #1234?', 'It was placed Monday.'] }]);
  });

  it('returns 404 not_found_error for an unknown agent, agent version or environment', async () => {
    const agent = await newAgent(client);
    const cases: Anthropic.Beta.Sessions.SessionCreateParams[] = [
      { agent: 'agent_doesnotexist', environment_id: rig.envId },
      { agent: { type: 'agent', id: agent.id, version: 99 }, environment_id: rig.envId },
      { agent: agent.id, environment_id: 'env_doesnotexist' },
    ];
    for (const params of cases) {
      const e = await rejection(client.beta.sessions.create(params));
      expect(e).toBeInstanceOf(Anthropic.NotFoundError);
      expect(e.type).toBe('not_found_error');
    }
  });

  it('rejects new sessions on an archived agent or environment with 400', async () => {
    const agent = await newAgent(client);
    await client.beta.agents.archive(agent.id);
    expect(await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }))).toBeInstanceOf(Anthropic.BadRequestError);

    const live = await newAgent(client);
    const env = await client.beta.environments.create({ name: `gone-${Date.now()}` });
    await client.beta.environments.archive(env.id);
    const e = await rejection(client.beta.sessions.create({ agent: live.id, environment_id: env.id }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect(e.errorCode).toBe('environment_archived');
  });

  it('rejects unsupported fields and invalid initial_events with 400 and creates nothing', async () => {
    const agent = await newAgent(client);
    const base = { agent: agent.id, environment_id: rig.envId };
    const cases: Anthropic.Beta.Sessions.SessionCreateParams[] = [
      { ...base, budget: { type: 'limit', max_list_cost: { amount: '25.00', currency: 'USD' } } },
      { ...base, resources: [{ type: 'github_repository', url: 'ftp://github.com/a/b' }] },
      { ...base, initial_events: [1, 2].map(() => ({ type: 'user.define_outcome' as const, description: 'done', rubric: { type: 'text' as const, content: 'it is done' } })) },
      { ...base, initial_events: [{ type: 'system.message', content: [{ type: 'text', text: 'hi' }] }] as never },
      { ...base, initial_events: [text('fine'), { type: 'user.message', content: [] }] },
      { ...base, initial_events: Array.from({ length: 51 }, (_, i) => text(`m${i}`)) },
    ];
    for (const params of cases) {
      const e = await rejection(client.beta.sessions.create(params));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e.type).toBe('invalid_request_error');
    }
    expect(await listIds({ agent_id: agent.id, include_archived: true })).toEqual([]);
  });

  it('rejects an unknown vault in vault_ids with 404 and creates nothing', async () => {
    const agent = await newAgent(client);
    const e = await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, vault_ids: ['vlt_abc'] }));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await listIds({ agent_id: agent.id, include_archived: true })).toEqual([]);
  });

  it('rejects a file resource naming an unknown file with 404 and creates nothing', async () => {
    const agent = await newAgent(client);
    const e = await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, resources: [{ type: 'file', file_id: 'file_abc' }] }));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await listIds({ agent_id: agent.id, include_archived: true })).toEqual([]);
  });
});

describe('update', () => {
  it('updates the title and patches metadata, appending session.updated with only the changed fields', async () => {
    const s = await newSession(rig, { title: 'before', metadata: { a: '1', b: '2' } });

    await tick();
    const titled = await client.beta.sessions.update(s.id, { title: 'after' });
    expect(titled).toMatchObject({ title: 'after', metadata: { a: '1', b: '2' } });
    expect(Date.parse(titled.updated_at)).toBeGreaterThan(Date.parse(s.updated_at));

    const patched = await client.beta.sessions.update(s.id, { metadata: { a: null, c: '3' } });
    expect(patched.metadata).toEqual({ b: '2', c: '3' });
    expect(patched.title).toBe('after');
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ title: 'after', metadata: { b: '2', c: '3' } });

    const log = await listEvents(client, s.id);
    expect(types(log)).toEqual(['session.updated', 'session.updated']);
    const [first, second] = log;
    expect(first.title).toBe('after');
    expect(first).not.toHaveProperty('metadata');
    expect(second.metadata).toEqual({ b: '2', c: '3' });
    expect(second).not.toHaveProperty('title');
    for (const e of log) {
      expect(e.id).toMatch(/^sevt_/);
      expect(e.processed_at).toEqual(expect.any(String));
    }
  });

  it('appends nothing for an update that changes nothing', async () => {
    const s = await newSession(rig, { title: 'same', metadata: { k: 'v' } });
    const same = await client.beta.sessions.update(s.id, { title: 'same', metadata: { k: 'v' } });
    expect(same).toMatchObject({ title: 'same', metadata: { k: 'v' }, updated_at: s.updated_at });
    expect(await listEvents(client, s.id)).toEqual([]);
  });

  it('omits metadata from session.updated when the patch empties it', async () => {
    const s = await newSession(rig, { title: 't', metadata: { only: 'one' } });
    const cleared = await client.beta.sessions.update(s.id, { metadata: { only: null } });
    expect(cleared.metadata).toEqual({});
    const updates = await listEvents(client, s.id, { types: ['session.updated'] });
    expect(updates.length).toBeGreaterThan(0);
    for (const e of updates) expect(e).not.toHaveProperty('metadata');
  });

  it('rejects vault_ids on update with 400 and changes nothing', async () => {
    const s = await newSession(rig, { title: 'keep' });
    const e = await rejection(client.beta.sessions.update(s.id, { title: 'changed', vault_ids: ['vlt_abc'] }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect((await client.beta.sessions.retrieve(s.id)).title).toBe('keep');
  });

  it('rejects invalid metadata on update with invalid_metadata', async () => {
    const s = await newSession(rig);
    const e = await rejection(client.beta.sessions.update(s.id, { metadata: { k: 'x'.repeat(513) } }));
    expect(e).toBeInstanceOf(BetaInvalidMetadataError);
    expect(e.errorCode).toBe('invalid_metadata');
  });
});

describe('archive', () => {
  it('archives an idle session: terminated, archived_at set, session.status_terminated appended, then read-only', async () => {
    const s = await newSession(rig);
    const tap = await EventTap.open(client, s.id);
    const archived = await client.beta.sessions.archive(s.id);
    expect(types(await tap.until(isType('session.status_terminated')))).toEqual(['session.status_terminated']);
    tap.close();
    expect(archived).toMatchObject({ id: s.id, status: 'terminated' });
    expect(archived.archived_at).toEqual(expect.any(String));
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ status: 'terminated', archived_at: archived.archived_at });
    expect(types(await listEvents(client, s.id))).toEqual(['session.status_terminated']);

    const send = await rejection(client.beta.sessions.events.send(s.id, { events: [text('hello?')] }));
    expect(send).toBeInstanceOf(Anthropic.BadRequestError);
    const update = await rejection(client.beta.sessions.update(s.id, { title: 'new' }));
    expect(update).toBeInstanceOf(Anthropic.BadRequestError);
    expect(rig.up.requests).toHaveLength(0);
  });

  it('rejects archive and delete of a running session with 409 ConflictError that must not be retried', async () => {
    const s = await runningSession();
    for (const attempt of [() => client.beta.sessions.archive(s.id), () => client.beta.sessions.delete(s.id)]) {
      const e = await rejection(attempt());
      expect(e).toBeInstanceOf(Anthropic.ConflictError);
      expect(e.headers?.get('x-should-retry')).toBe('false');
    }
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ status: 'running', archived_at: null });
    await stopRunning(s.id);
    expect((await client.beta.sessions.archive(s.id)).status).toBe('terminated');
  });
});

describe('delete', () => {
  it('deletes a session: session_deleted, then 404 everywhere, and an open stream gets session.deleted and closes', async () => {
    const s = await newSession(rig);
    const tap = await EventTap.open(client, s.id);
    const deleted = await client.beta.sessions.delete(s.id);
    expect(deleted).toEqual({ id: s.id, type: 'session_deleted' });

    const seen = await tap.until(isType('session.deleted'));
    expect(types(seen)).toEqual(['session.deleted']);
    await tap.ended();

    const calls = [
      () => client.beta.sessions.retrieve(s.id),
      () => client.beta.sessions.events.list(s.id),
      () => client.beta.sessions.events.send(s.id, { events: [text('hi')] }),
      () => client.beta.sessions.delete(s.id),
    ];
    for (const call of calls) expect(await rejection(call())).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('deletes an archived session', async () => {
    const s = await newSession(rig);
    await client.beta.sessions.archive(s.id);
    expect(await client.beta.sessions.delete(s.id)).toEqual({ id: s.id, type: 'session_deleted' });
    expect(await rejection(client.beta.sessions.retrieve(s.id))).toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('list', () => {
  async function fiveSessions() {
    const agent = await newAgent(client);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await newSession(rig, { agent: agent.id })).id);
      await tick();
    }
    return { agentId: agent.id, ids };
  }

  it('lists newest first by default and walks pages forward with next_page and back with prev_page', async () => {
    const { agentId, ids } = await fiveSessions();
    const newestFirst = [...ids].reverse();

    const p1 = await client.beta.sessions.list({ agent_id: agentId, limit: 2 });
    expect(p1.data.map((s) => s.id)).toEqual(newestFirst.slice(0, 2));
    expect(p1.prev_page).toBeNull();
    expect(p1.next_page).toEqual(expect.any(String));

    const p2 = await p1.getNextPage();
    expect(p2.data.map((s) => s.id)).toEqual(newestFirst.slice(2, 4));
    expect(p2.prev_page).toEqual(expect.any(String));

    const p3 = await p2.getNextPage();
    expect(p3.data.map((s) => s.id)).toEqual(newestFirst.slice(4));
    expect(p3.next_page).toBeNull();

    const back = await client.beta.sessions.list({ agent_id: agentId, limit: 2, page: p3.prev_page });
    expect(back.data.map((s) => s.id)).toEqual(newestFirst.slice(2, 4));
    const forwardAgain = await client.beta.sessions.list({ agent_id: agentId, limit: 2, page: back.next_page });
    expect(forwardAgain.data.map((s) => s.id)).toEqual(newestFirst.slice(4));
    const front = await client.beta.sessions.list({ agent_id: agentId, limit: 2, page: back.prev_page });
    expect(front.data.map((s) => s.id)).toEqual(newestFirst.slice(0, 2));
    expect(front.prev_page).toBeNull();

    expect(await listIds({ agent_id: agentId, limit: 2 })).toEqual(newestFirst);
  });

  it('lists oldest first with order=asc and rejects a cursor reused with another order', async () => {
    const { agentId, ids } = await fiveSessions();
    expect(await listIds({ agent_id: agentId, order: 'asc', limit: 2 })).toEqual(ids);

    const page = await client.beta.sessions.list({ agent_id: agentId, limit: 2 });
    const e = await rejection(client.beta.sessions.list({ agent_id: agentId, limit: 2, order: 'asc', page: page.next_page }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('filters by agent_id and agent_version', async () => {
    const agent = await newAgent(client);
    const v1 = await newSession(rig, { agent: agent.id });
    await client.beta.agents.update(agent.id, { system: 'changed' });
    const v2 = await newSession(rig, { agent: agent.id });
    const other = await newSession(rig);

    const all = await listIds({ agent_id: agent.id });
    expect(all).toEqual([v2.id, v1.id]);
    expect(all).not.toContain(other.id);
    expect(await listIds({ agent_id: agent.id, agent_version: 1 })).toEqual([v1.id]);
    expect(await listIds({ agent_id: agent.id, agent_version: 2 })).toEqual([v2.id]);
  });

  it('filters by statuses[]', async () => {
    const agent = await newAgent(client);
    const idle = await newSession(rig, { agent: agent.id });
    const running = await runningSession(agent.id);
    const archived = await newSession(rig, { agent: agent.id });
    await client.beta.sessions.archive(archived.id);
    try {
      expect(await listIds({ agent_id: agent.id, statuses: ['running'] })).toEqual([running.id]);
      expect(await listIds({ agent_id: agent.id, statuses: ['idle'] })).toEqual([idle.id]);
      expect(await listIds({ agent_id: agent.id, statuses: ['idle', 'running'] })).toEqual([running.id, idle.id]);
      expect(await listIds({ agent_id: agent.id, statuses: ['terminated'], include_archived: true })).toEqual([archived.id]);
    } finally {
      await stopRunning(running.id);
    }
  });

  it('filters on created_at[gt], [gte], [lt] and [lte]', async () => {
    const agent = await newAgent(client);
    const a = await newSession(rig, { agent: agent.id });
    await tick();
    const b = await newSession(rig, { agent: agent.id });
    await tick();
    const c = await newSession(rig, { agent: agent.id });
    expect(new Set([a.created_at, b.created_at, c.created_at]).size).toBe(3);

    const q = { agent_id: agent.id, order: 'asc' as const };
    expect(await listIds({ ...q, 'created_at[gt]': a.created_at })).toEqual([b.id, c.id]);
    expect(await listIds({ ...q, 'created_at[gte]': b.created_at })).toEqual([b.id, c.id]);
    expect(await listIds({ ...q, 'created_at[lt]': c.created_at })).toEqual([a.id, b.id]);
    expect(await listIds({ ...q, 'created_at[lte]': b.created_at })).toEqual([a.id, b.id]);
    expect(await listIds({ ...q, 'created_at[gt]': a.created_at, 'created_at[lt]': c.created_at })).toEqual([b.id]);
  });

  it('excludes archived sessions unless include_archived is true', async () => {
    const agent = await newAgent(client);
    const kept = await newSession(rig, { agent: agent.id });
    const gone = await newSession(rig, { agent: agent.id });
    await client.beta.sessions.archive(gone.id);
    expect(await listIds({ agent_id: agent.id })).toEqual([kept.id]);
    expect(await listIds({ agent_id: agent.id, include_archived: false })).toEqual([kept.id]);
    expect(await listIds({ agent_id: agent.id, include_archived: true })).toEqual([gone.id, kept.id]);
  });

  it('returns an empty last page with null cursors when nothing matches', async () => {
    const agent = await newAgent(client);
    const page = await client.beta.sessions.list({ agent_id: agent.id });
    expect(page.data).toEqual([]);
    expect(page.next_page).toBeNull();
    expect(page.prev_page).toBeNull();
  });
});
