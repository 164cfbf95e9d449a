// The audit log (issue 11) against a live Hangar: a record for each kind of change (create, update,
// archive, delete of agents, environments, environment keys, vaults, credentials, sessions, session
// events, spend limits — and refused changes, with their status), never a secret, cursor paging and
// filters on GET /v1/audit_events, the `?format=jsonl` export, and 400 for bad filters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { rejection, text, waitForStatus } from './helpers.ts';
import { DEFAULT_WORKSPACE_ID } from '../../src/domain/workspace.ts';
import { clientFor, createKey } from './workspace-kit.ts';

let h: TestHangar;
let up: FakeUpstream;
let keyId: string;
const started = new Date().toISOString();
const token = `audit-secret-${randomBytes(12).toString('hex')}`;
let envKeySecret = '';
const ids: Record<string, string> = {};

type Audit = Record<string, any>;

async function get(path: string): Promise<Response> {
  return fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${h.apiKey}` } });
}

async function all(query = ''): Promise<Audit[]> {
  const out: Audit[] = [];
  let page: string | null = null;
  do {
    const sep = query ? '&' : '';
    const res = await get(`/v1/audit_events?${query}${sep}limit=7${page ? `&page=${page}` : ''}`);
    expect(res.status).toBe(200);
    const body = await res.json() as { data: Audit[]; next_page: string | null };
    out.push(...body.data);
    page = body.next_page;
  } while (page);
  return out;
}

beforeAll(async () => {
  up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  h = await startHangar({ upstreamUrl: up.url });
  keyId = (await h.hangar.store.apiKeys.list()).find((k) => k.revokedAt === null)!.id;
  const c = h.client;
  const agent = await c.beta.agents.create({ name: 'audited', model: 'claude-sonnet-4-6' });
  ids.agent = agent.id;
  await c.beta.agents.update(agent.id, { version: agent.version, description: 'changed' });
  await c.beta.agents.archive(agent.id);
  const env = await c.beta.environments.create({ name: `audit-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } as never });
  ids.env = env.id;
  const key = await (await fetch(`${h.url}/v1/environments/${env.id}/keys`, { method: 'POST', headers: { authorization: `Bearer ${h.apiKey}` } })).json() as { id: string; key: string };
  ids.envKey = key.id;
  envKeySecret = key.key;
  await fetch(`${h.url}/v1/environments/${env.id}/keys/${key.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${h.apiKey}` } });
  const vault = await c.beta.vaults.create({ display_name: 'audit vault' });
  ids.vault = vault.id;
  const cred = await c.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token } });
  ids.credential = cred.id;
  await c.beta.vaults.credentials.archive(cred.id, { vault_id: vault.id });
  const agent2 = await c.beta.agents.create({ name: 'audited-2', model: 'claude-sonnet-4-6' });
  const cloud = await c.beta.environments.create({ name: `audit-cloud-${randomBytes(4).toString('hex')}` });
  const session = await c.beta.sessions.create({ agent: agent2.id, environment_id: cloud.id });
  ids.session = session.id;
  await c.beta.sessions.events.send(session.id, { events: [text(`do not log this ${token}`)] });
  await up.waitForRequests(1);
  await waitForStatus(c, session.id, 'idle');
  await c.beta.sessions.delete(session.id);
  const limit = await c.beta.organization.spendLimits.set({ amount: '1000', scope: { type: 'organization' } });
  ids.limit = limit.id;
  await c.beta.organization.spendLimits.delete(limit.id);
  await rejection(c.beta.agents.update('agent_doesnotexist', { version: 1, name: 'x' }));
  await c.beta.environments.delete(env.id);
}, 60_000);

afterAll(async () => {
  await h?.close();
  await up?.close();
});

describe('audit events', () => {
  it('records every kind of change with who, what, which resource, workspace, when and the result', async () => {
    const events = await all();
    const find = (method: string, route: string, id?: string) =>
      events.find((e) => e.method === method && e.route === route && (id === undefined || e.resource.id === id));
    const expected: Array<[string, string, string | undefined, string, number]> = [
      ['POST', '/v1/agents', ids.agent, 'agent', 200],
      ['POST', '/v1/agents/:id', ids.agent, 'agent', 200],
      ['POST', '/v1/agents/:id/archive', ids.agent, 'agent', 200],
      ['POST', '/v1/environments', ids.env, 'environment', 200],
      ['POST', '/v1/environments/:id/keys', ids.envKey, 'environment_key', 200],
      ['DELETE', '/v1/environments/:id/keys/:keyId', undefined, 'environment_key', 200],
      ['DELETE', '/v1/environments/:id', ids.env, 'environment', 200],
      ['POST', '/v1/vaults', ids.vault, 'vault', 200],
      ['POST', '/v1/vaults/:vaultId/credentials', ids.credential, 'vault_credential', 200],
      ['POST', '/v1/vaults/:vaultId/credentials/:credentialId/archive', ids.credential, 'vault_credential', 200],
      ['POST', '/v1/sessions', ids.session, 'session', 200],
      ['POST', '/v1/sessions/:id/events', ids.session, 'session', 200],
      ['DELETE', '/v1/sessions/:id', ids.session, 'session', 200],
      ['POST', '/v1/organizations/spend_limits', ids.limit, 'spend_limit', 200],
      ['DELETE', '/v1/organizations/spend_limits/:id', ids.limit, 'spend_limit', 200],
      ['POST', '/v1/agents/:id', 'agent_doesnotexist', 'agent', 404],
    ];
    for (const [method, route, id, type, status] of expected) {
      const e = find(method, route, id);
      expect(e, `${method} ${route} ${id ?? ''}`).toBeDefined();
      expect(e).toMatchObject({
        type: 'audit_event', actor: { type: 'api_key', key_id: keyId, role: 'admin' }, resource: { type },
        workspace_id: DEFAULT_WORKSPACE_ID, status,
      });
      expect(e!.id).toMatch(/^audevt_/);
      expect(e!.request_id).toMatch(/^req_/);
      expect(Date.parse(e!.created_at)).toBeGreaterThanOrEqual(Date.parse(started));
    }
    expect(find('DELETE', '/v1/environments/:id/keys/:keyId')!.parent).toEqual({ type: 'environment', id: ids.env });
    // Spend limits append their record in the change's own transaction: exactly once.
    expect(events.filter((e) => e.resource.id === ids.limit).map((e) => e.method).sort()).toEqual(['DELETE', 'POST']);
    // Reads are not state changes.
    expect(events.some((e) => e.method === 'GET')).toBe(false);
  });

  it('never records a secret: no credential token, environment key, API key or message content', async () => {
    const res = await get('/v1/audit_events?format=jsonl');
    const dump = await res.text();
    expect(dump.length).toBeGreaterThan(100);
    for (const secret of [token, envKeySecret, h.apiKey, 'do not log this']) expect(dump).not.toContain(secret);
  });

  it('pages with cursors and filters by time range, actor, resource type and id, and workspace', async () => {
    const everything = await all();
    const pages = await (await get('/v1/audit_events?limit=2')).json() as { data: Audit[]; next_page: string };
    expect(pages.data).toHaveLength(2);
    expect(pages.next_page).toEqual(expect.any(String));
    expect(everything.map((e) => e.id)).toEqual([...new Set(everything.map((e) => e.id))]);
    // Newest first.
    expect([...everything].sort((x, y) => (x.created_at < y.created_at ? 1 : x.created_at > y.created_at ? -1 : 0)).map((e) => e.created_at))
      .toEqual(everything.map((e) => e.created_at));

    const agents = await all('resource_type=agent');
    expect(agents.length).toBeGreaterThanOrEqual(5);
    expect(agents.every((e) => e.resource.type === 'agent')).toBe(true);
    expect((await all(`resource_id=${ids.session}`)).map((e) => e.route).sort()).toEqual(['/v1/sessions', '/v1/sessions/:id', '/v1/sessions/:id/events']);
    expect(await all(`actor_id=${keyId}`)).toHaveLength(everything.length);
    expect(await all('actor_id=key_nobody')).toEqual([]);
    expect(await all(`workspace_id=${DEFAULT_WORKSPACE_ID}`)).toHaveLength(everything.length);
    expect(await all('workspace_id=wrkspc_other')).toEqual([]);
    const middle = everything[Math.floor(everything.length / 2)].created_at;
    const since = await all(`created_at[gte]=${encodeURIComponent(middle)}`);
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((e) => e.created_at >= middle)).toBe(true);
    const until = await all(`created_at[lt]=${encodeURIComponent(middle)}`);
    expect(since.length + until.length).toBe(everything.length);
  });

  it('exports every matching record as JSON lines, oldest first', async () => {
    const res = await get('/v1/audit_events?format=jsonl&resource_type=agent');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Audit);
    const listed = await all('resource_type=agent');
    expect(lines.map((e) => e.id)).toEqual(listed.map((e) => e.id).reverse());
  });

  it('rejects bad filters with a 400', async () => {
    for (const q of [
      'created_at[gte]=yesterday', 'resource_type=nonsense', 'format=xml', 'actor_id=bad%20id!', 'workspace_id=default',
      'format=jsonl&limit=5', `created_at[gte]=${encodeURIComponent('2030-01-01T00:00:00Z')}&created_at[lte]=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
      'limit=0', 'page=garbage',
    ]) {
      const res = await get(`/v1/audit_events?${q}`);
      expect(res.status, q).toBe(400);
      expect((await res.json() as { error: { type: string } }).error.type).toBe('invalid_request_error');
    }
  });
});

describe('the actor is what the credential carries', () => {
  it('records a workspace key\'s own id, role and workspace, refused calls included, and an environment key by its id', async () => {
    const c = h.client;
    const ws = await c.beta.organization.workspaces.create({ name: 'audited-ws' });
    const dev = await createKey(c, { name: 'audit-dev', workspace_id: ws.id, role: 'developer' });
    const viewer = await createKey(c, { name: 'audit-viewer', workspace_id: ws.id, role: 'viewer' });
    const agent = await clientFor(h, dev.key).beta.agents.create({ name: 'by-dev', model: 'claude-sonnet-4-6' });
    expect((await rejection(clientFor(h, viewer.key).beta.agents.create({ name: 'by-viewer', model: 'claude-sonnet-4-6' }))).status).toBe(403);

    const byDev = await all(`actor_id=${dev.id}`);
    expect(byDev).toEqual([expect.objectContaining({
      actor: { type: 'api_key', key_id: dev.id, role: 'developer' }, method: 'POST', route: '/v1/agents',
      resource: { type: 'agent', id: agent.id }, workspace_id: ws.id, status: 200,
    })]);
    expect(await all(`actor_id=${viewer.id}`)).toEqual([expect.objectContaining({
      actor: { type: 'api_key', key_id: viewer.id, role: 'viewer' }, route: '/v1/agents', workspace_id: ws.id, status: 403,
    })]);

    // An environment key acts as itself (no role): a worker call on an unknown work item, refused with 404.
    const env = await c.beta.environments.create({ name: `audit-worker-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } as never });
    const envKey = await (await fetch(`${h.url}/v1/environments/${env.id}/keys`, { method: 'POST', headers: { authorization: `Bearer ${h.apiKey}` } })).json() as { id: string; key: string };
    const ack = await fetch(`${h.url}/v1/environments/${env.id}/work/work_doesnotexist/ack`, { method: 'POST', headers: { authorization: `Bearer ${envKey.key}` } });
    expect(ack.status).toBe(404);
    expect(await all(`actor_id=${envKey.id}`)).toEqual([expect.objectContaining({
      actor: { type: 'environment_key', key_id: envKey.id, role: null }, route: '/v1/environments/:id/work/:workId/ack',
      workspace_id: DEFAULT_WORKSPACE_ID, status: 404,
    })]);
  });
});
