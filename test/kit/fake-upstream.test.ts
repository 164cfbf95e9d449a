// Proves the fake Anthropic upstream kit is wire-compatible with the real @anthropic-ai/sdk client:
// if these pass, adapter tests built on the kit exercise the SDK's genuine HTTP/SSE code paths.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream } from './fake-upstream.ts';
import type { FakeUpstream } from './fake-upstream.ts';

const MODEL = 'claude-sonnet-4-6';
const params = {
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'hello' }],
};

function clientFor(upstream: FakeUpstream): Anthropic {
  return new Anthropic({ baseURL: upstream.url, apiKey: 'test', maxRetries: 0 });
}

// Captures the rejection without leaving an unhandled promise behind while the test does other work.
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('fake upstream with the real SDK client', () => {
  let upstream: FakeUpstream;
  let client: Anthropic;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    client = clientFor(upstream);
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await upstream.close();
  });

  it('listens on 127.0.0.1 with an ephemeral port', () => {
    expect(upstream.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(upstream.url).not.toMatch(/:0$/);
  });

  it('streams text intact through messages.stream() in several deltas', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. 🦊 done.';
    upstream.script({ content: [{ type: 'text', text }], usage: { input_tokens: 42, output_tokens: 17 } });

    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on('text', (d) => deltas.push(d));
    const msg = await stream.finalMessage();

    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(text);
    expect(msg.content).toEqual([{ type: 'text', text }]);
    expect(msg.model).toBe(MODEL);
    expect(msg.role).toBe('assistant');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.stop_sequence).toBeNull();
    expect(msg.usage.input_tokens).toBe(42);
    expect(msg.usage.output_tokens).toBe(17);
  });

  it('streams tool_use input as partial JSON that the SDK reassembles into the scripted object', async () => {
    const input = { path: '/tmp/a b.txt', options: { recursive: true, depth: 3 }, tags: ['x', 'y'], note: 'quote " and \\ slash' };
    upstream.script({
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', name: 'read_file', input },
      ],
    });

    const stream = client.messages.stream(params);
    const jsonPieces: string[] = [];
    stream.on('inputJson', (partial) => jsonPieces.push(partial));
    const msg = await stream.finalMessage();

    expect(jsonPieces.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(jsonPieces.join(''))).toEqual(input);
    expect(msg.stop_reason).toBe('tool_use');
    const tool = msg.content[1];
    expect(tool.type).toBe('tool_use');
    if (tool.type !== 'tool_use') throw new Error('unreachable');
    expect(tool.input).toEqual(input);
    expect(tool.name).toBe('read_file');
    expect(tool.id).toBe('toolu_fake_1');
  });

  it('splits even an empty tool input into at least two JSON pieces and keeps a given id', async () => {
    upstream.script({ content: [{ type: 'tool_use', name: 'noop', input: {}, id: 'toolu_custom' }] });
    const stream = client.messages.stream(params);
    const jsonPieces: string[] = [];
    stream.on('inputJson', (partial) => jsonPieces.push(partial));
    const msg = await stream.finalMessage();
    expect(jsonPieces).toEqual(['{', '}']);
    expect(msg.content).toEqual([{ type: 'tool_use', id: 'toolu_custom', name: 'noop', input: {} }]);
  });

  it('round-trips a thinking block with a signature, streamed and non-streamed', async () => {
    const thinking = 'First, consider the user request carefully.';
    upstream.script(
      { content: [{ type: 'thinking', thinking }, { type: 'text', text: 'Answer.' }] },
      { content: [{ type: 'thinking', thinking }, { type: 'text', text: 'Answer.' }] },
      { content: [{ type: 'text', text: 'ok' }] },
    );

    const stream = client.messages.stream(params);
    const thinkingDeltas: string[] = [];
    stream.on('thinking', (d) => thinkingDeltas.push(d));
    const streamed = await stream.finalMessage();
    expect(thinkingDeltas.length).toBeGreaterThan(1);
    const block = streamed.content[0];
    if (block.type !== 'thinking') throw new Error(`expected thinking, got ${block.type}`);
    expect(block.thinking).toBe(thinking);
    expect(typeof block.signature).toBe('string');
    expect(block.signature.length).toBeGreaterThan(0);
    expect(streamed.content[1]).toEqual({ type: 'text', text: 'Answer.' });

    const plain = await client.messages.create({ ...params, stream: false });
    const plainBlock = plain.content[0];
    if (plainBlock.type !== 'thinking') throw new Error(`expected thinking, got ${plainBlock.type}`);
    expect(plainBlock.thinking).toBe(thinking);
    expect(plainBlock.signature.length).toBeGreaterThan(0);

    // Sending the block back must reach the upstream verbatim, signature included.
    await client.messages.create({
      ...params,
      messages: [...params.messages, { role: 'assistant', content: [block] }, { role: 'user', content: 'go on' }],
    });
    expect(upstream.requests[2].body.messages[1].content[0]).toEqual({ type: 'thinking', thinking, signature: block.signature });
  });

  it('emits the exact raw event sequence through create({ stream: true }) and hides pings', async () => {
    upstream.script({
      content: [
        { type: 'text', text: 'abcdefghij' },
        { type: 'tool_use', name: 't', input: { a: 1 } },
      ],
      usage: { input_tokens: 7, output_tokens: 9, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 },
    });
    const stream = await client.messages.create({ ...params, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);

    const types = events.map((e) => (e.type === 'content_block_delta' ? `delta:${e.delta.type}` : e.type));
    expect(types).not.toContain('ping');
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'delta:text_delta').length).toBeGreaterThanOrEqual(2);
    expect(types.filter((t) => t === 'delta:input_json_delta').length).toBeGreaterThanOrEqual(2);
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(2);
    expect(types.filter((t) => t === 'content_block_stop')).toHaveLength(2);

    const start = events[0];
    if (start.type !== 'message_start') throw new Error('unreachable');
    expect(start.message.content).toEqual([]);
    expect(start.message.stop_reason).toBeNull();
    expect(start.message.usage.input_tokens).toBe(7);
    expect(start.message.model).toBe(MODEL);

    const delta = events.at(-2);
    if (delta?.type !== 'message_delta') throw new Error('unreachable');
    expect(delta.delta.stop_reason).toBe('tool_use');
    expect(delta.delta.stop_sequence).toBeNull();
    expect(delta.usage.output_tokens).toBe(9);
    expect(delta.usage.cache_read_input_tokens).toBe(3);
    expect(delta.usage.cache_creation_input_tokens).toBe(2);
  });

  it('frames SSE on the wire exactly as the Messages API does, pings included', async () => {
    upstream.script({ content: [{ type: 'text', text: 'hello world' }] });
    const res = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    const frames = raw.split('\n\n').filter(Boolean);
    expect(raw.endsWith('\n\n')).toBe(true);
    for (const frame of frames) {
      const m = /^event: (\w+)\ndata: (.+)$/.exec(frame);
      expect(m, frame).not.toBeNull();
      expect(JSON.parse(m![2]).type).toBe(m![1]);
    }
    expect(frames.some((f) => f.startsWith('event: ping\n'))).toBe(true);
  });

  it('answers non-stream requests with a complete Message JSON and default usage', async () => {
    upstream.script({ content: [{ type: 'text', text: 'plain reply' }, { type: 'tool_use', name: 'x', input: { q: 1 } }] });
    const msg = await client.messages.create({ ...params, stream: false });
    expect(msg).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [
        { type: 'text', text: 'plain reply' },
        { type: 'tool_use', id: 'toolu_fake_1', name: 'x', input: { q: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg._request_id).toMatch(/^req_/);
  });

  it('passes refusal stop_reason and stop_details through in both modes', async () => {
    const stop_details = { type: 'refusal', category: 'cyber', explanation: 'nope' };
    upstream.script(
      { content: [{ type: 'text', text: 'I cannot' }], stop_reason: 'refusal', stop_details },
      { content: [{ type: 'text', text: 'I cannot' }], stop_reason: 'refusal', stop_details },
    );
    const plain = await client.messages.create({ ...params, stream: false });
    expect(plain.stop_reason).toBe('refusal');
    expect(plain.stop_details).toEqual(stop_details);
    const streamed = await client.messages.stream(params).finalMessage();
    expect(streamed.stop_reason).toBe('refusal');
    expect(streamed.stop_details).toEqual(stop_details);
  });

  it('maps scripted errors to the SDK error classes and sends retry-after', async () => {
    upstream.script(
      { kind: 'error', status: 429, type: 'rate_limit_error', message: 'slow down', retryAfterSeconds: 7 },
      { kind: 'error', status: 500, type: 'api_error' },
      { kind: 'error', status: 529, type: 'overloaded_error' },
    );

    const rate = await settle(client.messages.create(params));
    if (rate.ok) throw new Error('expected rejection');
    expect(rate.error).toBeInstanceOf(Anthropic.RateLimitError);
    const rl = rate.error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(rl.status).toBe(429);
    expect(rl.headers?.get('retry-after')).toBe('7');
    expect(rl.requestID).toBe('req_fake');
    expect(rl.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' }, request_id: 'req_fake' });

    const server = await settle(client.messages.stream(params).finalMessage());
    if (server.ok) throw new Error('expected rejection');
    expect(server.error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((server.error as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBeNull();

    const overloaded = await settle(client.messages.create(params));
    if (overloaded.ok) throw new Error('expected rejection');
    expect((overloaded.error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
  });

  it('disconnect makes the SDK throw APIConnectionError (stream and non-stream)', async () => {
    upstream.script({ kind: 'disconnect' }, { kind: 'disconnect' }, { content: [{ type: 'text', text: 'after' }] });
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.APIConnectionError);
    await expect(client.messages.stream(params).finalMessage()).rejects.toBeInstanceOf(Anthropic.APIConnectionError);
    // The server must still be healthy for the next request.
    const ok = await client.messages.create(params);
    expect(ok.content).toEqual([{ type: 'text', text: 'after' }]);
    expect(upstream.requests).toHaveLength(3);
  });

  it('applies delayMs before answering and chunkDelayMs between SSE events', async () => {
    upstream.script(
      { content: [{ type: 'text', text: 'x' }], delayMs: 150 },
      { kind: 'error', status: 429, type: 'rate_limit_error', delayMs: 150 },
      { content: [{ type: 'text', text: 'abcdefgh' }], chunkDelayMs: 30 },
    );
    let t0 = Date.now();
    await client.messages.create(params);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    t0 = Date.now();
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    const stamps: number[] = [];
    const stream = client.messages.stream(params);
    stream.on('text', () => stamps.push(Date.now()));
    await stream.finalMessage();
    expect(stamps).toHaveLength(2);
    expect(stamps[1] - stamps[0]).toBeGreaterThanOrEqual(20);
  });

  it('uses the responder only when the queue is empty', async () => {
    const seen: string[] = [];
    upstream.setResponder((req) => {
      seen.push(req.body.messages[0].content);
      return { content: [{ type: 'text', text: `echo:${req.body.messages[0].content}` }] };
    });
    upstream.script({ content: [{ type: 'text', text: 'scripted' }] });
    expect(upstream.pending()).toBe(1);

    const first = await client.messages.create(params);
    expect(first.content).toEqual([{ type: 'text', text: 'scripted' }]);
    expect(upstream.pending()).toBe(0);
    expect(seen).toEqual([]);

    const second = await client.messages.stream({ ...params, messages: [{ role: 'user', content: 'ping' }] }).finalMessage();
    expect(second.content).toEqual([{ type: 'text', text: 'echo:ping' }]);
    expect(seen).toEqual(['ping']);

    upstream.setResponder(async () => ({ kind: 'error', status: 429, type: 'rate_limit_error' }));
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.RateLimitError);

    upstream.setResponder(() => {
      throw new Error('boom');
    });
    await expect(client.messages.create(params)).rejects.toThrow(/responder threw: boom/);
  });

  it('fails loudly with 500 api_error when nothing is scripted', async () => {
    const r = await settle(client.messages.create(params));
    if (r.ok) throw new Error('expected rejection');
    expect(r.error).toBeInstanceOf(Anthropic.InternalServerError);
    const err = r.error as InstanceType<typeof Anthropic.InternalServerError>;
    expect(err.status).toBe(500);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: 'fake upstream: no scripted reply' } });
    expect(upstream.requests).toHaveLength(1);
  });

  it('records every request with parsed body and headers before answering, even for errors', async () => {
    upstream.script({ kind: 'error', status: 400, type: 'invalid_request_error' }, { content: [{ type: 'text', text: 'ok' }] });
    await expect(
      client.messages.create({ ...params, system: 'be brief', metadata: { user_id: 'u1' } }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await client.messages.stream(params).finalMessage();

    const reqs = await upstream.waitForRequests(2, 1000);
    expect(reqs).toHaveLength(2);
    expect(reqs[0]).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(reqs[0].body).toMatchObject({ model: MODEL, system: 'be brief', metadata: { user_id: 'u1' }, max_tokens: 256 });
    expect(reqs[0].body.stream).toBeFalsy();
    // This SDK version sends the API key as a bearer token rather than x-api-key.
    expect(reqs[0].headers['authorization'] ?? reqs[0].headers['x-api-key']).toMatch(/^(Bearer )?test$/);
    expect(reqs[0].headers['anthropic-version']).toBeTruthy();
    expect(reqs[1].body.stream).toBe(true);
    expect(reqs[0].receivedAt).toBeLessThanOrEqual(reqs[1].receivedAt);
  });

  it('waitForRequests resolves on arrival and rejects on timeout', async () => {
    upstream.script({ content: [{ type: 'text', text: 'a' }], delayMs: 200 });
    const waiting = upstream.waitForRequests(1, 2000);
    const call = client.messages.create(params);
    const reqs = await waiting;
    expect(reqs).toHaveLength(1);
    await call;
    await expect(upstream.waitForRequests(5, 50)).rejects.toThrow(/expected 5 request/);
  });

  it('tolerates ?beta=true and 404s everything else with the error envelope', async () => {
    upstream.script({ content: [{ type: 'text', text: 'beta ok' }] }, { content: [{ type: 'text', text: 'query ok' }] });
    const beta = await client.beta.messages.create({ ...params, betas: ['fake-beta-2099-01-01'] });
    expect(beta.content).toEqual([{ type: 'text', text: 'beta ok' }]);
    expect(upstream.requests[0].headers['anthropic-beta']).toBe('fake-beta-2099-01-01');

    // Older SDKs address the beta surface as /v1/messages?beta=true.
    const viaQuery = await fetch(`${upstream.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    expect(viaQuery.status).toBe(200);
    expect(await viaQuery.json()).toMatchObject({ content: [{ type: 'text', text: 'query ok' }] });
    expect(upstream.requests[1].path).toBe('/v1/messages?beta=true');

    const res = await fetch(`${upstream.url}/v1/models`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' }, request_id: 'req_fake' });
    await expect(client.models.list()).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    expect(upstream.requests).toHaveLength(2);
  });

  it('reset clears queue, responder, requests and id counters', async () => {
    upstream.script({ content: [{ type: 'tool_use', name: 'a', input: {} }] }, { content: [] });
    upstream.setResponder(() => ({ content: [] }));
    await client.messages.create(params);
    const requestsRef = upstream.requests;
    upstream.reset();
    expect(upstream.pending()).toBe(0);
    expect(upstream.requests).toHaveLength(0);
    expect(requestsRef).toBe(upstream.requests);
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    upstream.script({ content: [{ type: 'tool_use', name: 'a', input: {} }] });
    const again = await client.messages.create(params);
    expect(again.content[0]).toMatchObject({ id: 'toolu_fake_1' });
  });

  it('serves 250 concurrent streamed requests from an instant responder', async () => {
    upstream.setResponder((req) => ({ content: [{ type: 'text', text: `reply to ${req.body.messages[0].content}` }] }));
    const n = 250;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 2 === 0
          ? client.messages.stream({ ...params, messages: [{ role: 'user', content: `q${i}` }] }).finalMessage()
          : client.messages.create({ ...params, messages: [{ role: 'user', content: `q${i}` }] }),
      ),
    );
    results.forEach((msg, i) => expect(msg.content).toEqual([{ type: 'text', text: `reply to q${i}` }]));
    expect(upstream.requests).toHaveLength(n);
  });
});

describe('fake upstream hang and teardown', () => {
  it('hang streams the first chunk, a client abort rejects the SDK, and close() is quick', async () => {
    const upstream = await startFakeUpstream();
    const client = clientFor(upstream);
    upstream.script({ content: [{ type: 'text', text: 'first chunk then silence' }], hang: true });

    const ac = new AbortController();
    const stream = client.messages.stream(params, { signal: ac.signal });
    const firstText = new Promise<string>((resolve) => stream.once('text', resolve));
    const final = settle(stream.finalMessage());

    expect(await firstText).toBe('firs');
    ac.abort();
    const r = await final;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBeInstanceOf(Anthropic.APIUserAbortError);

    const t0 = Date.now();
    await upstream.close();
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('close() tears down hung streamed and non-streamed requests the client never abandons', async () => {
    const upstream = await startFakeUpstream();
    const client = clientFor(upstream);
    upstream.script(
      { content: [{ type: 'text', text: 'stalled stream' }], hang: true },
      { content: [{ type: 'text', text: 'stalled json' }], hang: true },
      { content: [{ type: 'text', text: 'never sent' }], delayMs: 60_000 },
    );

    const stream = client.messages.stream(params);
    const firstText = new Promise<string>((resolve) => stream.once('text', resolve));
    const streamed = settle(stream.finalMessage());
    const plain = settle(client.messages.create(params));
    const delayed = settle(client.messages.create(params));
    await firstText;
    await upstream.waitForRequests(3, 2000);

    const t0 = Date.now();
    await upstream.close();
    expect(Date.now() - t0).toBeLessThan(1000);

    const [s, p, d] = await Promise.all([streamed, plain, delayed]);
    expect(s.ok).toBe(false);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(d.ok).toBe(false);
    // A second close is a no-op rather than an error.
    await upstream.close();
  });

  it('binds the requested port', async () => {
    const probe = await startFakeUpstream();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const upstream = await startFakeUpstream({ port });
    try {
      expect(upstream.url).toBe(`http://127.0.0.1:${port}`);
    } finally {
      await upstream.close();
    }
  });
});

describe('fake upstream: token counting, context window and prompt cache', () => {
  let upstream: FakeUpstream;
  let client: Anthropic;
  beforeAll(async () => {
    upstream = await startFakeUpstream({ contextWindow: 2_000 });
    client = clientFor(upstream);
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await upstream.close();
  });

  const ask = (text: string, system?: Anthropic.Messages.TextBlockParam[]) => ({
    model: MODEL, max_tokens: 100, system, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text, cache_control: { type: 'ephemeral' as const } }] }],
  });

  it('answers messages.countTokens with its tokenizer, which counts longer prompts higher', async () => {
    const short = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const long = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(3_500) }] });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(1_000);
    expect(long.input_tokens).toBe(upstream.promptTokens({ messages: [{ role: 'user', content: 'x'.repeat(3_500) }] }));
    expect(upstream.countRequests).toHaveLength(2);
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses a prompt over the window with the API\'s "prompt is too long" 400, and prompt plus max_tokens over it too', async () => {
    upstream.script({ content: [{ type: 'text', text: 'never' }] }, { content: [{ type: 'text', text: 'never' }] });
    const over = await settle(client.messages.create({ ...ask('y'.repeat(8_000)) }));
    expect(over.ok).toBe(false);
    if (!over.ok) {
      expect(over.error).toBeInstanceOf(Anthropic.BadRequestError);
      expect(String((over.error as Error).message)).toMatch(/prompt is too long: \d+ tokens > 2000 maximum/);
    }
    const withOutput = await settle(client.messages.create({ ...ask('y'.repeat(6_700)), max_tokens: 500 }));
    expect(withOutput.ok).toBe(false);
    if (!withOutput.ok) expect(String((withOutput.error as Error).message)).toMatch(/exceed context limit: \d+ \+ 500 > 2000/);
    expect(upstream.tokenTotals().overflows).toBe(2);
  });

  it('reports counted usage: the first request writes the prefix cache, a request extending it reads it', async () => {
    const system = [{ type: 'text' as const, text: 'You are terse. '.repeat(40), cache_control: { type: 'ephemeral' as const } }];
    upstream.script({ content: [{ type: 'text', text: 'a' }] }, { content: [{ type: 'text', text: 'b' }] });
    const first = await client.messages.create(ask('first question', system));
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(100);
    const second = await client.messages.create({
      ...ask('second question', system),
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'first question' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'a' }] },
        { role: 'user', content: [{ type: 'text', text: 'second question', cache_control: { type: 'ephemeral' } }] },
      ],
    });
    // The system prompt's prefix was written by the first request (its breakpoint moved on).
    expect(second.usage.cache_read_input_tokens ?? 0).toBeGreaterThan(100);
    const prompt = second.usage.input_tokens + (second.usage.cache_read_input_tokens ?? 0) + (second.usage.cache_creation_input_tokens ?? 0);
    expect(prompt).toBe(upstream.promptTokens(upstream.requests[1].body));
    const totals = upstream.tokenTotals();
    expect(totals.requests).toBe(2);
    expect(totals.cache_read_input_tokens).toBe(second.usage.cache_read_input_tokens);
  });
});
