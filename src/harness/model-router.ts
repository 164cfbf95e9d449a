// The model router: one ModelClient over several providers. Each request is resolved through the
// model catalog to its provider's adapter and upstream id, and shaped to the entry's limits and
// capabilities, so the harness stays provider-blind.
import { ModelError, type ModelClient, type ModelContentBlock, type ModelRequest, type ModelResponse, type ModelStreamEvent } from '../ports/model.ts';
import type { ModelCatalog, ResolvedModel } from '../domain/model-routing.ts';
import { contextLimits } from './context-window.ts';

type StreamOpts = { signal: AbortSignal; onEvent?: (e: ModelStreamEvent) => void; attempt?: number };

export interface ModelRouterOptions {
  /** The harness's retry limit: a fallback answers once the primary fails on its last try. */
  maxRetries: number;
}

/** Failures a fallback model may answer for: the primary is busy, not broken. */
const FALLBACK_KINDS = new Set(['rate_limited', 'overloaded']);

const fail = (message: string) => new ModelError('request_failed', message, { retryable: false });
const overflow = (message: string) => new ModelError('context_overflow', message, { retryable: false });

export class ModelRouter implements ModelClient {
  private readonly catalog: ModelCatalog;
  private readonly clients: ReadonlyMap<string, ModelClient>;
  private readonly maxRetries: number;

  /** `clients`: one adapter per provider name. */
  constructor(catalog: ModelCatalog, clients: ReadonlyMap<string, ModelClient>, opts: ModelRouterOptions = { maxRetries: 0 }) {
    this.catalog = catalog;
    this.clients = clients;
    this.maxRetries = opts.maxRetries;
  }

  async stream(request: ModelRequest, opts: StreamOpts): Promise<ModelResponse> {
    const route = this.catalog.resolve(request.model.id);
    if (!route) throw fail(`model ${JSON.stringify(request.model.id)} is not configured (see HANGAR_MODELS)`);
    try {
      return await this.call(request, route, opts);
    } catch (err) {
      const lastTry = (opts.attempt ?? 0) >= this.maxRetries;
      if (!route.fallback || !lastTry || !(err instanceof ModelError) || !FALLBACK_KINDS.has(err.kind) || opts.signal.aborted) throw err;
      const backup = this.catalog.resolve(route.fallback);
      if (!backup) throw err;
      try {
        const response = await this.call({ ...request, model: { ...request.model, id: route.fallback } }, backup, opts);
        return { ...response, fallback: { model: route.fallback, cause: err } };
      } catch (fallbackErr) {
        if (fallbackErr instanceof ModelError && fallbackErr.kind === 'aborted') throw fallbackErr;
        const why = fallbackErr instanceof Error ? fallbackErr.message : String(fallbackErr);
        throw new ModelError(err.kind, `${err.message}; fallback model ${route.fallback} failed too: ${why}`, { retryable: err.retryable, retryAfterMs: err.retryAfterMs, status: err.status, cause: err });
      }
    }
  }

  /** The provider's exact count, when the request's provider has a counting endpoint (else undefined). */
  async countTokens(request: ModelRequest, opts: { signal: AbortSignal }): Promise<number | undefined> {
    const route = this.catalog.resolve(request.model.id);
    const client = route ? this.clients.get(route.provider.name) : undefined;
    if (!route || !client?.countTokens || route.provider.keyMissing) return undefined;
    return client.countTokens(shapeRequest(request, route, { skipWindowCheck: true }), opts);
  }

  private async call(request: ModelRequest, route: ResolvedModel, opts: StreamOpts): Promise<ModelResponse> {
    const client = this.clients.get(route.provider.name);
    if (!client) throw fail(`provider ${route.provider.name} has no adapter`);
    if (route.provider.keyMissing) {
      // Like a refused key: the operator's to fix, so it ends the turn and the session carries on.
      throw new ModelError('authentication', `provider ${route.provider.name} has no API key: the environment variable ${route.provider.apiKeyEnv} is unset; set it and restart Hangar`, { retryable: false });
    }
    try {
      return await client.stream(shapeRequest(request, route), opts);
    } catch (err) {
      if (err instanceof ModelError && err.upstream === undefined) err.upstream = providerHost(route.provider);
      throw err;
    }
  }
}

/** The host a provider is reached at, for log lines (its vendor's public API when unset). */
function providerHost(provider: ResolvedModel['provider']): string {
  if (!provider.baseUrl) return provider.type === 'openai' ? 'api.openai.com' : 'api.anthropic.com';
  try {
    return new URL(provider.baseUrl).host;
  } catch {
    return provider.baseUrl;
  }
}

/** ≈4 characters per token, like the budget estimate: good enough to refuse hopeless requests. */
const roughTokens = (r: ModelRequest) => Math.ceil(JSON.stringify({ s: r.system, t: r.tools, m: r.messages }).length / 4);

/** The request as the route's provider should get it: upstream id, output cap, capabilities. */
export function shapeRequest(request: ModelRequest, route: ResolvedModel, opts: { skipWindowCheck?: boolean } = {}): ModelRequest {
  const caps = route.capabilities;
  const model: ModelRequest['model'] = { ...request.model, id: route.upstreamId };
  if (!caps.thinking) delete model.effort;
  let messages = request.messages;
  // Sessions refuse system.message on such models; one logged before a model change is shown as text.
  const midSystem = contextLimits(route.id, { providerType: route.provider.type, midConversationSystem: caps.midConversationSystem }, { maxTokens: request.maxTokens }).midConversationSystem;
  if (!midSystem) messages = messages.map((m) => (m.role === 'system' ? { role: 'user' as const, content: m.content.map(systemAsText) } : m));
  if (!caps.tools) messages = messages.map((m) => ({ ...m, content: m.content.map(toolAsText) }));
  if (!caps.images) messages = messages.map((m) => ({ ...m, content: m.content.map(imageAsText) }));
  const shaped: ModelRequest = {
    ...request,
    model,
    messages,
    tools: caps.tools ? request.tools : [],
    maxTokens: route.maxOutputTokens ? Math.min(request.maxTokens, route.maxOutputTokens) : request.maxTokens,
  };
  if (!caps.tools) delete shaped.toolChoice;
  if (!caps.tools && request.toolChoice) throw fail(`model ${route.id} is configured without tool support (capabilities.tools: false), but this call needs the ${request.toolChoice.name} tool`);
  if (!opts.skipWindowCheck && route.contextWindow && roughTokens(shaped) + shaped.maxTokens > route.contextWindow) {
    // Like the provider's own 400 for an over-long prompt: the harness compacts and retries.
    throw overflow(`the conversation (about ${roughTokens(shaped)} tokens) plus ${shaped.maxTokens} output tokens exceeds the context window of model ${route.id} (${route.contextWindow} tokens)`);
  }
  return shaped;
}

/** A model without tools still sees what earlier tool calls did, as text. */
function toolAsText(b: ModelContentBlock): ModelContentBlock {
  if (b.type === 'tool_use') return { type: 'text', text: `[called tool ${b.name} with ${JSON.stringify(b.input)}]` };
  if (b.type === 'tool_result') {
    const text = b.content.map((c) => (c.type === 'text' ? String(c.text) : `[${String(c.type)}]`)).join('\n');
    return { type: 'text', text: `[tool result${b.is_error ? ' (error)' : ''}: ${text}]` };
  }
  return b;
}

function systemAsText(b: ModelContentBlock): ModelContentBlock {
  return b.type === 'text' ? { type: 'text', text: `<system>${b.text}</system>` } : b;
}

function imageAsText(b: ModelContentBlock): ModelContentBlock {
  return b.type === 'image' ? { type: 'text', text: '[an image was attached here; this model does not take images]' } : b;
}
