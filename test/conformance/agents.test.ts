// Agents API driven only through the official SDK against a live Hangar: versioning, optimistic
// concurrency, archive, list filters and pagination, and the error classes the SDK raises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { BetaInvalidMetadataError } from '@anthropic-ai/sdk/resources/beta/environments/environments';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { rejection } from './helpers.ts';

const MODEL = 'claude-sonnet-4-6';
let h: TestHangar;
let client: Anthropic;

beforeAll(async () => {
  h = await startHangar();
  client = h.client;
});
afterAll(async () => {
  await h.close();
});

const errorCode = (e: APIError) => (e.error as { error?: { details?: { error_code?: string } } }).error?.details?.error_code;

describe('agents over the SDK', () => {
  it('creates an agent with resolved model, tools and defaults', async () => {
    const agent = await client.beta.agents.create({
      name: 'coder',
      model: MODEL,
      system: 'be brief',
      tools: [{ type: 'agent_toolset_20260401', configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }],
      metadata: { team: 'core' },
    });
    expect(agent.id).toMatch(/^agent_/);
    expect(agent).toMatchObject({
      type: 'agent',
      version: 1,
      name: 'coder',
      description: null,
      system: 'be brief',
      model: { id: MODEL, effort: { type: 'high' } },
      mcp_servers: [],
      skills: [],
      metadata: { team: 'core' },
      multiagent: null,
      execution_identity: { type: 'service_account' },
      archived_at: null,
    });
    const [toolset] = agent.tools;
    if (toolset.type !== 'agent_toolset_20260401') throw new Error('expected the agent toolset');
    expect(toolset.default_config).toEqual({ enabled: true, permission_policy: { type: 'always_allow' } });
    expect(toolset.configs).toHaveLength(8);
    expect(toolset.configs[0]).toEqual({ name: 'bash', type: 'bash', enabled: true, permission_policy: { type: 'always_ask' } });
    expect(await client.beta.agents.retrieve(agent.id)).toEqual(agent);
  });

  it('versions changing updates, skips no-op updates and serves old versions', async () => {
    const v1 = await client.beta.agents.create({ name: 'v', model: MODEL, description: 'first' });
    const v2 = await client.beta.agents.update(v1.id, { name: 'v2', version: 1 });
    expect(v2).toMatchObject({ version: 2, name: 'v2', description: 'first', created_at: v1.created_at });

    const same = await client.beta.agents.update(v1.id, { name: 'v2', description: 'first' });
    expect(same.version).toBe(2);
    expect(same.updated_at).toBe(v2.updated_at);

    const v3 = await client.beta.agents.update(v1.id, { description: null, model: { id: 'claude-opus-4-6' } });
    expect(v3).toMatchObject({ version: 3, description: null, model: { id: 'claude-opus-4-6', effort: { type: 'high' } } });

    expect(await client.beta.agents.retrieve(v1.id, { version: 1 })).toMatchObject({ version: 1, name: 'v', description: 'first' });
    expect((await client.beta.agents.retrieve(v1.id)).version).toBe(3);

    const versions: number[] = [];
    for await (const a of client.beta.agents.versions.list(v1.id, { limit: 1 })) versions.push(a.version);
    expect(versions).toEqual([3, 2, 1]);
  });

  it('raises ConflictError without retry for a stale version', async () => {
    const a = await client.beta.agents.create({ name: 'c', model: MODEL });
    await client.beta.agents.update(a.id, { name: 'c2' });
    const e = await rejection(client.beta.agents.update(a.id, { name: 'c3', version: 1 }));
    expect(e).toBeInstanceOf(Anthropic.ConflictError);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect((await client.beta.agents.retrieve(a.id)).name).toBe('c2');
  });

  it('merges concurrent last-write-wins updates into successive versions', async () => {
    const a = await client.beta.agents.create({ name: 'race', model: MODEL });
    const results = await Promise.all([
      client.beta.agents.update(a.id, { description: 'from one' }),
      client.beta.agents.update(a.id, { system: 'from two' }),
    ]);
    // Whichever loses the race re-merges once against the winner's version instead of failing.
    expect(results.map((r) => r.version).sort()).toEqual([2, 3]);
    expect(await client.beta.agents.retrieve(a.id)).toMatchObject({ version: 3, description: 'from one', system: 'from two' });
  });

  it('re-merges once when a concurrent write lands between read and write, then gives up with 409', async () => {
    const a = await client.beta.agents.create({ name: 'inject', model: MODEL });
    // Fault injection: before the route's write, another writer stores a new version.
    const repo = h.hangar.store.agents;
    const original = repo.addVersion.bind(repo);
    let sneaks = 1;
    repo.addVersion = async (agent, previous) => {
      if (sneaks-- > 0) {
        const latest = (await repo.get(agent.id))!;
        await original({ ...latest, id: agent.id, version: previous + 1, description: `sneaky ${previous + 1}` }, previous);
      }
      return original(agent, previous);
    };
    try {
      const merged = await client.beta.agents.update(a.id, { system: 'mine' });
      expect(merged).toMatchObject({ version: 3, description: 'sneaky 2', system: 'mine' });
      sneaks = 2;
      const e = await rejection(client.beta.agents.update(a.id, { system: 'again' }));
      expect(e).toBeInstanceOf(Anthropic.ConflictError);
      expect((await client.beta.agents.retrieve(a.id)).version).toBe(5);
    } finally {
      repo.addVersion = original;
    }
  });

  it('archives an agent, then rejects updates and hides it from the default list', async () => {
    const a = await client.beta.agents.create({ name: 'old', model: MODEL });
    const archived = await client.beta.agents.archive(a.id);
    expect(archived.archived_at).not.toBeNull();
    expect((await client.beta.agents.archive(a.id)).archived_at).toBe(archived.archived_at);
    expect(await rejection(client.beta.agents.update(a.id, { name: 'new' }))).toBeInstanceOf(Anthropic.BadRequestError);

    const ids = async (params: Anthropic.Beta.Agents.AgentListParams) => {
      const out: string[] = [];
      for await (const x of client.beta.agents.list(params)) out.push(x.id);
      return out;
    };
    expect(await ids({})).not.toContain(a.id);
    expect(await ids({ include_archived: true })).toContain(a.id);
  });

  it('lists newest first across pages and filters on created_at', async () => {
    const a = await client.beta.agents.create({ name: 'l1', model: MODEL });
    await new Promise((r) => setTimeout(r, 5));
    const b = await client.beta.agents.create({ name: 'l2', model: MODEL });

    const all: string[] = [];
    for await (const x of client.beta.agents.list({ limit: 2 })) all.push(x.id);
    expect(all.indexOf(b.id)).toBeLessThan(all.indexOf(a.id));
    expect(new Set(all).size).toBe(all.length);

    const since = await client.beta.agents.list({ 'created_at[gte]': b.created_at });
    expect(since.data.map((x) => x.id)).toEqual([b.id]);
    const before = new Date(Date.parse(b.created_at) - 1).toISOString();
    const until: string[] = [];
    for await (const x of client.beta.agents.list({ 'created_at[lte]': before })) until.push(x.id);
    expect(until).toContain(a.id);
    expect(until).not.toContain(b.id);
  });

  it('rejects invalid bodies with BadRequestError naming the field', async () => {
    const bad = (body: unknown) => rejection(client.beta.agents.create(body as Anthropic.Beta.Agents.AgentCreateParams));
    const cases: Array<[unknown, RegExp]> = [
      [{ model: MODEL }, /name/],
      [{ name: 42, model: MODEL }, /name/],
      [{ name: 'x' }, /model/],
      [{ name: 'x', model: MODEL, tools: [{ type: 'computer_20250124' }] }, /tools\.0\.type/],
      [{ name: 'x', model: MODEL, tools: Array.from({ length: 257 }, (_, i) => ({ type: 'custom', name: `t${i}`, description: 'd', input_schema: { type: 'object' } })) }, /256/],
      [{ name: 'x', model: MODEL, mcp_servers: [{ type: 'url', name: 'gh', url: 'https://gh.example.com' }] }, /not referenced/],
    ];
    for (const [body, message] of cases) {
      const e = await bad(body);
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e.message).toMatch(message);
    }
  });

  it('rejects metadata beyond the limits with invalid_metadata', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const e = await rejection(client.beta.agents.create({ name: 'm', model: MODEL, metadata }));
    expect(e).toBeInstanceOf(BetaInvalidMetadataError);
    expect(errorCode(e)).toBe('invalid_metadata');
    const a = await client.beta.agents.create({ name: 'm', model: MODEL, metadata: { a: '1' } });
    const patched = await client.beta.agents.update(a.id, { metadata: { a: null, b: '2' } });
    expect(patched.metadata).toEqual({ b: '2' });
  });

  it('answers NotFoundError for unknown ids and versions', async () => {
    const a = await client.beta.agents.create({ name: 'n', model: MODEL });
    // Thunks: each request starts only when awaited, so no rejection is left unobserved.
    const calls = [
      () => client.beta.agents.retrieve('agent_doesnotexist'),
      () => client.beta.agents.retrieve('sesn_wrongprefix'),
      () => client.beta.agents.retrieve(a.id, { version: 9 }),
      () => client.beta.agents.update('agent_doesnotexist', { name: 'x' }),
      () => client.beta.agents.archive('agent_doesnotexist'),
      async () => client.beta.agents.versions.list('agent_doesnotexist'),
    ];
    for (const call of calls) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(Anthropic.NotFoundError);
      expect(e.error).toMatchObject({ error: { type: 'not_found_error' } });
    }
    expect(await rejection(client.beta.agents.retrieve(a.id, { version: 0 }))).toBeInstanceOf(Anthropic.BadRequestError);
  });
});
