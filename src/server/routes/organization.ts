// HTTP routes of the organization API (issue 11) in the SDK's shapes: workspaces
// (`client.beta.organization.workspaces`), API keys (`.apiKeys`, plus Hangar's create and rotate
// extensions) and roles (`.rbacRoles`). A key bound to a workspace sees only that workspace and its
// keys; creating, changing or archiving workspaces and organization keys needs an organization key.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { ApiKeyRow, Json } from '../../ports/store.ts';
import { isoAt } from '../../ports/clock.ts';
import { forbidden, invalidRequest, notFound } from '../../protocol/errors.ts';
import { hasPrefix, newId } from '../../protocol/ids.ts';
import { apiKeyCreateSchema, apiKeyUpdateSchema, workspaceCreateSchema, workspaceUpdateSchema } from '../../protocol/organization-schemas.ts';
import {
  allRoles, apiKeyStatus, isDefaultWorkspace, newWorkspace, presentApiKey, presentRole, rolePermissions, updateWorkspace,
  type WorkspaceObject,
} from '../../domain/organization.ts';
import { isRoleName } from '../../domain/roles.ts';
import type { WorkspaceSpend } from '../../harness/spend-service.ts';
import { generateApiKey, hashKey, keyHint } from '../auth.ts';
import { pageBody, pageParams, parseWith, queryArray, queryBool, queryInt, queryOf, queryString } from '../http.ts';

type WsParams = { Params: { workspaceId: string } };
type KeyParams = { Params: { apiKeyId: string } };
type RoleParams = { Params: { roleId: string } };

/** Workspaces and keys are few; their lists are paged in memory over at most this many. */
const MAX_LISTED = 10_000;

/** The SDK's `Page`: `limit`, `before_id` / `after_id` over items in order; `first_id`, `last_id`, `has_more`. */
function idPage<T extends { id: string }>(items: T[], req: FastifyRequest) {
  const q = queryOf(req);
  const limit = queryInt(q, 'limit', { min: 1, max: 1000 }) ?? 20;
  const after = queryString(q, 'after_id');
  const before = queryString(q, 'before_id');
  if (after && before) throw invalidRequest('send at most one of after_id and before_id');
  let slice: T[];
  let hasMore: boolean;
  if (before) {
    const i = items.findIndex((x) => x.id === before);
    const end = i < 0 ? 0 : i;
    slice = items.slice(Math.max(0, end - limit), end);
    hasMore = end - limit > 0;
  } else {
    const start = after ? items.findIndex((x) => x.id === after) + 1 : 0;
    const from = after && start === 0 ? items.length : start;
    slice = items.slice(from, from + limit);
    hasMore = from + limit < items.length;
  }
  return { data: slice, has_more: hasMore, first_id: slice[0]?.id ?? null, last_id: slice[slice.length - 1]?.id ?? null };
}

function organizationKeyOnly(req: FastifyRequest, what: string): void {
  const p = req.principal;
  if (p.kind === 'api_key' && p.keyWorkspaceId !== null) throw forbidden(`only an organization API key may ${what}; this key belongs to workspace ${p.keyWorkspaceId}`);
}

/** The workspace a bound key may see: its own. Undefined for an organization key (all). */
const boundWorkspace = (req: FastifyRequest) => (req.principal.kind === 'api_key' ? req.principal.keyWorkspaceId ?? undefined : req.principal.workspaceId);

export function registerOrganizationRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const nowMs = () => deps.clock.now();

  async function loadWorkspace(req: FastifyRequest, id: string): Promise<WorkspaceObject> {
    const bound = boundWorkspace(req);
    const found = hasPrefix(id, 'wrkspc') && (bound === undefined || bound === id) ? await store.workspaces.get(id) : undefined;
    if (!found) throw notFound(`workspace ${id} not found`);
    return found as unknown as WorkspaceObject;
  }

  /** Workspace objects on the wire carry Hangar's `spend` extension (this month's spend, reserved, limit). */
  async function withSpend(list: WorkspaceObject[]): Promise<Array<WorkspaceObject & { spend: WorkspaceSpend }>> {
    const spend = await deps.spend.workspacesSpend(list.map((w) => w.id));
    return list.map((w) => ({ ...w, spend: spend.get(w.id)! }));
  }
  const presentWorkspace = async (ws: WorkspaceObject) => (await withSpend([ws]))[0];

  app.post('/v1/organizations/workspaces', async (req) => {
    organizationKeyOnly(req, 'create workspaces');
    const params = parseWith(workspaceCreateSchema, req.body);
    const ws = newWorkspace(params, { id: newId('wrkspc'), now: isoAt(nowMs()) });
    await store.workspaces.insert(ws as unknown as Json & WorkspaceObject);
    return presentWorkspace(ws);
  });

  app.get<WsParams>('/v1/organizations/workspaces/:workspaceId', async (req) => presentWorkspace(await loadWorkspace(req, req.params.workspaceId)));

  app.post<WsParams>('/v1/organizations/workspaces/:workspaceId', async (req) => {
    organizationKeyOnly(req, 'change workspaces');
    const params = parseWith(workspaceUpdateSchema, req.body);
    const current = await loadWorkspace(req, req.params.workspaceId);
    if (current.archived_at) throw invalidRequest(`workspace ${current.id} is archived and cannot be changed`);
    const { workspace, changed } = updateWorkspace(current, params);
    if (changed) await store.workspaces.update(workspace as unknown as Json & WorkspaceObject);
    return presentWorkspace(workspace);
  });

  app.get('/v1/organizations/workspaces', async (req) => {
    const q = queryOf(req);
    const ids = queryArray(q, 'ids', 100);
    const includeArchived = queryBool(q, 'include_archived') ?? false;
    const includeDefault = queryBool(q, 'include_default') ?? false;
    const bound = boundWorkspace(req);
    const all = (await store.workspaces.list({ limit: MAX_LISTED, order: 'asc', includeArchived, ids })).data as unknown as WorkspaceObject[];
    const visible = all.filter((w) => (bound === undefined || w.id === bound) && (includeDefault || !isDefaultWorkspace(w.id)));
    const page = idPage(visible, req);
    return { ...page, data: await withSpend(page.data) };
  });

  // Archiving is permanent: the workspace's keys are archived with it; its resources stay readable
  // to organization keys. The default workspace holds everything made without a workspace: it stays.
  app.post<WsParams>('/v1/organizations/workspaces/:workspaceId/archive', async (req) => {
    organizationKeyOnly(req, 'archive workspaces');
    const current = await loadWorkspace(req, req.params.workspaceId);
    if (isDefaultWorkspace(current.id)) throw invalidRequest('the default workspace cannot be archived');
    if (current.archived_at) return presentWorkspace(current);
    const at = isoAt(nowMs());
    const archived = { ...current, archived_at: at };
    await store.workspaces.update(archived as unknown as Json & WorkspaceObject);
    for (const k of await store.apiKeys.list()) {
      if (k.workspaceId === current.id && k.status !== 'archived') await store.apiKeys.update(k.id, { status: 'archived' }, at);
    }
    return presentWorkspace(archived);
  });

  // ---- API keys ------------------------------------------------------------------------------

  async function loadKey(req: FastifyRequest, id: string): Promise<ApiKeyRow> {
    const bound = boundWorkspace(req);
    const found = hasPrefix(id, 'key') ? await store.apiKeys.get(id) : undefined;
    if (!found || (bound !== undefined && found.workspaceId !== bound)) throw notFound(`API key ${id} not found`);
    return found;
  }

  /** Where a new key may be bound: the request's workspace by default; null (organization) only by organization keys. */
  async function keyWorkspace(req: FastifyRequest, requested: string | null | undefined): Promise<string | null> {
    if (requested === null) {
      organizationKeyOnly(req, 'create organization keys (workspace_id: null)');
      return null;
    }
    const id = requested ?? req.principal.workspaceId;
    const bound = boundWorkspace(req);
    if (bound !== undefined && id !== bound) throw forbidden(`this key belongs to workspace ${bound} and cannot create keys for workspace ${id}`);
    const ws = hasPrefix(id, 'wrkspc') ? await store.workspaces.get(id) : undefined;
    if (!ws) throw notFound(`workspace ${id} not found`);
    if (ws.archived_at) throw invalidRequest(`workspace ${id} is archived; keys cannot be created in it`);
    return id;
  }

  app.post('/v1/organizations/api_keys', async (req) => {
    const params = parseWith(apiKeyCreateSchema, req.body);
    const now = nowMs();
    if (params.expires_at && Date.parse(params.expires_at) <= now) throw invalidRequest('expires_at must be in the future');
    const workspaceId = await keyWorkspace(req, params.workspace_id);
    const secret = generateApiKey();
    const id = newId('key');
    await store.apiKeys.insert(id, hashKey(secret), isoAt(now), {
      name: params.name, hint: keyHint(secret), source: 'api', workspaceId, role: params.role ?? 'developer',
      expiresAt: params.expires_at ? isoAt(Date.parse(params.expires_at)) : null,
      createdBy: req.principal.kind === 'api_key' ? req.principal.keyId : null,
    });
    // The secret is in this response only; the store keeps its hash.
    return { ...presentApiKey((await store.apiKeys.get(id))!, now), key: secret };
  });

  app.get<KeyParams>('/v1/organizations/api_keys/:apiKeyId', async (req) => presentApiKey(await loadKey(req, req.params.apiKeyId), nowMs()));

  app.post<KeyParams>('/v1/organizations/api_keys/:apiKeyId', async (req) => {
    const params = parseWith(apiKeyUpdateSchema, req.body);
    const key = await loadKey(req, req.params.apiKeyId);
    if (params.status === 'active' && key.status === 'archived') throw invalidRequest(`API key ${key.id} is archived; archived keys cannot be reactivated`);
    await store.apiKeys.update(key.id, { name: params.name ?? undefined, status: params.status ?? undefined }, isoAt(nowMs()));
    return presentApiKey((await store.apiKeys.get(key.id))!, nowMs());
  });

  app.get('/v1/organizations/api_keys', async (req) => {
    const q = queryOf(req);
    const status = queryString(q, 'status');
    if (status !== undefined && !['active', 'inactive', 'archived', 'expired'].includes(status)) {
      throw invalidRequest('status: one of "active", "inactive", "archived", "expired"');
    }
    if (queryString(q, 'created_by_user_id') !== undefined) throw invalidRequest('created_by_user_id: Hangar has no users; keys are created by other keys');
    const workspaceId = queryString(q, 'workspace_id');
    const bound = boundWorkspace(req);
    const now = nowMs();
    const keys = (await store.apiKeys.list()).filter((k) => (bound === undefined || k.workspaceId === bound)
      && (workspaceId === undefined || k.workspaceId === workspaceId) && (status === undefined || apiKeyStatus(k, now) === status));
    return idPage(keys.map((k) => presentApiKey(k, now)), req);
  });

  // Rotation keeps the key's id, name, role and binding and replaces its secret: the old secret
  // stops working at once and the new one is in this response only.
  app.post<KeyParams>('/v1/organizations/api_keys/:apiKeyId/rotate', async (req) => {
    const key = await loadKey(req, req.params.apiKeyId);
    const now = nowMs();
    // The next start would replace a rotated bootstrap key with HANGAR_API_KEY's old value again.
    if (key.source === 'env') throw invalidRequest(`API key ${key.id} is the bootstrap key HANGAR_API_KEY; rotate it by setting a new value and restarting the server`);
    if (apiKeyStatus(key, now) !== 'active') throw invalidRequest(`API key ${key.id} is ${apiKeyStatus(key, now)}; only active keys can be rotated`);
    const secret = generateApiKey();
    if (!(await store.apiKeys.rotate(key.id, hashKey(secret), keyHint(secret)))) throw invalidRequest(`API key ${key.id} is no longer active`);
    return { ...presentApiKey((await store.apiKeys.get(key.id))!, now), key: secret };
  });

  // ---- roles ---------------------------------------------------------------------------------

  const role = (id: string) => {
    if (!isRoleName(id)) throw notFound(`role ${id} not found`);
    return id;
  };

  /** The SDK's `PageCursor` over a fixed list: positions 1..n are the sort keys. */
  function cursorPage<T>(items: T[], req: FastifyRequest) {
    const page = pageParams(queryOf(req), { order: 'asc', defaultLimit: 20, maxLimit: 1000 });
    const start = page.after ?? 0;
    const data = items.slice(start, start + page.limit);
    return pageBody({ data, next: start + page.limit < items.length ? start + page.limit : null }, 'asc');
  }

  app.get('/v1/organizations/rbac_roles', async (req) => cursorPage(allRoles(), req));
  app.get<RoleParams>('/v1/organizations/rbac_roles/:roleId', async (req) => presentRole(role(req.params.roleId)));
  app.get<RoleParams>('/v1/organizations/rbac_roles/:roleId/permissions', async (req) => cursorPage(rolePermissions(role(req.params.roleId)), req));
}
