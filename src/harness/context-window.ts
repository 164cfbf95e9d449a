// What a model's context can hold: its window, its output limit, the compaction threshold and
// whether it takes mid-conversation system messages. Built-in values for Claude models, overridden
// per model by the models file (HANGAR_MODELS), capped for every model by HANGAR_CONTEXT_WINDOW_TOKENS.
import type { ProviderType } from '../domain/model-routing.ts';

/** The facts the harness sizes one request by. */
export interface ContextLimits {
  /** Input plus output tokens the model accepts in one request. */
  window: number;
  /** Output tokens requested (`max_tokens`): the configured cap, the model's limit, at most a quarter of the window. */
  maxOutput: number;
  /** A request whose prompt plus output passes this many tokens is compacted first. */
  threshold: number;
  /** Whether `system.message` events can go to the model as `role: "system"` turns. */
  midConversationSystem: boolean;
}

/** What the models file or catalog knows about one model (all optional). */
export interface ModelFacts {
  providerType?: ProviderType;
  contextWindow?: number;
  maxOutputTokens?: number;
  midConversationSystem?: boolean;
}

export interface ContextWindowOptions {
  /** HANGAR_MAX_OUTPUT_TOKENS. */
  maxTokens: number;
  /** HANGAR_CONTEXT_WINDOW_TOKENS: caps every model's window (tests, small local models). */
  capTokens?: number;
  /** HANGAR_COMPACTION_THRESHOLD: the share of the window that triggers compaction (default 0.8). */
  thresholdFraction?: number;
}

export const DEFAULT_COMPACTION_THRESHOLD = 0.8;
/** Window assumed for models nothing is known about (OpenAI-compatible servers without an entry). */
export const UNKNOWN_MODEL_WINDOW = 128_000;

/**
 * Built-in limits of Claude models by id prefix, first match wins (Anthropic's models overview:
 * 200k-token windows; output limits per family). Entries in HANGAR_MODELS override them.
 */
const CLAUDE_LIMITS: Array<{ prefix: string; window: number; maxOutput: number }> = [
  { prefix: 'claude-opus-4-1', window: 200_000, maxOutput: 32_000 },
  { prefix: 'claude-opus-4-0', window: 200_000, maxOutput: 32_000 },
  { prefix: 'claude-opus-4-2', window: 200_000, maxOutput: 32_000 },
  { prefix: 'claude-haiku-3', window: 200_000, maxOutput: 8_192 },
  { prefix: 'claude-3', window: 200_000, maxOutput: 8_192 },
  { prefix: 'claude-', window: 200_000, maxOutput: 64_000 },
];

/** Claude models that accept `role: "system"` turns after a user turn (Claude Opus 4.8 and later families). */
const CLAUDE_MID_SYSTEM = /^claude-(opus-4-8|opus-5|sonnet-5|haiku-5|fable-|mythos-)/;

/** The limits of `modelId`, given what the catalog knows about it. */
export function contextLimits(modelId: string, facts: ModelFacts, opts: ContextWindowOptions): ContextLimits {
  const builtin = modelId.startsWith('claude-') ? CLAUDE_LIMITS.find((l) => modelId.startsWith(l.prefix)) : undefined;
  let window = facts.contextWindow ?? builtin?.window ?? UNKNOWN_MODEL_WINDOW;
  if (opts.capTokens) window = Math.min(window, opts.capTokens);
  const modelOutput = facts.maxOutputTokens ?? builtin?.maxOutput ?? opts.maxTokens;
  // The output reservation never takes more than a quarter of the window, so a small window still
  // leaves room for the conversation.
  const maxOutput = Math.max(1, Math.min(opts.maxTokens, modelOutput, Math.floor(window / 4)));
  const fraction = opts.thresholdFraction ?? DEFAULT_COMPACTION_THRESHOLD;
  const midConversationSystem = facts.midConversationSystem
    ?? (facts.providerType === 'openai' ? true : CLAUDE_MID_SYSTEM.test(modelId));
  return { window, maxOutput, threshold: Math.floor(window * fraction), midConversationSystem };
}

/** Looks up the limits of a model id (the composition root binds the catalog and the config). */
export type ContextLimitsLookup = (modelId: string) => ContextLimits;
