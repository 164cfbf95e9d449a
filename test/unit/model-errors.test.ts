// Model failures as the harness sees them: SDK errors (built with the SDK's own classes) classified
// into ModelError kinds and retryability, retry-after parsing, backoff bounds, session.error type
// names, and the Messages API parameters with their cache_control breakpoints.
import { afterEach, describe, expect, it, vi } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { toAnthropicParams, toModelError } from '../../src/adapters/model-anthropic/anthropic-model.ts';
import { ModelError, type ModelOutputBlock, type ModelRequest } from '../../src/ports/model.ts';
import { backoffMs, failureStatus, sessionErrorType, sleep, type RetryPolicy } from '../../src/harness/retry.ts';

const live = () => new AbortController().signal;
const body = (type: string, message = 'upstream said no') => ({ type: 'error', error: { type, message }, request_id: 'req_1' });

/** An HTTP error exactly as the SDK builds it from a response. */
function httpError(status: number, type: string, headers: Record<string, string> = {}) {
  return Anthropic.APIError.generate(status, body(type), undefined, new Headers(headers));
}

/** An `event: error` frame in the middle of a stream, as the SDK's Stream throws it (no status). */
function streamError(type: string) {
  return new Anthropic.APIError(undefined, body(type), undefined, new Headers(), type as never);
}

const classify = (err: unknown, signal = live(), partial: ModelOutputBlock[] = []) => toModelError(err, signal, partial);

describe('toModelError classification', () => {
  it('429 rate_limit_error -> rate_limited, retryable', () => {
    const err = httpError(429, 'rate_limit_error');
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = classify(err);
    expect(e).toBeInstanceOf(ModelError);
    expect([e.kind, e.retryable, e.status]).toEqual(['rate_limited', true, 429]);
    expect(e.cause).toBe(err);
    expect(sessionErrorType(e)).toBe('model_rate_limited_error');
  });

  it('529 overloaded_error -> overloaded, retryable', () => {
    const err = httpError(529, 'overloaded_error');
    expect(err).toBeInstanceOf(Anthropic.OverloadedError);
    const e = classify(err);
    expect([e.kind, e.retryable, e.status]).toEqual(['overloaded', true, 529]);
    expect(sessionErrorType(e)).toBe('model_overloaded_error');
  });

  it('an overloaded_error frame in the middle of a stream -> overloaded, retryable', () => {
    const e = classify(streamError('overloaded_error'));
    expect([e.kind, e.retryable, e.status]).toEqual(['overloaded', true, undefined]);
  });

  it('a rate_limit_error frame in the middle of a stream -> rate_limited', () => {
    expect(classify(streamError('rate_limit_error')).kind).toBe('rate_limited');
  });

  it.each([500, 502, 503, 504])('%i -> request_failed, retryable', (status) => {
    const err = httpError(status, 'api_error');
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    const e = classify(err);
    expect([e.kind, e.retryable, e.status]).toEqual(['request_failed', true, status]);
    expect(sessionErrorType(e)).toBe('model_request_failed_error');
  });

  it('408 request timeout -> request_failed, retryable', () => {
    const e = classify(httpError(408, 'timeout_error'));
    expect([e.kind, e.retryable]).toEqual(['request_failed', true]);
  });

  it('connection failures and timeouts -> connection, retryable', () => {
    const conn = classify(new Anthropic.APIConnectionError({ message: 'ECONNRESET' }));
    expect([conn.kind, conn.retryable, conn.status]).toEqual(['connection', true, undefined]);
    const timeout = classify(new Anthropic.APIConnectionTimeoutError());
    expect([timeout.kind, timeout.retryable]).toEqual(['connection', true]);
    expect(sessionErrorType(conn)).toBe('model_request_failed_error');
  });

  it('402 billing_error -> billing, not retryable', () => {
    const err = httpError(402, 'billing_error');
    expect(err).toBeInstanceOf(Anthropic.PaymentRequiredError);
    const e = classify(err);
    expect([e.kind, e.retryable, e.status]).toEqual(['billing', false, 402]);
    expect(sessionErrorType(e)).toBe('billing_error');
  });

  it('billing_error under another status is still billing (classified by type too)', () => {
    expect(classify(httpError(400, 'billing_error')).kind).toBe('billing');
  });

  it.each([
    [401, 'authentication_error', 'rejected the API key Hangar sends (401 authentication_error: upstream said no)'],
    [403, 'permission_error', 'refused the request: the API key in ANTHROPIC_API_KEY lacks permission for it (403 permission_error: upstream said no)'],
  ])('%i %s -> authentication, not retryable, naming the provider and the variable to fix', (status, type, says) => {
    const e = toModelError(httpError(status, type), live(), [], { host: 'models.example:8443', keySet: true });
    expect([e.kind, e.retryable, e.status]).toEqual(['authentication', false, status]);
    expect(e.message).toContain(`The model provider Anthropic (models.example:8443) ${says}.`);
    expect(e.message).toContain('set ANTHROPIC_API_KEY on the Hangar server to a valid key');
    expect(sessionErrorType(e)).toBe('model_request_failed_error');
    // An operator problem ends the turn, not the session.
    expect(failureStatus(e, false)).toBe('exhausted');
  });

  it('says when no model key is configured at all', () => {
    const e = toModelError(httpError(401, 'authentication_error'), live(), [], { host: 'api.anthropic.com', keySet: false });
    expect(e.message).toContain('ANTHROPIC_API_KEY is not set on the Hangar server: set it to a valid key and restart Hangar, then send the message again.');
  });

  it('authentication_error in a stream frame (no status) is authentication too', () => {
    expect(classify(streamError('authentication_error')).kind).toBe('authentication');
  });

  it('failureStatus: retrying while retries remain, exhausted for retryable or credential failures, terminal otherwise', () => {
    const retryable = classify(httpError(500, 'api_error'));
    const invalid = classify(httpError(400, 'invalid_request_error'));
    expect(failureStatus(retryable, true)).toBe('retrying');
    expect(failureStatus(retryable, false)).toBe('exhausted');
    expect(failureStatus(invalid, false)).toBe('terminal');
    expect(failureStatus(classify(httpError(402, 'billing_error')), false)).toBe('terminal');
  });

  it.each([
    [400, 'invalid_request_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
  ])('%i %s -> request_failed, not retryable', (status, type) => {
    const e = classify(httpError(status, type));
    expect([e.kind, e.retryable, e.status]).toEqual(['request_failed', false, status]);
  });

  it('a user abort -> aborted, not retryable, keeping the text streamed so far', () => {
    const partial: ModelOutputBlock[] = [{ type: 'text', text: 'Half an ans' }];
    const e = classify(new Anthropic.APIUserAbortError(), live(), partial);
    expect([e.kind, e.retryable]).toEqual(['aborted', false]);
    expect(e.partial).toEqual(partial);
  });

  it('any failure after our signal fired -> aborted, whatever the SDK threw', () => {
    const ctl = new AbortController();
    ctl.abort('interrupt');
    const e = classify(new Anthropic.APIConnectionError({ message: 'socket closed' }), ctl.signal, [{ type: 'text', text: 'x' }]);
    expect(e.kind).toBe('aborted');
    expect(e.partial).toEqual([{ type: 'text', text: 'x' }]);
  });

  it('a non-SDK failure (malformed tool JSON) -> request_failed, retryable', () => {
    const e = classify(new SyntaxError('Unexpected end of JSON input'));
    expect([e.kind, e.retryable]).toEqual(['request_failed', true]);
  });

  it('passes a ModelError through unchanged', () => {
    const original = new ModelError('overloaded', 'already classified', { retryable: true });
    expect(classify(original)).toBe(original);
  });

  it('names the ModelError class and keeps status and type in the message', () => {
    const e = classify(httpError(529, 'overloaded_error'));
    expect(e.name).toBe('ModelError');
    expect(e.message).toContain('529');
    expect(e.message).toContain('overloaded_error');
  });
});

describe('retry-after parsing', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads retry-after in seconds', () => {
    expect(classify(httpError(429, 'rate_limit_error', { 'retry-after': '7' })).retryAfterMs).toBe(7_000);
  });

  it('reads fractional seconds', () => {
    expect(classify(httpError(529, 'overloaded_error', { 'retry-after': '1.5' })).retryAfterMs).toBe(1_500);
  });

  it('prefers retry-after-ms over retry-after', () => {
    const e = classify(httpError(429, 'rate_limit_error', { 'retry-after-ms': '250', 'retry-after': '7' }));
    expect(e.retryAfterMs).toBe(250);
  });

  it('honors retry-after on a retryable 5xx', () => {
    expect(classify(httpError(503, 'api_error', { 'retry-after': '2' })).retryAfterMs).toBe(2_000);
  });

  it('leaves retryAfterMs undefined without the header or with garbage', () => {
    expect(classify(httpError(429, 'rate_limit_error')).retryAfterMs).toBeUndefined();
    expect(classify(httpError(429, 'rate_limit_error', { 'retry-after': 'soon' })).retryAfterMs).toBeUndefined();
  });

  it('does not carry a retry delay on a non-retryable error', () => {
    expect(classify(httpError(400, 'invalid_request_error', { 'retry-after': '3' })).retryAfterMs).toBeUndefined();
  });

  it('reads retry-after given as an HTTP date (RFC 9110 §10.2.3), as the SDK itself does', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-05-01T00:00:00.000Z'));
    const e = classify(httpError(429, 'rate_limit_error', { 'retry-after': 'Fri, 01 May 2026 00:00:30 GMT' }));
    expect(e.retryAfterMs).toBe(30_000);
  });
});

describe('backoffMs', () => {
  const policy: RetryPolicy = { maxRetries: 5, baseDelayMs: 1_000, maxDelayMs: 8_000 };
  const plain = new ModelError('overloaded', 'x', { retryable: true });
  const after = (ms: number) => new ModelError('rate_limited', 'x', { retryable: true, retryAfterMs: ms });

  it('doubles the ceiling per attempt with jitter in [ceiling/2, ceiling]', () => {
    expect(backoffMs(policy, 1, plain, () => 0)).toBe(500);
    expect(backoffMs(policy, 1, plain, () => 1)).toBe(1_000);
    expect(backoffMs(policy, 2, plain, () => 0)).toBe(1_000);
    expect(backoffMs(policy, 3, plain, () => 1)).toBe(4_000);
  });

  it('caps the ceiling at maxDelayMs', () => {
    expect(backoffMs(policy, 10, plain, () => 1)).toBe(8_000);
    expect(backoffMs(policy, 50, plain, () => 0)).toBe(4_000);
  });

  it('treats attempt 0 like the first attempt', () => {
    expect(backoffMs(policy, 0, plain, () => 1)).toBe(1_000);
  });

  it('stays within bounds for any random value and attempt', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(policy, attempt, plain);
        expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
        expect(ms).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('waits at least the upstream retry-after when it is longer than the jittered delay', () => {
    expect(backoffMs(policy, 1, after(3_000), () => 0)).toBe(3_000);
    expect(backoffMs(policy, 4, after(100), () => 1)).toBe(8_000);
  });

  it('never waits longer than maxDelayMs, even when retry-after asks for more', () => {
    expect(backoffMs(policy, 1, after(60_000), () => 0)).toBe(8_000);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    vi.useFakeTimers();
    try {
      let done = false;
      const p = sleep(1_000, live()).then(() => { done = true; });
      await vi.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await p;
      expect(done).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('resolves early without throwing when the signal aborts, and drops its listener', async () => {
    const ctl = new AbortController();
    const remove = vi.spyOn(ctl.signal, 'removeEventListener');
    const started = Date.now();
    const p = sleep(60_000, ctl.signal);
    ctl.abort('interrupt');
    await expect(p).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('resolves at once for an already-aborted signal', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(sleep(60_000, ctl.signal)).resolves.toBeUndefined();
  });
});

describe('toAnthropicParams', () => {
  const request = (over: Partial<ModelRequest> = {}): ModelRequest => ({
    model: { id: 'claude-sonnet-4-6' },
    system: [{ text: 'You are terse.', cache: true }],
    tools: [
      { name: 'bash', description: 'Runs a command', input_schema: { type: 'object' } },
      { name: 'lookup', description: 'Looks up', input_schema: { type: 'object' }, cache: true },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'list files' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 'toolu_1', name: 'bash', input: { command: 'ls' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.txt' }], is_error: false },
          { type: 'text', text: 'summarize', cache: true },
        ],
      },
    ],
    maxTokens: 2048,
    ...over,
  });

  it('streams with the model id and max_tokens', () => {
    const p = toAnthropicParams(request());
    expect(p).toMatchObject({ model: 'claude-sonnet-4-6', max_tokens: 2048, stream: true });
  });

  it('puts cache_control on the flagged tool, system block and message block, and nowhere else', () => {
    const p = toAnthropicParams(request()) as any;
    expect(p.tools).toEqual([
      { name: 'bash', description: 'Runs a command', input_schema: { type: 'object' } },
      { name: 'lookup', description: 'Looks up', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
    ]);
    expect(p.system).toEqual([{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }]);
    expect(p.messages[2].content[1]).toEqual({ type: 'text', text: 'summarize', cache_control: { type: 'ephemeral' } });
    const json = JSON.stringify(p);
    expect(json.match(/cache_control/g)).toHaveLength(3);
    expect(json).not.toContain('"cache"');
  });

  it('passes message blocks through in Messages API shape', () => {
    const p = toAnthropicParams(request()) as any;
    expect(p.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 'toolu_1', name: 'bash', input: { command: 'ls' } }],
    });
    expect(p.messages[2].content[0]).toEqual({ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.txt' }], is_error: false });
  });

  it('omits system and tools when there are none', () => {
    const p = toAnthropicParams(request({ system: [], tools: [] }));
    expect(p).not.toHaveProperty('system');
    expect(p).not.toHaveProperty('tools');
  });

  it('does not mutate the request', () => {
    const req = request();
    const before = JSON.stringify(req);
    toAnthropicParams(req);
    expect(JSON.stringify(req)).toBe(before);
  });
});
