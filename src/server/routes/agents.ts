// HTTP routes of the agents API (§4.1): create, retrieve (optionally a past version), versioned
// update with optimistic concurrency, list, archive, and the version history.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { Json, Store } from '../../ports/store.ts';
import { isoAt } from '../../ports/clock.ts';
import { conflict, notFound } from '../../protocol/errors.ts';
import { hasPrefix, newId } from '../../protocol/ids.ts';
import { agentCreateSchema, agentUpdateSchema } from '../../protocol/agent-schemas.ts';
import { createAgent, updateAgent, type AgentLookup, type AgentObject } from '../../domain/agents.ts';
import { multiagentParamRefs } from '../../domain/agent-multiagent.ts';
import { advisorModels, assertKnownModel } from './models.ts';
import { pageBody, pageParams, parseWith, queryBool, queryInt, queryOf, queryTimestamp } from '../http.ts';

type IdParams = { Params: { id: string } };

const asJson = (a: AgentObject) => a as unknown as Json & AgentObject;

/** Loads an agent (latest, or one version); 404 `not_found_error` for a bad id, unknown agent or version. */
export async function loadAgent(store: Store, id: string, version?: number): Promise<AgentObject> {
  if (!hasPrefix(id, 'agent')) throw notFound(`no agent with id ${id}`);
  const found = await store.agents.get(id, version);
  if (found) return found as unknown as AgentObject;
  if (version !== undefined && (await store.agents.get(id))) throw notFound(`agent ${id} has no version ${version}`);
  throw notFound(`no agent with id ${id}`);
}

/** Fetches the agents a multiagent roster names, so the pure domain can resolve them synchronously. */
async function prefetchRoster(store: Store, refs: Array<{ id: string; version?: number }>, workspaceId: string): Promise<AgentLookup> {
  const key = (id: string, version?: number) => `${id}@${version ?? 'latest'}`;
  const found = new Map<string, AgentObject>();
  for (const r of refs) {
    if (!hasPrefix(r.id, 'agent')) continue; // unknown ids surface as a clear 404 from the domain
    if ((await store.workspaces.ownerOf('agent', r.id)) !== workspaceId) continue; // another workspace's: unknown here
    const a = await store.agents.get(r.id, r.version);
    if (a) found.set(key(r.id, r.version), a as unknown as AgentObject);
  }
  return (id, version) => found.get(key(id, version));
}

export function registerAgentRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const now = () => isoAt(deps.clock.now());

  app.post('/v1/agents', async (req) => {
    const params = parseWith(agentCreateSchema, req.body);
    const lookup = await prefetchRoster(store, multiagentParamRefs(params.multiagent), req.principal.workspaceId);
    const agent = createAgent(params, { id: newId('agent'), now: now(), lookup });
    assertKnownModel(deps.models, agent.model.id);
    for (const a of advisorModels(params.multiagent)) assertKnownModel(deps.models, a.id, a.field);
    await store.agents.insert(asJson(agent), req.principal.workspaceId);
    return agent;
  });

  app.get<IdParams>('/v1/agents/:id', async (req) => {
    const version = queryInt(queryOf(req), 'version', { min: 1 });
    return loadAgent(store, req.params.id, version);
  });

  app.post<IdParams>('/v1/agents/:id', async (req) => {
    const params = parseWith(agentUpdateSchema, req.body);
    if (params.model != null) assertKnownModel(deps.models, typeof params.model === 'string' ? params.model : params.model.id);
    for (const a of advisorModels(params.multiagent)) assertKnownModel(deps.models, a.id, a.field);
    const lookup = await prefetchRoster(store, multiagentParamRefs(params.multiagent), req.principal.workspaceId);
    // addVersion refuses to write when another update landed since we read; merge once more
    // against the fresh latest (last-write-wins clients) before giving up with a 409.
    for (let attempt = 0; ; attempt++) {
      const current = await loadAgent(store, req.params.id);
      const { agent, changed } = updateAgent(current, params, { now: now(), lookup });
      if (!changed) return agent;
      if (await store.agents.addVersion(asJson(agent), current.version)) return agent;
      if (attempt >= 1) throw conflict(`agent ${current.id} was modified concurrently; retrieve it and retry`);
    }
  });

  app.get('/v1/agents', async (req) => {
    const q = queryOf(req);
    const page = pageParams(q, { order: 'desc' });
    const result = await store.agents.list({
      ...page,
      workspaceId: req.principal.workspaceId,
      createdGte: queryTimestamp(q, 'created_at[gte]'),
      createdLte: queryTimestamp(q, 'created_at[lte]'),
      includeArchived: queryBool(q, 'include_archived') ?? false,
    });
    return pageBody(result, page.order);
  });

  app.post<IdParams>('/v1/agents/:id/archive', async (req) => {
    const agent = await loadAgent(store, req.params.id);
    // Archive is permanent; archiving again is a no-op that returns the agent.
    if (agent.archived_at) return agent;
    await store.agents.archive(agent.id, now());
    return loadAgent(store, agent.id);
  });

  app.get<IdParams>('/v1/agents/:id/versions', async (req) => {
    const q = queryOf(req);
    await loadAgent(store, req.params.id);
    const page = pageParams(q, { order: 'desc' });
    return pageBody(await store.agents.listVersions(req.params.id, page), page.order);
  });
}
