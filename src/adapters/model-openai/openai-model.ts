// OpenAI-compatible adapter of the model port (OpenAI, vLLM, Ollama, LiteLLM, OpenRouter, ...),
// over the official `openai` client's streaming Chat Completions. The client's own retries are
// off: the harness retries visibly (session.error + rescheduling), as with the Anthropic adapter.
import OpenAI from 'openai';
import { ModelError, type ModelClient, type ModelOutputBlock, type ModelRequest, type ModelResponse, type ModelStreamEvent, type ModelUsage } from '../../ports/model.ts';
import { toOpenAIParams, type OpenAIParamOptions } from './openai-params.ts';
import { toModelError, type ProviderContext } from './openai-errors.ts';

export interface OpenAIModelOptions {
  apiKey: string | undefined;
  /** e.g. `http://127.0.0.1:11434/v1` (Ollama); unset = api.openai.com. */
  baseURL: string | undefined;
  /** Per-call timeout, ms. */
  timeoutMs?: number;
  maxTokensParam?: OpenAIParamOptions['maxTokensParam'];
  /** The provider's name and key variable, for credentials errors the operator can act on. */
  provider?: { name: string; keyVariable: string | undefined };
}

const VENDOR_NAMES: Record<string, string> = { openai: 'OpenAI', anthropic: 'Anthropic' };

/** Chat Completions finish reasons in the session's (Anthropic) stop-reason terms. */
export function toStopReason(finish: string | null | undefined, hasToolCalls: boolean): { stopReason: string; stopDetails: ModelResponse['stopDetails'] } {
  if (finish === 'content_filter') {
    return { stopReason: 'refusal', stopDetails: { category: 'content_filter', explanation: "the provider's content filter stopped the answer" } };
  }
  // Some compatible servers say `stop` after tool calls; the calls decide.
  if (finish === 'tool_calls' || finish === 'function_call' || hasToolCalls) return { stopReason: 'tool_use', stopDetails: null };
  if (finish === 'length') return { stopReason: 'max_tokens', stopDetails: null };
  return { stopReason: 'end_turn', stopDetails: null };
}

/** OpenAI counts cached tokens inside prompt_tokens; the session counts uncached input separately. */
export function toUsage(u: Record<string, any> | null | undefined): ModelUsage {
  const prompt = Number(u?.prompt_tokens ?? 0);
  const cached = Math.min(prompt, Number(u?.prompt_tokens_details?.cached_tokens ?? 0));
  return {
    input_tokens: prompt - cached,
    output_tokens: Number(u?.completion_tokens ?? 0),
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: 0,
    cache_creation_5m: 0,
    cache_creation_1h: 0,
  };
}

type Building = ModelOutputBlock & { json?: string };

/** Folds streamed chunks into output blocks, emitting the port's preview events. */
export class ChunkAssembler {
  readonly blocks: Building[] = [];
  finish: string | null = null;
  usage: ModelUsage = toUsage(null);
  private open = -1;
  private readonly calls = new Map<number, number>();
  private readonly emit: (e: ModelStreamEvent) => void;

  constructor(emit: (e: ModelStreamEvent) => void) {
    this.emit = emit;
  }

  private start(block: Building): number {
    this.closeOpen();
    const index = this.blocks.push(block) - 1;
    this.open = index;
    this.emit({ type: 'block_start', index, block: block.type });
    return index;
  }

  private closeOpen(): void {
    if (this.open < 0) return;
    this.emit({ type: 'block_stop', index: this.open });
    this.open = -1;
  }

  add(chunk: Record<string, any>): void {
    if (chunk.usage) this.usage = toUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const d = choice.delta ?? {};
    // vLLM and Ollama stream reasoning as `reasoning_content` / `reasoning`.
    const reasoning = typeof d.reasoning_content === 'string' ? d.reasoning_content : typeof d.reasoning === 'string' ? d.reasoning : '';
    if (reasoning) {
      const b = this.blocks[this.open];
      const index = b?.type === 'thinking' ? this.open : this.start({ type: 'thinking', thinking: '' });
      (this.blocks[index] as { thinking: string }).thinking += reasoning;
      this.emit({ type: 'thinking_delta', index, text: reasoning });
    }
    if (typeof d.content === 'string' && d.content) {
      const b = this.blocks[this.open];
      const index = b?.type === 'text' ? this.open : this.start({ type: 'text', text: '' });
      (this.blocks[index] as { text: string }).text += d.content;
      this.emit({ type: 'text_delta', index, text: d.content });
    }
    for (const tc of (d.tool_calls ?? []) as Array<Record<string, any>>) {
      const key = Number(tc.index ?? 0);
      let index = this.calls.get(key);
      if (index === undefined) {
        index = this.start({ type: 'tool_use', id: String(tc.id ?? `call_${key}`), name: String(tc.function?.name ?? ''), input: {}, json: '' });
        this.calls.set(key, index);
      }
      const b = this.blocks[index] as Extract<Building, { type: 'tool_use' }>;
      if (tc.id && !b.id) b.id = String(tc.id);
      if (tc.function?.name && !b.name) b.name = String(tc.function.name);
      if (typeof tc.function?.arguments === 'string') b.json += tc.function.arguments;
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  /** The answer; throws on tool-call arguments that are not a JSON object. */
  finishAnswer(): ModelResponse {
    this.closeOpen();
    const content: ModelOutputBlock[] = this.blocks.map((b) => {
      if (b.type !== 'tool_use') return b;
      const { json, ...call } = b;
      let input: unknown = {};
      try {
        input = json ? JSON.parse(json) : {};
      } catch {
        throw new Error(`the model sent tool call ${call.name} arguments that are not valid JSON`);
      }
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error(`the model sent tool call ${call.name} arguments that are not a JSON object`);
      return { ...call, input: input as Record<string, unknown> };
    });
    const { stopReason, stopDetails } = toStopReason(this.finish, content.some((b) => b.type === 'tool_use'));
    return { content, stopReason, stopDetails, usage: this.usage };
  }
}

export class OpenAIModel implements ModelClient {
  private readonly client: OpenAI;
  private readonly params: OpenAIParamOptions;
  private readonly apiKey: string | undefined;
  private readonly provider: ProviderContext;

  constructor(opts: OpenAIModelOptions) {
    this.apiKey = opts.apiKey;
    const name = opts.provider?.name ?? 'openai';
    this.provider = {
      displayName: VENDOR_NAMES[name] ?? name,
      host: opts.baseURL ? new URL(opts.baseURL).host : 'api.openai.com',
      keyVariable: opts.provider ? opts.provider.keyVariable : 'OPENAI_API_KEY',
      keySet: Boolean(opts.apiKey),
    };
    this.client = new OpenAI({
      // Local servers often need no key, but the client insists on one.
      apiKey: opts.apiKey ?? 'no-key',
      baseURL: opts.baseURL,
      maxRetries: 0,
      timeout: opts.timeoutMs ?? 600_000,
    });
    this.params = { maxTokensParam: opts.maxTokensParam ?? 'max_tokens' };
  }

  async stream(request: ModelRequest, opts: { signal: AbortSignal; onEvent?: (e: ModelStreamEvent) => void }): Promise<ModelResponse> {
    const assembler = new ChunkAssembler(opts.onEvent ?? (() => {}));
    try {
      const stream = (await this.client.chat.completions.create(toOpenAIParams(request, this.params) as never, { signal: opts.signal })) as unknown as AsyncIterable<Record<string, any>>;
      for await (const chunk of stream) assembler.add(chunk);
      if (opts.signal.aborted) throw new OpenAI.APIUserAbortError();
      return assembler.finishAnswer();
    } catch (err) {
      const partial = assembler.blocks.filter((b) => b.type === 'text' && b.text.length > 0);
      throw this.redacted(toModelError(err, opts.signal, partial, request.tools.map((t) => t.name), this.provider));
    }
  }

  /** Some servers echo the key they refused in the error text; it must not reach session.error or logs. */
  private redacted(e: ModelError): ModelError {
    if (!this.apiKey || !e.message.includes(this.apiKey)) return e;
    return new ModelError(e.kind, e.message.split(this.apiKey).join('[redacted]'), { retryable: e.retryable, retryAfterMs: e.retryAfterMs, status: e.status, partial: e.partial });
  }
}
