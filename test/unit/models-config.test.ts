// The models file (HANGAR_MODELS): a good file in the documented shape, the provider defaults from
// ANTHROPIC_/OPENAI_ variables, and one clear ConfigError line naming the file for each malformed case.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/server/config.ts';
import { modelsConfig, parseModelsText } from '../../src/server/models-config.ts';
import { missingKeyWarnings, routingProblems } from '../../src/server/model-providers.ts';
import { ModelCatalog } from '../../src/domain/model-routing.ts';
import { PriceTable } from '../../src/domain/pricing.ts';
import { startupSummary } from '../../src/server/startup.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-models-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function configWith(yaml: string, env: Record<string, string> = {}) {
  const file = join(dir, `models-${++n}.yaml`);
  writeFileSync(file, yaml);
  return { file, load: () => loadConfig({ HANGAR_DATA_DIR: dir, HANGAR_MODELS: file, ...env }) };
}

function failure(yaml: string, env: Record<string, string> = {}): string {
  const { file, load } = configWith(yaml, env);
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message.startsWith(`invalid configuration: HANGAR_MODELS (${file}): `)).toBe(true);
    expect(message).not.toContain('\n');
    return message.slice(`invalid configuration: HANGAR_MODELS (${file}): `.length);
  }
  throw new Error('expected the models file to be rejected');
}

const GOOD = `
providers:
  local:                      # any name
    type: openai
    base_url: http://127.0.0.1:11434/v1
    api_key_env: LOCAL_LLM_KEY
  gateway:
    type: anthropic
    base_url: https://llm-gateway.internal/anthropic
models:
  - id: llama3.1:8b
    provider: local
    upstream_id: llama3.1:8b-instruct-q4
    context_window: 131072
    max_output_tokens: 8192
    pricing: {input: 0, output: 0}
    capabilities: {tools: true, images: false, thinking: false}
  - id: big
    provider: gateway
    pricing: {input: 3, output: 15, cache_read: 0.3, cache_write_5m: 3.75, cache_write_1h: 6}
    fallback: llama3.1:8b
`;

describe('a good models file', () => {
  it('parses providers (keys read from the named variables) and entries in the documented shape', () => {
    const c = configWith(GOOD, { LOCAL_LLM_KEY: 'sk-local', ANTHROPIC_API_KEY: 'sk-ant' }).load();
    expect(c.models.providers).toEqual([
      { name: 'anthropic', type: 'anthropic', baseUrl: undefined, apiKeyEnv: 'ANTHROPIC_API_KEY', apiKey: 'sk-ant', keyMissing: false },
      { name: 'local', type: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', apiKeyEnv: 'LOCAL_LLM_KEY', apiKey: 'sk-local', keyMissing: false },
      { name: 'gateway', type: 'anthropic', baseUrl: 'https://llm-gateway.internal/anthropic', apiKeyEnv: undefined, apiKey: undefined, keyMissing: false },
    ]);
    expect(c.models.models).toEqual([
      {
        id: 'llama3.1:8b', provider: 'local', upstreamId: 'llama3.1:8b-instruct-q4', contextWindow: 131072, maxOutputTokens: 8192,
        pricing: { input: 0, output: 0, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0 }, capabilities: { tools: true, images: false, thinking: false },
      },
      { id: 'big', provider: 'gateway', pricing: { input: 3, output: 15, cache_read: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 }, fallback: 'llama3.1:8b' },
    ]);
  });

  it('marks a provider whose key variable is unset (a warning, not a start-up failure)', () => {
    const c = configWith(GOOD).load();
    expect(c.models.providers.find((p) => p.name === 'local')).toMatchObject({ apiKeyEnv: 'LOCAL_LLM_KEY', apiKey: undefined, keyMissing: true });
  });

  it('without HANGAR_MODELS: Anthropic from ANTHROPIC_*, OpenAI only when OPENAI_API_KEY is set', () => {
    const plain = loadConfig({ HANGAR_DATA_DIR: dir, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' });
    expect(plain.models).toEqual({
      file: undefined, models: [],
      providers: [{ name: 'anthropic', type: 'anthropic', baseUrl: 'http://127.0.0.1:9', apiKeyEnv: 'ANTHROPIC_API_KEY', apiKey: undefined, keyMissing: false }],
    });
    const both = loadConfig({ HANGAR_DATA_DIR: dir, OPENAI_API_KEY: 'sk-oa', OPENAI_BASE_URL: 'https://gateway.example/v1' });
    expect(both.models.providers[1]).toEqual({ name: 'openai', type: 'openai', baseUrl: 'https://gateway.example/v1', apiKeyEnv: 'OPENAI_API_KEY', apiKey: 'sk-oa', keyMissing: false });
  });

  it('a file provider named like a default replaces it; an empty file means defaults only', () => {
    const r = parseModelsText('providers:\n  anthropic: {type: anthropic, base_url: "https://proxy.example"}\n', { ANTHROPIC_API_KEY: 'k' });
    expect(r.providers).toEqual([{ name: 'anthropic', type: 'anthropic', baseUrl: 'https://proxy.example', apiKeyEnv: undefined, apiKey: undefined, keyMissing: false }]);
    expect(parseModelsText('', {}).providers.map((p) => p.name)).toEqual(['anthropic']);
  });
});

describe('a malformed models file is one line naming the file and the problem', () => {
  it.each([
    ['invalid YAML', 'providers: [unclosed', /^not valid YAML: /],
    ['a top-level list', '- a\n- b', /^\(top level\): /],
    ['an unknown top-level key', 'modles: []', /^\(top level\): .*modles/],
    ['a provider type that does not exist', 'providers:\n  x: {type: cohere}', /^providers\.x\.type: type must be "openai" or "anthropic"/],
    ['a key written in the file', 'providers:\n  x: {type: openai, api_key: sk-123}', /^providers\.x\.api_key: keys never go in the models file; put the key in an environment variable and name it in api_key_env$/],
    ['api_key_env holding a key instead of a variable name', 'providers:\n  x: {type: openai, api_key_env: "sk-live 123"}', /^providers\.x\.api_key_env: must be an environment variable name/],
    ['a base_url that is not a URL', 'providers:\n  x: {type: openai, base_url: localhost:11434}', /^providers\.x\.base_url: base_url must be an http\(s\) URL/],
    ['a model without a provider', 'models:\n  - id: m', /^models\[0\] \(id "m"\)\.provider: /],
    ['a model on an undefined provider', 'models:\n  - {id: m, provider: nowhere}', /^models \(id "m"\): provider "nowhere" is not defined; providers: anthropic$/],
    ['a negative price', 'models:\n  - {id: m, provider: anthropic, pricing: {input: -1, output: 0}}', /^models\[0\] \(id "m"\)\.pricing\.input: /],
    ['a price missing its output', 'models:\n  - {id: m, provider: anthropic, pricing: {input: 1}}', /^models\[0\] \(id "m"\)\.pricing\.output: /],
    ['an unknown capability', 'models:\n  - {id: m, provider: anthropic, capabilities: {vision: true}}', /^models\[0\] \(id "m"\)\.capabilities: .*vision/],
    ['a fractional context window', 'models:\n  - {id: m, provider: anthropic, context_window: 1.5}', /^models\[0\] \(id "m"\)\.context_window: /],
    ['a duplicate id', 'models:\n  - {id: m, provider: anthropic}\n  - {id: m, provider: anthropic}', /^models: id "m" is listed more than once$/],
    ['a fallback that is not in the file', 'models:\n  - {id: m, provider: anthropic, fallback: other}', /^models \(id "m"\): fallback "other" is not a model listed in the file$/],
    ['a fallback to itself', 'models:\n  - {id: m, provider: anthropic, fallback: m}', /^models \(id "m"\): fallback names the model itself$/],
  ])('%s', (_name, yaml, expected) => {
    expect(failure(yaml)).toMatch(expected);
  });

  it('a model priced both in the file and in HANGAR_PRICING', () => {
    expect(failure('models:\n  - {id: m, provider: anthropic, pricing: {input: 1, output: 2}}', { HANGAR_PRICING: '{"m": {"input": 1, "output": 2}}' }))
      .toBe('model m is priced both here and in HANGAR_PRICING; keep one');
  });

  it('a file that cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    expect(() => loadConfig({ HANGAR_DATA_DIR: dir, HANGAR_MODELS: file })).toThrow(new ConfigError(`invalid configuration: HANGAR_MODELS (${file}): cannot read the file: ENOENT`));
  });

  it('OPENAI_BASE_URL that is not an http(s) URL', () => {
    expect(() => loadConfig({ HANGAR_DATA_DIR: dir, OPENAI_BASE_URL: 'ftp://x' })).toThrow(/OPENAI_BASE_URL: must be an http\(s\) URL/);
  });
});

describe('start-up checks of the routing', () => {
  const check = (yaml: string, env: Record<string, string> = {}) => {
    const c = configWith(yaml, env).load();
    const catalog = new ModelCatalog(modelsConfig(c.models, Object.keys(c.priceOverrides)));
    const prices = new PriceTable({ ...catalog.prices(), ...c.priceOverrides });
    return routingProblems(c, catalog, (id) => prices.priceOf(id) !== undefined);
  };

  it('refuses a priced model whose fallback has no price (budgets could not be enforced)', () => {
    expect(check('models:\n  - {id: a, provider: anthropic, pricing: {input: 1, output: 1}, fallback: b}\n  - {id: b, provider: anthropic}'))
      .toBe('HANGAR_MODELS: model a has prices but its fallback b has none, so budgets could not be enforced when it answers; price the fallback too');
    expect(check('models:\n  - {id: a, provider: anthropic, pricing: {input: 1, output: 1}, fallback: b}\n  - {id: b, provider: anthropic, pricing: {input: 0, output: 0}}')).toBeUndefined();
  });

  it('refuses a grader model no provider serves', () => {
    expect(check('', { HANGAR_GRADER_MODEL: 'mystery' })).toMatch(/^HANGAR_GRADER_MODEL: grader model: unknown model "mystery"; configured models: /);
    expect(check('', { HANGAR_GRADER_MODEL: 'claude-haiku-4-5' })).toBeUndefined();
  });

  it('names providers whose key variable is unset in start-up warnings', () => {
    const c = configWith('providers:\n  local: {type: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: LOCAL_KEY_UNSET}').load();
    expect(missingKeyWarnings(c.models)).toEqual(['provider local: LOCAL_KEY_UNSET is not set; sessions on its models fail with session.error until it is set']);
  });
});

describe('the start-up block with providers', () => {
  it('lists each extra provider with its host and key state, the models file, and warns about an unset key variable', () => {
    const { file, load } = configWith(GOOD, { ANTHROPIC_API_KEY: 'sk-ant', OPENAI_API_KEY: 'sk-oa' });
    const s = startupSummary({
      version: '1', url: 'http://127.0.0.1:8700', config: load(), socat: true, consoleDir: undefined,
      sandbox: { unavailableReason: () => undefined, provision: async () => { throw new Error('unused'); } },
    });
    expect(s.text).toContain('  provider   openai: openai at api.openai.com (key set)\n');
    expect(s.text).toContain('  provider   local: openai at 127.0.0.1:11434 (NO KEY: LOCAL_LLM_KEY unset)\n');
    expect(s.text).toContain('  provider   gateway: anthropic at llm-gateway.internal (no key)\n');
    expect(s.text).toContain(`  model file ${file} (2 models)\n`);
    expect(s.warnings).toEqual(['provider local: LOCAL_LLM_KEY is not set; sessions on its models fail with session.error until it is set']);
    // The keys themselves never appear.
    expect(s.text).not.toMatch(/sk-ant|sk-oa/);
  });
});
