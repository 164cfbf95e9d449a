// Teams of agents under human and budget control, through the official SDK with a scripted
// upstream and real sandboxes: a child's always_ask call cross-posted to the primary stream and
// approved (runs once) or denied (never runs) while another child keeps working; a session-level
// interrupt stopping every thread; one budget shared by all threads (a child's spend pauses the
// whole session, raising it resumes every thread); the 25-active-threads limit; and bad input on
// every thread route answered with a 4xx that changes nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  customTool, eventually, gate, listEvents, MODEL, rejection, resultText, sandboxDir, sendEvents, startRig, text, toolset,
  TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';
import type { FakeReply, RecordedRequest } from '../kit/fake-upstream.ts';

/** One cent per input or output token, so spend reads as token counts. */
const CENT_MODEL = 'cent-model';
const PRICING = JSON.stringify({ [CENT_MODEL]: { input: 10_000, output: 10_000 } });
const WAIT = 20_000;

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

const systemOf = (r: RecordedRequest) => JSON.stringify(r.body.system ?? '');
const convo = (r: RecordedRequest) => JSON.stringify(r.body.messages);
const say = (t: string, usage?: Record<string, number>): FakeReply => ({ content: [{ type: 'text', text: t }], ...(usage ? { usage } : {}) });
const send = (agent_name: string, message: string) => ({ type: 'tool_use' as const, name: 'send_to_agent', input: { agent_name, message } });
const usd = (cents: number) => ({ type: 'limit' as const, max_list_cost: { amount: String(cents), currency: 'USD' as const } });
const uid = () => Math.random().toString(36).slice(2, 8);

async function threadsOf(sessionId: string) {
  const out: Anthropic.Beta.Sessions.Threads.BetaManagedAgentsSessionThread[] = [];
  for await (const t of client.beta.sessions.threads.list(sessionId)) out.push(t);
  return out;
}

async function threadEvents(sessionId: string, threadId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of client.beta.sessions.threads.events.list(threadId, { session_id: sessionId })) out.push(e as unknown as Ev);
  return out;
}

/** Polls the primary events list until `pred` holds; returns the list. */
function primaryUntil(sessionId: string, pred: (evs: Ev[]) => boolean, what: string, ms = WAIT) {
  return eventually(() => listEvents(client, sessionId), pred, ms, what);
}

const lastIdle = (evs: Ev[]): Ev | undefined => evs.filter((e) => e.type === 'session.status_idle').at(-1);
const lastIdleOf = (evs: Ev[]): Ev => lastIdle(evs) ?? { type: 'none' };
const finalSaid = (t: string) => (evs: Ev[]) => evs.some((e) => e.type === 'agent.message' && e.content?.[0]?.text === t) && lastIdle(evs) !== undefined &&
  evs.findLastIndex((e) => e.type === 'session.status_idle') > evs.findLastIndex((e) => e.type === 'agent.message');

describe('a child thread\'s always_ask call, cross-posted to the primary stream', () => {
  async function askingTeam() {
    const tag = uid();
    const runner = await client.beta.agents.create({
      name: `runner-${tag}`, model: MODEL, system: `You run ${tag}.`,
      tools: [toolset({ configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] })] as any,
    });
    const quick = await client.beta.agents.create({ name: `quick-${tag}`, model: MODEL, system: `You are quick ${tag}.` });
    const lead = await client.beta.agents.create({
      name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [runner.id, quick.id] } as any,
    });
    rig.up.setResponder((req) => {
      const sys = systemOf(req);
      const all = convo(req);
      if (sys.includes(`You run ${tag}.`)) {
        if (all.includes('tool_result')) return say(all.includes('denied by the user') ? 'runner was denied' : 'runner ran it');
        return { content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo run >> /workspace/count.txt && echo ran-once' } }], stop_reason: 'tool_use' };
      }
      if (sys.includes(`You are quick ${tag}.`)) return say('quick report');
      if (!all.includes('send_to_agent')) return { content: [send(`runner-${tag}`, 'run the command'), send(`quick-${tag}`, 'be quick')], stop_reason: 'tool_use' };
      if (all.includes('runner ran it') || all.includes('runner was denied')) return say(all.includes('runner ran it') ? 'final: ran' : 'final: denied');
      return say('waiting');
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    // The other child keeps working while one waits: quick reports before anyone answers the runner.
    // Settled: the coordinator has answered quick's report ("waiting") and the session went idle after it.
    const evs = await primaryUntil(s.id, (evs) => {
      const report = evs.findIndex((e) => e.type === 'agent.thread_message_received' && e.from_agent_name === `quick-${tag}`);
      const answered = evs.findLastIndex((e) => e.type === 'agent.message' && e.content?.[0]?.text === 'waiting');
      const consumed = rig.up.requests.some((r) => systemOf(r).includes(`You lead ${tag}.`) && convo(r).includes('quick report'));
      return evs.some((e) => e.type === 'agent.tool_use' && e.session_thread_id) && report >= 0 && consumed && answered > report &&
        evs.findLastIndex((e) => e.type === 'session.status_idle') > answered && lastIdle(evs)?.stop_reason?.type === 'requires_action';
    }, 'a cross-posted always_ask call and the quick report answered', TOOL_WAIT_MS);
    const use = evs.find((e) => e.type === 'agent.tool_use' && e.session_thread_id)!;
    return { s, tag, use, evs };
  }

  it('is approved from the primary stream: the call runs exactly once in the shared sandbox and the child reports', async () => {
    const { s, use, evs } = await askingTeam();
    expect(use).toMatchObject({ name: 'bash', evaluated_permission: 'ask', session_thread_id: expect.stringMatching(/^sthr_/) });
    expect(lastIdleOf(evs).stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    const waiting = (await threadsOf(s.id)).find((t) => t.id === use.session_thread_id)!;
    expect(waiting.status).toBe('idle');
    // Nothing has run yet.
    expect(existsSync(join(sandboxDir(rig, s.id), 'workspace', 'count.txt'))).toBe(false);
    // A thread waiting on a human cannot be archived (its call would be stranded).
    const archiveErr = await rejection(client.beta.sessions.threads.archive(waiting.id, { session_id: s.id }));
    expect(archiveErr.status).toBe(400);
    expect(archiveErr.message).toContain(use.id);
    expect((await client.beta.sessions.threads.retrieve(waiting.id, { session_id: s.id })).archived_at).toBeNull();

    const [echo] = await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' });
    expect(echo).toMatchObject({ type: 'user.tool_confirmation', tool_use_id: use.id, session_thread_id: use.session_thread_id });
    const done = await primaryUntil(s.id, finalSaid('final: ran'), 'the coordinator\'s final answer', TOOL_WAIT_MS);
    expect(lastIdleOf(done).stop_reason).toEqual({ type: 'end_turn' });
    expect(readFileSync(join(sandboxDir(rig, s.id), 'workspace', 'count.txt'), 'utf8')).toBe('run\n');
    // The result lives in the child's trace (not on the condensed primary view) and ran once.
    const child = await threadEvents(s.id, use.session_thread_id);
    const results = child.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
    expect(results).toHaveLength(1);
    expect(results[0].is_error).toBe(false);
    expect(resultText(results[0])).toContain('ran-once');
    expect(done.some((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)).toBe(false);
    rig.up.setResponder(null);
  }, 60_000);

  it('is denied from the primary stream: the call never runs, the child gets the denial and reports', async () => {
    const { s, use } = await askingTeam();
    const [echo] = await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny', deny_message: 'not on my watch' });
    expect(echo.session_thread_id).toBe(use.session_thread_id);
    await primaryUntil(s.id, finalSaid('final: denied'), 'the coordinator\'s final answer', TOOL_WAIT_MS);
    const child = await threadEvents(s.id, use.session_thread_id);
    const result = child.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)!;
    expect(result.is_error).toBe(true);
    expect(resultText(result)).toContain('not on my watch');
    expect(existsSync(join(sandboxDir(rig, s.id), 'workspace', 'count.txt'))).toBe(false);
    // A second confirmation for the settled call is refused and changes nothing.
    const before = (await listEvents(client, s.id)).length;
    const err = await rejection(sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }));
    expect(err.status).toBe(400);
    expect((await listEvents(client, s.id)).length).toBe(before);
    rig.up.setResponder(null);
  }, 60_000);
});

describe('session-level interrupt', () => {
  it('without session_thread_id stops every thread (the coordinator\'s own request included); no child reports', async () => {
    const tag = uid();
    const sleeper = await client.beta.agents.create({ name: `sleeper-${tag}`, model: MODEL, system: `You sleep ${tag}.` });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [sleeper.id] } as any });
    rig.up.setResponder((req) => {
      if (systemOf(req).includes(`You sleep ${tag}.`)) return { content: [{ type: 'text', text: 'zzz' }], hang: true };
      if (!convo(req).includes('send_to_agent')) return { content: [send(`sleeper-${tag}`, 'one'), send(`sleeper-${tag}`, 'two')], stop_reason: 'tool_use' };
      return { content: [{ type: 'text', text: 'thinking' }], hang: true };
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    // Three threads mid-request: the coordinator's second request and both children's.
    await eventually(async () => rig.up.requests.filter((r) => convo(r).includes('send_to_agent') || systemOf(r).includes(`You sleep ${tag}.`)).length,
      (n) => n === 3, WAIT, 'three hanging model requests');
    const running = await threadsOf(s.id);
    expect(running.map((t) => t.status)).toEqual(['running', 'running', 'running']);

    const echoes = await sendEvents(client, s.id, { type: 'user.interrupt' });
    expect(echoes).toHaveLength(1);
    expect(echoes[0].session_thread_id ?? null).toBeNull();
    const evs = await primaryUntil(s.id, (evs) => lastIdle(evs) !== undefined && evs.findLastIndex((e) => e.type === 'session.status_idle') > evs.findIndex((e) => e.type === 'user.interrupt'), 'idle after the interrupt');
    const threads = await threadsOf(s.id);
    expect(threads.map((t) => t.status)).toEqual(['idle', 'idle', 'idle']);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    expect(evs.some((e) => e.type === 'agent.thread_message_received')).toBe(false);
    for (const child of threads.slice(1)) {
      const trace = await threadEvents(s.id, child.id);
      expect(trace.filter((e) => e.type === 'user.interrupt')).toHaveLength(1);
      expect(trace.at(-1)).toMatchObject({ type: 'session.thread_status_idle', session_thread_id: child.id });
      // The interrupted request was closed as an error (its partial text kept, as on a single-agent session).
      expect(trace.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error)).toEqual([true]);
    }
    // The coordinator's own hanging request was stopped too.
    expect(evs.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error)).toEqual([false, true]);
    rig.up.setResponder(null);
  }, 40_000);
});

describe('one budget shared by every thread', () => {
  it('a child\'s spend pauses the whole session, a thread waiting on a human pauses when answered, raising the budget resumes them', async () => {
    const tag = uid();
    const spender = await client.beta.agents.create({ name: `spender-${tag}`, model: CENT_MODEL, system: `You spend ${tag}.` });
    const waiter = await client.beta.agents.create({ name: `waiter-${tag}`, model: CENT_MODEL, system: `You wait ${tag}.`, tools: [customTool('lookup')] });
    const lead = await client.beta.agents.create({
      name: `lead-${tag}`, model: CENT_MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [spender.id, waiter.id] } as any,
    });
    const waiterAsked = gate();
    const leadWaited = gate();
    const small = { input_tokens: 10, output_tokens: 10 };
    rig.up.setResponder(async (req) => {
      const sys = systemOf(req);
      const all = convo(req);
      if (sys.includes(`You wait ${tag}.`)) {
        if (all.includes('answer-9')) return say('waiter done', small);
        waiterAsked.open();
        return { content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }], stop_reason: 'tool_use', usage: small };
      }
      if (sys.includes(`You spend ${tag}.`)) {
        // The waiter's first request and the coordinator's second start before the spend lands.
        await Promise.all([waiterAsked.wait, leadWaited.wait]);
        return say('spent it all', { input_tokens: 2_000_000, output_tokens: 10 });
      }
      if (!all.includes('send_to_agent')) return { content: [send(`spender-${tag}`, 'spend'), send(`waiter-${tag}`, 'wait')], stop_reason: 'tool_use', usage: small };
      if (all.includes('spent it all') && all.includes('waiter done')) return say('final: both', small);
      leadWaited.open();
      return say('waiting', small);
    });
    // 10 000 USD: far above any one request's worst-case reservation, far below the spender's 20 000 USD.
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId, budget: usd(1_000_000) });
    const primaryId = `sthr_${s.id.slice('sesn_'.length)}`;
    await sendEvents(client, s.id, text('go'));
    const held = await primaryUntil(s.id, (evs) => evs.some((e) => e.type === 'agent.custom_tool_use') &&
      evs.some((e) => e.type === 'agent.thread_message_received' && e.from_agent_name === `spender-${tag}`) &&
      evs.some((e) => e.type === 'session.thread_status_idle' && e.session_thread_id === primaryId && e.stop_reason?.type === 'budget_reached') &&
      lastIdle(evs) !== undefined, 'the spender report and the coordinator paused by the budget');
    const use = held.find((e) => e.type === 'agent.custom_tool_use')!;
    // The coordinator's request after the report never went out: the child's spend paused it.
    const requestsOf = (t: string) => rig.up.requests.filter((r) => systemOf(r).includes(t)).length;
    expect(requestsOf(`You lead ${tag}.`)).toBe(2);
    expect((await threadsOf(s.id))[0].id).toBe(primaryId);
    expect(held.filter((e) => e.type === 'session.thread_status_idle' && e.session_thread_id === primaryId).at(-1)!.stop_reason).toEqual({ type: 'budget_reached' });
    // A human action still outranks the pause in the session's own reason.
    expect(lastIdleOf(held).stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });

    await sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'answer-9' }] });
    const paused = await primaryUntil(s.id, (evs) => lastIdle(evs)?.stop_reason?.type === 'budget_reached', 'the whole session paused by the budget');
    expect(requestsOf(`You wait ${tag}.`)).toBe(1);
    expect(requestsOf(`You lead ${tag}.`)).toBe(2);
    const waiterThread = (await threadsOf(s.id)).find((t) => t.id === use.session_thread_id)!;
    expect((await threadEvents(s.id, waiterThread.id)).filter((e) => e.type === 'session.thread_status_idle').at(-1)!.stop_reason).toEqual({ type: 'budget_reached' });
    // session.usage is on the primary stream only, and shows the shared spend.
    const usage = paused.filter((e) => e.type === 'session.usage').at(-1)!;
    expect(Number(usage.usage.list_cost.amount)).toBeGreaterThan(1_000_000);
    expect(paused.some((e) => e.type === 'session.usage' && e.session_thread_id)).toBe(false);
    // Per-thread usage: the spender's thread carries its own tokens.
    const spenderThread = (await threadsOf(s.id)).find((t) => (t.agent as any).name === `spender-${tag}`)!;
    expect(spenderThread.usage?.input_tokens).toBe(2_000_000);

    await client.beta.sessions.update(s.id, { budget: usd(100_000_000) } as any);
    const done = await primaryUntil(s.id, finalSaid('final: both'), 'the coordinator\'s final answer after the raise');
    expect(lastIdleOf(done).stop_reason).toEqual({ type: 'end_turn' });
    expect(requestsOf(`You wait ${tag}.`)).toBe(2);
    rig.up.setResponder(null);
  }, 60_000);
});

describe('the active-thread limit', () => {
  it('starts 25 threads and answers the 26th send_to_agent with a tool error that creates nothing', async () => {
    const tag = uid();
    const sleeper = await client.beta.agents.create({ name: `sleeper-${tag}`, model: MODEL, system: `You sleep ${tag}.` });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [sleeper.id] } as any });
    rig.up.setResponder((req) => {
      if (systemOf(req).includes(`You sleep ${tag}.`)) return { content: [{ type: 'text', text: 'zzz' }], hang: true };
      if (!convo(req).includes('send_to_agent')) {
        return { content: Array.from({ length: 26 }, (_, i) => send(`sleeper-${tag}`, `job ${i}`)), stop_reason: 'tool_use' };
      }
      return say('started what I could');
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    const evs = await primaryUntil(s.id, (evs) => evs.some((e) => e.type === 'agent.message' && e.content[0].text === 'started what I could'), 'the coordinator\'s answer');
    const results = evs.filter((e) => e.type === 'agent.tool_result');
    expect(results).toHaveLength(26);
    expect(results.slice(0, 25).every((r) => r.is_error === false)).toBe(true);
    expect(results[25].is_error).toBe(true);
    expect(resultText(results[25])).toContain('at most 25 threads');
    expect(evs.filter((e) => e.type === 'session.thread_created')).toHaveLength(25);
    expect(evs.filter((e) => e.type === 'agent.thread_message_sent')).toHaveLength(25);
    const threads = await threadsOf(s.id);
    expect(threads).toHaveLength(26);
    await sendEvents(client, s.id, { type: 'user.interrupt' });
    await eventually(() => threadsOf(s.id), (ts) => ts.every((t) => t.status === 'idle'), WAIT, 'every thread idle');
    rig.up.setResponder(null);
  }, 60_000);
});

describe('bad input on the thread routes', () => {
  it('answers each with a clear 4xx and changes nothing', async () => {
    const tag = uid();
    const done = await client.beta.agents.create({ name: `done-${tag}`, model: MODEL, system: `You finish ${tag}.` });
    const busy = await client.beta.agents.create({ name: `busy-${tag}`, model: MODEL, system: `You are busy ${tag}.`, tools: [customTool('lookup')] });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [done.id, busy.id] } as any });
    rig.up.setResponder((req) => {
      const sys = systemOf(req);
      if (sys.includes(`You are solo ${tag}.`)) return { content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }], stop_reason: 'tool_use' };
      if (sys.includes(`You finish ${tag}.`)) return say('finished');
      if (sys.includes(`You are busy ${tag}.`)) return { content: [{ type: 'text', text: '...' }], hang: true };
      if (!convo(req).includes('send_to_agent')) return { content: [send(`done-${tag}`, 'finish'), send(`busy-${tag}`, 'work')], stop_reason: 'tool_use' };
      return say('ok');
    });
    const other = await client.beta.sessions.create({ agent: (await client.beta.agents.create({ name: `solo-${tag}`, model: MODEL, system: `You are solo ${tag}.`, tools: [customTool('lookup')] })).id, environment_id: rig.envId });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    const ready = await eventually(() => threadsOf(s.id), (ts) => ts.length === 3 &&
      ts.some((t) => (t.agent as any).name === `done-${tag}` && t.status === 'idle') && ts.some((t) => (t.agent as any).name === `busy-${tag}` && t.status === 'running'),
    WAIT, 'one idle and one running child');
    // Settled: the coordinator consumed the report, answered, and the session's last word is an idle.
    await primaryUntil(s.id, (evs) => rig.up.requests.some((r) => systemOf(r).includes(`You lead ${tag}.`) && convo(r).includes('finished')) &&
      evs.findLastIndex((e) => e.type === 'agent.message') > evs.findIndex((e) => e.type === 'agent.thread_message_received') &&
      // (The session stays running with the busy child; the primary thread went idle.)
      evs.at(-1)?.type === 'session.thread_status_idle' && evs.at(-1)?.session_thread_id === `sthr_${s.id.slice('sesn_'.length)}`, 'the coordinator answered the report');
    const [primary] = ready;
    const idleChild = ready.find((t) => (t.agent as any).name === `done-${tag}`)!;
    const runningChild = ready.find((t) => (t.agent as any).name === `busy-${tag}`)!;
    // A pending custom call in another session, to confirm across sessions.
    await sendEvents(client, other.id, text('ask'));
    const otherUse = (await primaryUntil(other.id, (evs) => evs.some((e) => e.type === 'agent.custom_tool_use'), 'a call in the other session')).find((e) => e.type === 'agent.custom_tool_use')!;

    const snapshot = async () => ({
      threads: (await threadsOf(s.id)).map((t) => ({ id: t.id, status: t.status, archived_at: t.archived_at, updated_at: t.updated_at })),
      events: (await listEvents(client, s.id)).map((e) => e.id),
      child: (await threadEvents(s.id, idleChild.id)).map((e) => e.id),
    });
    const before = await snapshot();
    const th = client.beta.sessions.threads;
    const cases: Array<[string, number, () => Promise<unknown>]> = [
      ['list: unknown status', 400, () => th.list(s.id, { statuses: ['sleeping' as any] })],
      ['list: unknown session', 404, () => th.list('sesn_doesnotexist')],
      ['list: limit 0', 400, () => th.list(s.id, { limit: 0 })],
      ['retrieve: unknown thread', 404, () => th.retrieve('sthr_doesnotexist', { session_id: s.id })],
      ['retrieve: thread of another session', 404, () => th.retrieve(idleChild.id, { session_id: other.id })],
      ['archive: the primary', 400, () => th.archive(primary.id, { session_id: s.id })],
      ['archive: a running thread', 400, () => th.archive(runningChild.id, { session_id: s.id })],
      ['archive: unknown thread', 404, () => th.archive('sthr_doesnotexist', { session_id: s.id })],
      ['archive: unknown session', 404, () => th.archive(idleChild.id, { session_id: 'sesn_doesnotexist' })],
      ['events: unknown thread', 404, () => th.events.list('sthr_doesnotexist', { session_id: s.id })],
      ['events: limit 0', 400, () => th.events.list(idleChild.id, { session_id: s.id, limit: 0 })],
      ['stream: unknown thread', 404, () => th.events.stream('sthr_doesnotexist', { session_id: s.id })],
      ['interrupt: unknown thread', 404, () => sendEvents(client, s.id, { type: 'user.interrupt', session_thread_id: 'sthr_doesnotexist' } as any)],
      ['confirm: a tool use of another session', 400, () => sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: otherUse.id, content: [] })],
    ];
    for (const [what, status, call] of cases) {
      const err = await rejection(call());
      expect(err.status, what).toBe(status);
      expect((err.error as any)?.error?.message, what).toBeTruthy();
    }
    expect(await snapshot()).toEqual(before);
    // The running child really is unchanged and still running; the other session still waits.
    expect((await th.retrieve(runningChild.id, { session_id: s.id })).status).toBe('running');
    expect(lastIdleOf(await listEvents(client, other.id)).stop_reason).toEqual({ type: 'requires_action', event_ids: [otherUse.id] });
    // An archived thread: archive is idempotent, a targeted interrupt is refused.
    await th.archive(idleChild.id, { session_id: s.id });
    const afterArchive = await snapshot();
    expect((await rejection(sendEvents(client, s.id, { type: 'user.interrupt', session_thread_id: idleChild.id } as any))).status).toBe(400);
    expect(await snapshot()).toEqual(afterArchive);
    await sendEvents(client, s.id, { type: 'user.interrupt' });
    rig.up.setResponder(null);
  }, 60_000);
});

describe('a child thread\'s stream and follow-up errors', () => {
  it('streams the child\'s full trace (with event_deltas previews) and nothing of the coordinator\'s', async () => {
    const tag = uid();
    const child = await client.beta.agents.create({ name: `streamer-${tag}`, model: MODEL, system: `You stream ${tag}.` });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [child.id] } as any });
    const release = gate();
    rig.up.setResponder(async (req) => {
      if (systemOf(req).includes(`You stream ${tag}.`)) {
        await release.wait;
        return say('the child speaks at some length so that previews arrive');
      }
      if (!convo(req).includes('send_to_agent')) return { content: [send(`streamer-${tag}`, 'speak')], stop_reason: 'tool_use' };
      return say('lead text');
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    const [, t] = await eventually(() => threadsOf(s.id), (ts) => ts.length === 2, WAIT, 'the child thread');
    const stream = await client.beta.sessions.threads.events.stream(t.id, { session_id: s.id, event_deltas: ['agent.message'] } as any);
    const seen: Ev[] = [];
    const done = (async () => {
      for await (const e of stream as AsyncIterable<Ev>) {
        seen.push(e);
        if (e.type === 'session.thread_status_idle') break;
      }
    })();
    release.open();
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`thread stream saw ${JSON.stringify(seen.map((e) => e.type))}`)), WAIT))]);
    stream.controller.abort();
    const persisted = seen.filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');
    // (The span start may precede the stream's opening.)
    expect(persisted.map((e) => e.type).filter((x) => x !== 'span.model_request_start')).toEqual(['agent.message', 'span.model_request_end', 'session.thread_status_idle']);
    expect(persisted.every((e) => e.session_thread_id === t.id)).toBe(true);
    expect(seen.some((e) => e.type === 'event_delta')).toBe(true);
    expect(JSON.stringify(seen)).not.toContain('lead text');
    // An unknown delta type is a 400 on the thread stream too.
    expect((await rejection(client.beta.sessions.threads.events.stream(t.id, { session_id: s.id, event_deltas: ['agent.nope'] } as any))).status).toBe(400);
    rig.up.setResponder(null);
  });

  it('answers follow-ups to an unknown or archived thread with tool errors that change nothing', async () => {
    const tag = uid();
    const child = await client.beta.agents.create({ name: `once-${tag}`, model: MODEL, system: `You run once ${tag}.` });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [child.id] } as any });
    let childId = '';
    rig.up.setResponder((req) => {
      const all = convo(req);
      if (systemOf(req).includes(`You run once ${tag}.`)) return say('once done');
      if (all.includes('again please')) {
        if (all.includes('tool_result') && all.includes('takes no more messages')) return say('understood');
        return { content: [
          { type: 'tool_use', name: 'send_to_agent', input: { session_thread_id: childId, message: 'more' } },
          { type: 'tool_use', name: 'send_to_agent', input: { session_thread_id: 'sthr_doesnotexist', message: 'more' } },
        ], stop_reason: 'tool_use' };
      }
      if (!all.includes('send_to_agent')) return { content: [send(`once-${tag}`, 'run')], stop_reason: 'tool_use' };
      return say('first round done');
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    await primaryUntil(s.id, (evs) => evs.some((e) => e.type === 'agent.thread_message_received') &&
      evs.findLastIndex((e) => e.type === 'session.status_idle') > evs.findLastIndex((e) => e.type === 'agent.message') &&
      rig.up.requests.some((r) => convo(r).includes('once done') && systemOf(r).includes(`You lead ${tag}.`)), 'the first round');
    childId = (await threadsOf(s.id))[1].id;
    await client.beta.sessions.threads.archive(childId, { session_id: s.id });
    const childBefore = (await threadEvents(s.id, childId)).map((e) => e.id);
    await sendEvents(client, s.id, text('again please'));
    const evs = await primaryUntil(s.id, finalSaid('understood'), 'the coordinator\'s answer to the errors');
    const results = evs.filter((e) => e.type === 'agent.tool_result').slice(-2);
    expect(results.map((r) => r.is_error)).toEqual([true, true]);
    expect(resultText(results[0])).toContain('archived');
    expect(resultText(results[1])).toContain('no thread sthr_doesnotexist');
    expect((await threadEvents(s.id, childId)).map((e) => e.id)).toEqual(childBefore);
    expect(evs.filter((e) => e.type === 'session.thread_created')).toHaveLength(1);
    expect(evs.filter((e) => e.type === 'agent.thread_message_sent')).toHaveLength(1);
    rig.up.setResponder(null);
  });
});

describe('a child thread\'s retries', () => {
  it('shows as session.thread_status_rescheduled on the primary stream; the retried child reports once', async () => {
    const tag = uid();
    const child = await client.beta.agents.create({ name: `flaky-${tag}`, model: MODEL, system: `You are flaky ${tag}.` });
    const lead = await client.beta.agents.create({ name: `lead-${tag}`, model: MODEL, system: `You lead ${tag}.`, multiagent: { type: 'coordinator', agents: [child.id] } as any });
    let childCalls = 0;
    rig.up.setResponder((req) => {
      const all = convo(req);
      if (systemOf(req).includes(`You are flaky ${tag}.`)) {
        childCalls += 1;
        return childCalls === 1 ? { kind: 'error', status: 529, type: 'overloaded_error' } : say('flaky but done');
      }
      if (all.includes('flaky but done')) return say('final: flaky');
      if (!all.includes('send_to_agent')) return { content: [send(`flaky-${tag}`, 'try')], stop_reason: 'tool_use' };
      return say('waiting');
    });
    const s = await client.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await sendEvents(client, s.id, text('go'));
    const evs = await primaryUntil(s.id, finalSaid('final: flaky'), 'the coordinator\'s answer after the retry');
    const [t] = (await threadsOf(s.id)).slice(1);
    const mine = evs.filter((e) => e.session_thread_id === t.id).map((e) => e.type);
    expect(mine).toEqual(['session.thread_created', 'session.thread_status_running', 'session.thread_status_rescheduled', 'session.thread_status_running', 'session.thread_status_idle']);
    expect(evs.filter((e) => e.type === 'agent.thread_message_received')).toHaveLength(1);
    // The error itself is in the child's trace, not on the condensed primary view.
    expect(evs.some((e) => e.type === 'session.error')).toBe(false);
    const trace = await threadEvents(s.id, t.id);
    expect(trace.filter((e) => e.type === 'session.error').map((e) => e.error.retry_status)).toEqual([{ type: 'retrying' }]);
    expect(childCalls).toBe(2);
    rig.up.setResponder(null);
  });
});
