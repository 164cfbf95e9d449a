// Workspace scoping at the HTTP edge (issue 11): which workspace a request acts in (the key's
// binding, or the `anthropic-workspace-id` header for an organization key), and the guard that
// makes a resource of another workspace a 404 — with the same message an unknown id gets, so ids
// of other workspaces never leak. Every route with a resource id in its path is covered by the
// guard, routes added later included; list and create routes pass the workspace to the store.
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/work.ts';
import type { Store, WorkspaceResourceKind } from '../ports/store.ts';
import { forbidden, invalidRequest, notFound } from '../protocol/errors.ts';
import type { RouteRef } from './scopes.ts';

export const WORKSPACE_HEADER = 'anthropic-workspace-id';
const WORKSPACE_ID = /^wrkspc_[A-Za-z0-9_-]{1,64}$/;

/**
 * Applies the workspace header to an authenticated principal. A key bound to a workspace (and
 * environment keys and session tokens, bound to theirs) may omit it and is refused (403) when it
 * names another; an organization key selects any existing workspace (404 when unknown). An archived
 * workspace can be read but not changed.
 */
export async function selectWorkspace(p: Principal, headers: FastifyRequest['headers'], method: string, store: Store): Promise<Principal> {
  const raw = headers[WORKSPACE_HEADER];
  if (raw === undefined) return p;
  if (typeof raw !== 'string' || !WORKSPACE_ID.test(raw)) {
    throw invalidRequest(`${WORKSPACE_HEADER}: expected one workspace id like "wrkspc_…"`);
  }
  const bound = p.kind === 'api_key' ? p.keyWorkspaceId : p.workspaceId;
  if (bound !== null) {
    if (raw !== bound) throw forbidden(`this credential belongs to workspace ${bound} and cannot act in workspace ${raw}`);
    return p;
  }
  const ws = await store.workspaces.get(raw);
  if (!ws) throw notFound(`workspace ${raw} not found`);
  if (ws.archived_at && method !== 'GET' && method !== 'HEAD') throw forbidden(`workspace ${raw} is archived; it can be read but not changed`);
  return { ...p, workspaceId: raw };
}

/** Path prefix → the kind its `:id`-like parameter names, and the 404 message the route gives an unknown id. */
const GUARDED: Array<{ prefix: string; param: string; kind: WorkspaceResourceKind; missing: (id: string) => ReturnType<typeof notFound> }> = [
  { prefix: '/v1/agents/:id', param: 'id', kind: 'agent', missing: (id) => notFound(`no agent with id ${id}`) },
  { prefix: '/v1/environments/:id', param: 'id', kind: 'environment', missing: (id) => notFound(`no environment with id ${id}`, 'environment_not_found') },
  { prefix: '/v1/sessions/:id', param: 'id', kind: 'session', missing: (id) => notFound(`session ${id} not found`) },
  { prefix: '/v1/vaults/:vaultId', param: 'vaultId', kind: 'vault', missing: (id) => notFound(`no vault with id ${id}`) },
  { prefix: '/v1/files/:id', param: 'id', kind: 'file', missing: (id) => notFound(`file ${id} not found`) },
];

/** The guarded resource a route pattern addresses, if any. */
export function guardedResource(url: string | undefined, params: RouteRef['params']): { kind: WorkspaceResourceKind; id: string; missing: (id: string) => ReturnType<typeof notFound> } | undefined {
  if (url === undefined) return undefined;
  for (const g of GUARDED) {
    if (url !== g.prefix && !url.startsWith(`${g.prefix}/`)) continue;
    const id = params[g.param];
    return id === undefined ? undefined : { kind: g.kind, id, missing: g.missing };
  }
  return undefined;
}

/**
 * Throws the route's own 404 when the addressed resource is unknown or exists in another workspace.
 * Both are answered here, before the body is validated, so a malformed body cannot tell them apart
 * (a 400 for an unknown id but a 404 for another workspace's would leak that the id exists).
 */
export async function assertInWorkspace(store: Store, workspaceId: string, route: RouteRef): Promise<void> {
  const target = guardedResource(route.url, route.params);
  if (!target) return;
  if ((await store.workspaces.ownerOf(target.kind, target.id)) !== workspaceId) throw target.missing(target.id);
}

/**
 * For ids named in a body (a session's agent, environment, vaults and files, an agent's roster):
 * `missing(id)` when the resource exists but belongs to another workspace. Unknown ids pass, so the
 * use-case answers them with its own 404.
 */
export async function assertOwned(
  store: Store, workspaceId: string, kind: WorkspaceResourceKind, id: string, missing: (id: string) => Error,
): Promise<void> {
  const owner = await store.workspaces.ownerOf(kind, id);
  if (owner !== undefined && owner !== workspaceId) throw missing(id);
}
