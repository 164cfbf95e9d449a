// Every route declares the permission an API key's role needs (src/server/route-permissions.ts):
// a route the server registers without an entry would be admin-only by default, which is safe but
// must be a decision, so it is listed here with its reason. Probes need no key at all.
import { describe, expect, it } from 'vitest';
import { ROUTE_PERMISSIONS, routePermission } from '../../src/server/route-permissions.ts';
import { PERMISSIONS } from '../../src/domain/roles.ts';
import { PUBLIC_PATHS } from '../../src/server/routes/health.ts';
import { registeredRoutes } from '../conformance/workspace-kit.ts';

/** Routes deliberately left to the `organization:admin` default. */
const ADMIN_BY_DEFAULT: Record<string, string> = {
  'GET /metrics': 'operator metrics of every workspace (or HANGAR_METRICS_KEY)',
  // Organization governance: admins of the organization only (bound keys are refused too: ORGANIZATION_ONLY_ROUTES).
  'GET /v1/audit_events': 'the audit log of every workspace',
  'POST /v1/organizations/spend_limits': 'spend limits cap every workspace',
  'GET /v1/organizations/spend_limits': 'spend limits cap every workspace',
  'GET /v1/organizations/spend_limits/effective': 'spend limits cap every workspace',
  'GET /v1/organizations/spend_limits/:id': 'spend limits cap every workspace',
  'DELETE /v1/organizations/spend_limits/:id': 'spend limits cap every workspace',
  'POST /v1/organizations/telemetry_destinations': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'GET /v1/organizations/telemetry_destinations': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'GET /v1/organizations/telemetry_destinations/:id': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'POST /v1/organizations/telemetry_destinations/:id': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'DELETE /v1/organizations/telemetry_destinations/:id': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'POST /v1/organizations/telemetry_destinations/:id/test': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'GET /v1/organizations/telemetry_destinations/:id/workspaces': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'POST /v1/organizations/telemetry_destinations/:id/workspaces/:workspaceId': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  'DELETE /v1/organizations/telemetry_destinations/:id/workspaces/:workspaceId': 'telemetry destinations receive the traces of the workspaces they cover, with stored (sealed) headers',
  // Static console files are served without a key (the console signs in with one); never authorized.
  'GET /console': 'static files, no key',
  'GET /console/*': 'static files, no key',
};

describe('route permissions', () => {
  it('has an entry for every registered route (or a reason to be admin-only)', () => {
    const routes = registeredRoutes().filter((r) => !PUBLIC_PATHS.has(r.url)).map((r) => `${r.method} ${r.url}`);
    expect(routes.length).toBeGreaterThan(60);
    const undeclared = routes.filter((r) => !(r in ROUTE_PERMISSIONS) && !(r in ADMIN_BY_DEFAULT));
    expect(undeclared, 'add these routes to ROUTE_PERMISSIONS in src/server/route-permissions.ts').toEqual([]);
  });

  it('names only real permissions and routes that exist', () => {
    const routes = new Set(registeredRoutes().map((r) => `${r.method} ${r.url}`));
    // (GET /metrics is registered through METRICS_PATH, which the scan of string literals does not see.)
    for (const route of Object.keys(ADMIN_BY_DEFAULT)) {
      if (route !== 'GET /metrics') expect(routes.has(route), `${route} is listed admin-only but not registered`).toBe(true);
    }
    // Nothing is both declared and listed as an admin-only default.
    expect(Object.keys(ADMIN_BY_DEFAULT).filter((r) => r in ROUTE_PERMISSIONS)).toEqual([]);
    for (const [route, permission] of Object.entries(ROUTE_PERMISSIONS)) {
      expect(PERMISSIONS, route).toContain(permission);
      expect(routes.has(route), `${route} is declared but not registered`).toBe(true);
    }
  });

  it('defaults an undeclared route to organization:admin and treats HEAD as GET', () => {
    expect(routePermission({ method: 'POST', url: '/v1/not/declared' })).toBe('organization:admin');
    expect(routePermission({ method: 'GET', url: undefined })).toBe('organization:admin');
    expect(routePermission({ method: 'HEAD', url: '/v1/agents' })).toBe('agents:read');
  });
});
