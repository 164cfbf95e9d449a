// Wire objects of the organization API (issue 11) built from stored state: workspaces (BetaWorkspace),
// API keys (BetaAPIKey, with Hangar's `role` and `last_used_at` additions) and roles (BetaRBACRole,
// BetaRBACRolePermission). Pure: no I/O, ids and times come in.
import type { ApiKeyRow } from '../ports/store.ts';
import { ROLES, ROLE_NAMES, type RoleName } from './roles.ts';
import { DEFAULT_WORKSPACE_ID } from './workspace.ts';

export const DEFAULT_DISPLAY_COLOR = '#6C5BB9';
/** Hangar has one organization; this id names it in permission resources. */
export const ORGANIZATION_ID = 'org_hangar';
/** Built-in roles exist from the start: their timestamps are the epoch. */
const BUILT_IN_AT = '1970-01-01T00:00:00.000Z';

export interface WorkspaceObject {
  type: 'workspace';
  id: string;
  name: string;
  created_at: string;
  archived_at: string | null;
  display_color: string;
  tags: Record<string, string>;
  external_key_id: null;
  user_profile_id: null;
  compartment_id: string;
  data_residency: { workspace_geo: 'us'; allowed_inference_geos: 'unrestricted'; default_inference_geo: 'global' };
}

export function newWorkspace(p: { name: string; display_color?: string | null; tags?: Record<string, string> | null }, ctx: { id: string; now: string }): WorkspaceObject {
  return {
    type: 'workspace', id: ctx.id, name: p.name, created_at: ctx.now, archived_at: null,
    display_color: p.display_color ?? DEFAULT_DISPLAY_COLOR, tags: p.tags ?? {}, external_key_id: null, user_profile_id: null,
    compartment_id: ctx.id, data_residency: { workspace_geo: 'us', allowed_inference_geos: 'unrestricted', default_inference_geo: 'global' },
  };
}

/** Applies an update; `changed` is false when nothing differs (no write needed). */
export function updateWorkspace(
  ws: WorkspaceObject, p: { name?: string; display_color?: string; tags?: Record<string, string | null> | null },
): { workspace: WorkspaceObject; changed: boolean } {
  const tags = { ...ws.tags };
  for (const [k, v] of Object.entries(p.tags ?? {})) {
    if (v === null) delete tags[k];
    else tags[k] = v;
  }
  const next: WorkspaceObject = { ...ws, name: p.name ?? ws.name, display_color: p.display_color ?? ws.display_color, tags };
  return { workspace: next, changed: JSON.stringify(next) !== JSON.stringify(ws) };
}

export const isDefaultWorkspace = (id: string) => id === DEFAULT_WORKSPACE_ID;

export type ApiKeyWireStatus = 'active' | 'inactive' | 'archived' | 'expired';

/** An active key past its `expires_at` is `expired`; inactive and archived keys keep their status. */
export function apiKeyStatus(k: ApiKeyRow, nowMs: number): ApiKeyWireStatus {
  if (k.status === 'active' && k.expiresAt !== null && Date.parse(k.expiresAt) <= nowMs) return 'expired';
  return k.status;
}

/** The BetaAPIKey object, plus Hangar's `role` and `last_used_at`. Never the key or its hash. */
export function presentApiKey(k: ApiKeyRow, nowMs: number) {
  return {
    type: 'api_key' as const,
    id: k.id,
    name: k.name ?? '',
    created_at: k.createdAt,
    // The creating key acts as a service account would (Hangar has no users).
    created_by: k.createdBy ? { id: k.createdBy, type: 'service_account' as const } : null,
    expires_at: k.expiresAt,
    partial_key_hint: k.hint,
    principal: null,
    scope: k.workspaceId === null ? { type: 'organization' as const } : { type: 'workspace' as const, workspace_id: k.workspaceId },
    status: apiKeyStatus(k, nowMs),
    role: k.role,
    last_used_at: k.lastUsedAt,
  };
}

export function presentRole(name: RoleName) {
  return {
    type: 'rbac_role' as const, id: name, display_name: ROLES[name].displayName, source: { type: 'built_in' as const },
    created_at: BUILT_IN_AT, updated_at: BUILT_IN_AT,
  };
}

export const allRoles = () => ROLE_NAMES.map(presentRole);

export function rolePermissions(name: RoleName) {
  return [...ROLES[name].permissions].map((action) => ({
    type: 'rbac_role_permission' as const, action, resource: { type: 'organization' as const, organization_id: ORGANIZATION_ID },
  }));
}
