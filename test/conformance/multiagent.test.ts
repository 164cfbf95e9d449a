// Teams of agents through the official SDK: a coordinator delegates to two agents in parallel,
// both report back on the primary stream, the coordinator answers; threads API shapes and errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRig, MODEL, text, type Rig } from './helpers.ts';
import type { RecordedRequest } from '../kit/fake-upstream.ts';

let rig: Rig;
beforeAll(async () => { rig = await startRig(); });
afterAll(async () => { await rig?.close(); });

const systemOf = (r: RecordedRequest) => JSON.stringify(r.body.system ?? '');

async function waitIdle(sessionId: string, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await rig.client.beta.sessions.retrieve(sessionId);
    if (s.status === 'idle') {
      const evs = [];
      for await (const e of rig.client.beta.sessions.events.list(sessionId)) evs.push(e as any);
      if (evs.some((e) => e.type === 'session.status_idle')) return evs;
    }
    if (Date.now() > end) throw new Error(`session ${sessionId} did not go idle`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('multiagent sessions', () => {
  it('delegates to two agents in parallel; both report back; the coordinator answers', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'researcher', model: MODEL, system: 'You research.' });
    const b = await c.beta.agents.create({ name: 'writer', model: MODEL, system: 'You write.' });
    const lead = await c.beta.agents.create({ name: 'lead', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: [a.id, b.id] } as any });
    rig.up.setResponder((req) => {
      const sys = systemOf(req);
      const msgs = req.body.messages as Array<{ role: string; content: any }>;
      if (sys.includes('You research.')) return { content: [{ type: 'text', text: 'facts: 42' }] };
      if (sys.includes('You write.')) return { content: [{ type: 'text', text: 'draft done' }] };
      const all = JSON.stringify(msgs);
      if (!all.includes('send_to_agent')) {
        expect(req.body.tools.map((t: any) => t.name)).toEqual(expect.arrayContaining(['list_agents', 'send_to_agent']));
        return { content: [
          { type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'researcher', message: 'find facts' } },
          { type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'writer', message: 'write draft' } },
        ], stop_reason: 'tool_use' };
      }
      if (all.includes('facts: 42') && all.includes('draft done')) return { content: [{ type: 'text', text: 'final: 42 + draft' }] };
      return { content: [{ type: 'text', text: 'waiting for reports' }] };
    });
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    const end = Date.now() + 20_000;
    let evs: any[] = [];
    for (;;) {
      evs = await waitIdle(s.id);
      if (evs.some((e) => e.type === 'agent.message' && e.content[0].text === 'final: 42 + draft')) break;
      if (Date.now() > end) throw new Error('no final answer: ' + JSON.stringify(evs.map((e) => e.type)));
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = evs.filter((e) => e.type === 'session.thread_created');
    expect(created.map((e) => e.agent_name).sort()).toEqual(['researcher', 'writer']);
    const received = evs.filter((e) => e.type === 'agent.thread_message_received');
    expect(received.map((e) => e.from_agent_name).sort()).toEqual(['researcher', 'writer']);
    expect(evs.filter((e) => e.type === 'agent.thread_message_sent')).toHaveLength(2);
    // The primary stream is the condensed view: no child model spans or messages.
    expect(evs.some((e) => e.type === 'agent.message' && e.session_thread_id)).toBe(false);

    const threads = [];
    for await (const t of c.beta.sessions.threads.list(s.id)) threads.push(t);
    expect(threads).toHaveLength(3);
    expect(threads[0]).toMatchObject({ type: 'session_thread', parent_thread_id: null, session_id: s.id });
    const child = threads.find((t) => (t.agent as any).name === 'researcher')!;
    expect(child).toMatchObject({ status: 'idle', parent_thread_id: threads[0].id });
    const childEvents = [];
    for await (const e of c.beta.sessions.threads.events.list(child.id, { session_id: s.id })) childEvents.push(e as any);
    expect(childEvents.some((e) => e.type === 'agent.message' && e.content[0].text === 'facts: 42')).toBe(true);
    expect(childEvents.every((e) => e.session_thread_id === child.id)).toBe(true);
    // The child's context is its own: the researcher never saw the coordinator's conversation.
    const researcherReqs = rig.up.requests.filter((r) => systemOf(r).includes('You research.'));
    expect(JSON.stringify(researcherReqs[0].body.messages)).not.toContain('go');

    const idleOnly = [];
    for await (const t of c.beta.sessions.threads.list(s.id, { statuses: ['running'] })) idleOnly.push(t);
    expect(idleOnly).toHaveLength(0);

    const archived = await c.beta.sessions.threads.archive(child.id, { session_id: s.id });
    expect(archived.archived_at).not.toBeNull();
    await expect(c.beta.sessions.threads.archive(threads[0].id, { session_id: s.id })).rejects.toMatchObject({ status: 400 });
    await expect(c.beta.sessions.threads.retrieve('sthr_nope', { session_id: s.id })).rejects.toMatchObject({ status: 404 });
    rig.up.setResponder(null);
  }, 40_000);

  it('answers a send_to_agent naming an agent outside the roster with a tool error', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'helper', model: MODEL });
    const lead = await c.beta.agents.create({ name: 'lead2', model: MODEL, multiagent: { type: 'coordinator', agents: [a.id] } as any });
    rig.up.script(
      { content: [{ type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'ghost', message: 'hi' } }], stop_reason: 'tool_use' },
      { content: [{ type: 'text', text: 'ok' }] },
    );
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    const evs = await waitIdle(s.id);
    const result = evs.find((e) => e.type === 'agent.tool_result');
    expect(result.is_error).toBe(true);
    expect(result.content[0].text).toContain('no agent named "ghost"');
    expect(evs.some((e) => e.type === 'session.thread_created')).toBe(false);
  });

  it('cross-posts a child custom tool call to the primary stream and routes its result back', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'asker', model: MODEL, system: 'You ask.', tools: [{ type: 'custom', name: 'lookup', description: 'd', input_schema: { type: 'object', properties: {} } }] as any });
    const lead = await c.beta.agents.create({ name: 'lead3', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: [a.id] } as any });
    rig.up.setResponder((req) => {
      const all = JSON.stringify(req.body.messages);
      if (systemOf(req).includes('You ask.')) {
        if (all.includes('answer-77')) return { content: [{ type: 'text', text: 'got answer-77' }] };
        return { content: [{ type: 'tool_use', name: 'lookup', input: {} }], stop_reason: 'tool_use' };
      }
      if (all.includes('got answer-77')) return { content: [{ type: 'text', text: 'done' }] };
      if (!all.includes('send_to_agent')) return { content: [{ type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'asker', message: 'look it up' } }], stop_reason: 'tool_use' };
      return { content: [{ type: 'text', text: 'waiting' }] };
    });
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    let use: any;
    const end = Date.now() + 15_000;
    while (!use) {
      const evs = [];
      for await (const e of c.beta.sessions.events.list(s.id)) evs.push(e as any);
      use = evs.find((e) => e.type === 'agent.custom_tool_use');
      if (Date.now() > end) throw new Error('no cross-posted custom tool use');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(use.session_thread_id).toMatch(/^sthr_/);
    const [echo] = (await c.beta.sessions.events.send(s.id, { events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'answer-77' }] }] })).data as any[];
    expect(echo.session_thread_id).toBe(use.session_thread_id);
    for (;;) {
      const evs = await waitIdle(s.id);
      if (evs.some((e) => e.type === 'agent.message' && e.content[0].text === 'done')) break;
      if (Date.now() > end + 10_000) throw new Error('coordinator never finished');
      await new Promise((r) => setTimeout(r, 100));
    }
    rig.up.setResponder(null);
  }, 40_000);

  it('a targeted interrupt stops one thread; the session goes idle without a report', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'slow', model: MODEL, system: 'You are slow.' });
    const lead = await c.beta.agents.create({ name: 'lead4', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: [a.id] } as any });
    rig.up.setResponder((req) => {
      const all = JSON.stringify(req.body.messages);
      if (systemOf(req).includes('You are slow.')) return { content: [{ type: 'text', text: 'never' }], hang: true };
      if (!all.includes('send_to_agent')) return { content: [{ type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'slow', message: 'work' } }], stop_reason: 'tool_use' };
      return { content: [{ type: 'text', text: 'waiting' }] };
    });
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    const end = Date.now() + 15_000;
    let child: any;
    while (!child) {
      for await (const t of c.beta.sessions.threads.list(s.id, { statuses: ['running'] })) if (t.parent_thread_id) child = t;
      if (Date.now() > end) throw new Error('child never ran');
      await new Promise((r) => setTimeout(r, 50));
    }
    await expect(c.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt', session_thread_id: 'sthr_unknown' }] })).rejects.toMatchObject({ status: 404 });
    await c.beta.sessions.events.send(s.id, { events: [{ type: 'user.interrupt', session_thread_id: child.id }] });
    const evs = await waitIdle(s.id);
    const t = await c.beta.sessions.threads.retrieve(child.id, { session_id: s.id });
    expect(t.status).toBe('idle');
    expect(evs.some((e) => e.type === 'agent.thread_message_received')).toBe(false);
    rig.up.setResponder(null);
  }, 40_000);

  it('a follow-up with session_thread_id reaches the same thread, with its history', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'mem', model: MODEL, system: 'You remember.' });
    const lead = await c.beta.agents.create({ name: 'lead5', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: [a.id] } as any });
    let threadId = '';
    rig.up.setResponder((req) => {
      const all = JSON.stringify(req.body.messages);
      if (systemOf(req).includes('You remember.')) return { content: [{ type: 'text', text: all.includes('second') ? 'reply-two' : 'reply-one' }] };
      if (all.includes('reply-two')) return { content: [{ type: 'text', text: 'all done' }] };
      if (all.includes('Sent a follow-up')) return { content: [{ type: 'text', text: 'waiting' }] };
      if (all.includes('reply-one')) {
        threadId = /session_thread_id: (sthr_[A-Za-z0-9]+)/.exec(all)![1];
        return { content: [{ type: 'tool_use', name: 'send_to_agent', input: { session_thread_id: threadId, message: 'second' } }], stop_reason: 'tool_use' };
      }
      if (!all.includes('send_to_agent')) return { content: [{ type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'mem', message: 'first' } }], stop_reason: 'tool_use' };
      return { content: [{ type: 'text', text: 'waiting' }] };
    });
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    const end = Date.now() + 20_000;
    for (;;) {
      const evs = await waitIdle(s.id);
      if (evs.some((e) => e.type === 'agent.message' && e.content[0].text === 'all done')) {
        expect(evs.filter((e) => e.type === 'session.thread_created')).toHaveLength(1);
        break;
      }
      if (Date.now() > end) throw new Error('no final answer');
      await new Promise((r) => setTimeout(r, 100));
    }
    const memReqs = rig.up.requests.filter((r) => systemOf(r).includes('You remember.'));
    expect(memReqs).toHaveLength(2);
    const second = JSON.stringify(memReqs[1].body.messages);
    expect(second).toContain('first');
    expect(second).toContain('reply-one');
    rig.up.setResponder(null);
  }, 40_000);

  it('answers a workflow tool call with a dedicated "not yet supported" tool error (workflows accepted in configuration)', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'wf-helper', model: MODEL });
    const lead = await c.beta.agents.create({
      name: 'wf-lead', model: MODEL,
      multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: [a.id] }, workflows: { type: 'enabled' } } as any,
    });
    expect((lead.multiagent as any).workflows.type).toBe('enabled');
    rig.up.setResponder((req) => {
      const names = req.body.tools.map((t: any) => t.name);
      expect(names).not.toContain('start_workflow_run');
      if (!JSON.stringify(req.body.messages).includes('tool_result')) {
        return { content: [{ type: 'tool_use', name: 'start_workflow_run', input: { plan: 'x' } }], stop_reason: 'tool_use' };
      }
      return { content: [{ type: 'text', text: 'ok, no workflows' }] };
    });
    const s = await c.beta.sessions.create({ agent: lead.id, environment_id: rig.envId });
    await c.beta.sessions.events.send(s.id, { events: [text('go')] });
    const evs = await waitIdle(s.id);
    const result = evs.find((e) => e.type === 'agent.tool_result');
    expect(result.is_error).toBe(true);
    expect(result.content[0].text).toContain('workflow runs are not yet supported');
    expect(evs.some((e) => e.type === 'session.thread_created' || e.type.startsWith('workflow_run.'))).toBe(false);
    rig.up.setResponder(null);
  });

  it('rejects rosters with an agent that has its own multiagent', async () => {
    const c = rig.client;
    const a = await c.beta.agents.create({ name: 'm1', model: MODEL });
    const lead = await c.beta.agents.create({ name: 'm2', model: MODEL, multiagent: { type: 'coordinator', agents: [a.id] } as any });
    await expect(c.beta.agents.create({ name: 'm3', model: MODEL, multiagent: { type: 'coordinator', agents: [lead.id] } as any })).rejects.toMatchObject({ status: 400 });
  });
});
