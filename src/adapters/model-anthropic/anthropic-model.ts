// Anthropic adapter of the model port, over the official SDK's streaming Messages API.
// The SDK's own retries are off: the harness retries visibly (session.error + rescheduling).
import Anthropic from '@anthropic-ai/sdk';
import {
  ModelError,
  type ModelClient, type ModelOutputBlock, type ModelRequest, type ModelResponse, type ModelStreamEvent,
} from '../../ports/model.ts';
import { credentialsMessage, retryAfterMs } from '../model-common/provider-errors.ts';

export interface AnthropicModelOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
  /** Per-call timeout for time-to-headers, ms. */
  timeoutMs?: number;
}

type Block = Record<string, unknown>;

function cached<T extends Block>(block: T, cache: boolean | undefined): T {
  return cache ? { ...block, cache_control: { type: 'ephemeral' } } : block;
}

/** Translates the neutral request into Messages API parameters. */
export function toAnthropicParams(req: ModelRequest): Record<string, unknown> {
  const params: Record<string, unknown> = {
    model: req.model.id,
    max_tokens: req.maxTokens,
    stream: true,
    messages: req.messages.map((m) => ({
      role: m.role,
      content: m.content.map(({ cache, ...block }) => cached(block as Block, cache)),
    })),
  };
  // `high` is the API's default effort and `standard` its default speed: sending only non-defaults
  // keeps requests valid for models that do not take these parameters.
  if (req.model.effort && req.model.effort !== 'high') params.output_config = { effort: req.model.effort };
  if (req.model.speed === 'fast') params.speed = 'fast';
  if (req.toolChoice) params.tool_choice = req.toolChoice;
  if (req.system.length) params.system = req.system.map((s) => cached({ type: 'text', text: s.text }, s.cache));
  if (req.tools.length) {
    params.tools = req.tools.map((t) => cached({ name: t.name, description: t.description, input_schema: t.input_schema }, t.cache));
  }
  return params;
}

/** The variable the operator sets to change the key this adapter sends (named in error messages). */
const KEY_VARIABLE = 'ANTHROPIC_API_KEY';

/** Where a credentials failure came from, for a message the operator can act on. */
export interface ProviderContext {
  /** The API's host, e.g. `api.anthropic.com`. */
  host: string;
  /** False when no key was configured at all. */
  keySet: boolean;
}

export class AnthropicModel implements ModelClient {
  private readonly client: Anthropic;
  private readonly provider: ProviderContext;

  constructor(opts: AnthropicModelOptions) {
    this.provider = { host: opts.baseURL ? new URL(opts.baseURL).host : 'api.anthropic.com', keySet: Boolean(opts.apiKey) };
    this.client = new Anthropic({
      apiKey: opts.apiKey ?? 'missing-anthropic-api-key',
      baseURL: opts.baseURL,
      maxRetries: 0,
      timeout: opts.timeoutMs ?? 600_000,
    });
  }

  /** The Messages API's token counter (`POST /v1/messages/count_tokens`) over the same parameters. */
  async countTokens(request: ModelRequest, opts: { signal: AbortSignal }): Promise<number> {
    const { stream: _s, max_tokens: _m, output_config: _o, speed: _sp, ...params } = toAnthropicParams(request);
    try {
      const counted = await this.client.messages.countTokens(params as never, { signal: opts.signal });
      return counted.input_tokens;
    } catch (err) {
      throw toModelError(err, opts.signal, [], this.provider);
    }
  }

  async stream(request: ModelRequest, opts: { signal: AbortSignal; onEvent?: (e: ModelStreamEvent) => void }): Promise<ModelResponse> {
    const blocks: Array<ModelOutputBlock & { json?: string }> = [];
    const usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 };
    let stopReason = 'end_turn';
    let stopDetails: ModelResponse['stopDetails'] = null;
    const emit = opts.onEvent ?? (() => {});
    try {
      const stream = (await this.client.messages.create(toAnthropicParams(request) as never, { signal: opts.signal })) as unknown as AsyncIterable<any>;
      for await (const ev of stream) {
        switch (ev.type) {
          case 'message_start':
            readUsage(usage, ev.message?.usage);
            break;
          case 'content_block_start': {
            const b = ev.content_block;
            if (b.type === 'text') blocks[ev.index] = { type: 'text', text: b.text ?? '' };
            else if (b.type === 'thinking') blocks[ev.index] = { type: 'thinking', thinking: b.thinking ?? '' };
            else if (b.type === 'tool_use') blocks[ev.index] = { type: 'tool_use', id: b.id, name: b.name, input: {}, json: '' };
            else break;
            emit({ type: 'block_start', index: ev.index, block: blocks[ev.index].type });
            break;
          }
          case 'content_block_delta': {
            const b = blocks[ev.index];
            const d = ev.delta;
            if (!b) break;
            if (d.type === 'text_delta' && b.type === 'text') {
              b.text += d.text;
              emit({ type: 'text_delta', index: ev.index, text: d.text });
            } else if (d.type === 'thinking_delta' && b.type === 'thinking') {
              b.thinking += d.thinking;
              emit({ type: 'thinking_delta', index: ev.index, text: d.thinking });
            } else if (d.type === 'input_json_delta' && b.type === 'tool_use') {
              b.json += d.partial_json;
            }
            break;
          }
          case 'content_block_stop': {
            const b = blocks[ev.index];
            if (b?.type === 'tool_use') {
              b.input = b.json ? JSON.parse(b.json) : {};
              delete b.json;
            }
            if (b) emit({ type: 'block_stop', index: ev.index });
            break;
          }
          case 'message_delta':
            if (ev.delta?.stop_reason) stopReason = ev.delta.stop_reason;
            if (ev.delta?.stop_details !== undefined) stopDetails = ev.delta.stop_details;
            readUsage(usage, ev.usage);
            break;
        }
      }
      // The SDK ends an aborted stream quietly instead of throwing: an abort is never an answer.
      if (opts.signal.aborted) throw new Anthropic.APIUserAbortError();
    } catch (err) {
      throw toModelError(err, opts.signal, blocks.filter((b) => b && b.type === 'text' && b.text.length > 0), this.provider);
    }
    return { content: blocks.filter(Boolean).map(({ json: _json, ...b }: any) => b), stopReason, stopDetails, usage };
  }
}

function readUsage(into: Record<string, number>, u: any): void {
  if (!u) return;
  for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens']) {
    if (typeof u[k] === 'number') into[k] = u[k];
  }
  if (u.cache_creation && typeof u.cache_creation === 'object') {
    into.cache_creation_5m = u.cache_creation.ephemeral_5m_input_tokens ?? 0;
    into.cache_creation_1h = u.cache_creation.ephemeral_1h_input_tokens ?? 0;
  } else if (typeof u.cache_creation_input_tokens === 'number') {
    into.cache_creation_5m = u.cache_creation_input_tokens;
  }
}

/** Anthropic's 400 for a prompt over the context window: `prompt is too long: 215000 tokens > 200000 maximum`. */
const PROMPT_TOO_LONG = /prompt is too long|exceeds? the (model's )?context (window|limit)|exceed context limit/i;

/** Classifies an SDK failure by status code and error type (never by message text). */
export function toModelError(err: unknown, signal: AbortSignal, partial: ModelOutputBlock[], provider?: ProviderContext): ModelError {
  if (err instanceof ModelError) return err;
  if (signal.aborted || err instanceof Anthropic.APIUserAbortError) {
    return new ModelError('aborted', 'model call aborted', { retryable: false, partial, cause: err });
  }
  if (err instanceof Anthropic.APIConnectionError) {
    return new ModelError('connection', `model connection failed: ${err.message}`, { retryable: true, cause: err });
  }
  if (err instanceof Anthropic.APIError) {
    const status = err.status;
    const type = (err.error as any)?.error?.type ?? (err.error as any)?.type;
    const message = `model request failed (${status ?? 'stream'}${type ? ` ${type}` : ''}): ${err.message}`;
    const after = retryAfterMs(err.headers as Headers | undefined);
    if (status === 429 || type === 'rate_limit_error') return new ModelError('rate_limited', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 529 || type === 'overloaded_error') return new ModelError('overloaded', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 402 || type === 'billing_error') return new ModelError('billing', message, { retryable: false, status, cause: err });
    if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') {
      return new ModelError('authentication', credentialsMessage(status, type, String((err.error as any)?.error?.message ?? err.message), { displayName: 'Anthropic', host: provider?.host ?? 'api.anthropic.com', keyVariable: KEY_VARIABLE, keySet: provider?.keySet }, status === 403 || type === 'permission_error'), { retryable: false, status, cause: err });
    }
    if (status === undefined || status >= 500 || status === 408) return new ModelError('request_failed', message, { retryable: true, retryAfterMs: after, status, cause: err });
    // The Messages API has no error type of its own for an over-long prompt; its message is the only mark.
    if (status === 400 && PROMPT_TOO_LONG.test(String((err.error as any)?.error?.message ?? err.message))) {
      return new ModelError('context_overflow', message, { retryable: false, status, cause: err });
    }
    return new ModelError('request_failed', message, { retryable: false, status, cause: err });
  }
  // A malformed stream (bad JSON in a tool input) or an unexpected failure: worth one more try.
  return new ModelError('request_failed', `model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}
