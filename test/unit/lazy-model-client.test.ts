// Provider adapters load at their first call (start-up pays only for what it uses): the loader runs
// once for any number of calls, and a failed load is retried at the next call instead of sticking.
import { describe, expect, it } from 'vitest';
import { LazyModelClient } from '../../src/server/model-providers.ts';
import type { ModelClient, ModelRequest, ModelResponse } from '../../src/ports/model.ts';

const answer: ModelResponse = { content: [{ type: 'text', text: 'hi' }], stopReason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 } } as ModelResponse;
const request = {} as ModelRequest;
const signal = new AbortController().signal;

describe('LazyModelClient', () => {
  it('loads the adapter once, at the first call, and forwards every call to it', async () => {
    let loads = 0;
    const calls: ModelRequest[] = [];
    const inner: ModelClient = { stream: async (r) => { calls.push(r); return answer; } };
    const lazy = new LazyModelClient(async () => { loads++; return inner; });
    expect(loads).toBe(0);
    const results = await Promise.all([lazy.stream(request, { signal }), lazy.stream(request, { signal })]);
    expect(results).toEqual([answer, answer]);
    await lazy.stream(request, { signal });
    expect(loads).toBe(1);
    expect(calls).toHaveLength(3);
  });

  it('retries a failed load at the next call', async () => {
    let loads = 0;
    const lazy = new LazyModelClient(async () => {
      loads++;
      if (loads === 1) throw new Error('module not found');
      return { stream: async () => answer };
    });
    await expect(lazy.stream(request, { signal })).rejects.toThrow('module not found');
    await expect(lazy.stream(request, { signal })).resolves.toEqual(answer);
    expect(loads).toBe(2);
  });
});
