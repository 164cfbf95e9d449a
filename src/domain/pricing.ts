// List prices per model, used for `usage.list_cost` and budgets. Versioned in code with its source;
// operators override or extend it (other vendors, local models at price 0) via configuration.
//
// Source: Anthropic's pricing page (platform.claude.com/docs/en/about-claude/pricing), "Model
// pricing" table, as read on 2026-11-24. USD per million tokens; web search USD per request.
// Haiku 5.5 is priced in prompt-length bands; the table holds its ≤100k-token band.

export const PRICING_VERSION = '2026-11-24';

export interface ModelPrice {
  /** USD per million tokens. */
  input: number;
  output: number;
  cache_write_5m: number;
  cache_write_1h: number;
  cache_read: number;
}

const p = (input: number, output: number, cache_write_5m: number, cache_write_1h: number, cache_read: number): ModelPrice =>
  ({ input, output, cache_write_5m, cache_write_1h, cache_read });

/** Matched by exact id first, then by the longest prefix (so dated snapshots share a price). */
export const LIST_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-fable-5-2': p(10, 50, 12.5, 20, 0.25),
  'claude-fable-5-1': p(10, 50, 12.5, 20, 0.25),
  'claude-mythos-5-1': p(10, 50, 12.5, 20, 0.25),
  'claude-fable-5': p(10, 50, 12.5, 20, 1),
  'claude-mythos-5': p(10, 50, 12.5, 20, 1),
  'claude-opus-5-5': p(4, 20, 5, 8, 0.2),
  'claude-opus-5': p(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-8': p(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-7': p(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-6': p(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-5': p(5, 25, 6.25, 10, 0.5),
  'claude-opus-4-1': p(15, 75, 18.75, 30, 1.5),
  'claude-opus-4': p(15, 75, 18.75, 30, 1.5),
  'claude-sonnet-5-5': p(2, 10, 2.5, 4, 0.1),
  'claude-sonnet-5': p(2, 10, 2.5, 4, 0.2),
  'claude-sonnet-4': p(3, 15, 3.75, 6, 0.3),
  'claude-haiku-5-5': p(0.1, 0.5, 0.125, 0.2, 0.01),
  'claude-haiku-4-5': p(1, 5, 1.25, 2, 0.1),
};

export const WEB_SEARCH_USD_PER_REQUEST = 0.01;

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_5m: number;
  cache_creation_1h: number;
}

export class PriceTable {
  private readonly prices: Record<string, ModelPrice>;

  /** `overrides` replace or add models (e.g. `{"llama-local": {input: 0, ...}}`). */
  constructor(overrides: Record<string, ModelPrice> = {}) {
    this.prices = { ...LIST_PRICES, ...overrides };
  }

  priceOf(model: string): ModelPrice | undefined {
    if (this.prices[model]) return this.prices[model];
    let best: string | undefined;
    for (const id of Object.keys(this.prices)) {
      if (model.startsWith(`${id}-`) && (!best || id.length > best.length)) best = id;
    }
    return best ? this.prices[best] : undefined;
  }

  /** Cost of one model request in micro-USD (1e-6 USD), or undefined for an unpriced model. */
  costMicros(model: string, u: TokenUsage): number | undefined {
    const price = this.priceOf(model);
    if (!price) return undefined;
    // USD per million tokens equals micro-USD per token.
    return Math.round(
      u.input_tokens * price.input + u.output_tokens * price.output + u.cache_read_input_tokens * price.cache_read +
        u.cache_creation_5m * price.cache_write_5m + u.cache_creation_1h * price.cache_write_1h,
    );
  }

  /** Worst case of a request: its whole prompt as uncached input plus `maxTokens` of output. */
  worstCaseMicros(model: string, promptTokens: number, maxTokens: number): number | undefined {
    const price = this.priceOf(model);
    if (!price) return undefined;
    return Math.ceil(promptTokens * Math.max(price.input, price.cache_write_1h) + maxTokens * price.output);
  }
}

/** Parses a pricing override (JSON object of model id → prices), rejecting anything malformed. */
export function parsePriceOverrides(json: string): Record<string, ModelPrice> {
  const raw = JSON.parse(json) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('pricing overrides must be a JSON object of model id → prices');
  const out: Record<string, ModelPrice> = {};
  for (const [model, v] of Object.entries(raw as Record<string, Record<string, unknown>>)) {
    const fields: Array<keyof ModelPrice> = ['input', 'output', 'cache_write_5m', 'cache_write_1h', 'cache_read'];
    const price = {} as ModelPrice;
    for (const f of fields) {
      const n = v?.[f] ?? (f === 'cache_write_5m' || f === 'cache_write_1h' || f === 'cache_read' ? 0 : undefined);
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new Error(`pricing override for ${model}: ${f} must be a number ≥ 0 (USD per million tokens)`);
      price[f] = n;
    }
    out[model] = price;
  }
  return out;
}

/** Micro-USD → the wire's integer minor units (cents), rounded down. */
export function microsToCents(micros: number): string {
  return String(Math.floor(micros / 10_000));
}

export function centsToMicros(cents: string): number {
  return Number(cents) * 10_000;
}
