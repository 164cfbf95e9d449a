// The OpenAI-compatible adapter: request mapping (system, multi-turn text, images, documents, tool
// calls and results, tools, tool_choice, effort, output cap), stream assembly (text, reasoning and
// tool-call argument deltas, previews), finish-reason and usage mapping, error classification with
// the `openai` client's own error classes, and the real client against the fake upstream
// (streaming, cancellation, connection resets, rejected tool schemas).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { toOpenAIParams } from '../../src/adapters/model-openai/openai-params.ts';
import { ChunkAssembler, OpenAIModel, toStopReason, toUsage } from '../../src/adapters/model-openai/openai-model.ts';
import { toModelError } from '../../src/adapters/model-openai/openai-errors.ts';
import { ModelError, type ModelRequest, type ModelStreamEvent } from '../../src/ports/model.ts';
import { sessionErrorType } from '../../src/harness/retry.ts';
import { startFakeOpenAIUpstream, type FakeOpenAIUpstream } from '../kit/fake-openai-upstream.ts';

const REQUEST: ModelRequest = {
  model: { id: 'llama3.1:8b', effort: 'low' },
  system: [{ text: 'You are Hangar.', cache: true }, { text: 'Be brief.' }],
  tools: [{ name: 'lookup', description: 'Looks things up', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, cache: true }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'cat' } }, { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: {} }] },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a cat' }, { type: 'image', source: { type: 'url', url: 'https://img.example/cat.png' } }], is_error: false },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'q is required' }], is_error: true },
        { type: 'text', text: 'Also read this.', cache: true },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' }, title: 'notes.txt' },
      ],
    },
  ],
  maxTokens: 1024,
};

describe('request mapping', () => {
  it('maps system, images, tool calls, tool results (errors flagged, images moved to a user message), documents and tools', () => {
    expect(toOpenAIParams(REQUEST, { maxTokensParam: 'max_tokens' })).toEqual({
      model: 'llama3.1:8b',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 1024,
      reasoning_effort: 'low',
      messages: [
        { role: 'system', content: 'You are Hangar.\n\nBe brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }] },
        {
          role: 'assistant', content: 'Let me look.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'lookup', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'a cat\n[image: attached in the next user message]' },
        { role: 'tool', tool_call_id: 'toolu_2', content: '[the tool reported an error]\nq is required' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Images returned by the tool calls above:' },
            { type: 'image_url', image_url: { url: 'https://img.example/cat.png' } },
            { type: 'text', text: 'Also read this.' },
            { type: 'text', text: 'Document: notes.txt\nPlain notes.' },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks things up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
    });
  });

  it('forces a tool as a function tool_choice, uses max_completion_tokens when asked, and sends an assistant turn of only tool calls with null content', () => {
    const p = toOpenAIParams({ ...REQUEST, model: { id: 'gpt-4o' }, toolChoice: { type: 'tool', name: 'lookup' }, messages: [REQUEST.messages[1]] }, { maxTokensParam: 'max_completion_tokens' });
    expect(p.tool_choice).toEqual({ type: 'function', function: { name: 'lookup' } });
    expect(p.max_completion_tokens).toBe(1024);
    expect(p).not.toHaveProperty('max_tokens');
    expect(p).not.toHaveProperty('reasoning_effort');
    const onlyCalls = toOpenAIParams({ ...REQUEST, system: [], messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'lookup', input: {} }] }] }, { maxTokensParam: 'max_tokens' });
    expect(onlyCalls.messages).toEqual([{ role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }]);
  });
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason: finish }] });

describe('stream assembly', () => {
  it('folds reasoning, text and interleaved tool-call argument deltas into blocks, with preview events', () => {
    const events: ModelStreamEvent[] = [];
    const a = new ChunkAssembler((e) => events.push(e));
    a.add(chunk({ role: 'assistant', content: '' }));
    a.add(chunk({ reasoning_content: 'hmm ' }));
    a.add(chunk({ reasoning_content: 'ok' }));
    a.add(chunk({ content: 'Hel' }));
    a.add(chunk({ content: 'lo' }));
    a.add(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":' } }] }));
    a.add(chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'other', arguments: '' } }] }));
    a.add(chunk({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }));
    a.add(chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }));
    a.add(chunk({}, 'tool_calls'));
    a.add({ choices: [], usage: { prompt_tokens: 50, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 20 } } });
    expect(a.finishAnswer()).toEqual({
      content: [
        { type: 'thinking', thinking: 'hmm ok' },
        { type: 'text', text: 'Hello' },
        { type: 'tool_use', id: 'call_a', name: 'lookup', input: { q: 'x' } },
        { type: 'tool_use', id: 'call_b', name: 'other', input: {} },
      ],
      stopReason: 'tool_use', stopDetails: null,
      usage: { input_tokens: 30, output_tokens: 7, cache_read_input_tokens: 20, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 },
    });
    expect(events).toEqual([
      { type: 'block_start', index: 0, block: 'thinking' },
      { type: 'thinking_delta', index: 0, text: 'hmm ' },
      { type: 'thinking_delta', index: 0, text: 'ok' },
      { type: 'block_stop', index: 0 },
      { type: 'block_start', index: 1, block: 'text' },
      { type: 'text_delta', index: 1, text: 'Hel' },
      { type: 'text_delta', index: 1, text: 'lo' },
      { type: 'block_stop', index: 1 },
      { type: 'block_start', index: 2, block: 'tool_use' },
      { type: 'block_stop', index: 2 },
      { type: 'block_start', index: 3, block: 'tool_use' },
      { type: 'block_stop', index: 3 },
    ]);
  });

  it('tool-call arguments that are not a JSON object fail the answer', () => {
    const a = new ChunkAssembler(() => {});
    a.add(chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'lookup', arguments: '{"q": ' } }] }, 'tool_calls'));
    expect(() => a.finishAnswer()).toThrow('the model sent tool call lookup arguments that are not valid JSON');
    const b = new ChunkAssembler(() => {});
    b.add(chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'lookup', arguments: '[1]' } }] }, 'tool_calls'));
    expect(() => b.finishAnswer()).toThrow(/not a JSON object/);
  });

  it.each([
    ['stop', false, 'end_turn', null],
    ['tool_calls', true, 'tool_use', null],
    ['stop', true, 'tool_use', null],
    ['length', false, 'max_tokens', null],
    ['content_filter', false, 'refusal', { category: 'content_filter', explanation: "the provider's content filter stopped the answer" }],
    [null, false, 'end_turn', null],
  ])('finish_reason %s (tool calls: %s) → %s', (finish, calls, stop, details) => {
    expect(toStopReason(finish, calls)).toEqual({ stopReason: stop, stopDetails: details });
  });

  it('usage: cached tokens are split out of prompt_tokens; missing usage counts zero', () => {
    expect(toUsage({ prompt_tokens: 12, completion_tokens: 3 })).toMatchObject({ input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 0 });
    expect(toUsage(undefined)).toMatchObject({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0 });
  });
});

const live = () => new AbortController().signal;
const httpError = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  OpenAI.APIError.generate(status, { error }, undefined, new Headers(headers));

describe('error classification', () => {
  it('429 → rate_limited with retry-after; insufficient_quota → billing, not retried', () => {
    const e = toModelError(httpError(429, { type: 'requests', code: 'rate_limit_exceeded', message: 'slow down' }, { 'retry-after': '3' }), live(), []);
    expect([e.kind, e.retryable, e.retryAfterMs, e.status, sessionErrorType(e)]).toEqual(['rate_limited', true, 3000, 429, 'model_rate_limited_error']);
    const q = toModelError(httpError(429, { type: 'insufficient_quota', code: 'insufficient_quota' }), live(), []);
    expect([q.kind, q.retryable, sessionErrorType(q)]).toEqual(['billing', false, 'billing_error']);
  });

  it.each([[500, 'request_failed'], [502, 'request_failed'], [503, 'overloaded'], [408, 'request_failed'], [409, 'request_failed']])('%i → %s, retried', (status, kind) => {
    const e = toModelError(httpError(status, { message: 'x' }), live(), []);
    expect([e.kind, e.retryable, e.status]).toEqual([kind, true, status]);
  });

  it('401/403 → authentication (the operator\'s key): not retried, naming the provider, its host and key variable', () => {
    const ctx = { displayName: 'local', host: '127.0.0.1:11434', keyVariable: 'LOCAL_LLM_KEY', keySet: true };
    const e = toModelError(httpError(401, { type: 'invalid_request_error', code: 'invalid_api_key', message: 'bad key' }), live(), [], [], ctx);
    expect([e.kind, e.retryable, e.status, sessionErrorType(e)]).toEqual(['authentication', false, 401, 'model_request_failed_error']);
    expect(e.message).toBe('The model provider local (127.0.0.1:11434) rejected the API key Hangar sends (401 invalid_api_key: bad key). This is a server configuration problem: set LOCAL_LLM_KEY on the Hangar server to a valid key and restart Hangar, then send the message again.');
    const denied = toModelError(httpError(403, { message: 'no access' }), live(), [], [], { ...ctx, keySet: false });
    expect(denied.message).toBe('The model provider local (127.0.0.1:11434) refused the request: the API key in LOCAL_LLM_KEY lacks permission for it (403: no access). LOCAL_LLM_KEY is not set on the Hangar server: set it to a valid key and restart Hangar, then send the message again.');
    const keyless = toModelError(httpError(401, { message: 'auth required' }), live(), [], [], { ...ctx, keyVariable: undefined, keySet: false });
    expect(keyless.message).toContain('name the variable holding its key in api_key_env in HANGAR_MODELS');
  });

  it.each([400, 404, 422])('%i → not retried', (status) => {
    const e = toModelError(httpError(status, { message: 'no' }), live(), []);
    expect([e.kind, e.retryable, e.status]).toEqual(['request_failed', false, status]);
  });

  it('a 400 naming a tool parameter says which tool definition the provider rejected', () => {
    const e = toModelError(httpError(400, { type: 'invalid_request_error', param: 'tools[1].function.parameters', message: "Invalid schema for function 'write'" }), live(), [], ['read', 'write']);
    expect(e.message).toBe("the provider rejected the definition of tool write (tools[1].function.parameters) (400 invalid_request_error): 400 Invalid schema for function 'write'");
    expect(e.retryable).toBe(false);
  });

  it('connection failures and timeouts are retried; an abort is `aborted` with the partial text; anything else is retried once more', () => {
    expect(toModelError(new OpenAI.APIConnectionError({ message: 'ECONNRESET' }), live(), [])).toMatchObject({ kind: 'connection', retryable: true });
    expect(toModelError(new OpenAI.APIConnectionTimeoutError(), live(), [])).toMatchObject({ kind: 'connection', retryable: true });
    const ac = new AbortController();
    ac.abort();
    const aborted = toModelError(new OpenAI.APIUserAbortError(), ac.signal, [{ type: 'text', text: 'so far' }]);
    expect(aborted).toMatchObject({ kind: 'aborted', retryable: false, partial: [{ type: 'text', text: 'so far' }] });
    expect(toModelError(new SyntaxError('Unexpected token'), live(), [])).toMatchObject({ kind: 'request_failed', retryable: true });
    const already = new ModelError('billing', 'x', { retryable: false });
    expect(toModelError(already, live(), [])).toBe(already);
  });
});

describe('the adapter over the real client and the fake upstream', () => {
  let up: FakeOpenAIUpstream;
  let model: OpenAIModel;
  beforeAll(async () => {
    up = await startFakeOpenAIUpstream();
    model = new OpenAIModel({ apiKey: 'sk-test', baseURL: up.url, maxTokensParam: 'max_tokens' });
  });
  beforeEach(() => up.reset());
  afterAll(async () => up?.close());

  it('streams text and a tool call, with usage', async () => {
    up.script({ content: [{ type: 'text', text: 'Looking it up now.' }, { type: 'tool_use', name: 'lookup', input: { q: 'a long query string here' }, id: 'call_9' }], usage: { prompt_tokens: 40, cached_tokens: 8, completion_tokens: 12 } });
    const events: ModelStreamEvent[] = [];
    const r = await model.stream(REQUEST, { signal: live(), onEvent: (e) => events.push(e) });
    expect(r.content).toEqual([{ type: 'text', text: 'Looking it up now.' }, { type: 'tool_use', id: 'call_9', name: 'lookup', input: { q: 'a long query string here' } }]);
    expect(r.stopReason).toBe('tool_use');
    expect(r.usage).toMatchObject({ input_tokens: 32, cache_read_input_tokens: 8, output_tokens: 12 });
    expect(events.filter((e) => e.type === 'text_delta').length).toBeGreaterThan(1);
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-test');
  });

  it('a server that ignores stream_options still answers, with zero usage', async () => {
    up.script({ content: [{ type: 'text', text: 'ok' }], omitUsage: true });
    const r = await model.stream(REQUEST, { signal: live() });
    expect(r.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
  });

  it('an abort mid-stream rejects as `aborted` with what was streamed', async () => {
    up.script({ content: [{ type: 'text', text: 'Partial words before a stall' }], hang: true });
    const ac = new AbortController();
    const p = model.stream(REQUEST, { signal: ac.signal, onEvent: (e) => { if (e.type === 'text_delta') ac.abort(); } });
    await expect(p).rejects.toMatchObject({ kind: 'aborted', retryable: false });
    const err = (await p.catch((e: unknown) => e)) as ModelError;
    expect(err.partial[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Part/) });
  });

  it('an error that echoes the API key never carries it further', async () => {
    up.script({ kind: 'error', status: 401, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided: sk-test.' });
    const err = (await model.stream(REQUEST, { signal: live() }).catch((e: unknown) => e)) as ModelError;
    expect(err).toBeInstanceOf(ModelError);
    expect(err.message).toContain('Incorrect API key provided: [redacted].');
    expect(err.message).not.toContain('sk-test');
    expect(err.cause).toBeUndefined();
  });

  it('a connection reset is a retryable connection error; a scripted 400 on a tool schema names the tool', async () => {
    up.script({ kind: 'disconnect' });
    await expect(model.stream(REQUEST, { signal: live() })).rejects.toMatchObject({ kind: 'connection', retryable: true });
    up.script({ kind: 'error', status: 400, type: 'invalid_request_error', param: 'tools[0].function.parameters', message: 'schema must be an object' });
    await expect(model.stream(REQUEST, { signal: live() })).rejects.toMatchObject({ retryable: false, status: 400, message: expect.stringContaining('rejected the definition of tool lookup') });
  });
});
