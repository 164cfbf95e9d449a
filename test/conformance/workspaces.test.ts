// Workspaces, API keys and roles (issue 11) through the official SDK: `client.beta.organization`
// workspaces, apiKeys and rbacRoles in the SDK's shapes, Hangar's key create and rotate extension,
// workspace selection by the `anthropic-workspace-id` header, expiry, revocation and rotation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { hashKey } from '../../src/server/auth.ts';
import { call, clientFor, createKey } from './workspace-kit.ts';
import { rejection } from './helpers.ts';

let h: TestHangar;
let admin: Anthropic;

beforeAll(async () => {
  h = await startHangar();
  admin = h.client;
});
afterAll(async () => {
  await h?.close();
});

describe('client.beta.organization.workspaces', () => {
  it('creates, retrieves, updates, lists and archives workspaces in the BetaWorkspace shape', async () => {
    const ws = await admin.beta.organization.workspaces.create({ name: 'Team A', display_color: '#112233', tags: { team: 'a' } });
    expect(ws).toEqual({
      type: 'workspace', id: expect.stringMatching(/^wrkspc_/), name: 'Team A', created_at: expect.any(String), archived_at: null,
      display_color: '#112233', tags: { team: 'a' }, external_key_id: null, user_profile_id: null, compartment_id: ws.id,
      data_residency: { workspace_geo: 'us', allowed_inference_geos: 'unrestricted', default_inference_geo: 'global' },
      // Hangar's extension: this month's spend of the workspace (test/conformance/spend-limits.test.ts).
      spend: { month: new Date().toISOString().slice(0, 7), currency: 'USD', spent_cents: '0', reserved_cents: '0', limit_id: null, limit_amount: null },
    });
    expect(await admin.beta.organization.workspaces.retrieve(ws.id)).toEqual(ws);
    const updated = await admin.beta.organization.workspaces.update(ws.id, { name: 'Team A2', tags: { team: null, cost: 'c1' } });
    expect(updated).toMatchObject({ name: 'Team A2', tags: { cost: 'c1' }, display_color: '#112233' });

    const listed = [];
    for await (const w of admin.beta.organization.workspaces.list({ limit: 1 })) listed.push(w.id);
    expect(listed).toContain(ws.id);
    expect(listed).not.toContain('wrkspc_default');
    expect((await admin.beta.organization.workspaces.list({ ids: [ws.id, 'wrkspc_nope'] })).data.map((w) => w.id)).toEqual([ws.id]);
    const withDefault = await admin.beta.organization.workspaces.list({ include_default: true, limit: 100 });
    expect(withDefault.data.map((w) => w.id)).toContain('wrkspc_default');

    const archived = await admin.beta.organization.workspaces.archive(ws.id);
    expect(archived.archived_at).toEqual(expect.any(String));
    expect((await admin.beta.organization.workspaces.list({ limit: 100 })).data.map((w) => w.id)).not.toContain(ws.id);
    expect((await admin.beta.organization.workspaces.list({ include_archived: true, limit: 100 })).data.map((w) => w.id)).toContain(ws.id);
    expect((await rejection(admin.beta.organization.workspaces.update(ws.id, { name: 'x' }))).status).toBe(400);
  });

  it('pages with after_id and before_id in the SDK\'s Page shape', async () => {
    const made = [];
    for (const n of ['p1', 'p2', 'p3']) made.push((await admin.beta.organization.workspaces.create({ name: n })).id);
    const all = (await admin.beta.organization.workspaces.list({ limit: 1000 })).data.map((w) => w.id);
    const i = all.indexOf(made[1]);
    const after = await call(h, h.apiKey, 'GET', `/v1/organizations/workspaces?limit=1&after_id=${made[0]}`);
    expect(after.body).toMatchObject({ data: [{ id: made[1] }], first_id: made[1], last_id: made[1], has_more: i + 1 < all.length });
    const before = await call(h, h.apiKey, 'GET', `/v1/organizations/workspaces?limit=1&before_id=${made[2]}`);
    expect(before.body).toMatchObject({ data: [{ id: made[1] }], has_more: true });
    expect((await call(h, h.apiKey, 'GET', `/v1/organizations/workspaces?after_id=${made[0]}&before_id=${made[2]}`)).status).toBe(400);
    expect((await call(h, h.apiKey, 'GET', '/v1/organizations/workspaces?limit=0')).status).toBe(400);
  });

  it('refuses what it cannot honour and malformed input with a 400 that changes nothing', async () => {
    const before = (await admin.beta.organization.workspaces.list({ include_archived: true, limit: 1000 })).data.length;
    for (const body of [
      {}, { name: '' }, { name: 'x'.repeat(41) }, { name: 'ok', display_color: 'red' }, { name: 'ok', external_key_id: 'k' },
      { name: 'ok', user_profile_id: 'u' }, { name: 'ok', tags: { anthropic_x: 'v' } }, { name: 'ok', unknown: 1 },
      { name: 'ok', data_residency: { allowed_inference_geos: ['us'] } },
    ]) {
      const e = await rejection(admin.beta.organization.workspaces.create(body as never));
      expect(e.status, JSON.stringify(body)).toBe(400);
      expect((e.error as any).error.type).toBe('invalid_request_error');
    }
    expect((await admin.beta.organization.workspaces.list({ include_archived: true, limit: 1000 })).data.length).toBe(before);
    expect((await rejection(admin.beta.organization.workspaces.retrieve('wrkspc_nope'))).status).toBe(404);
    expect((await rejection(admin.beta.organization.workspaces.archive('wrkspc_default'))).status).toBe(400);
  });
});

describe('workspace selection', () => {
  it('scopes resources to the workspace the header names for an organization key, and to its own for a bound key', async () => {
    const a = await admin.beta.organization.workspaces.create({ name: 'sel-a' });
    const b = await admin.beta.organization.workspaces.create({ name: 'sel-b' });
    const inA = await admin.beta.agents.create({ name: 'in-a', model: 'claude-sonnet-4-6', workspace_id: a.id });
    const inDefault = await admin.beta.agents.create({ name: 'in-default', model: 'claude-sonnet-4-6' });
    // Every response names the workspace it acted in (the SDK's `_workspace_id`).
    expect(inA._workspace_id).toBe(a.id);
    expect(inDefault._workspace_id).toBe('wrkspc_default');
    const listA = (await admin.beta.agents.list({ workspace_id: a.id })).data.map((x) => x.id);
    expect(listA).toEqual([inA.id]);
    expect((await admin.beta.agents.list()).data.map((x) => x.id)).toContain(inDefault.id);
    expect((await admin.beta.agents.list()).data.map((x) => x.id)).not.toContain(inA.id);
    // Another workspace's resource is a 404, never a 403.
    const e = await rejection(admin.beta.agents.retrieve(inA.id, { workspace_id: b.id }));
    expect(e.status).toBe(404);
    expect((e.error as any).error.type).toBe('not_found_error');

    const keyA = await createKey(admin, { name: 'bound-a', workspace_id: a.id, role: 'developer' });
    expect(keyA.scope).toEqual({ type: 'workspace', workspace_id: a.id });
    const boundA = clientFor(h, keyA.key);
    expect((await boundA.beta.agents.list()).data.map((x) => x.id)).toEqual([inA.id]);
    expect((await boundA.beta.agents.list({ workspace_id: a.id })).data.map((x) => x.id)).toEqual([inA.id]);
    const refused = await rejection(boundA.beta.agents.list({ workspace_id: b.id }));
    expect(refused.status).toBe(403);
    expect((refused.error as any).error.type).toBe('permission_error');
    // An environment name is unique per workspace only.
    await boundA.beta.environments.create({ name: 'shared-name' });
    await admin.beta.environments.create({ name: 'shared-name', workspace_id: b.id });
  });

  it('treats one Idempotency-Key in two workspaces as two requests', async () => {
    const a = await admin.beta.organization.workspaces.create({ name: 'idem-a' });
    const b = await admin.beta.organization.workspaces.create({ name: 'idem-b' });
    const body = { name: 'same', model: 'claude-sonnet-4-6' };
    const inA = await admin.beta.agents.create({ ...body, workspace_id: a.id }, { headers: { 'Idempotency-Key': 'idem-ws-1' } });
    const inB = await admin.beta.agents.create({ ...body, workspace_id: b.id }, { headers: { 'Idempotency-Key': 'idem-ws-1' } });
    expect(inB.id).not.toBe(inA.id);
    expect((await admin.beta.agents.create({ ...body, workspace_id: a.id }, { headers: { 'Idempotency-Key': 'idem-ws-1' } })).id).toBe(inA.id);
    expect((await admin.beta.agents.list({ workspace_id: b.id })).data.map((x) => x.id)).toEqual([inB.id]);
  });

  it('answers malformed or unknown workspace headers with a clear 4xx', async () => {
    expect((await call(h, h.apiKey, 'GET', '/v1/agents', { workspace: 'not-a-workspace' })).status).toBe(400);
    expect((await call(h, h.apiKey, 'GET', '/v1/agents', { workspace: 'wrkspc_unknown0000' })).body.error.type).toBe('not_found_error');
    const archived = await admin.beta.organization.workspaces.create({ name: 'to-archive' });
    await admin.beta.organization.workspaces.archive(archived.id);
    expect((await call(h, h.apiKey, 'GET', '/v1/agents', { workspace: archived.id })).status).toBe(200);
    const write = await call(h, h.apiKey, 'POST', '/v1/agents', { workspace: archived.id, body: { name: 'x', model: 'claude-sonnet-4-6' } });
    expect(write.status).toBe(403);
  });
});

describe('client.beta.organization.apiKeys', () => {
  it('creates a key whose secret is shown once, lists, retrieves and updates it in the BetaAPIKey shape', async () => {
    const created = await createKey(admin, { name: 'ci', role: 'runner' });
    expect(created.key).toMatch(/^sk-hangar-/);
    const stored = await h.hangar.store.apiKeys.get(created.id);
    expect(JSON.stringify(stored)).not.toContain(created.key);
    expect((await h.hangar.store.apiKeys.findByHash(hashKey(created.key)))?.id).toBe(created.id);

    const got = await admin.beta.organization.apiKeys.retrieve(created.id);
    expect(got).toEqual({
      type: 'api_key', id: created.id, name: 'ci', created_at: expect.any(String), created_by: { id: expect.stringMatching(/^key_/), type: 'service_account' },
      expires_at: null, partial_key_hint: created.partial_key_hint, principal: null, scope: { type: 'workspace', workspace_id: 'wrkspc_default' },
      status: 'active', role: 'runner', last_used_at: null,
    });
    expect(JSON.stringify(got)).not.toContain(created.key);
    const ids = [];
    for await (const k of admin.beta.organization.apiKeys.list({ limit: 2 })) ids.push(k.id);
    expect(ids).toContain(created.id);

    // Using it records last_used_at; inactive keys are refused; reactivated ones work again.
    const runner = clientFor(h, created.key);
    await runner.beta.agents.list();
    expect((await admin.beta.organization.apiKeys.retrieve(created.id) as unknown as { last_used_at: string | null }).last_used_at).toEqual(expect.any(String));
    expect(await admin.beta.organization.apiKeys.update(created.id, { name: 'ci-2', status: 'inactive' })).toMatchObject({ name: 'ci-2', status: 'inactive' });
    expect((await rejection(runner.beta.agents.list())).status).toBe(401);
    expect((await admin.beta.organization.apiKeys.list({ status: 'inactive', limit: 100 })).data.map((k) => k.id)).toContain(created.id);
    await admin.beta.organization.apiKeys.update(created.id, { status: 'active' });
    await runner.beta.agents.list();
    // Archived is permanent.
    await admin.beta.organization.apiKeys.update(created.id, { status: 'archived' });
    expect((await rejection(runner.beta.agents.list())).status).toBe(401);
    expect((await rejection(admin.beta.organization.apiKeys.update(created.id, { status: 'active' }))).status).toBe(400);
  });

  it('rotates a key: same id, role and binding, a new secret; the old one stops at once', async () => {
    const created = await createKey(admin, { name: 'rot', role: 'viewer' });
    const rotated = await admin.post<{ id: string; key: string; role: string }>(`/v1/organizations/api_keys/${created.id}/rotate`);
    expect(rotated).toMatchObject({ id: created.id, role: 'viewer' });
    expect(rotated.key).not.toBe(created.key);
    expect((await rejection(clientFor(h, created.key).beta.agents.list())).status).toBe(401);
    await clientFor(h, rotated.key).beta.agents.list();
    // The bootstrap key is rotated through HANGAR_API_KEY (a rotated one would come back at the next start).
    const bootstrap = (await h.hangar.store.apiKeys.list()).find((k) => k.source === 'env')!;
    const refused = await rejection(admin.post(`/v1/organizations/api_keys/${bootstrap.id}/rotate`));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('HANGAR_API_KEY');
    await admin.beta.agents.list();
  });

  it('refuses an expired key with 401 and lists it as expired', async () => {
    const past = await createKey(admin, { name: 'soon', expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect(past.expires_at).toEqual(expect.any(String));
    await clientFor(h, past.key).beta.agents.list();
    // Expiry is compared with the server clock: move the stored expiry into the past.
    await h.hangar.store.apiKeys.insert('key_expiredfixture000000001', hashKey('sk-hangar-expired-fixture-000000'), new Date(0).toISOString(), {
      name: 'expired', workspaceId: 'wrkspc_default', role: 'admin', expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const e = await rejection(clientFor(h, 'sk-hangar-expired-fixture-000000').beta.agents.list());
    expect(e.status).toBe(401);
    expect((e.error as any).error.message).toContain('expired');
    expect((await admin.beta.organization.apiKeys.retrieve('key_expiredfixture000000001')).status).toBe('expired');
    expect((await admin.beta.organization.apiKeys.list({ status: 'expired', limit: 100 })).data.map((k) => k.id)).toEqual(['key_expiredfixture000000001']);
    expect((await rejection(admin.post('/v1/organizations/api_keys/key_expiredfixture000000001/rotate'))).status).toBe(400);
  });

  it('refuses malformed key requests with a 400 that creates nothing', async () => {
    const before = (await h.hangar.store.apiKeys.list()).length;
    for (const body of [
      {}, { name: '' }, { name: 'x', role: 'root' }, { name: 'x', expires_at: 'tomorrow' }, { name: 'x', expires_at: '2001-01-01T00:00:00Z' },
      { name: 'x', extra: true },
    ]) {
      const e = await rejection(createKey(admin, body as never));
      expect(e.status, JSON.stringify(body)).toBe(400);
    }
    expect((await rejection(createKey(admin, { name: 'x', workspace_id: 'wrkspc_missing' }))).status).toBe(404);
    expect((await h.hangar.store.apiKeys.list()).length).toBe(before);
    expect((await rejection(admin.beta.organization.apiKeys.list({ status: 'bogus' as never }))).status).toBe(400);
    expect((await rejection(admin.beta.organization.apiKeys.retrieve('key_nope'))).status).toBe(404);
  });

  it('lets a workspace admin manage only its own workspace keys, never organization keys', async () => {
    const ws = await admin.beta.organization.workspaces.create({ name: 'keys-ws' });
    const wsAdmin = await createKey(admin, { name: 'ws-admin', workspace_id: ws.id, role: 'admin' });
    const c = clientFor(h, wsAdmin.key);
    const own = await createKey(c, { name: 'own', role: 'viewer' });
    expect(own.scope).toEqual({ type: 'workspace', workspace_id: ws.id });
    expect((await c.beta.organization.apiKeys.list({ limit: 100 })).data.map((k) => k.id).sort()).toEqual([own.id, wsAdmin.id].sort());
    const orgKeyId = (await admin.beta.organization.apiKeys.list({ limit: 100 })).data.find((k) => k.scope.type === 'organization')!.id;
    expect((await rejection(c.beta.organization.apiKeys.retrieve(orgKeyId))).status).toBe(404);
    expect((await rejection(createKey(c, { name: 'org', workspace_id: null }))).status).toBe(403);
    expect((await rejection(c.beta.organization.workspaces.create({ name: 'nope' }))).status).toBe(403);
    expect((await c.beta.organization.workspaces.list({ limit: 100 })).data.map((w) => w.id)).toEqual([ws.id]);
    // Archiving the workspace archives its keys.
    await admin.beta.organization.workspaces.archive(ws.id);
    expect((await rejection(c.beta.agents.list())).status).toBe(401);
  });
});

describe('client.beta.organization.rbacRoles', () => {
  it('lists the four built-in roles with their permissions', async () => {
    const roles = await admin.beta.organization.rbacRoles.list();
    expect(roles.data.map((r) => r.id)).toEqual(['admin', 'developer', 'runner', 'viewer']);
    expect(await admin.beta.organization.rbacRoles.retrieve('runner')).toEqual({
      type: 'rbac_role', id: 'runner', display_name: 'Runner', source: { type: 'built_in' }, created_at: expect.any(String), updated_at: expect.any(String),
    });
    const perms = (await admin.beta.organization.rbacRoles.permissions.list('viewer')).data;
    expect(perms.every((p) => p.type === 'rbac_role_permission' && p.resource.type === 'organization')).toBe(true);
    expect(perms.map((p) => p.action)).toContain('agents:read');
    expect(perms.map((p) => p.action)).not.toContain('agents:write');
    expect((await rejection(admin.beta.organization.rbacRoles.retrieve('root'))).status).toBe(404);
    // Pages follow `limit` and the cursor.
    const paged = [];
    for await (const r of admin.beta.organization.rbacRoles.list({ limit: 3 })) paged.push(r.id);
    expect(paged).toEqual(['admin', 'developer', 'runner', 'viewer']);
    expect((await admin.beta.organization.rbacRoles.list({ limit: 3 })).data).toHaveLength(3);
    const allPerms = [];
    for await (const p of admin.beta.organization.rbacRoles.permissions.list('admin', { limit: 5 })) allPerms.push(p.action);
    expect(allPerms).toContain('organization:admin');
    expect((await rejection(admin.beta.organization.rbacRoles.list({ limit: 0 }))).status).toBe(400);
  });
});
