// The models file (HANGAR_MODELS, YAML) and the provider defaults from ANTHROPIC_* / OPENAI_*:
// parsed and validated once at start-up into providers (with their keys, read from the variables
// the file names) and model entries. Problems are one ConfigError line naming the file.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ModelEntry, ModelsConfig, ProviderInfo } from '../domain/model-routing.ts';
import { DEFAULT_ANTHROPIC, DEFAULT_OPENAI } from '../domain/model-routing.ts';

/** A provider with its key; the key stays in the composition root (adapters), never in the catalog. */
export interface ProviderSettings extends ProviderInfo {
  apiKey: string | undefined;
}

export interface ModelsSettings {
  /** The file it came from (for start-up lines); undefined = defaults only. */
  file: string | undefined;
  providers: ProviderSettings[];
  models: ModelEntry[];
}

const usd = z.number().min(0).finite();
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (the key itself never goes in the file)');

const providerSchema = z.strictObject({
  type: z.enum(['openai', 'anthropic'], { error: 'type must be "openai" or "anthropic"' }),
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }).optional(),
  api_key_env: envName.optional(),
});

const modelSchema = z.strictObject({
  id: z.string().min(1).max(256),
  provider: z.string().min(1),
  upstream_id: z.string().min(1).max(256).optional(),
  context_window: z.number().int().positive().optional(),
  max_output_tokens: z.number().int().positive().optional(),
  pricing: z.strictObject({
    input: usd, output: usd, cache_read: usd.optional(), cache_write_5m: usd.optional(), cache_write_1h: usd.optional(),
  }).optional(),
  capabilities: z.strictObject({
    tools: z.boolean().optional(), images: z.boolean().optional(), thinking: z.boolean().optional(), mid_conversation_system: z.boolean().optional(),
  }).optional(),
  fallback: z.string().min(1).optional(),
});

const fileSchema = z.strictObject({
  providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'provider names use letters, digits, "_", "." and "-"'), providerSchema).default({}),
  models: z.array(modelSchema).default([]),
});

export class ModelsFileError extends Error {}

/** Providers from the environment alone: Anthropic always, OpenAI when OPENAI_API_KEY is set. */
function defaultProviders(env: Record<string, string | undefined>): ProviderSettings[] {
  const out: ProviderSettings[] = [{
    // A missing Anthropic key is reported by the start-up summary and refused by the provider (as before).
    name: DEFAULT_ANTHROPIC, type: 'anthropic', baseUrl: env.ANTHROPIC_BASE_URL, apiKeyEnv: 'ANTHROPIC_API_KEY', apiKey: env.ANTHROPIC_API_KEY, keyMissing: false,
  }];
  if (env.OPENAI_API_KEY) {
    out.push({ name: DEFAULT_OPENAI, type: 'openai', baseUrl: env.OPENAI_BASE_URL, apiKeyEnv: 'OPENAI_API_KEY', apiKey: env.OPENAI_API_KEY, keyMissing: false });
  }
  return out;
}

function issueLine(err: z.ZodError, doc: unknown): string {
  const i = err.issues[0];
  const path = i.path.map((p, n) => {
    // `models[2]` reads better as `models[2] (id "x")`.
    if (n === 1 && i.path[0] === 'models' && typeof p === 'number') {
      const id = (doc as { models?: Array<{ id?: unknown }> })?.models?.[p]?.id;
      return typeof id === 'string' ? `[${p}] (id ${JSON.stringify(id)})` : `[${p}]`;
    }
    return typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`;
  }).join('');
  return `${path || '(top level)'}: ${i.message}`;
}

/** Parses a models file's text (YAML) against the environment; throws ModelsFileError with one line. */
export function parseModelsText(text: string, env: Record<string, string | undefined>): Omit<ModelsSettings, 'file'> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ModelsFileError(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  const providersDoc = (doc as { providers?: unknown }).providers;
  for (const [name, p] of Object.entries(providersDoc && typeof providersDoc === 'object' ? providersDoc : {})) {
    if (p && typeof p === 'object' && 'api_key' in p) {
      throw new ModelsFileError(`providers.${name}.api_key: keys never go in the models file; put the key in an environment variable and name it in api_key_env`);
    }
  }
  const r = fileSchema.safeParse(doc);
  if (!r.success) throw new ModelsFileError(issueLine(r.error, doc));
  const providers = defaultProviders(env);
  for (const [name, p] of Object.entries(r.data.providers)) {
    const apiKey = p.api_key_env ? env[p.api_key_env] || undefined : undefined;
    const settings: ProviderSettings = { name, type: p.type, baseUrl: p.base_url, apiKeyEnv: p.api_key_env, apiKey, keyMissing: Boolean(p.api_key_env && !apiKey) };
    const i = providers.findIndex((x) => x.name === name);
    if (i >= 0) providers[i] = settings;
    else providers.push(settings);
  }
  const ids = new Set<string>();
  const models: ModelEntry[] = r.data.models.map((m) => {
    if (ids.has(m.id)) throw new ModelsFileError(`models: id ${JSON.stringify(m.id)} is listed more than once`);
    ids.add(m.id);
    if (!providers.some((p) => p.name === m.provider)) {
      throw new ModelsFileError(`models (id ${JSON.stringify(m.id)}): provider ${JSON.stringify(m.provider)} is not defined; providers: ${providers.map((p) => p.name).join(', ')}`);
    }
    const entry: ModelEntry = { id: m.id, provider: m.provider };
    if (m.upstream_id) entry.upstreamId = m.upstream_id;
    if (m.context_window) entry.contextWindow = m.context_window;
    if (m.max_output_tokens) entry.maxOutputTokens = m.max_output_tokens;
    if (m.pricing) {
      entry.pricing = {
        input: m.pricing.input, output: m.pricing.output, cache_read: m.pricing.cache_read ?? 0,
        cache_write_5m: m.pricing.cache_write_5m ?? 0, cache_write_1h: m.pricing.cache_write_1h ?? 0,
      };
    }
    if (m.capabilities) {
      const { mid_conversation_system: midSystem, ...caps } = m.capabilities;
      entry.capabilities = midSystem === undefined ? caps : { ...caps, midConversationSystem: midSystem };
    }
    if (m.fallback) entry.fallback = m.fallback;
    return entry;
  });
  for (const m of models) {
    if (m.fallback === undefined) continue;
    if (m.fallback === m.id) throw new ModelsFileError(`models (id ${JSON.stringify(m.id)}): fallback names the model itself`);
    if (!ids.has(m.fallback)) throw new ModelsFileError(`models (id ${JSON.stringify(m.id)}): fallback ${JSON.stringify(m.fallback)} is not a model listed in the file`);
  }
  return { providers, models };
}

/** Reads HANGAR_MODELS (if set) and merges it over the environment's provider defaults. */
export function loadModelsSettings(file: string | undefined, env: Record<string, string | undefined>): ModelsSettings {
  if (!file) return { file: undefined, providers: defaultProviders(env), models: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelsFileError(`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { file, ...parseModelsText(text, env) };
}

/** The routing view of the settings (keys left out). */
export function modelsConfig(settings: ModelsSettings, pricedIds: string[]): ModelsConfig {
  return {
    providers: settings.providers.map(({ apiKey: _key, ...p }) => p),
    models: settings.models,
    pricedIds,
  };
}
