// Token counting for the next request, without recounting history: each conversation item is
// estimated once (≈4 characters a token, cached by event id), the sum is calibrated by the ratio
// between what the provider reported for the previous request and what was estimated for it, and
// near the threshold the provider's own counting endpoint (when it has one) decides.
import type { ModelContentBlock, ModelRequest } from '../ports/model.ts';

const CHARS_PER_TOKEN = 4;
/** Per-message framing the providers add (role markers, separators). */
const MESSAGE_OVERHEAD = 4;
const CACHE_LIMIT = 200_000;
/** A calibration outside this range is noise (a provider reporting placeholder usage), not a tokenizer. */
const MIN_RATIO = 0.5;
const MAX_RATIO = 4;

export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export function estimateBlocksTokens(blocks: readonly ModelContentBlock[]): number {
  return Math.ceil(JSON.stringify(blocks).length / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD;
}

/** The request's fixed part (system prompt and tool definitions). */
export function estimateFixedTokens(request: Pick<ModelRequest, 'system' | 'tools'>): number {
  return Math.ceil(JSON.stringify([request.system, request.tools]).length / CHARS_PER_TOKEN);
}

/**
 * Estimates of conversation items, computed once per (event, rendering) and kept in a bounded
 * map: an item's blocks never change once logged, so a step only estimates the events that are
 * new since the last one.
 */
export class ItemTokenCache {
  private readonly counts = new Map<string, number>();
  hits = 0;
  misses = 0;

  tokens(key: string, blocks: () => readonly ModelContentBlock[]): number {
    const known = this.counts.get(key);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.misses++;
    const n = estimateBlocksTokens(blocks());
    if (this.counts.size >= CACHE_LIMIT) this.counts.delete(this.counts.keys().next().value as string);
    this.counts.set(key, n);
    return n;
  }
}

/** Session-row state of the calibration (hidden `_context_calibration`). */
export interface Calibration {
  /** Provider-reported prompt tokens ÷ estimated prompt tokens, of the last request measured. */
  ratio: number;
}

export function calibrated(estimate: number, c: Calibration | undefined): number {
  return Math.ceil(estimate * (c?.ratio ?? 1));
}

/** The calibration after a request estimated at `estimate` was measured at `actual` prompt tokens. */
export function recalibrate(estimate: number, actual: number): Calibration | undefined {
  if (estimate <= 0 || actual <= 0) return undefined;
  const ratio = actual / estimate;
  if (ratio < MIN_RATIO || ratio > MAX_RATIO) return undefined;
  return { ratio: Math.round(ratio * 1000) / 1000 };
}

/** The prompt tokens a provider reported (fresh input plus cache reads and writes). */
export function reportedPromptTokens(u: { input_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number }): number {
  return u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
}
