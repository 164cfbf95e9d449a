// Model routing: which provider serves an agent's model id, under which upstream name, with which
// limits, prices and capabilities. Pure: built from the parsed models configuration (no keys here,
// only whether a provider's key is missing), consulted by the model router and the API's checks.
import type { ModelPrice } from './pricing.ts';
import { LIST_PRICES } from './pricing.ts';

export type ProviderType = 'anthropic' | 'openai';

export interface ProviderInfo {
  name: string;
  type: ProviderType;
  baseUrl: string | undefined;
  /** The environment variable holding the key (named in errors, never its value). */
  apiKeyEnv: string | undefined;
  /** True when `apiKeyEnv` names a variable that is unset: calls fail with a clear error. */
  keyMissing: boolean;
}

export interface ModelCapabilities {
  tools: boolean;
  images: boolean;
  /** Whether the agent's effort is forwarded (Anthropic `output_config.effort`, OpenAI `reasoning_effort`). */
  thinking: boolean;
  /** Whether `system.message` events go as `role: "system"` turns; unset: the built-in rule (see harness/context-window.ts). */
  midConversationSystem?: boolean;
}

export interface ModelEntry {
  id: string;
  provider: string;
  upstreamId?: string;
  contextWindow?: number;
  maxOutputTokens?: number;
  pricing?: ModelPrice;
  capabilities?: Partial<ModelCapabilities>;
  fallback?: string;
}

export interface ModelsConfig {
  providers: ProviderInfo[];
  models: ModelEntry[];
  /** Ids that only have a price (HANGAR_PRICING): served by the default Anthropic provider, as before. */
  pricedIds?: string[];
}

export interface ResolvedModel {
  /** The id agents use (prices and budgets are keyed by it). */
  id: string;
  provider: ProviderInfo;
  /** The name sent to the provider. */
  upstreamId: string;
  contextWindow: number | undefined;
  maxOutputTokens: number | undefined;
  capabilities: ModelCapabilities;
  fallback: string | undefined;
  /** How it matched: a configured entry, `<id>@<provider>`, or a provider's default id pattern. */
  via: 'entry' | 'at_provider' | 'pattern';
}

export const DEFAULT_ANTHROPIC = 'anthropic';
export const DEFAULT_OPENAI = 'openai';

/** Default id patterns of the built-in providers (when no entry names the id). */
const PATTERNS: Array<{ provider: string; test: RegExp; shown: string }> = [
  { provider: DEFAULT_ANTHROPIC, test: /^claude-/, shown: 'claude-*' },
  { provider: DEFAULT_OPENAI, test: /^(gpt-|chatgpt-|o1|o3|o4)/, shown: 'gpt-*, chatgpt-*, o1*, o3*, o4*' },
];

const DEFAULT_CAPS: Record<ProviderType, ModelCapabilities> = {
  anthropic: { tools: true, images: true, thinking: true },
  openai: { tools: true, images: true, thinking: false },
};

export class ModelCatalog {
  private readonly providers = new Map<string, ProviderInfo>();
  private readonly entries = new Map<string, ModelEntry>();
  private readonly priced: Set<string>;

  constructor(config: ModelsConfig) {
    for (const p of config.providers) this.providers.set(p.name, p);
    for (const m of config.models) this.entries.set(m.id, m);
    this.priced = new Set(config.pricedIds ?? []);
  }

  provider(name: string): ProviderInfo | undefined {
    return this.providers.get(name);
  }

  providerList(): ProviderInfo[] {
    return [...this.providers.values()];
  }

  resolve(id: string): ResolvedModel | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      const provider = this.providers.get(entry.provider);
      return provider ? this.build(id, provider, entry.upstreamId ?? id, entry, 'entry') : undefined;
    }
    const at = id.lastIndexOf('@');
    if (at > 0 && at < id.length - 1) {
      const provider = this.providers.get(id.slice(at + 1));
      if (provider) return this.build(id, provider, id.slice(0, at), undefined, 'at_provider');
    }
    for (const p of PATTERNS) {
      const provider = this.providers.get(p.provider);
      if (provider && p.test.test(id)) return this.build(id, provider, id, undefined, 'pattern');
    }
    // Ids priced through HANGAR_PRICING go to the default Anthropic provider (today's behavior).
    const anthropic = this.providers.get(DEFAULT_ANTHROPIC);
    if (anthropic && this.priced.has(id)) return this.build(id, anthropic, id, undefined, 'pattern');
    return undefined;
  }

  /** The ids to list in errors and `GET /v1/models`: configured entries, priced ids, known Claude ids. */
  listIds(): string[] {
    const ids = [...this.entries.keys()];
    for (const id of this.priced) if (!ids.includes(id)) ids.push(id);
    if (this.providers.get(DEFAULT_ANTHROPIC)?.type === 'anthropic') {
      for (const id of Object.keys(LIST_PRICES)) if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  /** A sentence for the 400 of an unknown model id. */
  unknownMessage(id: string, field = 'model'): string {
    const providers = [...this.providers.keys()];
    const patterns = PATTERNS.filter((p) => this.providers.has(p.provider)).map((p) => `${p.shown} (${p.provider})`);
    return `${field}: unknown model ${JSON.stringify(id)}; configured models: ${this.listIds().join(', ') || '(none)'}`
      + (patterns.length ? `; id patterns: ${patterns.join('; ')}` : '')
      + (providers.length ? `; or <upstream id>@<provider> with provider one of: ${providers.join(', ')}` : '');
  }

  /** Prices from the models file, keyed by the agent-facing id, for the PriceTable. */
  prices(): Record<string, ModelPrice> {
    const out: Record<string, ModelPrice> = {};
    for (const m of this.entries.values()) if (m.pricing) out[m.id] = m.pricing;
    return out;
  }

  private build(id: string, provider: ProviderInfo, upstreamId: string, entry: ModelEntry | undefined, via: ResolvedModel['via']): ResolvedModel {
    return {
      id, provider, upstreamId, via,
      contextWindow: entry?.contextWindow,
      maxOutputTokens: entry?.maxOutputTokens,
      capabilities: { ...DEFAULT_CAPS[provider.type], ...(entry?.capabilities ?? {}) },
      fallback: entry?.fallback,
    };
  }
}
