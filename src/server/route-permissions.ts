// What each route needs of an API key's role (issue 11). One entry per route, keyed like scopes.ts
// (`METHOD pattern`); a route without an entry needs `organization:admin`, so a route added without
// thinking about roles is admin-only rather than open. Environment keys and session tokens are
// limited by scopes.ts instead and have no role.
import type { Principal } from '../domain/work.ts';
import { roleAllows, type Permission } from '../domain/roles.ts';
import { forbidden } from '../protocol/errors.ts';
import type { RouteRef } from './scopes.ts';

const read = (resource: string, paths: string[]): Array<[string, Permission]> => paths.map((p) => [`GET ${p}`, `${resource}:read` as Permission]);

export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = Object.fromEntries<Permission>([
  ['POST /v1/agents', 'agents:write'],
  ['POST /v1/agents/:id', 'agents:write'],
  ['POST /v1/agents/:id/archive', 'agents:write'],
  ...read('agents', ['/v1/agents', '/v1/agents/:id', '/v1/agents/:id/versions']),

  ['POST /v1/environments', 'environments:write'],
  ['POST /v1/environments/:id', 'environments:write'],
  ['POST /v1/environments/:id/archive', 'environments:write'],
  ['DELETE /v1/environments/:id', 'environments:write'],
  ['POST /v1/environments/:id/keys', 'environments:write'],
  ['DELETE /v1/environments/:id/keys/:keyId', 'environments:write'],
  ['POST /v1/environments/:id/work/:workId', 'environments:write'],
  ['POST /v1/environments/:id/work/:workId/stop', 'environments:write'],
  // Worker routes: environment keys and session tokens only (scopes.ts refuses API keys), declared for completeness.
  ['GET /v1/environments/:id/work/poll', 'environments:write'],
  ['POST /v1/environments/:id/work/:workId/ack', 'environments:write'],
  ['POST /v1/environments/:id/work/:workId/heartbeat', 'environments:write'],
  ...read('environments', [
    '/v1/environments', '/v1/environments/:id', '/v1/environments/:id/keys', '/v1/environments/:id/work',
    '/v1/environments/:id/work/:workId', '/v1/environments/:id/work/stats',
  ]),

  ['POST /v1/sessions', 'sessions:write'],
  ['POST /v1/sessions/:id', 'sessions:write'],
  ['POST /v1/sessions/:id/archive', 'sessions:write'],
  ['DELETE /v1/sessions/:id', 'sessions:delete'],
  ['POST /v1/sessions/:id/events', 'sessions:write'],
  ['POST /v1/sessions/:id/resources', 'sessions:write'],
  ['POST /v1/sessions/:id/resources/:resourceId', 'sessions:write'],
  ['DELETE /v1/sessions/:id/resources/:resourceId', 'sessions:write'],
  ['POST /v1/sessions/:id/threads/:threadId/archive', 'sessions:write'],
  ...read('sessions', [
    '/v1/sessions', '/v1/sessions/:id', '/v1/sessions/:id/events', '/v1/sessions/:id/events/stream',
    '/v1/sessions/:id/resources', '/v1/sessions/:id/resources/:resourceId', '/v1/sessions/:id/threads',
    '/v1/sessions/:id/threads/:threadId', '/v1/sessions/:id/threads/:threadId/events', '/v1/sessions/:id/threads/:threadId/stream',
  ]),

  ['POST /v1/vaults', 'vaults:write'],
  ['POST /v1/vaults/:vaultId', 'vaults:write'],
  ['POST /v1/vaults/:vaultId/archive', 'vaults:write'],
  ['DELETE /v1/vaults/:vaultId', 'vaults:write'],
  ['POST /v1/vaults/:vaultId/credentials', 'vaults:write'],
  ['POST /v1/vaults/:vaultId/credentials/:credentialId', 'vaults:write'],
  ['POST /v1/vaults/:vaultId/credentials/:credentialId/archive', 'vaults:write'],
  ['DELETE /v1/vaults/:vaultId/credentials/:credentialId', 'vaults:write'],
  ['POST /v1/vaults/:vaultId/credentials/:credentialId/mcp_oauth_validate', 'vaults:write'],
  ...read('vaults', ['/v1/vaults', '/v1/vaults/:vaultId', '/v1/vaults/:vaultId/credentials', '/v1/vaults/:vaultId/credentials/:credentialId']),

  ['POST /v1/files', 'files:write'],
  ['DELETE /v1/files/:id', 'files:write'],
  ...read('files', ['/v1/files', '/v1/files/:id', '/v1/files/:id/content']),

  ...read('models', ['/v1/models', '/v1/models/:id']),

  ['POST /v1/organizations/workspaces', 'workspaces:write'],
  ['POST /v1/organizations/workspaces/:workspaceId', 'workspaces:write'],
  ['POST /v1/organizations/workspaces/:workspaceId/archive', 'workspaces:write'],
  ...read('workspaces', ['/v1/organizations/workspaces', '/v1/organizations/workspaces/:workspaceId']),

  ['POST /v1/organizations/api_keys', 'api_keys:write'],
  ['POST /v1/organizations/api_keys/:apiKeyId', 'api_keys:write'],
  ['POST /v1/organizations/api_keys/:apiKeyId/rotate', 'api_keys:write'],
  ...read('api_keys', ['/v1/organizations/api_keys', '/v1/organizations/api_keys/:apiKeyId']),

  ...read('roles', ['/v1/organizations/rbac_roles', '/v1/organizations/rbac_roles/:roleId', '/v1/organizations/rbac_roles/:roleId/permissions']),
]);

/** The permission `route` needs (`organization:admin` when it declares none). */
export function routePermission(route: Pick<RouteRef, 'method' | 'url'>): Permission {
  const method = route.method === 'HEAD' ? 'GET' : route.method;
  return (route.url !== undefined && ROUTE_PERMISSIONS[`${method} ${route.url}`]) || 'organization:admin';
}

/**
 * Organization governance — spend limits, the audit log, telemetry destinations — spans every
 * workspace, so only organization API keys (not bound to a workspace) may use it, whatever their role.
 */
export const ORGANIZATION_ONLY_ROUTES = /^\/v1\/(organizations\/(spend_limits|telemetry_destinations)|audit_events)(\/|$)/;

/**
 * Throws 403 `permission_error` naming the missing permission when an API key's role lacks it, or
 * when a workspace-bound key calls an organization-only route.
 */
export function authorizeRole(p: Principal, route: RouteRef): void {
  if (p.kind !== 'api_key') return;
  if (p.keyWorkspaceId !== null && route.url !== undefined && ORGANIZATION_ONLY_ROUTES.test(route.url)) {
    throw forbidden(`only an organization API key may call ${route.method} ${route.url}; this key belongs to workspace ${p.keyWorkspaceId}`);
  }
  const needed = routePermission(route);
  if (!roleAllows(p.role, needed)) {
    throw forbidden(`this API key's role "${p.role}" lacks the permission ${needed} needed for ${route.method} ${route.url ?? 'this path'}`);
  }
}
