// Transport conventions of the session APIs (docs/API-SPEC.md §1, §2, §7) against a live Hangar, through the
// official SDK: authentication, the error envelope and request ids, 400/404/409/413 paths, bracketed
// query arrays, event-list paging, and SSE framing, keep-alives and fan-out.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import {
  EventTap, collectUntil, customTool, isIdle, isType, listEvents, newAgent, newSession, rejection, startRig, text, types,
  waitForStatus, type Rig,
} from './helpers.ts';

const BODY_LIMIT = 4096;
let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig({ HANGAR_BODY_LIMIT_BYTES: String(BODY_LIMIT), HANGAR_SSE_PING_MS: '50' });
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const send = (sessionId: string, ...events: Anthropic.Beta.Sessions.Events.EventSendParams['events']) =>
  client.beta.sessions.events.send(sessionId, { events });
const clientWith = (opts: ConstructorParameters<typeof Anthropic>[0]) =>
  new Anthropic({ baseURL: rig.h.url, maxRetries: 0, timeout: 20_000, ...opts });

function expectEnvelope(e: APIError, status: number, type: string): void {
  expect(e.status).toBe(status);
  expect(e.requestID).toMatch(/\S/);
  expect(e.error).toEqual({ type: 'error', error: expect.objectContaining({ type, message: expect.any(String) }), request_id: e.requestID });
  expect((e.error as any).error.message.length).toBeGreaterThan(0);
}

/** A session whose last model call asked for the `lookup` custom tool; returns the tool-use event. */
async function sessionAwaitingTool() {
  const s = await newSession(rig, { tools: [customTool('lookup')] });
  rig.up.script({ content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }] }, { content: [{ type: 'text', text: 'done' }] });
  const tap = await EventTap.open(client, s.id);
  await send(s.id, text('go'));
  const turn = await tap.until(isIdle);
  tap.close();
  return { session: s, use: turn.find(isType('agent.custom_tool_use'))!, turn };
}

describe('authentication', () => {
  it('authenticates the SDK default Authorization: Bearer key', async () => {
    const s = await newSession(rig);
    const { data, response } = await client.beta.sessions.retrieve(s.id).withResponse();
    expect(data.id).toBe(s.id);
    expect(response.status).toBe(200);
  });

  it('authenticates a key sent as x-api-key', async () => {
    const s = await newSession(rig);
    const res = await fetch(`${rig.h.url}/v1/sessions/${s.id}`, {
      headers: { 'x-api-key': rig.h.apiKey, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'managed-agents-2026-04-01' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'session', id: s.id });
  });

  it('rejects a missing API key with 401 authentication_error', async () => {
    const anonymous = clientWith({ apiKey: null, defaultHeaders: { authorization: null } });
    const e = await rejection(anonymous.beta.sessions.list());
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expectEnvelope(e, 401, 'authentication_error');
  });

  it('rejects an unknown API key with 401 on every session route, the stream included', async () => {
    const s = await newSession(rig);
    const intruder = clientWith({ apiKey: 'sk-not-a-real-key-000000000000' });
    const calls = [
      () => intruder.beta.sessions.list(),
      () => intruder.beta.sessions.retrieve(s.id),
      () => intruder.beta.sessions.create({ agent: s.agent.id, environment_id: rig.envId }),
      () => intruder.beta.sessions.events.send(s.id, { events: [text('hi')] }),
      () => intruder.beta.sessions.events.list(s.id),
      () => intruder.beta.sessions.events.stream(s.id),
      () => intruder.beta.sessions.delete(s.id),
    ];
    for (const call of calls) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
      expectEnvelope(e, 401, 'authentication_error');
    }
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ id: s.id, status: 'idle' });
    expect(await listEvents(client, s.id)).toEqual([]);
  });
});

describe('envelopes and request ids', () => {
  it('puts a request-id header on every successful response', async () => {
    const agent = await newAgent(client);
    const created = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }).withResponse();
    const id = created.data.id;
    const responses = [
      created,
      await client.beta.sessions.retrieve(id).withResponse(),
      await client.beta.sessions.update(id, { title: 't' }).withResponse(),
      await client.beta.sessions.list({ limit: 1 }).withResponse(),
      await client.beta.sessions.events.list(id).withResponse(),
    ];
    for (const r of responses) expect(r.request_id).toMatch(/\S/);
    expect(new Set(responses.map((r) => r.request_id)).size).toBe(responses.length);

    const streamed = await client.beta.sessions.events.stream(id).withResponse();
    expect(streamed.response.headers.get('request-id')).toMatch(/\S/);
    streamed.data.controller.abort();
  });

  it('returns 404 not_found_error in the error envelope for unknown and wrongly prefixed session ids on every route', async () => {
    const own = await newSession(rig);
    const ids = ['sesn_doesnotexist0000000000', own.agent.id, 'sevt_0000000000', 'nonsense'];
    for (const id of ids) {
      const calls = [
        () => client.beta.sessions.retrieve(id),
        () => client.beta.sessions.update(id, { title: 'x' }),
        () => client.beta.sessions.archive(id),
        () => client.beta.sessions.delete(id),
        () => client.beta.sessions.events.list(id),
        () => client.beta.sessions.events.send(id, { events: [text('hi')] }),
        () => client.beta.sessions.events.stream(id),
      ];
      for (const call of calls) {
        const e = await rejection(call());
        expect(e).toBeInstanceOf(Anthropic.NotFoundError);
        expectEnvelope(e, 404, 'not_found_error');
      }
    }
  });

  it('returns 404 not_found_error for an unknown route', async () => {
    const e = await rejection(client.get('/v1/sessions/sesn_x/nothing-here'));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expectEnvelope(e, 404, 'not_found_error');
  });

  it('tolerates any anthropic-version, extra betas and a ?beta=true query', async () => {
    const s = await newSession(rig);
    const got = await client.beta.sessions.retrieve(s.id, { betas: ['some-future-beta-2099-01-01'] }, {
      headers: { 'anthropic-version': '2023-06-01' },
      query: { beta: 'true' },
    });
    expect(got.id).toBe(s.id);
  });
});

describe('bad input', () => {
  it('rejects malformed JSON with 400 invalid_request_error', async () => {
    const s = await newSession(rig);
    for (const path of ['/v1/sessions', `/v1/sessions/${s.id}`, `/v1/sessions/${s.id}/events`]) {
      const e = await rejection(client.post(path, { body: '{"agent": ', headers: { 'content-type': 'application/json' } }));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
    }
    expect(await listEvents(client, s.id)).toEqual([]);
  });

  it('rejects wrongly typed session bodies with 400 naming the field', async () => {
    const agent = await newAgent(client);
    const s = await newSession(rig);
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => client.beta.sessions.create({ agent: 42, environment_id: rig.envId } as never), /agent/],
      [() => client.beta.sessions.create({ agent: agent.id } as never), /environment_id/],
      [() => client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, title: 5 } as never), /title/],
      [() => client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, metadata: { a: 1 } } as never), /metadata/],
      [() => client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, initial_events: 'hi' } as never), /initial_events/],
      [() => client.beta.sessions.update(s.id, { title: ['x'] } as never), /title/],
      [() => client.beta.sessions.update(s.id, { metadata: 'x' } as never), /metadata/],
    ];
    for (const [call, field] of cases) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
      expect(e.message).toMatch(field);
    }
  });

  it('rejects malformed event batches with 400 and persists nothing', async () => {
    const s = await newSession(rig);
    const batches: unknown[] = [
      { events: [] },
      {},
      { events: 'user.message' },
      { events: [{ type: 'user.shout', content: [{ type: 'text', text: 'hi' }] }] },
      { events: [{ type: 'user.message', content: [] }] },
      { events: [{ type: 'user.message', content: 'hi' }] },
      { events: [{ type: 'user.message', content: [{ type: 'redacted' }] }] },
      { events: [{ type: 'user.message', content: [{ type: 'text', text: 7 }] }] },
      { events: [text('ok'), { type: 'user.tool_confirmation', tool_use_id: 'sevt_x', result: 'maybe' }] },
      { events: Array.from({ length: 101 }, () => ({ type: 'user.interrupt' })) },
    ];
    for (const body of batches) {
      const e = await rejection(client.beta.sessions.events.send(s.id, body as never));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
    }
    expect(await listEvents(client, s.id)).toEqual([]);
    expect(rig.up.requests).toHaveLength(0);
  });

  it('rejects events this server does not accept here with 400, all-or-nothing', async () => {
    const s = await newSession(rig);
    const events: unknown[] = [
      { type: 'user.define_outcome', description: 'done', rubric: { type: 'file', file_id: 'file_missing' } },
      // system.message is accepted or refused by the model's capability (test/conformance/compaction.test.ts).
      { type: 'user.tool_result', tool_use_id: 'sevt_x', content: [{ type: 'text', text: 'r' }] },
    ];
    for (const ev of events) {
      const e = await rejection(client.beta.sessions.events.send(s.id, { events: [text('hi'), ev] } as never));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    }
    expect(await listEvents(client, s.id)).toEqual([]);
  });

  it('rejects a custom tool result for an unknown id, a non-tool event, or a call already answered with 400', async () => {
    const { session: s, use, turn } = await sessionAwaitingTool();
    const result = (id: string) => ({ type: 'user.custom_tool_result' as const, custom_tool_use_id: id, content: [{ type: 'text' as const, text: 'r' }] });

    for (const id of ['sevt_doesnotexist', turn[0].id]) {
      const e = await rejection(send(s.id, result(id)));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
    }
    const twiceInOneBatch = await rejection(send(s.id, result(use.id), result(use.id)));
    expect(twiceInOneBatch).toBeInstanceOf(Anthropic.BadRequestError);
    expect(await listEvents(client, s.id, { types: ['user.custom_tool_result'] })).toEqual([]);

    await send(s.id, result(use.id));
    const again = await rejection(send(s.id, result(use.id)));
    expect(again).toBeInstanceOf(Anthropic.BadRequestError);
    await waitForStatus(client, s.id, 'idle');
    expect(await listEvents(client, s.id, { types: ['user.custom_tool_result'] })).toHaveLength(1);
  });

  it('rejects a tool confirmation for a tool use that does not await one with 400', async () => {
    const { session: s, use } = await sessionAwaitingTool();
    const confirm = (id: string) => ({ type: 'user.tool_confirmation' as const, tool_use_id: id, result: 'allow' as const });
    const e = await rejection(send(s.id, confirm(use.id)));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);

    const agent = await newAgent(client, { tools: [{ type: 'agent_toolset_20260401' }] });
    const t = await newSession(rig, { agent: agent.id });
    rig.up.reset();
    rig.up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'ls' } }] }, { content: [{ type: 'text', text: 'ok' }] });
    const tap = await EventTap.open(client, t.id);
    await send(t.id, text('list files'));
    const turn = await tap.until((ev) => isIdle(ev) && ev.stop_reason?.type !== 'requires_action');
    tap.close();
    const toolUse = turn.find(isType('agent.tool_use'))!;
    expect(toolUse.evaluated_permission).not.toBe('ask');
    const notAsk = await rejection(send(t.id, confirm(toolUse.id)));
    expect(notAsk).toBeInstanceOf(Anthropic.BadRequestError);
    expectEnvelope(notAsk, 400, 'invalid_request_error');
  });

  it('rejects event_deltas values other than agent.message and agent.thinking with 400', async () => {
    const s = await newSession(rig);
    for (const event_deltas of [['agent.tool_use'], ['agent.message', 'session.status_idle'], Array.from({ length: 101 }, () => 'agent.message')]) {
      const e = await rejection(client.beta.sessions.events.stream(s.id, { event_deltas } as never));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
    }
  });

  it('rejects a body over the configured limit with 413 in the error envelope', async () => {
    const s = await newSession(rig);
    const e = await rejection(send(s.id, text('x'.repeat(BODY_LIMIT * 2))));
    expect(e).toBeInstanceOf(Anthropic.ContentTooLargeError);
    expectEnvelope(e, 413, 'request_too_large');
    expect(await listEvents(client, s.id)).toEqual([]);
  });

  it('rejects malformed query values with 400 and never answers a client mistake with 500', async () => {
    const s = await newSession(rig);
    const queries: Array<[string, Record<string, unknown>]> = [
      ['/v1/sessions', { limit: 'abc' }],
      ['/v1/sessions', { limit: 0 }],
      ['/v1/sessions', { limit: 101 }],
      ['/v1/sessions', { order: 'sideways' }],
      ['/v1/sessions', { statuses: ['sleeping'] }],
      ['/v1/sessions', { 'created_at[gte]': 'yesterday' }],
      ['/v1/sessions', { include_archived: 'maybe' }],
      ['/v1/sessions', { page: 'not-a-cursor' }],
      ['/v1/sessions', { agent_version: 'one' }],
      [`/v1/sessions/${s.id}/events`, { limit: 1001 }],
      [`/v1/sessions/${s.id}/events`, { limit: -1 }],
      [`/v1/sessions/${s.id}/events`, { page: '%%%' }],
      [`/v1/sessions/${s.id}/events`, { order: 'random' }],
    ];
    for (const [path, query] of queries) {
      const e = await rejection(client.get(path, { query }));
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expectEnvelope(e, 400, 'invalid_request_error');
    }
  });

  it('rejects a 409 conflict with invalid_request_error and x-should-retry: false', async () => {
    rig.up.script({ content: [], hang: true });
    const s = await newSession(rig);
    await send(s.id, text('hang on'));
    await rig.up.waitForRequests(1);
    await waitForStatus(client, s.id, 'running');
    try {
      const e = await rejection(client.beta.sessions.archive(s.id));
      expect(e).toBeInstanceOf(Anthropic.ConflictError);
      expectEnvelope(e, 409, 'invalid_request_error');
      expect(e.headers?.get('x-should-retry')).toBe('false');
    } finally {
      await send(s.id, { type: 'user.interrupt' });
      await waitForStatus(client, s.id, 'idle');
    }
  });
});

describe('event lists', () => {
  async function sessionWithTurn() {
    const s = await newSession(rig);
    rig.up.script({ content: [{ type: 'text', text: 'hello' }] });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hi'));
    const turn = await tap.until(isIdle);
    tap.close();
    return { s, turn };
  }

  it('filters events by types[] sent in bracket form', async () => {
    const { s, turn } = await sessionWithTurn();
    const filtered = await listEvents(client, s.id, { types: ['agent.message', 'session.status_idle'] });
    expect(filtered.map((e) => e.id)).toEqual(turn.filter(isType('agent.message', 'session.status_idle')).map((e) => e.id));
    expect(types(await listEvents(client, s.id, { types: ['user.message'] }))).toEqual(['user.message']);
  });

  it('pages events oldest first with limit and ends with next_page null', async () => {
    const { s, turn } = await sessionWithTurn();
    const ids: string[] = [];
    let page = await client.beta.sessions.events.list(s.id, { limit: 2 });
    for (;;) {
      expect(page.data.length).toBeLessThanOrEqual(2);
      ids.push(...page.data.map((e) => e.id));
      if (!page.hasNextPage()) break;
      page = await page.getNextPage();
    }
    expect(page.next_page).toBeNull();
    expect(ids).toEqual(turn.map((e) => e.id));

    const desc = await listEvents(client, s.id, { order: 'desc', limit: 4 });
    expect(desc.map((e) => e.id)).toEqual([...ids].reverse());

    const first = await client.beta.sessions.events.list(s.id, { limit: 2 });
    const e = await rejection(client.beta.sessions.events.list(s.id, { limit: 2, order: 'desc', page: first.next_page }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);

    const all = await client.beta.sessions.events.list(s.id, { limit: 1000 });
    expect(all.data).toHaveLength(turn.length);
    expect(all.next_page).toBeNull();
  });
});

describe('SSE', () => {
  it('frames every event as "event: <type>" plus one-line JSON data, with ping keep-alives', async () => {
    const s = await newSession(rig);
    const res = await fetch(`${rig.h.url}/v1/sessions/${s.id}/events/stream`, {
      headers: { authorization: `Bearer ${rig.h.apiKey}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('request-id')).toMatch(/\S/);

    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`stream ended early: ${raw}`);
        raw += decoder.decode(chunk.value, { stream: true });
      }
    };
    try {
      await readUntil(() => raw.includes('event: ping\n'));
      rig.up.script({ content: [{ type: 'text', text: 'framed' }] });
      await send(s.id, text('hi'));
      await readUntil(() => /event: session\.status_idle\ndata: [^\n]*\n\n/.test(raw));
    } finally {
      await reader.cancel();
    }

    const frames = raw.split('\n\n');
    expect(frames.pop()).toBe('');
    const names: string[] = [];
    for (const frame of frames) {
      const lines = frame.split('\n');
      expect(lines).toHaveLength(2);
      const [eventLine, dataLine] = lines;
      expect(eventLine).toMatch(/^event: \S+$/);
      expect(dataLine).toMatch(/^data: /);
      const name = eventLine.slice('event: '.length);
      const data = JSON.parse(dataLine.slice('data: '.length));
      expect(data.type).toBe(name);
      names.push(name);
    }
    expect(names).toContain('ping');
    expect(names.filter((n) => n !== 'ping')).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end',
      'session.status_idle',
    ]);
  });

  it('delivers each event once per connection and everything to two concurrent connections, pings hidden by the SDK', async () => {
    const s = await newSession(rig, { tools: [customTool('lookup')] });
    rig.up.script(
      { content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', name: 'lookup', input: { q: 'x' } }], delayMs: 150 },
      { content: [{ type: 'text', text: 'All set.' }], delayMs: 150 },
    );
    const a = await EventTap.open(client, s.id);
    const b = await EventTap.open(client, s.id, { event_deltas: ['agent.message'] });
    await send(s.id, text('go'));
    const firstA = await a.until(isIdle);
    await b.until(isIdle);
    const use = firstA.find(isType('agent.custom_tool_use'))!;
    await send(s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'found' }] });
    await a.until(isIdle);
    await b.until(isIdle);
    a.close();
    b.close();

    const idsA = a.events.map((e) => e.id);
    const persistedB = b.events.filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');
    expect(types(a.events)).not.toContain('ping');
    expect(types(b.events)).not.toContain('ping');
    expect(new Set(idsA).size).toBe(idsA.length);
    expect(persistedB.map((e) => e.id)).toEqual(idsA);
    expect(b.events.filter(isType('event_start')).map((e) => e.event.id)).toEqual(a.events.filter(isType('agent.message')).map((e) => e.id));
    expect((await listEvents(client, s.id)).map((e) => e.id)).toEqual(idsA);
  });

  it('replays nothing: a new connection receives only events emitted after it opened', async () => {
    const s = await newSession(rig);
    rig.up.script({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] });
    const first = await collectUntil(client, s.id, () => send(s.id, text('first')), isIdle);
    const second = await collectUntil(client, s.id, () => send(s.id, text('second')), isIdle);
    expect(types(second)).toEqual(types(first));
    expect(second[0].content).toEqual([{ type: 'text', text: 'second' }]);
    expect(second.map((e) => e.id).filter((id) => first.some((f) => f.id === id))).toEqual([]);
  });
});
