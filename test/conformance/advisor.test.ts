// The advisor through the official SDK with a scripted upstream: an agent whose multiagent
// configuration enables an advisor gets an `advisor` tool on its primary thread; a call consults the
// advisor model with the conversation so far and returns its advice as the tool result; the consult
// shows on the primary stream as an `anthropic.advisor` thread (created, running, message received,
// idle, terminated) with its own span and usage; an interrupt during a consult closes it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { eventually, listEvents, MODEL, resultText, sendEvents, startRig, text, type Ev, type Rig } from './helpers.ts';
import type { RecordedRequest } from '../kit/fake-upstream.ts';

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

const ADVISOR_MODEL = 'claude-opus-4-6';
const isAdvisorRequest = (r: RecordedRequest) => JSON.stringify(r.body.system ?? '').includes('You are an advisor');
const convo = (r: RecordedRequest) => JSON.stringify(r.body.messages);
const lastIdleAfter = (evs: Ev[], type: string) => evs.findLastIndex((e) => e.type === 'session.status_idle') > evs.findLastIndex((e) => e.type === type);

async function threads(sessionId: string) {
  const out = [];
  for await (const t of client.beta.sessions.threads.list(sessionId)) out.push(t);
  return out;
}

describe('the advisor', () => {
  it('consults the advisor model with the conversation so far and returns its advice; the consult is an anthropic.advisor thread', async () => {
    const agent = await client.beta.agents.create({
      name: 'advised', model: MODEL, system: 'You do the work.',
      multiagent: { type: 'multiagent_20261001', advisor: { type: 'enabled', model: ADVISOR_MODEL }, subagents: { type: 'disabled' }, workflows: { type: 'disabled' } } as any,
    });
    expect((agent.multiagent as any).advisor).toEqual({ type: 'enabled', model: ADVISOR_MODEL });
    rig.up.setResponder((req) => {
      if (isAdvisorRequest(req)) return { content: [{ type: 'text', text: 'advice: run the tests first' }], usage: { input_tokens: 40, output_tokens: 7 } };
      if (!convo(req).includes('tool_result')) {
        const names = req.body.tools.map((t: any) => t.name);
        expect(names).toContain('advisor');
        expect(names).not.toContain('send_to_agent');
        return { content: [{ type: 'tool_use', name: 'advisor', input: { question: 'what should I do next?' } }], stop_reason: 'tool_use' };
      }
      return { content: [{ type: 'text', text: 'following the advice' }] };
    });
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('fix the flaky build'));
    const evs = await eventually(() => listEvents(client, s.id), (evs) => evs.some((e) => e.type === 'agent.message' && e.content[0].text === 'following the advice') && lastIdleAfter(evs, 'agent.message'), 15_000, 'the answer after the advice');

    // The consult on the primary stream, in order.
    const advisorId = evs.find((e) => e.type === 'session.thread_created')!.session_thread_id;
    const consult = evs.filter((e) => e.session_thread_id === advisorId || e.from_session_thread_id === advisorId);
    expect(consult.map((e) => e.type)).toEqual([
      'session.thread_created', 'session.thread_status_running', 'agent.thread_message_received', 'session.thread_status_idle', 'session.thread_status_terminated',
    ]);
    expect(consult[0]).toMatchObject({ agent_name: 'anthropic.advisor' });
    expect(consult[2]).toMatchObject({ from_agent_name: 'anthropic.advisor', content: [{ type: 'text', text: 'advice: run the tests first' }] });
    expect(consult[3].stop_reason).toEqual({ type: 'end_turn' });
    // The advice is the tool's result; the model got it once, as the result (not as another message).
    const use = evs.find((e) => e.type === 'agent.tool_use' && e.name === 'advisor')!;
    expect(use.evaluated_permission).toBe('allow');
    const result = evs.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)!;
    expect(result.is_error).toBe(false);
    expect(resultText(result)).toBe('advice: run the tests first');
    const after = rig.up.requests.filter((r) => !isAdvisorRequest(r)).at(-1)!;
    expect(convo(after).split('advice: run the tests first')).toHaveLength(2);

    // The advisor saw the conversation so far and the question, on its own model, with no tools.
    const [advisorReq, ...more] = rig.up.requests.filter(isAdvisorRequest);
    expect(more).toHaveLength(0);
    expect(advisorReq.body.model).toBe(ADVISOR_MODEL);
    expect(advisorReq.body.tools ?? []).toEqual([]);
    expect(convo(advisorReq)).toContain('fix the flaky build');
    expect(convo(advisorReq)).toContain('what should I do next?');

    // The threads API: the consult is a terminated thread with the advisor snapshot, its span and usage.
    const all = await threads(s.id);
    expect(all).toHaveLength(2);
    const t = all.find((x) => x.id === advisorId)!;
    expect(t).toMatchObject({ type: 'session_thread', status: 'terminated', parent_thread_id: all[0].id, agent: { type: 'advisor', model: ADVISOR_MODEL } });
    expect(t.usage).toMatchObject({ input_tokens: 40, output_tokens: 7 });
    const trace: Ev[] = [];
    for await (const e of client.beta.sessions.threads.events.list(advisorId, { session_id: s.id })) trace.push(e as unknown as Ev);
    expect(trace.map((e) => e.type)).toEqual(['session.thread_created', 'session.thread_status_running', 'span.model_request_start', 'span.model_request_end',
      'session.thread_status_idle', 'session.thread_status_terminated']);
    // Session usage counts the consult.
    expect((await client.beta.sessions.retrieve(s.id)).usage).toMatchObject({ input_tokens: expect.any(Number) });
    expect(((await client.beta.sessions.retrieve(s.id)).usage as any).input_tokens).toBeGreaterThanOrEqual(40);
    // A consult thread cannot be interrupted on its own.
    const err = await sendEvents(client, s.id, { type: 'user.interrupt', session_thread_id: advisorId } as any).catch((e) => e);
    expect(err.status).toBe(400);
    rig.up.setResponder(null);
  });

  it('is offered by a coordinator roster\'s advisor entry too', async () => {
    const helper = await client.beta.agents.create({ name: 'adv-helper', model: MODEL });
    const lead = await client.beta.agents.create({
      name: 'adv-lead', model: MODEL, multiagent: { type: 'coordinator', agents: [helper.id, { type: 'advisor', model: ADVISOR_MODEL }] } as any,
    });
    let names: string[] = [];
    rig.up.setResponder((req) => {
      names = req.body.tools.map((t: any) => t.name);
      return { content: [{ type: 'text', text: 'ok' }] };
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('hi'));
    await eventually(() => listEvents(client, s.id), (evs) => evs.some((e) => e.type === 'agent.message') && lastIdleAfter(evs, 'agent.message'), 10_000, 'an answer');
    expect(names).toEqual(expect.arrayContaining(['advisor', 'send_to_agent', 'list_agents']));
    rig.up.setResponder(null);
  });

  it('an interrupt during a consult closes its thread and answers the call as interrupted', async () => {
    const agent = await client.beta.agents.create({
      name: 'advised-2', model: MODEL,
      multiagent: { type: 'multiagent_20261001', advisor: { type: 'enabled', model: ADVISOR_MODEL }, subagents: { type: 'disabled' } } as any,
    });
    rig.up.setResponder((req) => {
      if (isAdvisorRequest(req)) return { content: [{ type: 'text', text: 'thinking...' }], hang: true };
      return { content: [{ type: 'tool_use', name: 'advisor', input: {} }], stop_reason: 'tool_use' };
    });
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    await eventually(async () => rig.up.requests.filter(isAdvisorRequest).length, (n) => n === 1, 10_000, 'the consult started');
    await sendEvents(client, s.id, { type: 'user.interrupt' });
    const evs = await eventually(() => listEvents(client, s.id), (evs) => lastIdleAfter(evs, 'user.interrupt') && evs.some((e) => e.type === 'session.thread_status_terminated'), 10_000, 'idle after the interrupt');
    const use = evs.find((e) => e.type === 'agent.tool_use')!;
    const results = evs.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
    expect(results).toHaveLength(1);
    expect(results[0].is_error).toBe(true);
    expect(evs.some((e) => e.type === 'agent.thread_message_received')).toBe(false);
    const all = await threads(s.id);
    expect(all.map((t) => t.status)).toEqual(['idle', 'terminated']);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    rig.up.setResponder(null);
  });
});
