// Generated matrices over every route the server registers (issue 11):
// - cross-workspace: a key of workspace A addressing any resource of workspace B gets the same 404
//   an unknown id gets (never a 403), B's resources are unchanged, and A's lists never show them;
// - roles: every route × role is allowed or a 403 permission_error naming the missing permission,
//   as src/domain/roles.ts and src/server/route-permissions.ts say, and a denied request changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { bearerClient } from '../worker/work-kit.ts';
import { call, clientFor, createKey, registeredRoutes } from './workspace-kit.ts';
import { authorize } from '../../src/server/scopes.ts';
import { routePermission } from '../../src/server/route-permissions.ts';
import { ROLE_NAMES, roleAllows } from '../../src/domain/roles.ts';
import { PUBLIC_PATHS } from '../../src/server/routes/health.ts';
import { isConsolePath } from '../../src/server/routes/console.ts';
import { ORGANIZATION_ONLY_ROUTES } from '../../src/server/route-permissions.ts';
import type { Principal } from '../../src/domain/work.ts';

let h: TestHangar;
let keyA: string;
let keyB: string;
let clientB: Anthropic;
const fxB: Record<string, string> = {};

const text = (t: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text: t }] });

beforeAll(async () => {
  h = await startHangar({ env: { HANGAR_AUTH_FAIL_LIMIT: '0' } });
  const a = await h.client.beta.organization.workspaces.create({ name: 'matrix-a' });
  const b = await h.client.beta.organization.workspaces.create({ name: 'matrix-b' });
  keyA = (await createKey(h.client, { name: 'a-admin', workspace_id: a.id, role: 'admin' })).key;
  const kb = await createKey(h.client, { name: 'b-admin', workspace_id: b.id, role: 'admin' });
  keyB = kb.key;
  clientB = clientFor(h, keyB);
  const c = clientB;
  const agent = await c.beta.agents.create({ name: 'b-agent', model: 'claude-sonnet-4-6' });
  const env = await c.beta.environments.create({ name: 'b-env' });
  const selfHosted = await c.beta.environments.create({ name: 'b-self-hosted', config: { type: 'self_hosted' } as never });
  const file = await c.beta.files.upload({ file: new File(['hello b'], 'b.txt', { type: 'text/plain' }) });
  const session = await c.beta.sessions.create({ agent: agent.id, environment_id: env.id, resources: [{ type: 'file', file_id: file.id }] });
  const vault = await c.beta.vaults.create({ display_name: 'b-vault' } as never);
  const cred = await c.beta.vaults.credentials.create(vault.id, {
    auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: 'tok-b-secret' },
  } as never);
  const envKey = await c.post<{ id: string; key: string }>(`/v1/environments/${selfHosted.id}/keys`);
  await c.beta.sessions.create({ agent: agent.id, environment_id: selfHosted.id, initial_events: [text('hi') as never] });
  const worker = bearerClient(h.url, envKey.key);
  const item = (await worker.beta.environments.work.poll(selfHosted.id, { block_ms: 999 }))!;
  const sessionRow = await c.beta.sessions.retrieve(session.id);
  Object.assign(fxB, {
    agent: agent.id, env: env.id, selfHosted: selfHosted.id, session: session.id, file: file.id, vault: vault.id, cred: cred.id,
    envKeyId: envKey.id, work: item.id, resource: (sessionRow.resources[0] as { id: string }).id, workspace: b.id, apiKey: kb.id,
    thread: 'sthr_000000000000000000000000',
  });
});

afterAll(async () => {
  await h?.close();
});

/** Fills a route pattern with B's fixtures: each parameter by what its path segment names. */
function fill(url: string, fx: Record<string, string>): string | undefined {
  const env = /\/(keys|work)/.test(url) ? fx.selfHosted : fx.env;
  const byParam: Record<string, string | undefined> = {
    keyId: fx.envKeyId, workId: fx.work, resourceId: fx.resource, threadId: fx.thread, credentialId: fx.cred, vaultId: fx.vault,
    workspaceId: fx.workspace, apiKeyId: fx.apiKey,
  };
  let missing = false;
  const path = url.replace(/:(\w+)/g, (_m, p: string) => {
    let v = byParam[p];
    if (p === 'id') {
      v = url.startsWith('/v1/agents') ? fx.agent : url.startsWith('/v1/environments') ? env : url.startsWith('/v1/sessions') ? fx.session
        : url.startsWith('/v1/files') ? fx.file : url.startsWith('/v1/organizations/telemetry_destinations') ? fx.destination
          : url.startsWith('/v1/organizations/spend_limits') ? fx.spendLimit : undefined;
    }
    if (v === undefined) missing = true;
    return encodeURIComponent(v ?? '');
  });
  return missing ? undefined : path;
}

const apiPrincipal: Principal = { kind: 'api_key', workspaceId: 'wrkspc_default', keyId: 'key_x', role: 'admin', keyWorkspaceId: null };
const apiKeysMayCall = (method: string, url: string) => {
  try {
    authorize(apiPrincipal, { method, url, params: {} });
    return true;
  } catch {
    return false;
  }
};

/** The first path parameter (the workspace-owned parent) swapped for an unknown id of the same kind. */
function withUnknownParent(url: string, path: string, fx: Record<string, string>): { path: string; known: string; unknown: string } {
  const filled = fill(url, fx)!;
  const first = filled.split('/').find((seg, i) => url.split('/')[i]?.startsWith(':'))!;
  const known = decodeURIComponent(first);
  const unknown = `${known.split('_')[0]}_${'0'.repeat(24)}`;
  return { path: path.replace(first, encodeURIComponent(unknown)), known, unknown };
}

async function snapshotB(): Promise<string> {
  const c = clientB;
  return JSON.stringify([
    await c.beta.agents.retrieve(fxB.agent), await c.beta.environments.retrieve(fxB.env), await c.beta.environments.retrieve(fxB.selfHosted),
    (await c.beta.sessions.retrieve(fxB.session)).resources, (await c.beta.sessions.retrieve(fxB.session)).archived_at,
    await c.beta.files.retrieveMetadata(fxB.file), await c.beta.vaults.retrieve(fxB.vault),
    await c.beta.vaults.credentials.retrieve(fxB.cred, { vault_id: fxB.vault }),
    (await c.get<{ data: unknown[] }>(`/v1/environments/${fxB.selfHosted}/keys`)).data,
    await c.beta.organization.workspaces.retrieve(fxB.workspace), await c.beta.organization.apiKeys.retrieve(fxB.apiKey),
  ]);
}

describe('cross-workspace matrix (generated from the registered routes)', () => {
  // Organization-only governance routes refuse every bound key whatever the id (tested below).
  const routes = registeredRoutes().filter((r) => r.url.includes(':') && !r.url.startsWith('/v1/models') && !r.url.startsWith('/v1/organizations/rbac_roles')
    && !ORGANIZATION_ONLY_ROUTES.test(r.url));

  it('refuses every organization-only governance route to a workspace-bound key (403), whatever its role', async () => {
    const governance = registeredRoutes().filter((r) => ORGANIZATION_ONLY_ROUTES.test(r.url));
    expect(governance.length).toBeGreaterThanOrEqual(6);
    // Registered with literal paths, so the telemetry destination routes are covered too.
    expect(governance.filter((r) => r.url.startsWith('/v1/organizations/telemetry_destinations'))).toHaveLength(9);
    for (const r of governance) {
      const got = await call(h, keyA, r.method, r.url.replace(/:(\w+)/g, 'spl_000000000000000000000000'), { body: {} });
      expect(got.status, `${r.method} ${r.url}`).toBe(403);
      expect(got.body.error.type).toBe('permission_error');
      expect(got.body.error.message).toContain('only an organization API key');
    }
  });

  it('covers every route with a resource id', () => {
    expect(routes.length).toBeGreaterThan(45);
  });

  it('answers every route addressing a resource of another workspace with the 404 an unknown id gets, changing nothing', async () => {
    const before = await snapshotB();
    const checked: string[] = [];
    for (const r of routes) {
      if (!apiKeysMayCall(r.method, r.url)) continue; // worker-only routes: 403 for every API key, whatever the id
      const path = fill(r.url, fxB)!;
      expect(path, `${r.method} ${r.url}: give its path parameters a workspace-B fixture in fill()`).toBeDefined();
      const got = await call(h, keyA, r.method, path, { body: {} });
      // Same answer as for an id that exists nowhere: nothing tells A that B's id exists.
      const u = withUnknownParent(r.url, path, fxB);
      const unknown = await call(h, keyA, r.method, u.path, { body: {} });
      expect(got.status, `${r.method} ${path}`).toBe(unknown.status);
      expect(got.body.error.message.replaceAll(u.known, u.unknown), `${r.method} ${r.url}`).toBe(unknown.body.error.message);
      if (got.status === 403) {
        // Only organization routes a bound key may never call (whatever the id): the answer names the key, not the resource.
        expect(r.url, `${r.method} ${r.url}`).toMatch(/^\/v1\/organizations\/workspaces\//);
        expect(got.body.error.message).not.toContain(u.known);
      } else {
        expect(got.status, `${r.method} ${path}`).toBe(404);
        expect(got.body.error.type).toBe('not_found_error');
      }
      checked.push(`${r.method} ${r.url}`);
    }
    expect(checked.length).toBeGreaterThan(40);
    expect(await snapshotB()).toBe(before);
    // B still reaches all of it (the 404s were the scoping, not missing fixtures).
    for (const r of routes.filter((x) => x.method === 'GET' && !x.url.includes(':threadId') && apiKeysMayCall(x.method, x.url))) {
      expect((await call(h, keyB, 'GET', fill(r.url, fxB)!)).status, `B: GET ${r.url}`).toBe(200);
    }
  });

  it('never lists another workspace\'s resources', async () => {
    const a = clientFor(h, keyA);
    const all = JSON.stringify([
      (await a.beta.agents.list()).data, (await a.beta.environments.list()).data, (await a.beta.sessions.list()).data,
      (await a.beta.files.list()).data, (await a.beta.vaults.list()).data, (await a.beta.organization.workspaces.list()).data,
      (await a.beta.organization.apiKeys.list()).data, (await a.beta.files.list({ scope_id: fxB.session } as never)).data,
    ]);
    for (const id of Object.values(fxB)) expect(all).not.toContain(id);
  });

  it('refuses body references to another workspace\'s resources with 404', async () => {
    const a = clientFor(h, keyA);
    const ownEnv = await a.beta.environments.create({ name: 'a-env' });
    const ownAgent = await a.beta.agents.create({ name: 'a-agent', model: 'claude-sonnet-4-6' });
    const cases: Array<() => Promise<unknown>> = [
      () => a.beta.sessions.create({ agent: fxB.agent, environment_id: ownEnv.id }),
      () => a.beta.sessions.create({ agent: ownAgent.id, environment_id: fxB.env }),
      () => a.beta.sessions.create({ agent: ownAgent.id, environment_id: ownEnv.id, vault_ids: [fxB.vault] }),
      () => a.beta.sessions.create({ agent: ownAgent.id, environment_id: ownEnv.id, resources: [{ type: 'file', file_id: fxB.file }] }),
      () => a.beta.agents.create({ name: 'coord', model: 'claude-sonnet-4-6', multiagent: { type: 'coordinator', agents: [{ type: 'agent', id: fxB.agent }] } } as never),
    ];
    const sessionsBefore = (await a.beta.sessions.list()).data.length;
    for (const c of cases) {
      const e = await c().then(() => undefined, (err: unknown) => err as { status: number });
      expect(e?.status).toBe(404);
    }
    const own = await a.beta.sessions.create({ agent: ownAgent.id, environment_id: ownEnv.id });
    const add = await call(h, keyA, 'POST', `/v1/sessions/${own.id}/resources`, { body: { type: 'file', file_id: fxB.file } });
    expect(add.status).toBe(404);
    // The grader would read a rubric file: another workspace's is refused like an unknown one.
    const outcome = (fileId: string) => ({ events: [{ type: 'user.define_outcome', description: 'd', rubric: { type: 'file', file_id: fileId } }] });
    const cross = await call(h, keyA, 'POST', `/v1/sessions/${own.id}/events`, { body: outcome(fxB.file) });
    const unknown = await call(h, keyA, 'POST', `/v1/sessions/${own.id}/events`, { body: outcome('file_000000000000000000000000') });
    expect(cross.status).toBe(400);
    expect(cross.body.error.message.replace(fxB.file, 'file_000000000000000000000000')).toBe(unknown.body.error.message);
    const crossCreate = await call(h, keyA, 'POST', '/v1/sessions', { body: { agent: ownAgent.id, environment_id: ownEnv.id, initial_events: outcome(fxB.file).events } });
    expect(crossCreate.status).toBe(400);
    expect((await a.beta.sessions.list()).data.length).toBe(sessionsBefore + 1);
  });
});

describe('role matrix (generated: every route × role)', () => {
  const roleKeys: Record<string, string> = {};
  beforeAll(async () => {
    // Organization keys, so only the role decides (a bound key is also kept out of organization routes).
    for (const role of ROLE_NAMES) roleKeys[role] = (await createKey(h.client, { name: `role-${role}`, role, workspace_id: null })).key;
  });

  /** Ids that exist nowhere: an allowed request is a 404/400 and changes nothing, a denied one a 403. */
  const nowhere: Record<string, string> = {
    agent: 'agent_000000000000000000000000', env: 'env_000000000000000000000000', selfHosted: 'env_000000000000000000000000',
    session: 'sesn_000000000000000000000000', file: 'file_000000000000000000000000', vault: 'vlt_000000000000000000000000',
    cred: 'vcrd_000000000000000000000000', envKeyId: 'envkey_000000000000000000000000', work: 'work_000000000000000000000000',
    resource: 'sesrsc_000000000000000000000000', thread: 'sthr_000000000000000000000000', workspace: 'wrkspc_000000000000000000000000',
    apiKey: 'key_000000000000000000000000', destination: 'tdst_000000000000000000000000', spendLimit: 'spl_000000000000000000000000',
  };
  const concrete = (url: string) => fill(url, nowhere) ?? url.replace(/:(\w+)/g, 'x_000000000000000000000000');

  it('allows exactly what each role grants and answers the rest with a 403 naming the permission', async () => {
    const before = await snapshotB();
    const keysBefore = (await h.hangar.store.apiKeys.list()).length;
    const governance = async () => JSON.stringify([
      (await h.client.beta.organization.telemetryDestinations.list()).data, (await h.client.beta.organization.spendLimits.list()).data,
    ]);
    const governanceBefore = await governance();
    let denied = 0;
    let governanceReached = 0;
    let allowed = 0;
    for (const r of registeredRoutes()) {
      if (PUBLIC_PATHS.has(r.url) || isConsolePath(r.url)) continue;
      const path = concrete(r.url);
      for (const role of ROLE_NAMES) {
        const got = await call(h, roleKeys[role], r.method, path, { body: {} });
        const expectAllowed = apiKeysMayCall(r.method, r.url) && roleAllows(role, routePermission(r));
        if (expectAllowed) {
          allowed++;
          expect(got.status, `${role}: ${r.method} ${r.url} ${JSON.stringify(got.body)}`).not.toBe(403);
          expect(got.status).toBeLessThan(500);
          // Governance routes with an id reach their handler: the id (of the right kind) exists nowhere,
          // or (an update) the empty body is refused first.
          if (ORGANIZATION_ONLY_ROUTES.test(r.url) && r.url.includes('/:id')) {
            if (got.status === 400) expect(`${r.method} ${got.body.error.type}`).toBe('POST invalid_request_error');
            else {
              expect(got.status, `${role}: ${r.method} ${r.url} ${JSON.stringify(got.body)}`).toBe(404);
              expect(got.body.error.message).toMatch(/tdst_0|spl_0/);
            }
            governanceReached++;
          }
        } else {
          denied++;
          expect(got.status, `${role}: ${r.method} ${r.url}`).toBe(403);
          expect(got.body.error.type).toBe('permission_error');
          if (apiKeysMayCall(r.method, r.url)) expect(got.body.error.message).toContain(routePermission(r));
        }
      }
    }
    expect(denied).toBeGreaterThan(50);
    expect(allowed).toBeGreaterThan(100);
    expect(await snapshotB()).toBe(before);
    expect((await h.hangar.store.apiKeys.list()).length).toBe(keysBefore);
    expect(await governance()).toBe(governanceBefore);
    // Telemetry destinations (7 routes with an id) and spend limits (2) reached by the admin only.
    expect(governanceReached).toBe(9);
  });

  it('matches the roles the issue describes', () => {
    const can = (role: string, method: string, url: string) => roleAllows(role, routePermission({ method, url }));
    // viewer: read-only
    expect(can('viewer', 'GET', '/v1/sessions/:id/events')).toBe(true);
    for (const [m, u] of [['POST', '/v1/agents'], ['POST', '/v1/sessions'], ['POST', '/v1/sessions/:id/events'], ['POST', '/v1/vaults'], ['DELETE', '/v1/files/:id']]) {
      expect(can('viewer', m, u), `viewer ${m} ${u}`).toBe(false);
    }
    // runner: start and steer sessions, never create or change agents, environments or vaults
    expect(can('runner', 'POST', '/v1/sessions')).toBe(true);
    expect(can('runner', 'POST', '/v1/sessions/:id/events')).toBe(true);
    for (const [m, u] of [['POST', '/v1/agents'], ['POST', '/v1/agents/:id'], ['POST', '/v1/environments'], ['POST', '/v1/vaults'], ['POST', '/v1/vaults/:vaultId/credentials']]) {
      expect(can('runner', m, u), `runner ${m} ${u}`).toBe(false);
    }
    // developer: agents, sessions, vaults in its workspaces; never keys or workspaces
    for (const [m, u] of [['POST', '/v1/agents'], ['POST', '/v1/environments'], ['POST', '/v1/vaults'], ['DELETE', '/v1/sessions/:id']]) {
      expect(can('developer', m, u), `developer ${m} ${u}`).toBe(true);
    }
    for (const [m, u] of [['POST', '/v1/organizations/api_keys'], ['GET', '/v1/organizations/api_keys'], ['POST', '/v1/organizations/workspaces'], ['GET', '/metrics']]) {
      expect(can('developer', m, u), `developer ${m} ${u}`).toBe(false);
    }
    // governance (spend limits, audit log, telemetry destinations): organization admins only
    for (const [m, u] of [
      ['POST', '/v1/organizations/telemetry_destinations'], ['GET', '/v1/organizations/telemetry_destinations/:id'],
      ['POST', '/v1/organizations/telemetry_destinations/:id/workspaces/:workspaceId'], ['POST', '/v1/organizations/spend_limits'], ['GET', '/v1/audit_events'],
    ]) {
      expect(can('developer', m, u), `developer ${m} ${u}`).toBe(false);
      expect(can('admin', m, u), `admin ${m} ${u}`).toBe(true);
    }
    // admin: everything, and a route nobody declared is admin-only
    expect(can('admin', 'POST', '/v1/organizations/api_keys')).toBe(true);
    expect(routePermission({ method: 'POST', url: '/v1/some/new/route' })).toBe('organization:admin');
  });
});
