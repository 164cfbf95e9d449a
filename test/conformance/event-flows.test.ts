// Session event flows (docs/API-SPEC.md §5.1, §5.2, §6) driven through the official SDK against a live
// Hangar whose model upstream is scripted: plain turns, live previews, custom tools, interrupts,
// queued input, retries, terminal errors, refusals and usage accounting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  EventTap, customTool, gate, interrupt, isIdle, isType, listEvents, messageTexts, MODEL, newSession, persisted,
  rejection, startRig, text, toolResults, types, waitForStatus, eventually, lacks, type Ev, type Rig,
} from './helpers.ts';
import type { FakeReply } from '../kit/fake-upstream.ts';

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

/** Sends events and returns their echoes (an absent `data` fails the caller's assertions). */
const send = async (sessionId: string, ...events: Anthropic.Beta.Sessions.Events.EventSendParams['events']) => {
  const r = await client.beta.sessions.events.send(sessionId, { events });
  return { data: (r.data ?? []) as Ev[] };
};
const reply = (t: string, extra: Partial<Extract<FakeReply, { content: unknown }>> = {}): FakeReply => ({ content: [{ type: 'text', text: t }], ...extra });
const PLAIN_TURN = ['user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle'];
const RESUMED_TURN = ['session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle'];

describe('plain turns', () => {
  it('emits user.message, running, model span, agent.message and idle end_turn in order, and persists the same events', async () => {
    const s = await newSession(rig);
    rig.up.script(reply('Hello there', { usage: { input_tokens: 12, output_tokens: 3 } }));
    const tap = await EventTap.open(client, s.id);
    const sent = await send(s.id, text('hi'));
    expect(sent.data).toHaveLength(1);
    expect(sent.data[0]).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'hi' }], processed_at: null });
    expect(sent.data[0].id).toMatch(/^sevt_/);

    const turn = await tap.until(isIdle);
    tap.close();
    expect(types(turn)).toEqual(PLAIN_TURN);
    const [echo, , start, message, end, idle] = turn;
    expect(echo.id).toBe(sent.data[0].id);
    expect(message.content).toEqual([{ type: 'text', text: 'Hello there' }]);
    expect(end).toMatchObject({
      model_request_start_id: start.id,
      is_error: false,
      model_usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(idle).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null });
    for (const e of turn) expect(e.id).toMatch(/^sevt_/);
    for (const e of turn.slice(1)) expect(e.processed_at).toEqual(expect.any(String));

    const log = await listEvents(client, s.id);
    expect(log.map((e) => e.id)).toEqual(turn.map((e) => e.id));
    expect(log[0].processed_at).toEqual(expect.any(String));
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');

    expect(rig.up.requests).toHaveLength(1);
    expect(rig.up.requests[0].body.model).toBe(MODEL);
    expect(messageTexts(rig.up.requests[0])).toEqual([{ role: 'user', texts: ['hi'] }]);
  });

  it('emits agent.thinking before agent.message when the model thinks', async () => {
    const s = await newSession(rig);
    rig.up.script({ content: [{ type: 'thinking', thinking: 'The user greets me.' }, { type: 'text', text: 'Hi!' }] });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hello'));
    const turn = await tap.until(isIdle);
    tap.close();
    expect(types(turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.thinking', 'agent.message',
      'span.model_request_end', 'session.status_idle',
    ]);
  });

  it('sends the whole conversation on the next turn', async () => {
    const s = await newSession(rig);
    rig.up.script(reply('one'), reply('two'));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('first'));
    await tap.until(isIdle);
    await send(s.id, text('second'));
    expect(types(await tap.until(isIdle))).toEqual(PLAIN_TURN);
    tap.close();
    expect(messageTexts(rig.up.requests[1])).toEqual([
      { role: 'user', texts: ['first'] },
      { role: 'assistant', texts: ['one'] },
      { role: 'user', texts: ['second'] },
    ]);
  });
  it.skipIf(lacks('openai', 'Chat Completions has no document block: text documents are inlined as text parts'))('passes image and document blocks of a user.message through to the model', async () => {
    const s = await newSession(rig);
    rig.up.script(reply('A red pixel and a memo.'));
    const tap = await EventTap.open(client, s.id);
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
    await send(s.id, {
      type: 'user.message',
      content: [
        { type: 'text', text: 'What are these?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Ship on Friday.' }, title: 'memo' },
      ],
    });
    expect(types(await tap.until(isIdle))).toEqual(PLAIN_TURN);
    tap.close();
    const [user] = rig.up.requests[0].body.messages;
    expect(user.role).toBe('user');
    expect(user.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'What are these?' }),
      expect.objectContaining({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } }),
      expect.objectContaining({ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Ship on Friday.' }, title: 'memo' }),
    ]);
  });
});

describe('live previews', () => {
  const LONG = 'Previews arrive in small pieces, and together they spell out exactly this sentence.';

  it('streams event_start and event_delta for agent.message only to the connection that opted in', async () => {
    const s = await newSession(rig);
    rig.up.script(reply(LONG));
    const opted = await EventTap.open(client, s.id, { event_deltas: ['agent.message'] });
    const plain = await EventTap.open(client, s.id);
    await send(s.id, text('talk'));
    const turn = await opted.until(isIdle);
    const plainTurn = await plain.until(isIdle);
    opted.close();
    plain.close();

    const collapsed = types(turn).filter((t, i, all) => t !== 'event_delta' || all[i - 1] !== 'event_delta');
    expect(collapsed).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'event_start', 'event_delta', 'agent.message',
      'span.model_request_end', 'session.status_idle',
    ]);
    const start = turn.find(isType('event_start'))!;
    const message = turn.find(isType('agent.message'))!;
    const deltas = turn.filter(isType('event_delta'));
    expect(deltas.length).toBeGreaterThan(1);
    expect(start.event).toEqual({ type: 'agent.message', id: message.id });
    for (const d of deltas) {
      expect(d.event_id).toBe(message.id);
      expect(d.delta).toMatchObject({ type: 'content_delta', index: 0, content: { type: 'text' } });
    }
    expect(deltas.map((d) => d.delta.content.text).join('')).toBe(LONG);
    expect(message.content).toEqual([{ type: 'text', text: LONG }]);

    expect(types(plainTurn)).toEqual(PLAIN_TURN);
    expect(plainTurn.map((e) => e.id)).toEqual(persisted(turn).map((e) => e.id));
    expect(types(await listEvents(client, s.id))).toEqual(PLAIN_TURN);
  });

  it('previews agent.thinking when asked for it, and not agent.message unless asked', async () => {
    const s = await newSession(rig);
    const thinking = 'Let me weigh both options before I answer the question.';
    rig.up.script({ content: [{ type: 'thinking', thinking }, { type: 'text', text: 'Option B.' }] });
    const tap = await EventTap.open(client, s.id, { event_deltas: ['agent.thinking'] });
    await send(s.id, text('A or B?'));
    const turn = await tap.until(isIdle);
    tap.close();

    const starts = turn.filter(isType('event_start'));
    const thinkingEvent = turn.find(isType('agent.thinking'))!;
    expect(starts).toHaveLength(1);
    expect(starts[0].event).toEqual({ type: 'agent.thinking', id: thinkingEvent.id });
    const deltas = turn.filter(isType('event_delta'));
    expect(deltas.length).toBeGreaterThan(0);
    for (const d of deltas) expect(d.event_id).toBe(thinkingEvent.id);
    expect(deltas.map((d) => d.delta.content.text).join('')).toBe(thinking);
    const order = types(turn);
    expect(order.indexOf('event_start')).toBeGreaterThan(order.indexOf('span.model_request_start'));
    expect(order.lastIndexOf('event_delta')).toBeLessThan(order.indexOf('agent.thinking'));
  });
});

describe('custom tools', () => {
  const tools = [customTool('lookup')];

  it('pauses with requires_action on agent.custom_tool_use and resumes with the tool result in the next model request', async () => {
    const s = await newSession(rig, { tools });
    rig.up.script(
      { content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', name: 'lookup', input: { q: 'order 7' } }] },
      reply('It shipped.'),
    );
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('where is order 7?'));
    const first = await tap.until(isIdle);
    expect(types(first)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'agent.custom_tool_use',
      'span.model_request_end', 'session.status_idle',
    ]);
    const use = first[4];
    expect(use).toMatchObject({ name: 'lookup', input: { q: 'order 7' } });
    expect(first[6]).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    expect(rig.up.requests[0].body.tools).toEqual([
      expect.objectContaining({ name: 'lookup', description: 'the lookup tool', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }),
    ]);

    const sent = await send(s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'shipped Tuesday' }] });
    expect(sent.data[0]).toMatchObject({ type: 'user.custom_tool_result', custom_tool_use_id: use.id, processed_at: expect.any(String) });
    const second = await tap.until(isIdle);
    tap.close();
    expect(types(second)).toEqual(['user.custom_tool_result', ...RESUMED_TURN]);
    expect(second[5].stop_reason).toEqual({ type: 'end_turn' });

    expect(rig.up.requests).toHaveLength(2);
    const req = rig.up.requests[1];
    const assistant = req.body.messages.find((m: any) => m.role === 'assistant');
    expect(assistant.content).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'tool_use', id: use.id, name: 'lookup', input: { q: 'order 7' } })]));
    expect(toolResults(req)).toEqual([expect.objectContaining({ tool_use_id: use.id, content: [{ type: 'text', text: 'shipped Tuesday' }] })]);
  });

  it('re-announces requires_action with the remaining id when only one of two calls is answered', async () => {
    const s = await newSession(rig, { tools });
    rig.up.script(
      { content: [{ type: 'tool_use', name: 'lookup', input: { q: 'a' } }, { type: 'tool_use', name: 'lookup', input: { q: 'b' } }] },
      reply('Both done.'),
    );
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('look up a and b'));
    const first = await tap.until(isIdle);
    const uses = first.filter(isType('agent.custom_tool_use'));
    expect(uses.map((u) => u.input)).toEqual([{ q: 'a' }, { q: 'b' }]);
    const [a, b] = uses;
    expect(first[first.length - 1].stop_reason).toEqual({ type: 'requires_action', event_ids: [a.id, b.id] });

    await send(s.id, { type: 'user.custom_tool_result', custom_tool_use_id: a.id, content: [{ type: 'text', text: 'A!' }] });
    const partial = await tap.until(isIdle);
    expect(types(partial)).toEqual(['user.custom_tool_result', 'session.status_idle']);
    expect(partial[1].stop_reason).toEqual({ type: 'requires_action', event_ids: [b.id] });
    expect(rig.up.requests).toHaveLength(1);

    await send(s.id, { type: 'user.custom_tool_result', custom_tool_use_id: b.id, is_error: true, content: [{ type: 'text', text: 'no such key' }] });
    const rest = await tap.until(isIdle);
    tap.close();
    expect(types(rest)).toEqual(['user.custom_tool_result', ...RESUMED_TURN]);
    expect(rest[rest.length - 1].stop_reason).toEqual({ type: 'end_turn' });
    const results = toolResults(rig.up.requests[1]);
    expect(results).toHaveLength(2);
    expect(results.find((r) => r.tool_use_id === a.id)).toMatchObject({ content: [{ type: 'text', text: 'A!' }] });
    expect(results.find((r) => r.tool_use_id === b.id)).toMatchObject({ is_error: true, content: [{ type: 'text', text: 'no such key' }] });
  });
});

describe('interrupts', () => {
  it('aborts an in-flight model call at once and goes idle with end_turn', async () => {
    const s = await newSession(rig);
    rig.up.script({ content: [], hang: true });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('think forever'));
    const before = await tap.until(isType('span.model_request_start'));
    await rig.up.waitForRequests(1);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('running');

    const sent = await send(s.id, interrupt());
    expect(sent.data[0]).toMatchObject({ type: 'user.interrupt', processed_at: null });
    const after = await tap.until(isIdle);
    tap.close();
    expect(types(after)).toEqual(['user.interrupt', 'span.model_request_end', 'session.status_idle']);
    expect(after[1]).toMatchObject({ model_request_start_id: before[before.length - 1].id, is_error: true });
    expect(after[2]).toMatchObject({ stop_reason: { type: 'end_turn' } });

    const log = await listEvents(client, s.id);
    expect(log.find((e) => e.id === sent.data[0].id)?.processed_at).toEqual(expect.any(String));
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    expect(rig.up.requests).toHaveLength(1);
  });

  it('starts a new turn for a user.message sent together with the interrupt', async () => {
    const s = await newSession(rig);
    rig.up.script({ content: [], hang: true }, reply('Sure, the short version.'));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('write a long essay'));
    await tap.until(isType('span.model_request_start'));
    await rig.up.waitForRequests(1);

    await send(s.id, interrupt(), text('actually, keep it short'));
    const stopped = await tap.until(isIdle);
    const resumed = await tap.until(isIdle);
    tap.close();
    expect(types(stopped)).toEqual(['user.interrupt', 'user.message', 'span.model_request_end', 'session.status_idle']);
    expect(types(resumed)).toEqual(RESUMED_TURN);
    const after = [...stopped, ...resumed];
    expect(after[2].is_error).toBe(true);
    expect(after[6].content).toEqual([{ type: 'text', text: 'Sure, the short version.' }]);
    const last = messageTexts(rig.up.requests[1]).at(-1)!;
    expect(last.role).toBe('user');
    expect(last.texts).toContain('actually, keep it short');
  });

  it('answers pending custom tool calls with error results and keeps the session usable', async () => {
    const s = await newSession(rig, { tools: [customTool('lookup')] });
    rig.up.script({ content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }] }, reply('Okay, skipping it.'));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('use the tool'));
    const first = await tap.until(isIdle);
    const use = first.find(isType('agent.custom_tool_use'))!;

    await send(s.id, interrupt());
    const cancelled = await tap.until(isType('agent.tool_result'));
    expect(cancelled[cancelled.length - 1]).toMatchObject({ tool_use_id: use.id, is_error: true });
    const late = await rejection(send(s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'late' }] }));
    expect(late).toBeInstanceOf(Anthropic.BadRequestError);

    await send(s.id, text('never mind'));
    const next = await tap.until(isType('user.message'));
    expect(types(next)).not.toContain('session.status_running');
    const turn = await tap.until(isIdle);
    tap.close();
    expect(types(turn)).toEqual(RESUMED_TURN);
    expect(toolResults(rig.up.requests[1])).toEqual([expect.objectContaining({ tool_use_id: use.id, is_error: true })]);
  });

  it('treats an interrupt on an idle session as a no-op', async () => {
    const s = await newSession(rig);
    const sent = await send(s.id, interrupt());
    const log = await eventually(() => listEvents(client, s.id), (l) => l.every((e) => e.processed_at !== null), 10_000, 'interrupt processed');
    expect(types(log)).toEqual(['user.interrupt']);
    expect(log[0].id).toBe(sent.data[0].id);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');

    rig.up.script(reply('hello'));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hi'));
    expect(types(await tap.until(isIdle))).toEqual(PLAIN_TURN);
    tap.close();
    expect(messageTexts(rig.up.requests[0])).toEqual([{ role: 'user', texts: ['hi'] }]);
  });
});

describe('queued messages', () => {
  it('queues messages sent while running and feeds them, in order, to the next model request', async () => {
    const s = await newSession(rig);
    const g = gate();
    let calls = 0;
    rig.up.setResponder(async () => {
      calls += 1;
      if (calls === 1) {
        await g.wait;
        return reply('first answer');
      }
      return reply('second answer');
    });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('m1'));
    await rig.up.waitForRequests(1);
    const q2 = await send(s.id, text('m2'));
    const q3 = await send(s.id, text('m3'));
    expect(q2.data[0].processed_at).toBeNull();
    expect(q3.data[0].processed_at).toBeNull();
    g.open();

    const turn = await tap.until(isIdle);
    tap.close();
    expect(types(turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'user.message', 'user.message',
      'agent.message', 'span.model_request_end', 'span.model_request_start', 'agent.message', 'span.model_request_end',
      'session.status_idle',
    ]);
    expect(turn[3].id).toBe(q2.data[0].id);
    expect(turn[4].id).toBe(q3.data[0].id);
    expect(rig.up.requests).toHaveLength(2);
    expect(messageTexts(rig.up.requests[1])).toEqual([
      { role: 'user', texts: ['m1'] },
      { role: 'assistant', texts: ['first answer'] },
      { role: 'user', texts: ['m2', 'm3'] },
    ]);
    const log = await listEvents(client, s.id, { types: ['user.message'] });
    expect(log.map((e) => e.processed_at)).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
  });
});

describe('model errors', () => {
  it('retries 429, 529, 500 and a dropped connection with session.error retrying, rescheduled and running', async () => {
    const s = await newSession(rig);
    rig.up.script(
      { kind: 'error', status: 429, type: 'rate_limit_error', retryAfterSeconds: 0 },
      { kind: 'error', status: 529, type: 'overloaded_error' },
      { kind: 'error', status: 500, type: 'api_error' },
      { kind: 'disconnect' },
      reply('finally'),
    );
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hi'));
    const turn = await tap.until(isIdle);
    tap.close();

    const failure = ['span.model_request_start', 'span.model_request_end', 'session.error', 'session.status_rescheduled', 'session.status_running'];
    expect(types(turn)).toEqual([
      'user.message', 'session.status_running',
      ...failure, ...failure, ...failure, ...failure,
      'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    const errors = turn.filter(isType('session.error'));
    expect(errors.map((e) => e.error.type)).toEqual([
      'model_rate_limited_error', 'model_overloaded_error', 'model_request_failed_error', 'model_request_failed_error',
    ]);
    for (const e of errors) {
      expect(e.error.retry_status).toEqual({ type: 'retrying' });
      expect(e.error.message).toEqual(expect.any(String));
    }
    expectSpansPaired(turn, [true, true, true, true, false]);
    expect(turn[turn.length - 1].stop_reason).toEqual({ type: 'end_turn' });
    expect(rig.up.requests).toHaveLength(5);
  });

  it('gives up after HANGAR_MODEL_MAX_RETRIES with exhausted and idle retries_exhausted, and stays usable', async () => {
    const s = await newSession(rig);
    rig.up.setResponder(() => ({ kind: 'error', status: 529, type: 'overloaded_error' }));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hi'));
    const turn = await tap.until(isIdle);

    const failure = ['span.model_request_start', 'span.model_request_end', 'session.error', 'session.status_rescheduled', 'session.status_running'];
    expect(types(turn)).toEqual([
      'user.message', 'session.status_running',
      ...Array.from({ length: 5 }, () => failure).flat(),
      'span.model_request_start', 'span.model_request_end', 'session.error', 'session.status_idle',
    ]);
    const errors = turn.filter(isType('session.error'));
    expect(errors.map((e) => e.error.retry_status.type)).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'retrying', 'exhausted']);
    expect(errors.every((e) => e.error.type === 'model_overloaded_error')).toBe(true);
    expect(turn[turn.length - 1]).toMatchObject({ stop_reason: { type: 'retries_exhausted' } });
    expect(rig.up.requests).toHaveLength(6);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');

    rig.up.setResponder(() => reply('back again'));
    await send(s.id, text('still there?'));
    const next = await tap.until(isIdle);
    tap.close();
    expect(types(next)).toEqual(PLAIN_TURN);
    expect(next[next.length - 1].stop_reason).toEqual({ type: 'end_turn' });
    expect(messageTexts(rig.up.requests[6]).at(-1)!.texts).toContain('still there?');
  });

  it('does not start another turn for input queued before retries were exhausted', async () => {
    const s = await newSession(rig);
    const g = gate();
    let calls = 0;
    rig.up.setResponder(async () => {
      calls += 1;
      if (calls === 1) await g.wait;
      return { kind: 'error', status: 529, type: 'overloaded_error' };
    });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('m1'));
    await rig.up.waitForRequests(1);
    await send(s.id, text('m2 while failing'));
    g.open();
    const turn = await tap.until(isIdle);
    expect(turn[turn.length - 1].stop_reason).toEqual({ type: 'retries_exhausted' });
    expect(calls).toBe(6);

    rig.up.setResponder(() => reply('recovered'));
    const m3 = await send(s.id, text('m3'));
    const next = await tap.until(isIdle);
    tap.close();
    expect(next[0].id).toBe(m3.data[0].id);
    expect(types(next)).toEqual(PLAIN_TURN);
    expect(rig.up.requests).toHaveLength(7);
  });

  it.each([
    [401, 'authentication_error', 'rejected the API key Hangar sends'],
    [403, 'permission_error', 'lacks permission'],
  ])('an upstream %i %s (the operator\'s model key) ends the turn, not the session: idle retries_exhausted, and the next message works once the key is fixed', async (status, type, says) => {
    const s = await newSession(rig);
    rig.up.script({ kind: 'error', status, type, message: 'invalid x-api-key' });
    const tap = await EventTap.open(client, s.id);
    try {
      await send(s.id, text('hi'));
      const turn = await tap.until(isIdle);
      expect(types(turn)).toEqual([
        'user.message', 'session.status_running', 'span.model_request_start', 'span.model_request_end', 'session.error',
        'session.status_idle',
      ]);
      expect(turn[3]).toMatchObject({ model_request_start_id: turn[2].id, is_error: true });
      const error = turn[4].error;
      expect(error).toMatchObject({ type: 'model_request_failed_error', retry_status: { type: 'exhausted' } });
      // Plain words: who refused (the provider and its host), why, and which variable fixes it.
      expect(error.message).toContain(`The model provider Anthropic (${new URL(rig.up.url).host}) `);
      expect(error.message).toContain(says);
      expect(error.message).toContain(`(${status} ${type}: invalid x-api-key)`);
      expect(error.message).toContain('ANTHROPIC_API_KEY');
      expect(turn[5].stop_reason).toEqual({ type: 'retries_exhausted' });
      // Not retried: the same key would be refused again.
      expect(rig.up.requests).toHaveLength(1);
      expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');

      // The operator fixes the key (here: the upstream accepts it now); the session carries on.
      rig.up.script(reply('key works now'));
      await send(s.id, text('try again'));
      const next = await tap.until(isIdle);
      expect(types(next)).toEqual(PLAIN_TURN);
      expect(next.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
      expect(rig.up.requests).toHaveLength(2);
      expect(messageTexts(rig.up.requests[1]).at(-1)!.texts).toContain('try again');
    } finally {
      tap.close();
    }
  });

  it.each([
    [400, 'invalid_request_error'],
    [404, 'not_found_error'],
  ])('terminates the session on a non-retryable upstream %i %s, closes the stream and rejects later sends', async (status, type) => {
    const s = await newSession(rig);
    rig.up.script({ kind: 'error', status, type });
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('hi'));
    const turn = await tap.until(isType('session.status_terminated'));
    expect(types(turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'span.model_request_end', 'session.error',
      'session.status_terminated',
    ]);
    expect(turn[3]).toMatchObject({ model_request_start_id: turn[2].id, is_error: true });
    expect(turn[4].error).toMatchObject({ type: expect.any(String), message: expect.any(String), retry_status: { type: 'terminal' } });
    await tap.ended();
    expect(rig.up.requests).toHaveLength(1);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('terminated');

    const e = await rejection(send(s.id, text('hello?')));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect(e.type).toBe('invalid_request_error');
    expect(rig.up.requests).toHaveLength(1);
  });
});

function expectSpansPaired(events: Ev[], errors: boolean[]): void {
  const starts = events.filter(isType('span.model_request_start'));
  const ends = events.filter(isType('span.model_request_end'));
  expect(ends.map((e) => e.model_request_start_id)).toEqual(starts.map((e) => e.id));
  expect(ends.map((e) => e.is_error)).toEqual(errors);
}

describe('refusals', () => {
  it.skipIf(lacks('openai', 'content_filter carries no category or explanation; the adapter reports its own'))('goes idle with stop_reason refusal and the refusal stop_details, and accepts the next message', async () => {
    const s = await newSession(rig);
    const details = { type: 'refusal', category: 'cyber', explanation: 'The request asks for malware.' };
    rig.up.script(reply('I cannot help with that.', { stop_reason: 'refusal', stop_details: details }), reply('Happy to help with that.'));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('write ransomware'));
    const turn = await tap.until(isIdle);
    expect(types(turn)).toEqual(PLAIN_TURN);
    expect(turn[turn.length - 1]).toMatchObject({ stop_reason: { type: 'refusal' }, stop_details: details });
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');

    await send(s.id, text('then explain TLS'));
    const next = await tap.until(isIdle);
    tap.close();
    expect(types(next)).toEqual(PLAIN_TURN);
    expect(next[next.length - 1]).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null });
  });
});

describe('usage', () => {
  it.skipIf(lacks('openai', 'Chat Completions reports no cache-write tokens (its prompt caching is automatic)'))('reports per-request model_usage on span ends and accumulates session usage and stats', async () => {
    const s = await newSession(rig);
    rig.up.script(
      reply('one', { usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 40 } }),
      reply('two', { usage: { input_tokens: 1, output_tokens: 2, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 } }),
    );
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('a'));
    const t1 = await tap.until(isIdle);
    await send(s.id, text('b'));
    const t2 = await tap.until(isIdle);
    tap.close();
    expect(t1.find(isType('span.model_request_end'))!.model_usage).toEqual(
      expect.objectContaining({ input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 30, cache_creation_input_tokens: 40 }));
    expect(t2.find(isType('span.model_request_end'))!.model_usage).toEqual(
      expect.objectContaining({ input_tokens: 1, output_tokens: 2, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 }));

    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.usage).toMatchObject({
      input_tokens: 101,
      output_tokens: 22,
      cache_read_input_tokens: 33,
      cache_creation: { ephemeral_5m_input_tokens: 44 },
    });
    expect(session.stats?.duration_seconds).toEqual(expect.any(Number));
    expect(session.stats?.active_seconds).toEqual(expect.any(Number));
    expect(session.stats!.duration_seconds!).toBeGreaterThanOrEqual(session.stats!.active_seconds!);
  });

  it('counts no tokens for failed model requests', async () => {
    const s = await newSession(rig);
    rig.up.script({ kind: 'error', status: 529, type: 'overloaded_error' }, reply('ok', { usage: { input_tokens: 7, output_tokens: 1 } }));
    const tap = await EventTap.open(client, s.id);
    await send(s.id, text('a'));
    await tap.until(isIdle);
    tap.close();
    await waitForStatus(client, s.id, 'idle');
    const session = await client.beta.sessions.retrieve(s.id);
    expect(session.usage).toMatchObject({ input_tokens: 7, output_tokens: 1 });
  });
});
