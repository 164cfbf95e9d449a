// The model port: one streaming call to a language model, in a vendor-neutral shape.
// Adapters (Anthropic now, OpenAI-compatible later) translate to and from their wire formats.
export const MODEL_PORT_VERSION = 'v1';

export type ModelContentBlock =
  | { type: 'text'; text: string; cache?: boolean }
  | { type: 'image'; source: Record<string, unknown>; cache?: boolean }
  | { type: 'document'; source: Record<string, unknown>; title?: string | null; context?: string | null; cache?: boolean }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown>; cache?: boolean }
  | { type: 'tool_result'; tool_use_id: string; content: Array<Record<string, unknown>>; is_error: boolean; cache?: boolean };

export interface ModelMessage {
  /** `system`: a mid-conversation system turn (text only), placed right after the user turn it accompanies. */
  role: 'user' | 'assistant' | 'system';
  content: ModelContentBlock[];
}

export interface ModelToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  /** Put a prompt-cache breakpoint after this tool. */
  cache?: boolean;
}

export interface ModelRequest {
  model: { id: string; effort?: string; speed?: string };
  system: Array<{ text: string; cache?: boolean }>;
  tools: ModelToolDefinition[];
  messages: ModelMessage[];
  maxTokens: number;
  /** Force a call of this tool (the outcome grader's structured verdict). */
  toolChoice?: { type: 'tool'; name: string };
}

/** A block of the model's answer. */
export type ModelOutputBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface ModelUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation_5m: number;
  cache_creation_1h: number;
}

export interface ModelResponse {
  content: ModelOutputBlock[];
  stopReason: string;
  stopDetails?: { category?: string | null; explanation?: string | null } | null;
  usage: ModelUsage;
  /** Set when a fallback model answered instead of the requested one (usage is priced as this model). */
  fallback?: { model: string; cause: ModelError };
}

/** Incremental output, for live previews. `index` is the block's position in the answer. */
export type ModelStreamEvent =
  | { type: 'block_start'; index: number; block: 'text' | 'thinking' | 'tool_use' }
  | { type: 'text_delta'; index: number; text: string }
  | { type: 'thinking_delta'; index: number; text: string }
  | { type: 'block_stop'; index: number };

/**
 * `authentication`: the provider refused Hangar's own credentials (401/403) — an operator problem
 * that retrying cannot fix, but that ends only the turn: once the key is fixed the session works.
 */
export type ModelErrorKind = 'rate_limited' | 'overloaded' | 'request_failed' | 'billing' | 'authentication' | 'connection' | 'aborted'
  /** The provider refused the prompt as longer than the model's context window (a 400): compact and retry. */
  | 'context_overflow'
  /** Compaction could not bring the request under the model's limit: the turn ends, the session lives on. */
  | 'compaction_limit';

/** A failed model call. Retry decisions read `retryable`/`retryAfterMs`, never the message. */
export class ModelError extends Error {
  readonly kind: ModelErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** Text streamed before the failure (kept when a call is interrupted). */
  readonly partial: ModelOutputBlock[];
  /** The host of the provider that failed, for logs (set by whoever knows it, e.g. the model router). */
  upstream: string | undefined;

  constructor(kind: ModelErrorKind, message: string, opts: { retryable: boolean; retryAfterMs?: number; status?: number; partial?: ModelOutputBlock[]; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
    this.partial = opts.partial ?? [];
    this.upstream = undefined;
  }
}

export interface ModelClient {
  /**
   * Streams one model call. Resolves with the whole answer; rejects with `ModelError`
   * (kind `aborted` when `signal` fires, carrying the text streamed so far). `attempt` counts the
   * earlier failed tries of this call (0 on the first), so a router can fall back after the last.
   */
  stream(request: ModelRequest, opts: { signal: AbortSignal; onEvent?: (e: ModelStreamEvent) => void; attempt?: number }): Promise<ModelResponse>;
  /**
   * The provider's exact count of the request's input tokens (Anthropic `messages/count_tokens`).
   * Absent when the provider has no counting endpoint; resolves `undefined` when this request's
   * provider has none (a router over several). Rejects with `ModelError` like `stream`.
   */
  countTokens?(request: ModelRequest, opts: { signal: AbortSignal }): Promise<number | undefined>;
}
