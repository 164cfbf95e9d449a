// The model port, observed: each request becomes a GenAI client span (`chat <model>`, OpenTelemetry
// GenAI semantic conventions) under the current turn or grader span, and a sample of the model
// metrics (requests, errors, duration, tokens, list cost) by provider and model.
import { performance } from 'node:perf_hooks';
import { ModelError, type ModelClient, type ModelRequest, type ModelResponse } from '../../ports/model.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { traceNow, type TraceSpan, type Tracer } from '../../ports/tracer.ts';
import type { ModelCatalog } from '../../domain/model-routing.ts';
import type { PriceTable } from '../../domain/pricing.ts';
import type { ContentCapture } from './content-capture.ts';

export interface ObservedModelDeps {
  tracer: Tracer;
  metrics: Metrics;
  prices: PriceTable;
  content: ContentCapture;
  /** Resolves a model id to its provider; without one every request counts as provider `anthropic`. */
  catalog?: ModelCatalog;
}

type StreamOpts = Parameters<ModelClient['stream']>[1];

export class ObservedModelClient implements ModelClient {
  private readonly inner: ModelClient;
  private readonly deps: ObservedModelDeps;

  constructor(inner: ModelClient, deps: ObservedModelDeps) {
    this.inner = inner;
    this.deps = deps;
  }

  private provider(model: string): { name: string; type: string; host?: string } {
    const p = this.deps.catalog?.resolve(model)?.provider;
    if (!p) return { name: 'anthropic', type: 'anthropic' };
    let host: string | undefined;
    try {
      host = p.baseUrl ? new URL(p.baseUrl).hostname : undefined;
    } catch {
      host = undefined;
    }
    return { name: p.name, type: p.type, host: host ?? (p.type === 'openai' ? 'api.openai.com' : 'api.anthropic.com') };
  }

  /** Token counting passes straight through (no span: it is not a model call). */
  countTokens(request: ModelRequest, opts: { signal: AbortSignal }): Promise<number | undefined> {
    return this.inner.countTokens ? this.inner.countTokens(request, opts) : Promise.resolve(undefined);
  }

  async stream(request: ModelRequest, opts: StreamOpts): Promise<ModelResponse> {
    const { tracer, metrics } = this.deps;
    const requested = request.model.id;
    const provider = this.provider(requested);
    const t0 = performance.now();
    const span = tracer.enabled ? tracer.start(`chat ${requested}`, {
      kind: 'client',
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': provider.type,
        'gen_ai.system': provider.type,
        'gen_ai.request.model': requested,
        'gen_ai.request.max_tokens': request.maxTokens,
        'server.address': provider.host,
        'hangar.model.provider': provider.name,
        'hangar.model.attempt': opts.attempt ?? 0,
        'hangar.model.purpose': request.toolChoice ? 'grader' : 'agent',
      },
    }) : undefined;
    let response: ModelResponse;
    try {
      response = span ? await span.run(() => this.inner.stream(request, opts)) : await this.inner.stream(request, opts);
    } catch (err) {
      const kind = err instanceof ModelError ? err.kind : 'request_failed';
      metrics.modelRequest({ provider: provider.name, model: requested, durationMs: performance.now() - t0, outcome: kind });
      if (span) {
        if (err instanceof ModelError && err.status !== undefined) span.set({ 'http.response.status_code': err.status });
        span.fail(kind, err instanceof Error ? err.message : String(err));
        span.end();
      }
      throw err;
    }
    const answered = response.fallback?.model ?? requested;
    const u = response.usage;
    const micros = this.deps.prices.costMicros(answered, {
      input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_input_tokens: u.cache_read_input_tokens,
      cache_creation_5m: u.cache_creation_5m, cache_creation_1h: u.cache_creation_1h,
    });
    const answeredBy = response.fallback ? this.provider(answered).name : provider.name;
    metrics.modelRequest({
      provider: answeredBy, model: answered, durationMs: performance.now() - t0, outcome: 'ok',
      usage: { input: u.input_tokens, output: u.output_tokens, cacheRead: u.cache_read_input_tokens, cacheCreation: u.cache_creation_input_tokens },
      costUsd: micros === undefined ? undefined : micros / 1e6,
    });
    if (span) {
      span.set({
        'gen_ai.response.model': answered,
        'gen_ai.response.finish_reasons': [response.stopReason],
        'gen_ai.usage.input_tokens': u.input_tokens,
        'gen_ai.usage.output_tokens': u.output_tokens,
        'gen_ai.usage.cache_read.input_tokens': u.cache_read_input_tokens,
        'gen_ai.usage.cache_creation.input_tokens': u.cache_creation_input_tokens,
        'hangar.model.fallback_from': response.fallback ? requested : undefined,
        'hangar.model.list_cost_usd': micros === undefined ? undefined : micros / 1e6,
      });
      if (this.deps.content.enabled) void this.endWithContent(span, request, response);
      else span.end();
    }
    return response;
  }

  /** Capture is async (the scrubber may read the vaults): the span ends at the time the call did. */
  private async endWithContent(span: TraceSpan, request: ModelRequest, response: ModelResponse): Promise<void> {
    const endMs = traceNow();
    const { content } = this.deps;
    try {
      span.set({
        'gen_ai.system_instructions': await content.capture(request.system.map((s) => ({ type: 'text', content: s.text }))),
        'gen_ai.input.messages': await content.capture(request.messages),
        'gen_ai.output.messages': await content.capture([{ role: 'assistant', parts: response.content, finish_reason: response.stopReason }]),
      });
    } finally {
      span.end(endMs);
    }
  }
}
