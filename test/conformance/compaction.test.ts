// Context compaction through the official SDK: a session with a small context window compacts
// repeatedly, every turn completes, the model never gets a request over the window, the log keeps
// every event; system.message reaches the model as a role:system turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTap, isIdle, newAgent, startRig, text, type Ev, type Rig } from './helpers.ts';

const WINDOW = 4000;
const TURNS = 40;
const isSummarizing = (body: any) => JSON.stringify(body?.system ?? '').includes('You compact the conversation');
const roughTokens = (body: any) => Math.ceil(JSON.stringify({ s: body.system, t: body.tools, m: body.messages }).length / 4);

describe('compaction with a small context window', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ HANGAR_CONTEXT_WINDOW_TOKENS: String(WINDOW) });
    rig.up.setResponder((req) => (isSummarizing(req.body)
      ? { content: [{ type: 'text', text: `Summary: the user sent numbered messages; the agent answered each. ${'s'.repeat(200)}` }] }
      : { content: [{ type: 'text', text: `answer ${'a'.repeat(1200)}` }] }));
  });
  afterAll(async () => rig?.close());

  it('compacts repeatedly, completes every turn, and never sends a request over the window', async () => {
    const agent = await newAgent(rig.client, { model: 'claude-opus-4-8' });
    const session = await rig.client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    const tap = await EventTap.open(rig.client, session.id);
    for (let i = 0; i < TURNS; i++) {
      await rig.client.beta.sessions.events.send(session.id, { events: [text(`message ${i} ${'u'.repeat(800)}`)] });
      const turn = await tap.until(isIdle, 20_000);
      expect((turn.at(-1) as Ev).stop_reason.type).toBe('end_turn');
    }
    const agentRequests = rig.up.requests.filter((r) => !isSummarizing(r.body));
    const summarizing = rig.up.requests.filter((r) => isSummarizing(r.body));
    expect(agentRequests).toHaveLength(TURNS);
    expect(summarizing.length).toBeGreaterThan(2);
    for (const r of rig.up.requests) expect(roughTokens(r.body) + r.body.max_tokens).toBeLessThanOrEqual(WINDOW);
    // Later requests start from the summary, and the latest message is there verbatim.
    const last = agentRequests.at(-1)!.body;
    expect(JSON.stringify(last.messages[0])).toContain('<conversation_summary>');
    expect(JSON.stringify(last.messages)).toContain(`message ${TURNS - 1} `);
    const events: Ev[] = [];
    for await (const e of rig.client.beta.sessions.events.list(session.id, { limit: 1000 })) events.push(e as unknown as Ev);
    expect(events.filter((e) => e.type === 'user.message')).toHaveLength(TURNS);
    expect(events.filter((e) => e.type === 'agent.message')).toHaveLength(TURNS);
    expect(events.filter((e) => e.type === 'agent.thread_context_compacted')).toHaveLength(summarizing.length);
    tap.close?.();
  }, 120_000);

  it('sends a system.message to the model as a role:system turn after its user message', async () => {
    const agent = await newAgent(rig.client, { model: 'claude-opus-4-8' });
    const session = await rig.client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    const tap = await EventTap.open(rig.client, session.id);
    const before = rig.up.requests.length;
    await rig.client.beta.sessions.events.send(session.id, { events: [text('hi'), { type: 'system.message', content: [{ type: 'text', text: 'answer in French' }] }] });
    await tap.until(isIdle, 20_000);
    const body = rig.up.requests.slice(before).find((r) => !isSummarizing(r.body))!.body;
    expect(body.messages.map((m: any) => m.role)).toEqual(['user', 'system']);
    expect(JSON.stringify(body.messages[1].content)).toContain('answer in French');
  });

  it('refuses system.message with model_does_not_support_mid_conversation_system on a model without it', async () => {
    const agent = await newAgent(rig.client, { model: 'claude-sonnet-4-6' });
    const session = await rig.client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    const err = await rig.client.beta.sessions.events.send(session.id, { events: [text('hi'), { type: 'system.message', content: [{ type: 'text', text: 'x' }] }] }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(String(err.message)).toContain('model_does_not_support_mid_conversation_system');
  });
});
