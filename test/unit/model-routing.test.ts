// Model routing: how an agent's model id resolves to a provider, upstream id, limits, capabilities
// and prices (entries, `<id>@<provider>`, default patterns, HANGAR_PRICING ids), the unknown-model
// message, and the router's shaping of requests to an entry's limits and capabilities.
import { describe, expect, it } from 'vitest';
import { ModelCatalog, type ModelsConfig, type ProviderInfo } from '../../src/domain/model-routing.ts';
import { ModelRouter, shapeRequest } from '../../src/harness/model-router.ts';
import { ModelError, type ModelClient, type ModelRequest } from '../../src/ports/model.ts';

const provider = (name: string, type: ProviderInfo['type'], extra: Partial<ProviderInfo> = {}): ProviderInfo =>
  ({ name, type, baseUrl: undefined, apiKeyEnv: undefined, keyMissing: false, ...extra });

const CONFIG: ModelsConfig = {
  providers: [provider('anthropic', 'anthropic'), provider('openai', 'openai'), provider('local', 'openai'), provider('nokey', 'openai', { apiKeyEnv: 'NOKEY_VAR', keyMissing: true })],
  models: [
    { id: 'llama', provider: 'local', upstreamId: 'llama3.1:8b', contextWindow: 2000, maxOutputTokens: 100, capabilities: { images: false }, fallback: 'gpt-4o' },
    { id: 'plain-text', provider: 'local', capabilities: { tools: false }, pricing: { input: 1, output: 2, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0 } },
    { id: 'ghost', provider: 'nokey' },
    { id: 'gpt-4o', provider: 'openai', capabilities: { thinking: true } },
  ],
  pricedIds: ['cent-model'],
};
const catalog = new ModelCatalog(CONFIG);

describe('resolving model ids', () => {
  it('a configured entry: its provider, upstream id, limits, capabilities (over the provider type defaults) and fallback', () => {
    expect(catalog.resolve('llama')).toEqual({
      id: 'llama', provider: CONFIG.providers[2], upstreamId: 'llama3.1:8b', via: 'entry',
      contextWindow: 2000, maxOutputTokens: 100, capabilities: { tools: true, images: false, thinking: false }, fallback: 'gpt-4o',
    });
    expect(catalog.resolve('plain-text')).toMatchObject({ upstreamId: 'plain-text', capabilities: { tools: false, images: true, thinking: false } });
  });

  it('`<upstream id>@<provider>` picks that provider; the id may contain ":" and "@" (split at the last "@")', () => {
    expect(catalog.resolve('qwen2:7b@local')).toMatchObject({ provider: { name: 'local' }, upstreamId: 'qwen2:7b', via: 'at_provider' });
    expect(catalog.resolve('org@model@local')).toMatchObject({ upstreamId: 'org@model' });
    expect(catalog.resolve('qwen2:7b@nowhere')).toBeUndefined();
    expect(catalog.resolve('@local')).toBeUndefined();
  });

  it('default patterns: claude-* → anthropic, gpt-*/o1*/o3*/o4* → openai (when that provider exists)', () => {
    expect(catalog.resolve('claude-sonnet-4-6')).toMatchObject({ provider: { name: 'anthropic' }, upstreamId: 'claude-sonnet-4-6', via: 'pattern', capabilities: { thinking: true } });
    for (const id of ['gpt-4.1-mini', 'o3-mini', 'o4-mini', 'o1']) expect(catalog.resolve(id)?.provider.name).toBe('openai');
    const noOpenAI = new ModelCatalog({ providers: [provider('anthropic', 'anthropic')], models: [] });
    expect(noOpenAI.resolve('gpt-4o')).toBeUndefined();
    expect(noOpenAI.resolve('claude-x')?.provider.name).toBe('anthropic');
  });

  it('ids priced in HANGAR_PRICING go to the default Anthropic provider; anything else is unknown', () => {
    expect(catalog.resolve('cent-model')).toMatchObject({ provider: { name: 'anthropic' }, upstreamId: 'cent-model' });
    expect(catalog.resolve('mystery')).toBeUndefined();
  });

  it('lists entries, priced ids and the known Claude ids once each, and names them in the unknown-model message', () => {
    const ids = catalog.listIds();
    expect(ids.slice(0, 5)).toEqual(['llama', 'plain-text', 'ghost', 'gpt-4o', 'cent-model']);
    expect(ids).toContain('claude-sonnet-4');
    expect(new Set(ids).size).toBe(ids.length);
    expect(catalog.unknownMessage('mystery')).toBe(
      `model: unknown model "mystery"; configured models: ${ids.join(', ')}; id patterns: claude-* (anthropic); gpt-*, chatgpt-*, o1*, o3*, o4* (openai); `
      + 'or <upstream id>@<provider> with provider one of: anthropic, openai, local, nokey',
    );
  });

  it('prices come from the entries that have them, keyed by the agent-facing id', () => {
    expect(catalog.prices()).toEqual({ 'plain-text': { input: 1, output: 2, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0 } });
  });
});

const request = (over: Partial<ModelRequest> = {}): ModelRequest => ({
  model: { id: 'llama', effort: 'high' },
  system: [{ text: 'sys' }],
  tools: [{ name: 'lookup', description: 'd', input_schema: { type: 'object' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'lookup', input: { q: 1 } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: 'found' }], is_error: true }] },
  ],
  maxTokens: 8192,
  ...over,
});

describe('shaping a request to its route', () => {
  it('sends the upstream id, caps output at max_output_tokens, drops effort without thinking, replaces images without image support', () => {
    const shaped = shapeRequest(request(), catalog.resolve('llama')!);
    expect(shaped.model).toEqual({ id: 'llama3.1:8b' });
    expect(shaped.maxTokens).toBe(100);
    expect(shaped.messages[0].content[1]).toEqual({ type: 'text', text: '[an image was attached here; this model does not take images]' });
    expect(shaped.tools).toHaveLength(1);
  });

  it('a model without tools gets no tool definitions and sees earlier calls and results as text', () => {
    const shaped = shapeRequest(request({ model: { id: 'plain-text' } }), catalog.resolve('plain-text')!);
    expect(shaped.tools).toEqual([]);
    expect(shaped.messages[1].content).toEqual([{ type: 'text', text: '[called tool lookup with {"q":1}]' }]);
    expect(shaped.messages[2].content).toEqual([{ type: 'text', text: '[tool result (error): found]' }]);
    // The image stays: this model takes images.
    expect(shaped.messages[0].content[1].type).toBe('image');
    expect(() => shapeRequest(request({ model: { id: 'plain-text' }, toolChoice: { type: 'tool', name: 'submit_verdict' } }), catalog.resolve('plain-text')!))
      .toThrow(/configured without tool support.*submit_verdict/);
  });

  it('keeps effort for a model with thinking, and refuses a conversation beyond the context window (not retryable)', () => {
    expect(shapeRequest(request({ model: { id: 'gpt-4o', effort: 'low' } }), catalog.resolve('gpt-4o')!).model).toEqual({ id: 'gpt-4o', effort: 'low' });
    const long = request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(8000) }] }] });
    let err: unknown;
    try {
      shapeRequest(long, catalog.resolve('llama')!);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).retryable).toBe(false);
    expect((err as ModelError).message).toMatch(/exceeds the context window of model llama \(2000 tokens\)/);
  });
});

describe('the router', () => {
  const seen: Array<{ provider: string; request: ModelRequest }> = [];
  const fake = (name: string): ModelClient => ({
    async stream(req) {
      seen.push({ provider: name, request: req });
      return { content: [{ type: 'text', text: name }], stopReason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 } };
    },
  });
  const router = new ModelRouter(catalog, new Map(['anthropic', 'openai', 'local', 'nokey'].map((n) => [n, fake(n)])));
  const signal = new AbortController().signal;

  it('dispatches each request to its provider\'s adapter with the shaped request', async () => {
    await router.stream(request({ model: { id: 'claude-opus-4-6' } }), { signal });
    await router.stream(request(), { signal });
    expect(seen.map((s) => [s.provider, s.request.model.id])).toEqual([['anthropic', 'claude-opus-4-6'], ['local', 'llama3.1:8b']]);
  });

  it('falls back only on the last try, only for rate limits and overloads, and says so in the response', async () => {
    const busy = new ModelError('overloaded', 'overloaded (529)', { retryable: true });
    const calls: string[] = [];
    const flaky: ModelClient = {
      async stream(req) {
        calls.push(req.model.id);
        if (req.model.id === 'llama3.1:8b') throw busy;
        return { content: [], stopReason: 'end_turn', usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 } };
      },
    };
    const r = new ModelRouter(catalog, new Map([['local', flaky], ['openai', flaky]]), { maxRetries: 2 });
    await expect(r.stream(request(), { signal, attempt: 1 })).rejects.toBe(busy);
    expect(calls).toEqual(['llama3.1:8b']);
    const answered = await r.stream(request(), { signal, attempt: 2 });
    expect(answered.fallback).toEqual({ model: 'gpt-4o', cause: busy });
    expect(calls).toEqual(['llama3.1:8b', 'llama3.1:8b', 'gpt-4o']);
    const broken = new ModelError('request_failed', 'bad request', { retryable: false });
    const r2 = new ModelRouter(catalog, new Map([['local', { stream: async () => { throw broken; } }]]), { maxRetries: 0 });
    await expect(r2.stream(request(), { signal })).rejects.toBe(broken);
  });

  it('names the failing provider\'s host on its errors, for the "model call failed" log line', async () => {
    const hosted = new ModelCatalog({
      providers: [provider('anthropic', 'anthropic'), provider('box', 'openai', { baseUrl: 'http://10.1.2.3:11434/v1' }), provider('cloud', 'openai')],
      models: [{ id: 'boxed', provider: 'box' }, { id: 'clouded', provider: 'cloud' }],
      pricedIds: [],
    });
    const failing: ModelClient = { stream: async () => { throw new ModelError('request_failed', 'no', { retryable: false }); } };
    const r = new ModelRouter(hosted, new Map([['box', failing], ['cloud', failing], ['anthropic', failing]]), { maxRetries: 0 });
    await expect(r.stream(request({ model: { id: 'boxed' } }), { signal })).rejects.toMatchObject({ upstream: '10.1.2.3:11434' });
    await expect(r.stream(request({ model: { id: 'clouded' } }), { signal })).rejects.toMatchObject({ upstream: 'api.openai.com' });
    await expect(r.stream(request({ model: { id: 'claude-opus-4-6' } }), { signal })).rejects.toMatchObject({ upstream: 'api.anthropic.com' });
  });

  it('fails without calling anything for an unknown model or a provider whose key variable is unset', async () => {
    seen.length = 0;
    await expect(router.stream(request({ model: { id: 'mystery' } }), { signal })).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('"mystery" is not configured') });
    await expect(router.stream(request({ model: { id: 'ghost' } }), { signal })).rejects.toMatchObject({
      retryable: false, message: 'provider nokey has no API key: the environment variable NOKEY_VAR is unset; set it and restart Hangar',
    });
    expect(seen).toEqual([]);
  });
});
