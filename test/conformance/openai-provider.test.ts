// Sessions on an OpenAI-compatible provider, through the official Anthropic SDK against a live
// Hangar configured with a models.yaml (HANGAR_MODELS) that points at the scripted Chat Completions
// fake: plain turns, previews, custom and built-in tool round trips, interrupts, retries, budgets
// (list_cost = the upstream's usage × the file's prices), `<id>@<provider>` ids, a provider whose key
// variable is unset, garbage answers, and the models API with its unknown-model 400.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeOpenAIUpstream, type FakeOpenAIUpstream } from '../kit/fake-openai-upstream.ts';
import {
  EventTap, customTool, interrupt, isIdle, isType, listEvents, newSession, persisted, rejection, sendEvents, text, toolset, types,
  TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';

const LOCAL = 'llama3.1:8b';
const PRICED = 'local-priced';
const GHOST = 'ghost-model';
const KEY = 'sk-local-test-key-123';

let up: FakeOpenAIUpstream;
let h: TestHangar;
let client: Anthropic;
let envId: string;
let dir: string;

function modelsYaml(baseUrl: string): string {
  return `
providers:
  local:
    type: openai
    base_url: ${baseUrl}
    api_key_env: LOCAL_LLM_KEY
  keyless:
    type: openai
    base_url: ${baseUrl}
    api_key_env: HANGAR_TEST_UNSET_KEY
models:
  - id: ${LOCAL}
    provider: local
    context_window: 131072
    max_output_tokens: 2048
  - id: ${PRICED}
    provider: local
    upstream_id: qwen2.5:7b
    # 1 cent per uncached input token, half a cent per cached one, 2 cents per output token.
    pricing: {input: 10000, output: 20000, cache_read: 5000}
  - id: ${GHOST}
    provider: keyless
  - id: busy
    provider: local
    upstream_id: busy-upstream
    pricing: {input: 10000, output: 10000}
    fallback: spare
  - id: spare
    provider: local
    upstream_id: spare-upstream
    pricing: {input: 20000, output: 20000}
`;
}

beforeAll(async () => {
  up = await startFakeOpenAIUpstream();
  dir = mkdtempSync(join(tmpdir(), 'hangar-models-'));
  writeFileSync(join(dir, 'models.yaml'), modelsYaml(up.url));
  h = await startHangar({ env: { HANGAR_MODELS: join(dir, 'models.yaml'), LOCAL_LLM_KEY: KEY, HANGAR_MODEL_MAX_RETRIES: '2' } });
  client = h.client;
  envId = (await client.beta.environments.create({ name: `env-${Math.random().toString(36).slice(2)}` })).id;
});
beforeEach(() => up.reset());
afterAll(async () => {
  await h?.close();
  await up?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The helpers' session factory wants a Rig; only its client and environment are used. */
const rig = () => ({ h, client, envId } as unknown as Rig);

async function session(model = LOCAL, extra: Partial<Anthropic.Beta.Agents.AgentCreateParams> = {}, sessionExtra: Record<string, unknown> = {}) {
  const agent = await client.beta.agents.create({ name: `a-${Math.random().toString(36).slice(2)}`, model, ...extra });
  return newSession(rig(), { agent: agent.id, ...sessionExtra });
}

async function drive(sessionId: string, send: () => Promise<unknown>, until: (e: Ev) => boolean = isIdle, timeoutMs?: number): Promise<Ev[]> {
  const tap = await EventTap.open(client, sessionId, { event_deltas: ['agent.message'] });
  try {
    await send();
    return await tap.until(until, timeoutMs);
  } finally {
    tap.close();
  }
}

describe('a plain turn on an OpenAI-compatible provider', () => {
  it('streams the answer with previews and sends a Chat Completions request with the key, system prompt and output cap', async () => {
    up.script({ content: [{ type: 'text', text: 'Hello from the local model, in several chunks.' }], usage: { prompt_tokens: 21, completion_tokens: 9 } });
    const s = await session(LOCAL, { system: 'You are terse.' });
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    const message = events.find(isType('agent.message'))!;
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the local model, in several chunks.' }]);
    const deltas = events.filter((e) => e.type === 'event_delta' && e.event_id === message.id);
    expect(deltas.length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    const end = events.find(isType('span.model_request_end'))!;
    expect(end.model_usage).toMatchObject({ input_tokens: 21, output_tokens: 9 });

    const [req] = up.requests;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.body).toMatchObject({
      model: LOCAL, stream: true, stream_options: { include_usage: true }, max_tokens: 2048,
      messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'hi' }],
    });
    // Anthropic-only parameters never reach an OpenAI provider.
    expect(JSON.stringify(req.body)).not.toMatch(/cache_control|output_config|reasoning_effort/);
    const again = await client.beta.sessions.retrieve(s.id);
    expect(again.usage).toMatchObject({ input_tokens: 21, output_tokens: 9 });
    // No prices configured for this model: no list cost.
    expect(again.usage.list_cost).toBeNull();
  });

  it('routes `<upstream id>@<provider>` ids to that provider under the upstream id', async () => {
    up.script({ content: [{ type: 'text', text: 'qwen here' }] });
    const s = await session('qwen2:7b@local');
    const events = await drive(s.id, () => sendEvents(client, s.id, text('who are you?')));
    expect(events.find(isType('agent.message'))!.content[0].text).toBe('qwen here');
    expect(up.requests[0].body.model).toBe('qwen2:7b');
  });

  it('turns streamed reasoning into agent.thinking', async () => {
    up.script({ content: [{ type: 'thinking', thinking: 'Let me think about it.' }, { type: 'text', text: 'Done thinking.' }] });
    const s = await session();
    const events = persisted(await drive(s.id, () => sendEvents(client, s.id, text('think'))));
    expect(types(events).filter((t) => t.startsWith('agent.'))).toEqual(['agent.thinking', 'agent.message']);
  });
});

describe('tools on an OpenAI-compatible provider', () => {
  it('round-trips a custom tool: tool_calls become agent.custom_tool_use, the result goes back as a tool message', async () => {
    up.script({ content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', name: 'lookup', input: { q: 'release date' } }] });
    const s = await session(LOCAL, { tools: [customTool('lookup')] });
    const first = await drive(s.id, () => sendEvents(client, s.id, text('when do we ship?')));
    const use = first.find(isType('agent.custom_tool_use'))!;
    expect(use).toMatchObject({ name: 'lookup', input: { q: 'release date' } });
    expect(first.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    const offered = up.requests[0].body.tools;
    expect(offered).toEqual([{ type: 'function', function: { name: 'lookup', description: 'the lookup tool', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }]);

    up.script({ content: [{ type: 'text', text: 'We ship Tuesday.' }] });
    const second = await drive(s.id, () => sendEvents(client, s.id, { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'shipped Tuesday' }] }));
    expect(second.find(isType('agent.message'))!.content[0].text).toBe('We ship Tuesday.');
    const messages = up.requests[1].body.messages;
    const call = messages.find((m: any) => m.role === 'assistant');
    expect(call).toEqual({ role: 'assistant', content: 'Checking.', tool_calls: [{ id: use.id, type: 'function', function: { name: 'lookup', arguments: '{"q":"release date"}' } }] });
    expect(messages.at(-1)).toEqual({ role: 'tool', tool_call_id: use.id, content: 'shipped Tuesday' });
  });

  it('runs a built-in bash call in the sandbox and sends its output back as the tool message', async () => {
    up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo "sum=$((20+22))"' } }] }, { content: [{ type: 'text', text: 'It is 42.' }] });
    const s = await session(LOCAL, { tools: [toolset() as never] });
    const events = await drive(s.id, () => sendEvents(client, s.id, text('add')), (e) => isIdle(e), TOOL_WAIT_MS);
    expect(types(persisted(events))).toEqual(expect.arrayContaining(['agent.tool_use', 'agent.tool_result', 'agent.message']));
    const result = up.requests[1].body.messages.at(-1);
    expect(result.role).toBe('tool');
    expect(result.content).toContain('sum=42');
    expect(up.requests[0].body.tools.map((t: any) => t.function.name)).toContain('bash');
  });
});

describe('interrupts, retries and failures', () => {
  it('an interrupt aborts a hanging stream, keeps what was streamed and idles the session', async () => {
    up.script({ content: [{ type: 'text', text: 'Partial answer that never finishes because the stream hangs' }], hang: true });
    const s = await session();
    const tap = await EventTap.open(client, s.id, { event_deltas: ['agent.message'] });
    try {
      await sendEvents(client, s.id, text('go'));
      await tap.until(isType('event_delta'));
      await sendEvents(client, s.id, interrupt());
      const rest = await tap.until(isIdle);
      expect(rest.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
      expect(rest.find(isType('span.model_request_end'))).toMatchObject({ is_error: true });
    } finally {
      tap.close();
    }
    const all = await listEvents(client, s.id);
    expect(all.find(isType('agent.message'))!.content[0].text).toMatch(/^Part/);
  });

  it('retries a 429 (honoring retry-after) with session.error{retrying}, then answers', async () => {
    up.script({ kind: 'error', status: 429, type: 'rate_limit_exceeded', code: 'rate_limit_exceeded', retryAfterSeconds: 0 }, { content: [{ type: 'text', text: 'after the retry' }] });
    const s = await session();
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    const error = events.find(isType('session.error'))!;
    expect(error.error).toMatchObject({ type: 'model_rate_limited_error', retry_status: { type: 'retrying' } });
    expect(events.find(isType('agent.message'))!.content[0].text).toBe('after the retry');
    expect(up.requests).toHaveLength(2);
  });

  it('does not retry a 401: one session.error{exhausted} naming the provider and its key variable; the session takes the next message', async () => {
    up.script({ kind: 'error', status: 401, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' }, { content: [{ type: 'text', text: 'key works now' }] });
    const s = await session();
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')), isType('session.status_idle', 'session.status_terminated'));
    const errors = events.filter(isType('session.error'));
    expect(errors).toHaveLength(1);
    expect(errors[0].error).toMatchObject({ type: 'model_request_failed_error', retry_status: { type: 'exhausted' } });
    expect(errors[0].error.message).toBe(`The model provider local (${new URL(up.url).host}) rejected the API key Hangar sends (401 invalid_api_key: Incorrect API key provided). This is a server configuration problem: set LOCAL_LLM_KEY on the Hangar server to a valid key and restart Hangar, then send the message again.`);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'retries_exhausted' } });
    expect(up.requests).toHaveLength(1);
    const next = await drive(s.id, () => sendEvents(client, s.id, text('again')));
    expect(next.find(isType('agent.message'))!.content[0].text).toBe('key works now');
  });

  it('a provider answering garbage gives a clear session.error and the session survives for the next turn', async () => {
    up.script({ kind: 'garbage' }, { kind: 'garbage' }, { kind: 'garbage' });
    const s = await session();
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')), isType('session.status_idle', 'session.status_terminated'));
    const errors = events.filter(isType('session.error'));
    expect(errors.map((e) => e.error.retry_status.type)).toEqual(['retrying', 'retrying', 'exhausted']);
    expect(errors[0].error.message).toMatch(/model call failed/);
    up.script({ content: [{ type: 'text', text: 'back to normal' }] });
    const next = await drive(s.id, () => sendEvents(client, s.id, text('again')));
    expect(next.find(isType('agent.message'))!.content[0].text).toBe('back to normal');
  });

  it('a content_filter finish idles the session with stop_reason refusal, and the next message is answered', async () => {
    up.script({ content: [{ type: 'text', text: 'I will not' }], finish_reason: 'content_filter' }, { content: [{ type: 'text', text: 'fine' }] });
    const s = await session();
    const events = await drive(s.id, () => sendEvents(client, s.id, text('something filtered')));
    expect(events.at(-1)).toMatchObject({ stop_reason: { type: 'refusal' }, stop_details: { type: 'refusal', category: 'content_filter' } });
    const next = await drive(s.id, () => sendEvents(client, s.id, text('ok then')));
    expect(next.find(isType('agent.message'))!.content[0].text).toBe('fine');
  });

  it('a tool schema the provider rejects is a session.error naming the tool', async () => {
    up.script({ kind: 'error', status: 400, type: 'invalid_request_error', param: 'tools[0].function.parameters', message: "Invalid schema for function 'lookup'" });
    const s = await session(LOCAL, { tools: [customTool('lookup')] });
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')), isType('session.status_idle', 'session.status_terminated'));
    const error = events.find(isType('session.error'))!;
    expect(error.error.message).toMatch(/^the provider rejected the definition of tool lookup \(tools\[0\]\.function\.parameters\)/);
    expect(error.error.retry_status.type).toBe('terminal');
  });

  it('a provider whose key variable is unset fails its sessions with a session.error naming the variable, without calling it', async () => {
    const s = await session(GHOST);
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')), isType('session.status_idle', 'session.status_terminated'));
    const error = events.find(isType('session.error'))!;
    expect(error.error.message).toBe('provider keyless has no API key: the environment variable HANGAR_TEST_UNSET_KEY is unset; set it and restart Hangar');
    // Like a refused key it ends the turn, not the session.
    expect(error.error.retry_status.type).toBe('exhausted');
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle' });
    expect(up.requests).toHaveLength(0);
  });
});

describe('fallbacks', () => {
  it('a primary rate-limited past its retries is answered by its fallback; session.error says which model answered; cost is the fallback\'s', async () => {
    up.setResponder((r) => (r.body.model === 'busy-upstream'
      ? { kind: 'error', status: 429, type: 'requests', code: 'rate_limit_exceeded', retryAfterSeconds: 0 }
      : { content: [{ type: 'text', text: 'the spare answers' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }));
    const s = await session('busy', {}, { budget: { type: 'limit', max_list_cost: { amount: '1000', currency: 'USD' } } });
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    const errors = events.filter(isType('session.error'));
    // HANGAR_MODEL_MAX_RETRIES=2: two retries of the primary, then the fallback on the last try.
    expect(errors.map((e) => e.error.retry_status.type)).toEqual(['retrying', 'retrying', 'retrying']);
    expect(errors[2].error.type).toBe('model_rate_limited_error');
    expect(errors[2].error.message).toMatch(/^model busy failed past its retries \(.*429.*\); fallback model spare answered$/);
    expect(events.find(isType('agent.message'))!.content[0].text).toBe('the spare answers');
    expect(up.requests.map((r) => r.body.model)).toEqual(['busy-upstream', 'busy-upstream', 'busy-upstream', 'spare-upstream']);
    // 5 tokens at the spare's 2 cents each.
    expect((await client.beta.sessions.retrieve(s.id)).usage.list_cost).toEqual({ amount: '10', currency: 'USD' });
  });

  it('without a fallback, a primary rate-limited past its retries ends the turn as before', async () => {
    up.setResponder(() => ({ kind: 'error', status: 429, type: 'requests', retryAfterSeconds: 0 }));
    const s = await session(PRICED);
    const events = await drive(s.id, () => sendEvents(client, s.id, text('hi')));
    expect(events.filter(isType('session.error')).map((e) => e.error.retry_status.type)).toEqual(['retrying', 'retrying', 'exhausted']);
    expect(events.at(-1)).toMatchObject({ stop_reason: { type: 'retries_exhausted' } });
    expect(up.requests).toHaveLength(3);
  });
});

describe('budgets and list cost with file prices', () => {
  it('list_cost is the upstream usage × the configured prices (cached tokens at the cache price)', async () => {
    up.script(
      { content: [{ type: 'text', text: 'one' }], usage: { prompt_tokens: 30, cached_tokens: 10, completion_tokens: 5 } },
      { content: [{ type: 'text', text: 'two' }], usage: { prompt_tokens: 47, cached_tokens: 30, completion_tokens: 11 } },
    );
    const s = await session(PRICED, {}, { budget: { type: 'limit', max_list_cost: { amount: '100000', currency: 'USD' } } });
    expect(s.usage.list_cost).toEqual({ amount: '0', currency: 'USD' });
    await drive(s.id, () => sendEvents(client, s.id, text('first')));
    await drive(s.id, () => sendEvents(client, s.id, text('second')));
    // Micro-USD: uncached input × 10000 + cached × 5000 + output × 20000, per call.
    const micros = (20 * 10_000 + 10 * 5_000 + 5 * 20_000) + (17 * 10_000 + 30 * 5_000 + 11 * 20_000);
    const after = await client.beta.sessions.retrieve(s.id);
    expect(after.usage).toMatchObject({ input_tokens: 37, cache_read_input_tokens: 40, output_tokens: 16 });
    expect(after.usage.list_cost).toEqual({ amount: String(Math.floor(micros / 10_000)), currency: 'USD' });
    expect(up.requests[0].body.model).toBe('qwen2.5:7b');
  });

  it('a budget on a configured model without prices is model_not_budgetable', async () => {
    const agent = await client.beta.agents.create({ name: 'unpriced', model: LOCAL });
    const err = await rejection(client.beta.sessions.create({ agent: agent.id, environment_id: envId, budget: { type: 'limit', max_list_cost: { amount: '100', currency: 'USD' } } }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('model_not_budgetable');
  });
});

describe('the models API and unknown models', () => {
  it('lists the configured models in the SDK models.list shape and retrieves one', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list({ limit: 2 })) ids.push(m.id);
    expect(ids.slice(0, 3)).toEqual([LOCAL, PRICED, GHOST]);
    expect(ids).toContain('claude-sonnet-4');
    expect(new Set(ids).size).toBe(ids.length);
    const one = await client.models.retrieve(LOCAL);
    expect(one).toMatchObject({ type: 'model', id: LOCAL, display_name: LOCAL, max_input_tokens: 131072, max_tokens: 2048 });
    expect(Date.parse(one.created_at)).not.toBeNaN();
    const missing = await rejection(client.models.retrieve('no-such-model'));
    expect(missing.status).toBe(404);
  });

  it('rejects an unknown model at agent create, update and session override with the configured list, changing nothing', async () => {
    const created = await rejection(client.beta.agents.create({ name: 'x', model: 'mystery-model' }));
    expect(created.status).toBe(400);
    const message = (created.error as any).error.message as string;
    expect(message).toContain('model: unknown model "mystery-model"; configured models: llama3.1:8b, local-priced, ghost-model, busy, spare, claude-');
    expect(message).toContain('id patterns: claude-* (anthropic)');
    expect(message).toContain('<upstream id>@<provider> with provider one of: anthropic, local, keyless');
    // `@` with a provider nobody configured is unknown too.
    expect((await rejection(client.beta.agents.create({ name: 'x', model: 'llama@nowhere' }))).status).toBe(400);

    const agent = await client.beta.agents.create({ name: 'fine', model: LOCAL });
    const updated = await rejection(client.beta.agents.update(agent.id, { version: agent.version, model: 'mystery-model' }));
    expect(updated.status).toBe(400);
    expect((await client.beta.agents.retrieve(agent.id)).model.id).toBe(LOCAL);

    const overridden = await rejection(client.beta.sessions.create({ agent: { type: 'agent_with_overrides', id: agent.id, model: 'mystery-model' } as any, environment_id: envId }));
    expect(overridden.status).toBe(400);
    expect((overridden.error as any).error.message).toMatch(/^agent\.model: unknown model "mystery-model"/);
    // Advisors name models too.
    const advisor = await rejection(client.beta.agents.create({ name: 'x', model: LOCAL, multiagent: { type: 'coordinator', agents: [{ type: 'advisor', model: 'mystery-model' }] } as any }));
    expect((advisor.error as any).error.message).toMatch(/^multiagent\.agents\[0\]\.model: unknown model "mystery-model"/);
    // Any claude-* id stays accepted for the default Anthropic provider.
    expect((await client.beta.agents.create({ name: 'c', model: 'claude-something-new-9' })).model.id).toBe('claude-something-new-9');
  });
});
