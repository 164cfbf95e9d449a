// Builds one model adapter per configured provider and the router over them, and names the
// providers whose key variable is unset (a start-up warning; their sessions fail with session.error).
import { AnthropicModel } from '../adapters/model-anthropic/anthropic-model.ts';
import { ModelRouter } from '../harness/model-router.ts';
import type { ModelCatalog } from '../domain/model-routing.ts';
import type { ModelClient, ModelRequest, ModelResponse } from '../ports/model.ts';
import type { ModelsSettings, ProviderSettings } from './models-config.ts';
import { contextLimits, type ContextLimitsLookup } from '../harness/context-window.ts';

/** OpenAI's own API takes `max_completion_tokens` (required by its reasoning models); compatible servers read `max_tokens`. */
function maxTokensParam(p: ProviderSettings): 'max_completion_tokens' | 'max_tokens' {
  return !p.baseUrl || new URL(p.baseUrl).host === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
}

/** Each model's context limits: its catalog entry over the built-in values, capped by HANGAR_CONTEXT_WINDOW_TOKENS. */
export function modelContextLimits(catalog: ModelCatalog, config: { maxOutputTokens: number; contextWindowTokens?: number; compactionThreshold?: number }): ContextLimitsLookup {
  return (id) => {
    const route = catalog.resolve(id);
    return contextLimits(id, {
      providerType: route?.provider.type, contextWindow: route?.contextWindow, maxOutputTokens: route?.maxOutputTokens,
      midConversationSystem: route?.capabilities.midConversationSystem,
    }, { maxTokens: config.maxOutputTokens, capTokens: config.contextWindowTokens, thresholdFraction: config.compactionThreshold });
  };
}

export function createModelClient(settings: ModelsSettings, catalog: ModelCatalog, opts: { maxRetries: number }): ModelRouter {
  const clients = new Map<string, ModelClient>();
  for (const p of settings.providers) {
    clients.set(p.name, p.type === 'anthropic'
      ? new AnthropicModel({ apiKey: p.apiKey, baseURL: p.baseUrl })
      : new LazyModelClient(async () => {
        const { OpenAIModel } = await import('../adapters/model-openai/openai-model.ts');
        return new OpenAIModel({ apiKey: p.apiKey, baseURL: p.baseUrl, maxTokensParam: maxTokensParam(p), provider: { name: p.name, keyVariable: p.apiKeyEnv } });
      }));
  }
  return new ModelRouter(catalog, clients, { maxRetries: opts.maxRetries });
}

/**
 * Loads an adapter at its first call, so a start-up pays only for the providers it uses (the
 * `openai` client alone adds ~130 ms to start-up). A failed load is retried at the next call.
 */
export class LazyModelClient implements ModelClient {
  private loading: Promise<ModelClient> | undefined;
  private readonly load: () => Promise<ModelClient>;
  constructor(load: () => Promise<ModelClient>) {
    this.load = load;
  }

  async stream(request: ModelRequest, opts: Parameters<ModelClient['stream']>[1]): Promise<ModelResponse> {
    this.loading ??= this.load().catch((err) => {
      this.loading = undefined;
      throw err;
    });
    return (await this.loading).stream(request, opts);
  }

  async countTokens(request: ModelRequest, opts: { signal: AbortSignal }): Promise<number | undefined> {
    this.loading ??= this.load().catch((err) => {
      this.loading = undefined;
      throw err;
    });
    const client = await this.loading;
    return client.countTokens ? client.countTokens(request, opts) : undefined;
  }
}

/**
 * Start-up checks of the routing against prices and the grader: a fallback without a price would let
 * a budgeted session spend unaccounted, and an unknown grader model would fail every evaluation.
 */
export function routingProblems(config: { models: ModelsSettings; graderModel: string | undefined }, catalog: ModelCatalog, priced: (id: string) => boolean): string | undefined {
  if (config.graderModel && !catalog.resolve(config.graderModel)) return `HANGAR_GRADER_MODEL: ${catalog.unknownMessage(config.graderModel, 'grader model')}`;
  const unpriced = config.models.models.find((m) => m.fallback && priced(m.id) && !priced(m.fallback));
  if (unpriced) return `HANGAR_MODELS: model ${unpriced.id} has prices but its fallback ${unpriced.fallback} has none, so budgets could not be enforced when it answers; price the fallback too`;
  return undefined;
}

/** Start-up warnings: providers whose key variable is unset. */
export function missingKeyWarnings(settings: ModelsSettings): string[] {
  return settings.providers
    .filter((p) => p.keyMissing)
    .map((p) => `provider ${p.name}: ${p.apiKeyEnv} is not set; sessions on its models fail with session.error until it is set`);
}
