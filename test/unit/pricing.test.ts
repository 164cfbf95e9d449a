// List-price arithmetic behind `usage.list_cost` and budgets (docs/API-SPEC.md §4.4): the versioned price
// table, prefix matching of dated model ids, configuration overrides (price 0 allowed), the
// micro-USD → cents conversion, and the budget gate's spent + reserved rule.
import { describe, expect, it } from 'vitest';
import {
  LIST_PRICES, PRICING_VERSION, PriceTable, centsToMicros, microsToCents, parsePriceOverrides,
  type ModelPrice, type TokenUsage,
} from '../../src/domain/pricing.ts';
import { budgetBlocks, listCost, reservedMicros, spentMicros, type BudgetFields } from '../../src/domain/budget.ts';
import { ConfigError, loadConfig } from '../../src/server/config.ts';

const usage = (u: Partial<TokenUsage>): TokenUsage => ({
  input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0, ...u,
});
const price = (input: number, output: number, cache_write_5m = 0, cache_write_1h = 0, cache_read = 0): ModelPrice =>
  ({ input, output, cache_write_5m, cache_write_1h, cache_read });
const MTOK = 1_000_000;

describe('the list price table', () => {
  it('is versioned with a date', () => {
    expect(PRICING_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('holds five non-negative prices per model, with cache writes at 1.25× (5 min) and 2× (1 h) of input and reads below input', () => {
    expect(Object.keys(LIST_PRICES).length).toBeGreaterThan(0);
    for (const [model, p] of Object.entries(LIST_PRICES)) {
      expect(Object.keys(p).sort(), model).toEqual(['cache_read', 'cache_write_1h', 'cache_write_5m', 'input', 'output']);
      for (const v of Object.values(p)) expect(v, model).toBeGreaterThanOrEqual(0);
      expect(p.cache_write_5m, model).toBeCloseTo(p.input * 1.25, 10);
      expect(p.cache_write_1h, model).toBeCloseTo(p.input * 2, 10);
      expect(p.cache_read, model).toBeLessThan(p.input);
      expect(p.output, model).toBeGreaterThan(p.input);
    }
  });
});

describe('PriceTable.costMicros', () => {
  const table = new PriceTable();

  it('prices each token kind at its own rate (USD per million tokens = micro-USD per token)', () => {
    const p = LIST_PRICES['claude-sonnet-4'];
    expect(p).toEqual(price(3, 15, 3.75, 6, 0.3));
    const model = 'claude-sonnet-4-6';
    expect(table.costMicros(model, usage({ input_tokens: MTOK }))).toBe(3 * MTOK);
    expect(table.costMicros(model, usage({ output_tokens: MTOK }))).toBe(15 * MTOK);
    expect(table.costMicros(model, usage({ cache_creation_5m: MTOK }))).toBe(3.75 * MTOK);
    expect(table.costMicros(model, usage({ cache_creation_1h: MTOK }))).toBe(6 * MTOK);
    expect(table.costMicros(model, usage({ cache_read_input_tokens: MTOK }))).toBe(0.3 * MTOK);
    expect(table.costMicros(model, usage({}))).toBe(0);
  });

  it('sums a scripted usage sequence with cache reads and 5 m / 1 h cache writes against the table', () => {
    const model = 'claude-sonnet-4-6';
    const seq = [
      usage({ input_tokens: 2_000, output_tokens: 500, cache_creation_5m: 10_000 }),
      usage({ input_tokens: 150, output_tokens: 1_200, cache_read_input_tokens: 10_000, cache_creation_1h: 4_000 }),
      usage({ input_tokens: 37, output_tokens: 11, cache_read_input_tokens: 12_003, cache_creation_5m: 5, cache_creation_1h: 3 }),
    ];
    // 2000×3 + 500×15 + 10000×3.75 = 51 000
    // 150×3 + 1200×15 + 10000×0.3 + 4000×6 = 45 450
    // 37×3 + 11×15 + 12003×0.3 + 5×3.75 + 3×6 = 3 913.65 → 3 914 (whole micro-USD per request)
    const per = seq.map((u) => table.costMicros(model, u));
    expect(per).toEqual([51_000, 45_450, 3_914]);
    const total = per.reduce((a, b) => a! + b!, 0)!;
    expect(total).toBe(100_364);
    expect(microsToCents(total)).toBe('10');
  });

  it('prices other families at their own rows (Haiku, Opus)', () => {
    expect(table.costMicros('claude-haiku-4-5', usage({ input_tokens: MTOK, output_tokens: MTOK, cache_read_input_tokens: MTOK }))).toBe((1 + 5 + 0.1) * MTOK);
    expect(table.costMicros('claude-opus-4-1', usage({ input_tokens: 1_000, output_tokens: 1_000 }))).toBe(15_000 + 75_000);
    expect(table.costMicros('claude-opus-4-6', usage({ input_tokens: 1_000, output_tokens: 1_000 }))).toBe(5_000 + 25_000);
  });

  it('returns undefined for a model without a price', () => {
    expect(table.priceOf('gpt-oss-120b')).toBeUndefined();
    expect(table.costMicros('gpt-oss-120b', usage({ input_tokens: 10 }))).toBeUndefined();
    expect(table.worstCaseMicros('gpt-oss-120b', 10, 10)).toBeUndefined();
  });
});

describe('PriceTable.priceOf: dated ids and prefix matching', () => {
  const table = new PriceTable();

  it('matches dated snapshots to their family row', () => {
    expect(table.priceOf('claude-haiku-4-5-20251001')).toBe(LIST_PRICES['claude-haiku-4-5']);
    expect(table.priceOf('claude-sonnet-4-5-20250929')).toBe(LIST_PRICES['claude-sonnet-4']);
    expect(table.priceOf('claude-sonnet-4-20250514')).toBe(LIST_PRICES['claude-sonnet-4']);
    expect(table.priceOf('claude-opus-4-5-20251101')).toBe(LIST_PRICES['claude-opus-4-5']);
  });

  it('prefers the longest matching prefix', () => {
    expect(table.priceOf('claude-opus-4-1-20250805')).toBe(LIST_PRICES['claude-opus-4-1']);
    expect(table.priceOf('claude-opus-4-20250514')).toBe(LIST_PRICES['claude-opus-4']);
    expect(table.priceOf('claude-sonnet-5-5-20270101')).toBe(LIST_PRICES['claude-sonnet-5-5']);
    expect(table.priceOf('claude-fable-5-1-20270101')).toBe(LIST_PRICES['claude-fable-5-1']);
    // Rows that differ only in cache reads tell the matches apart in cost too.
    expect(table.costMicros('claude-sonnet-5-5-20270101', usage({ cache_read_input_tokens: MTOK }))).toBe(0.1 * MTOK);
    expect(table.costMicros('claude-sonnet-5-20270101', usage({ cache_read_input_tokens: MTOK }))).toBe(0.2 * MTOK);
  });

  it('matches a prefix only at a dash boundary', () => {
    expect(table.priceOf('claude-opus-45')).toBeUndefined();
    expect(table.priceOf('claude-sonnet-4x')).toBeUndefined();
    expect(table.priceOf('claude-sonnet')).toBeUndefined();
    expect(table.priceOf('xclaude-sonnet-4-6')).toBeUndefined();
    expect(table.priceOf('')).toBeUndefined();
  });
});

describe('PriceTable overrides', () => {
  it('adds a local model at price 0: it costs 0 (priced, so budgetable) rather than undefined', () => {
    const table = new PriceTable({ 'llama-local': price(0, 0) });
    expect(table.priceOf('llama-local')).toEqual(price(0, 0));
    expect(table.costMicros('llama-local', usage({ input_tokens: 123_456, output_tokens: 7, cache_read_input_tokens: 5 }))).toBe(0);
    expect(table.costMicros('llama-local-2025', usage({ input_tokens: 1 }))).toBe(0);
  });

  it('replaces a list row, and a more specific override wins for its dated ids only', () => {
    const table = new PriceTable({ 'claude-sonnet-4': price(1, 2), 'claude-opus-4-6': price(0, 0) });
    expect(table.costMicros('claude-sonnet-4-6', usage({ input_tokens: 10, output_tokens: 10 }))).toBe(30);
    expect(table.costMicros('claude-opus-4-6-20260101', usage({ input_tokens: 10, output_tokens: 10 }))).toBe(0);
    expect(table.costMicros('claude-opus-4-5', usage({ input_tokens: 10, output_tokens: 10 }))).toBe(300);
  });

  it('never changes the shared list table', () => {
    const before = JSON.stringify(LIST_PRICES);
    const table = new PriceTable({ 'claude-sonnet-4': price(0, 0) });
    expect(table.costMicros('claude-sonnet-4', usage({ input_tokens: 1 }))).toBe(0);
    expect(JSON.stringify(LIST_PRICES)).toBe(before);
    expect(new PriceTable().costMicros('claude-sonnet-4', usage({ input_tokens: 1 }))).toBe(3);
  });
});

describe('PriceTable.worstCaseMicros', () => {
  it('prices the whole prompt at the dearest input rate (uncached or 1 h write) plus max_tokens of output, rounded up', () => {
    const table = new PriceTable();
    expect(table.worstCaseMicros('claude-sonnet-4-6', 1_000, 100)).toBe(1_000 * 6 + 100 * 15);
    expect(table.worstCaseMicros('claude-haiku-5-5', 3, 1)).toBe(Math.ceil(3 * 0.2 + 0.5));
  });
});

describe('parsePriceOverrides', () => {
  it('parses a JSON object of model → prices, defaulting cache prices to 0', () => {
    expect(parsePriceOverrides('{"llama-local":{"input":0,"output":0},"acme-1":{"input":1.5,"output":6,"cache_read":0.15,"cache_write_5m":2,"cache_write_1h":3}}')).toEqual({
      'llama-local': price(0, 0),
      'acme-1': price(1.5, 6, 2, 3, 0.15),
    });
    expect(parsePriceOverrides('{}')).toEqual({});
  });

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"cheap"'],
  ])('rejects %s at the top level', (_what, json) => {
    expect(() => parsePriceOverrides(json)).toThrow(/JSON object/);
  });

  it.each([
    ['missing input', '{"m":{"output":1}}', /m: input/],
    ['missing output', '{"m":{"input":1}}', /m: output/],
    ['a negative price', '{"m":{"input":-1,"output":1}}', /m: input/],
    ['a string price', '{"m":{"input":"1","output":1}}', /m: input/],
    ['a negative cache price', '{"m":{"input":1,"output":1,"cache_read":-0.1}}', /m: cache_read/],
    ['an infinite price', '{"m":{"input":1e400,"output":1}}', /m: input/],
    ['a number instead of prices', '{"m":5}', /m: input/],
    ['null instead of prices', '{"m":null}', /m: input/],
  ])('rejects %s, naming the model and field', (_what, json, message) => {
    expect(() => parsePriceOverrides(json)).toThrow(message);
  });

  it('rejects text that is not JSON', () => {
    expect(() => parsePriceOverrides('{model: cheap}')).toThrow();
  });

  it('is wired to HANGAR_PRICING: valid overrides load, invalid ones stop the server at start', () => {
    const base = { HANGAR_DATA_DIR: '/tmp/hangar-pricing-test' };
    expect(loadConfig({ ...base, HANGAR_PRICING: '{"llama-local":{"input":0,"output":0}}' }).priceOverrides).toEqual({ 'llama-local': price(0, 0) });
    expect(loadConfig(base).priceOverrides).toEqual({});
    for (const bad of ['[]', '{"m":{"input":-1,"output":0}}', 'not json']) {
      expect(() => loadConfig({ ...base, HANGAR_PRICING: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, HANGAR_PRICING: bad }), bad).toThrow(/HANGAR_PRICING/);
    }
  });
});

describe('cents on the wire', () => {
  it('converts micro-USD to whole cents rounded down, and cents to micro-USD', () => {
    expect(microsToCents(0)).toBe('0');
    expect(microsToCents(9_999)).toBe('0');
    expect(microsToCents(10_000)).toBe('1');
    expect(microsToCents(707_749)).toBe('70');
    expect(microsToCents(25_000_000)).toBe('2500');
    expect(centsToMicros('2500')).toBe(25_000_000);
    expect(centsToMicros('0')).toBe(0);
  });

  it('listCost is null for an unpriced session and {amount, currency:"USD"} otherwise', () => {
    expect(listCost(undefined)).toBeNull();
    expect(listCost(0)).toEqual({ amount: '0', currency: 'USD' });
    expect(listCost(19_999)).toEqual({ amount: '1', currency: 'USD' });
  });
});

describe('budget gate arithmetic', () => {
  const capped = (cents: number, cost: number, reserved?: Record<string, number>): BudgetFields =>
    ({ budget: { type: 'limit', max_list_cost: { amount: String(cents), currency: 'USD' } }, _cost_micros: cost, _reserved: reserved });

  it('blocks once spent reaches the cap (≥), not before', () => {
    expect(budgetBlocks(capped(100, 999_999))).toBe(false);
    expect(budgetBlocks(capped(100, 1_000_000))).toBe(true);
    expect(budgetBlocks(capped(100, 1_500_000))).toBe(true);
    expect(budgetBlocks(capped(0, 0))).toBe(true);
  });

  it('counts in-flight reservations, so parallel requests cannot jointly overshoot', () => {
    expect(budgetBlocks(capped(100, 500_000, { a: 300_000, b: 199_999 }))).toBe(false);
    expect(budgetBlocks(capped(100, 500_000, { a: 300_000, b: 200_000 }))).toBe(true);
    expect(reservedMicros(capped(100, 0, { a: 1, b: 2 }))).toBe(3);
    expect(reservedMicros(capped(100, 0))).toBe(0);
    expect(spentMicros({})).toBe(0);
  });

  it('does not count the own old reservation of a request being redone', () => {
    const s = capped(100, 500_000, { redo: 500_000, other: 200_000 });
    expect(reservedMicros(s, 'redo')).toBe(200_000);
    expect(budgetBlocks(s)).toBe(true);
    expect(budgetBlocks(s, 'redo')).toBe(false);
  });

  it('never blocks a session without a budget', () => {
    expect(budgetBlocks({ budget: null, _cost_micros: 10 ** 12, _reserved: { a: 10 ** 12 } })).toBe(false);
    expect(budgetBlocks({ _cost_micros: 10 ** 12 })).toBe(false);
  });
});
