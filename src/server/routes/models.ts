// `GET /v1/models` and `GET /v1/models/{id}` in the SDK's `client.models.list()`/`retrieve()`
// shapes (ModelInfo, with the first_id/last_id/has_more page), over the configured model catalog;
// and the check that an agent's model is one a provider serves.
import type { FastifyInstance } from 'fastify';
import type { ModelCatalog } from '../../domain/model-routing.ts';
import { invalidRequest, notFound } from '../../protocol/errors.ts';
import { queryInt, queryOf, queryString } from '../http.ts';
import type { AppDeps } from '../deps.ts';
import { isoAt } from '../../ports/clock.ts';

/** Throws the 400 listing the configured models when `id` resolves to no provider. */
export function assertKnownModel(catalog: ModelCatalog | undefined, id: string, field = 'model'): void {
  if (catalog && !catalog.resolve(id)) throw invalidRequest(catalog.unknownMessage(id, field));
}

/** Model ids a multiagent param names for advisors (they run on a model of their own). */
export function advisorModels(multiagent: unknown): Array<{ id: string; field: string }> {
  const m = multiagent as { type?: string; agents?: Array<{ type?: string; model?: string }>; advisor?: { type?: string; model?: string } | null } | null | undefined;
  if (!m) return [];
  if (m.type === 'coordinator') {
    return (m.agents ?? []).flatMap((a, i) => (a.type === 'advisor' && a.model ? [{ id: a.model, field: `multiagent.agents[${i}].model` }] : []));
  }
  return m.advisor?.type === 'enabled' && m.advisor.model ? [{ id: m.advisor.model, field: 'multiagent.advisor.model' }] : [];
}

function modelInfo(catalog: ModelCatalog, id: string, createdAt: string): Record<string, unknown> | undefined {
  const route = catalog.resolve(id);
  if (!route) return undefined;
  return {
    type: 'model',
    id,
    display_name: route.upstreamId === id ? id : `${id} (${route.upstreamId} at ${route.provider.name})`,
    created_at: createdAt,
    capabilities: null,
    deprecated_at: null,
    lifecycle: 'active',
    line: null,
    max_input_tokens: route.contextWindow ?? null,
    max_tokens: route.maxOutputTokens ?? null,
    retires_at: null,
  };
}

export function registerModelRoutes(app: FastifyInstance, deps: AppDeps): void {
  const catalog = deps.models;
  if (!catalog) return;
  // Configured models have no release date; they exist since this server read its configuration.
  const createdAt = isoAt(deps.clock.now());
  app.get('/v1/models', async (req) => {
    const q = queryOf(req);
    const limit = queryInt(q, 'limit', { min: 1, max: 1000 }) ?? 20;
    const after = queryString(q, 'after_id');
    const before = queryString(q, 'before_id');
    if (after && before) throw invalidRequest('after_id and before_id cannot both be given');
    const ids = catalog.listIds();
    let start = 0;
    let end = ids.length;
    if (after !== undefined) {
      const i = ids.indexOf(after);
      if (i < 0) throw invalidRequest(`after_id: unknown model ${after}`);
      start = i + 1;
    }
    if (before !== undefined) {
      const i = ids.indexOf(before);
      if (i < 0) throw invalidRequest(`before_id: unknown model ${before}`);
      end = i;
      start = Math.max(0, end - limit);
    }
    const page = ids.slice(start, Math.min(end, start + limit));
    const data = page.map((id) => modelInfo(catalog, id, createdAt)).filter(Boolean);
    const hasMore = before !== undefined ? start > 0 : start + page.length < end;
    return { data, has_more: hasMore, first_id: page[0] ?? null, last_id: page[page.length - 1] ?? null };
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const info = modelInfo(catalog, req.params.id, createdAt);
    if (!info) throw notFound(`no model with id ${req.params.id}`);
    return info;
  });
}
