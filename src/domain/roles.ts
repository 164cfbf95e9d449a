// Roles and permissions (issue 11): the one table of what each API key role may do. Routes declare
// the permission they need (src/server/route-permissions.ts); a key whose role lacks it gets a 403
// naming the permission. Roles grow by inclusion: viewer ⊂ runner ⊂ developer ⊂ admin.
import { ROLE_NAMES } from '../protocol/organization-schemas.ts';

export const PERMISSIONS = [
  'agents:read', 'agents:write',
  'environments:read', 'environments:write',
  'sessions:read', 'sessions:write', 'sessions:delete',
  'vaults:read', 'vaults:write',
  'files:read', 'files:write',
  'models:read',
  'workspaces:read', 'workspaces:write',
  'api_keys:read', 'api_keys:write',
  'roles:read',
  /** Everything no other permission names (the default of a route that declares nothing). */
  'organization:admin',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export { ROLE_NAMES };
export type RoleName = (typeof ROLE_NAMES)[number];

const VIEWER: readonly Permission[] = [
  'agents:read', 'environments:read', 'sessions:read', 'vaults:read', 'files:read', 'models:read', 'workspaces:read', 'roles:read',
];
/** Start and steer sessions of existing agents and environments; never create or change those, or vaults. */
const RUNNER: readonly Permission[] = [...VIEWER, 'sessions:write', 'files:write'];
const DEVELOPER: readonly Permission[] = [...RUNNER, 'agents:write', 'environments:write', 'vaults:write', 'sessions:delete'];

export interface RoleDefinition {
  name: RoleName;
  displayName: string;
  permissions: ReadonlySet<Permission>;
}

export const ROLES: Record<RoleName, RoleDefinition> = {
  admin: { name: 'admin', displayName: 'Admin', permissions: new Set(PERMISSIONS) },
  developer: { name: 'developer', displayName: 'Developer', permissions: new Set(DEVELOPER) },
  runner: { name: 'runner', displayName: 'Runner', permissions: new Set(RUNNER) },
  viewer: { name: 'viewer', displayName: 'Viewer', permissions: new Set(VIEWER) },
};

export function isRoleName(v: unknown): v is RoleName {
  return typeof v === 'string' && (ROLE_NAMES as readonly string[]).includes(v);
}

/** Whether `role` grants `permission`. An unknown role (a future name in an older binary) grants nothing. */
export function roleAllows(role: string, permission: Permission): boolean {
  return isRoleName(role) && ROLES[role].permissions.has(permission);
}
