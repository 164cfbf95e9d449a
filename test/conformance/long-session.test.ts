// A session that runs for thousands of turns (issue 14): 2,000 scripted turns against the fake
// upstream with an 8k-token window (the fake enforces it with the API's own "prompt is too long"
// 400 and counts tokens its own way, higher than Hangar's estimate, through count_tokens). The
// session compacts again and again, every turn ends end_turn, no request the model receives is over
// the window, the log keeps every event, and big custom tool results reach the model trimmed while
// the log keeps them whole. No timing is asserted (the speed of long sessions is `npm run bench -- long`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { EventTap, customTool, isIdle, newAgent, text, type Ev } from './helpers.ts';

const WINDOW = 8_000;
const TURNS = Number(process.env.LONG_TEST_TURNS ?? 2_000);
/** Every this many turns the model calls a custom tool whose result is far bigger than the window allows a tool result. */
const TOOL_EVERY = 100;
const BIG_RESULT = `${'head of the result '.repeat(50)}${'middle '.repeat(4_000)}${'tail of the result '.repeat(50)}END-OF-RESULT`;
const isSummarizing = (body: any) => JSON.stringify(body?.system ?? '').includes('You compact the conversation');
const lastUserText = (body: any) => JSON.stringify(body.messages.at(-1)?.content ?? '');

describe('a 2,000-turn session with an 8k-token window', () => {
  let up: FakeUpstream;
  let h: TestHangar;
  beforeAll(async () => {
    up = await startFakeUpstream({ contextWindow: WINDOW });
    h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_CONTEXT_WINDOW_TOKENS: String(WINDOW) } });
    up.setResponder((req) => {
      if (isSummarizing(req.body)) return { content: [{ type: 'text', text: `Summary: the user sends numbered messages and the agent answers each. ${'s'.repeat(400)}` }] };
      if (lastUserText(req.body).includes('please look it up')) return { content: [{ type: 'tool_use', name: 'lookup', input: { q: 'it' } }] };
      return { content: [{ type: 'text', text: `answer ${'a'.repeat(300)}` }] };
    });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('compacts repeatedly, completes every turn, never sends a request over the window, and keeps every event', async () => {
    const agent = await newAgent(h.client, { model: 'claude-sonnet-4-6', tools: [customTool('lookup')] });
    const env = await h.client.beta.environments.create({ name: `long-${Math.random().toString(36).slice(2)}` });
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const tap = await EventTap.open(h.client, session.id);
    let toolTurns = 0;
    for (let i = 0; i < TURNS; i++) {
      const asks = i % TOOL_EVERY === TOOL_EVERY - 1;
      await h.client.beta.sessions.events.send(session.id, { events: [text(`message ${i} ${asks ? 'please look it up' : 'u'.repeat(200)}`)] });
      let turn = await tap.until(isIdle, 60_000);
      if (asks) {
        expect((turn.at(-1) as Ev).stop_reason.type).toBe('requires_action');
        const use = turn.find((e) => e.type === 'agent.custom_tool_use')!;
        await h.client.beta.sessions.events.send(session.id, {
          events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: BIG_RESULT }] }],
        });
        turn = await tap.until(isIdle, 60_000);
        toolTurns++;
      }
      expect((turn.at(-1) as Ev).stop_reason.type, `turn ${i}`).toBe('end_turn');
    }
    tap.close?.();

    const agentRequests = up.requests.filter((r) => !isSummarizing(r.body));
    const summarizing = up.requests.filter((r) => isSummarizing(r.body));
    expect(agentRequests).toHaveLength(TURNS + toolTurns);
    expect(summarizing.length).toBeGreaterThan(20);
    // The fake enforces the window with its own tokenizer: nothing was refused, nothing sent over it.
    expect(up.tokenTotals().overflows).toBe(0);
    for (const r of up.requests) expect(up.promptTokens(r.body) + r.body.max_tokens).toBeLessThanOrEqual(WINDOW);
    // Requests after a compaction start from the summary; the latest message is there verbatim.
    const last = agentRequests.at(-1)!.body;
    expect(JSON.stringify(last.messages[0])).toContain('<conversation_summary>');
    expect(JSON.stringify(last.messages)).toContain(`message ${TURNS - 1} `);
    // A big tool result reaches the model trimmed (head, a note, tail), never whole.
    const afterTool = agentRequests.filter((r) => JSON.stringify(r.body.messages).includes('head of the result'));
    expect(afterTool.length).toBeGreaterThanOrEqual(toolTurns);
    for (const r of afterTool) {
      const sent = JSON.stringify(r.body.messages);
      expect(sent).toContain('END-OF-RESULT');
      expect(sent.length).toBeLessThan(BIG_RESULT.length);
    }

    // The log is never rewritten: every message, answer and whole tool result is listable.
    const events: Ev[] = [];
    for await (const e of h.client.beta.sessions.events.list(session.id, { limit: 1000 })) events.push(e as unknown as Ev);
    expect(events.filter((e) => e.type === 'user.message')).toHaveLength(TURNS);
    expect(events.filter((e) => e.type === 'agent.message')).toHaveLength(TURNS);
    const results = events.filter((e) => e.type === 'user.custom_tool_result');
    expect(results).toHaveLength(toolTurns);
    for (const r of results) expect(r.content[0].text).toBe(BIG_RESULT);
    expect(events.filter((e) => e.type === 'agent.thread_context_compacted')).toHaveLength(summarizing.length);
    expect(events.filter((e) => e.type === 'session.error')).toHaveLength(0);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // The prompt cache pays: most prompt tokens were read from the cached prefix.
    const totals = up.tokenTotals();
    expect(totals.cache_read_input_tokens).toBeGreaterThan(totals.input_tokens);
  }, 1_200_000);
});
