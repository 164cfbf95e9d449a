// Agent domain rules, driven through the request schemas exactly as the routes use them:
// create-time resolution (model, tools, MCP, skills, identity, metadata, multiagent), versioned
// updates, and the session snapshot with overrides.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/protocol/errors.ts';
import { parseWith } from '../../src/server/http.ts';
import { agentCreateSchema, agentUpdateSchema, agentWithOverridesSchema } from '../../src/protocol/agent-schemas.ts';
import {
  applySessionOverrides,
  createAgent,
  sessionAgentSnapshot,
  updateAgent,
  type AgentObject,
} from '../../src/domain/agents.ts';
import { multiagentParamRefs } from '../../src/domain/agent-multiagent.ts';

const T0 = '2026-05-01T00:00:00.000Z';
const T1 = '2026-05-01T00:01:00.000Z';
const MODEL = 'claude-sonnet-4-6';

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

type Lookup = Map<string, AgentObject>;
const lookupOf = (agents: AgentObject[] = []) => {
  const byKey: Lookup = new Map();
  for (const a of agents) {
    byKey.set(`${a.id}@${a.version}`, a);
    const latest = byKey.get(`${a.id}@latest`);
    if (!latest || latest.version < a.version) byKey.set(`${a.id}@latest`, a);
  }
  return (id: string, version?: number) => byKey.get(`${id}@${version ?? 'latest'}`);
};

function create(body: Record<string, unknown>, opts: { id?: string; agents?: AgentObject[] } = {}): AgentObject {
  const params = parseWith(agentCreateSchema, { name: 'a', model: MODEL, ...body });
  return createAgent(params, { id: opts.id ?? 'agent_test1', now: T0, lookup: lookupOf(opts.agents) });
}

function update(current: AgentObject, body: Record<string, unknown>, agents: AgentObject[] = []) {
  return updateAgent(current, parseWith(agentUpdateSchema, body), { now: T1, lookup: lookupOf(agents) });
}

const toolset = (extra: Record<string, unknown> = {}) => ({ type: 'agent_toolset_20260401', ...extra });
const custom = (name: string, extra: Record<string, unknown> = {}) => ({
  type: 'custom',
  name,
  description: `the ${name} tool`,
  input_schema: { type: 'object', properties: { q: { type: 'string' } } },
  ...extra,
});
const server = (name: string) => ({ type: 'url', name, url: `https://${name}.example.com/mcp` });

describe('agent create', () => {
  it('returns a version 1 agent object with every field resolved', () => {
    const a = create({});
    expect(a).toEqual({
      type: 'agent',
      id: 'agent_test1',
      version: 1,
      name: 'a',
      description: null,
      system: null,
      model: { id: MODEL, effort: { type: 'high' } },
      tools: [],
      mcp_servers: [],
      skills: [],
      metadata: {},
      multiagent: null,
      execution_identity: { type: 'service_account' },
      created_at: T0,
      updated_at: T0,
      archived_at: null,
    });
  });

  it('resolves effort given as a string or an object and keeps inference_geo and speed', () => {
    expect(create({ model: { id: MODEL, effort: 'low' } }).model).toEqual({ id: MODEL, effort: { type: 'low' } });
    expect(create({ model: { id: MODEL, effort: { type: 'max' }, inference_geo: 'us', speed: 'fast' } }).model).toEqual({
      id: MODEL,
      effort: { type: 'max' },
      inference_geo: 'us',
      speed: 'fast',
    });
  });

  it('stores empty description and system as null', () => {
    const a = create({ description: '', system: '' });
    expect([a.description, a.system]).toEqual([null, null]);
  });

  it('ignores unknown top-level keys', () => {
    expect(create({ betas: ['x'], something_new: 1 }).name).toBe('a');
  });

  it.each([
    [{ name: undefined }, /^name/],
    [{ name: '' }, /^name/],
    [{ name: 42 }, /^name/],
    [{ model: undefined }, /^model/],
    [{ model: 7 }, /^model: expected a model id string or a model config object/],
    [{ model: { id: MODEL, effort: 'extreme' } }, /^model\.effort\.type/],
    [{ model: { id: MODEL, speed: 'warp' } }, /^model\.speed/],
    [{ system: 'x'.repeat(100_001) }, /^system/],
    [{ tools: [{ type: 'computer_use' }] }, /^tools\.0\.type/],
    [{ tools: 'bash' }, /^tools/],
    [{ skills: [{ type: 'plugin', skill_id: 'x' }] }, /^skills\.0\.type/],
    [{ execution_identity: { type: 'aws_role' } }, /^execution_identity\.role_arn/],
    [{ metadata: { a: 1 } }, /^metadata\.a/],
  ])('rejects an invalid body %j with a 400 naming the field', (body, message) => {
    const e = errorOf(() => create(body));
    expect(e.status).toBe(400);
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toMatch(message);
  });

  it('accepts 256 tools and rejects 257', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => custom(`t${i}`));
    expect(create({ tools: many(256) }).tools).toHaveLength(256);
    expect(errorOf(() => create({ tools: many(257) })).message).toMatch(/^tools: .*256/);
  });
});

describe('agent toolset resolution', () => {
  it('lists all eight built-in tools enabled with always_allow by default', () => {
    const [t] = create({ tools: [toolset()] }).tools;
    expect(t).toMatchObject({ type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } });
    if (t.type !== 'agent_toolset_20260401') throw new Error('unexpected tool');
    expect(t.configs.map((c) => c.name)).toEqual(['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search']);
    for (const c of t.configs) expect(c).toMatchObject({ type: c.name, enabled: true, permission_policy: { type: 'always_allow' } });
    expect(t.configs.find((c) => c.name === 'web_fetch')).toHaveProperty('url_sources', null);
  });

  it('applies default_config to every tool and per-tool configs on top', () => {
    const [t] = create({
      tools: [
        toolset({
          default_config: { enabled: false, permission_policy: { type: 'always_ask' } },
          configs: [{ name: 'bash', enabled: true }, { name: 'read', permission_policy: { type: 'auto' } }],
        }),
      ],
    }).tools;
    if (t.type !== 'agent_toolset_20260401') throw new Error('unexpected tool');
    const by = Object.fromEntries(t.configs.map((c) => [c.name, c]));
    expect(by.bash).toMatchObject({ enabled: true, permission_policy: { type: 'always_ask' } });
    expect(by.read).toMatchObject({ enabled: false, permission_policy: { type: 'auto' } });
    expect(by.grep).toMatchObject({ enabled: false, permission_policy: { type: 'always_ask' } });
  });

  it('rejects a tool configured twice, an unknown built-in name and a second toolset', () => {
    expect(errorOf(() => create({ tools: [toolset({ configs: [{ name: 'bash' }, { name: 'bash' }] })] })).message).toMatch(/bash.*more than once/);
    expect(errorOf(() => create({ tools: [toolset({ configs: [{ name: 'python' }] })] })).message).toMatch(/^tools\.0\.configs\.0\.name/);
    expect(errorOf(() => create({ tools: [toolset(), toolset()] })).message).toMatch(/at most one agent_toolset/);
  });

  it('resolves web_fetch url_sources shorthands to objects and keeps domain filters', () => {
    const [t] = create({
      tools: [
        toolset({
          configs: [
            { name: 'web_fetch', allowed_domains: ['docs.example.com'], max_content_tokens: 5000, url_sources: { user_input: 'none', server_tool_results: 'all' } },
            { name: 'web_search', blocked_domains: ['ads.example.com/path'], user_location: { type: 'approximate', city: 'Paris' } },
          ],
        }),
      ],
    }).tools;
    if (t.type !== 'agent_toolset_20260401') throw new Error('unexpected tool');
    expect(t.configs.find((c) => c.name === 'web_fetch')).toMatchObject({
      allowed_domains: ['docs.example.com'],
      max_content_tokens: 5000,
      url_sources: { user_input: { type: 'none' }, client_tool_results: null, server_tool_results: { type: 'all' } },
    });
    expect(t.configs.find((c) => c.name === 'web_search')).toMatchObject({
      blocked_domains: ['ads.example.com/path'],
      user_location: { type: 'approximate', city: 'Paris' },
    });
  });

  it.each([
    [{ name: 'web_fetch', allowed_domains: ['a.com'], blocked_domains: ['b.com'] }, /cannot combine/],
    [{ name: 'web_fetch', allowed_domains: [] }, /empty list/],
    [{ name: 'web_fetch', allowed_domains: ['https://a.com'] }, /plain hostname/],
    [{ name: 'web_fetch', url_sources: { user_input: 'none', client_tool_results: 'none', server_tool_results: 'none' } }, /all three/],
    [{ name: 'web_fetch', url_sources: { client_tool_results: { type: 'only', tools: [{ type: 'tool_reference', name: 'nope' }] } } }, /not a custom tool/],
    [{ name: 'web_fetch', url_sources: { server_tool_results: { type: 'except', tools: [{ type: 'tool_reference', name: 'bash' }] } } }, /web_search or web_fetch/],
    [{ name: 'web_fetch', url_sources: { client_tool_results: { type: 'only', tools: [] } } }, /tools/],
  ])('rejects web tool config %j', (config, message) => {
    expect(errorOf(() => create({ tools: [toolset({ configs: [config] })] })).message).toMatch(message);
  });

  it('lets client_tool_results name custom tools of the same agent', () => {
    const only = { type: 'only', tools: [{ type: 'tool_reference', name: 'lookup' }] };
    const a = create({ tools: [toolset({ configs: [{ name: 'web_fetch', url_sources: { client_tool_results: only } }] }), custom('lookup')] });
    expect(JSON.stringify(a.tools[0])).toContain('"client_tool_results":{"type":"only"');
  });
});

describe('MCP toolsets and servers', () => {
  it('defaults MCP tools to always_ask and resolves per-tool configs', () => {
    const a = create({
      mcp_servers: [server('gh')],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh', configs: [{ name: 'create_issue', permission_policy: { type: 'always_allow' } }, { name: 'delete_repo', enabled: false }] }],
    });
    expect(a.mcp_servers).toEqual([server('gh')]);
    expect(a.tools[0]).toEqual({
      type: 'mcp_toolset',
      mcp_server_name: 'gh',
      default_config: { enabled: true, permission_policy: { type: 'always_ask' } },
      configs: [
        { name: 'create_issue', enabled: true, permission_policy: { type: 'always_allow' } },
        { name: 'delete_repo', enabled: false, permission_policy: { type: 'always_ask' } },
      ],
    });
  });

  it.each([
    [{ mcp_servers: [], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh' }] }, /not in mcp_servers/],
    [{ mcp_servers: [server('gh')] }, /not referenced/],
    [{ mcp_servers: [server('gh')], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh' }, { type: 'mcp_toolset', mcp_server_name: 'gh' }] }, /more than one/],
    [{ mcp_servers: [server('gh'), server('gh')], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh' }] }, /duplicate server name/],
    [{ mcp_servers: Array.from({ length: 21 }, (_, i) => server(`s${i}`)) }, /^mcp_servers: at most 20/],
    [{ mcp_servers: [{ type: 'url', name: 'gh', url: 'not a url' }] }, /^mcp_servers\.0\.url/],
    [{ mcp_servers: [{ type: 'stdio', name: 'gh', url: 'https://x' }] }, /^mcp_servers\.0\.type/],
    [{ mcp_servers: [server('gh')], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh', configs: [{ name: 'x' }, { name: 'x' }] }] }, /more than once/],
  ])('rejects %j', (body, message) => {
    expect(errorOf(() => create(body)).message).toMatch(message);
  });
});

describe('custom tools', () => {
  it('keeps the input schema as given, including extra JSON Schema keywords', () => {
    const a = create({ tools: [custom('lookup', { input_schema: { type: 'object', properties: {}, required: [], additionalProperties: false } })] });
    expect(a.tools[0]).toEqual({
      type: 'custom',
      name: 'lookup',
      description: 'the lookup tool',
      input_schema: { type: 'object', properties: {}, required: [], additionalProperties: false },
    });
  });

  it.each([
    [[custom('bad name')], /^tools\.0\.name/],
    [[custom('x'.repeat(129))], /^tools\.0\.name/],
    [[custom('dup'), custom('dup')], /duplicate custom tool name "dup"/],
    [[custom('lookup', { input_schema: { type: 'array' } })], /^tools\.0\.input_schema\.type/],
    [[custom('lookup', { description: undefined })], /^tools\.0\.description/],
    [[toolset(), custom('bash')], /clashes with the built-in/],
  ])('rejects %j', (tools, message) => {
    expect(errorOf(() => create({ tools })).message).toMatch(message);
  });

  it('allows a custom tool named like a built-in when there is no agent toolset', () => {
    expect(create({ tools: [custom('bash')] }).tools).toHaveLength(1);
  });
});

describe('skills, identity and metadata', () => {
  it('stores unpinned skills as version "latest" and rejects duplicates', () => {
    expect(create({ skills: [{ type: 'anthropic', skill_id: 'xlsx' }, { type: 'custom', skill_id: 'skill_1', version: '3' }] }).skills).toEqual([
      { type: 'anthropic', skill_id: 'xlsx', version: 'latest' },
      { type: 'custom', skill_id: 'skill_1', version: '3' },
    ]);
    expect(errorOf(() => create({ skills: [{ type: 'anthropic', skill_id: 'xlsx' }, { type: 'anthropic', skill_id: 'xlsx', version: '2' }] })).message).toMatch(/more than once/);
  });

  it('defaults the execution identity to the service account and keeps an AWS role', () => {
    expect(create({ execution_identity: null }).execution_identity).toEqual({ type: 'service_account' });
    const role = { type: 'aws_role', role_arn: 'arn:aws:iam::123456789012:role/r' };
    expect(create({ execution_identity: role }).execution_identity).toEqual(role);
  });

  it.each([
    [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), /at most 16 keys/],
    [{ ['k'.repeat(65)]: 'v' }, /exceeds 64/],
    [{ k: 'v'.repeat(513) }, /exceeds 512/],
    [{ '': 'v' }, /must not be empty/],
  ])('rejects metadata beyond the limits with invalid_metadata', (metadata, message) => {
    const e = errorOf(() => create({ metadata }));
    expect([e.status, e.errorCode]).toEqual([400, 'invalid_metadata']);
    expect(e.message).toMatch(message);
  });

  it('accepts metadata at the limits', () => {
    const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${i}`.padEnd(64, 'k'), 'v'.repeat(512)]));
    expect(Object.keys(create({ metadata }).metadata)).toHaveLength(16);
  });
});

describe('agent update', () => {
  const base = () =>
    create({
      description: 'd',
      system: 's',
      model: { id: MODEL, effort: 'low', inference_geo: 'us' },
      tools: [toolset(), { type: 'mcp_toolset', mcp_server_name: 'gh' }],
      mcp_servers: [server('gh')],
      skills: [{ type: 'anthropic', skill_id: 'xlsx' }],
      metadata: { team: 'core', env: 'prod' },
    });

  it('keeps omitted fields and creates no version when nothing changes', () => {
    const a = base();
    const r = update(a, { name: 'a', system: 's', tools: [toolset(), { type: 'mcp_toolset', mcp_server_name: 'gh' }], metadata: { team: 'core' } });
    expect(r.changed).toBe(false);
    expect(r.agent).toBe(a);
    expect(update(a, {}).changed).toBe(false);
  });

  it('bumps the version and updated_at on a change, keeping created_at', () => {
    const r = update(base(), { name: 'b' });
    expect(r.changed).toBe(true);
    expect(r.agent).toMatchObject({ name: 'b', version: 2, created_at: T0, updated_at: T1, description: 'd', system: 's' });
  });

  it('re-resolving the stored tools is not a change', () => {
    const a = base();
    expect(update(a, { tools: a.tools, mcp_servers: a.mcp_servers }).changed).toBe(false);
  });

  it('clears description and system with null or an empty string', () => {
    expect(update(base(), { description: null, system: '' }).agent).toMatchObject({ description: null, system: null });
  });

  it('rejects clearing name or model', () => {
    expect(errorOf(() => update(base(), { name: null })).message).toMatch(/^name: name cannot be cleared/);
    expect(errorOf(() => update(base(), { name: '' })).message).toMatch(/^name/);
    expect(errorOf(() => update(base(), { model: null })).message).toMatch(/^model: model cannot be cleared/);
  });

  it('replaces the model whole but keeps effort when omitted', () => {
    expect(update(base(), { model: 'claude-opus-4-6' }).agent.model).toEqual({ id: 'claude-opus-4-6', effort: { type: 'low' } });
    expect(update(base(), { model: { id: MODEL, effort: 'max' } }).agent.model).toEqual({ id: MODEL, effort: { type: 'max' } });
    expect(update(base(), { model: { id: MODEL, effort: null } }).agent.model).toEqual({ id: MODEL, effort: { type: 'high' } });
  });

  it('replaces tools, mcp_servers and skills wholesale and clears them with null or []', () => {
    const r = update(base(), { tools: null, mcp_servers: [], skills: null });
    expect(r.agent).toMatchObject({ tools: [], mcp_servers: [], skills: [], version: 2 });
    expect(update(base(), { tools: [custom('x')], mcp_servers: null }).agent.tools).toEqual([expect.objectContaining({ name: 'x' })]);
  });

  it('re-checks MCP references when only one side changes', () => {
    expect(errorOf(() => update(base(), { mcp_servers: [] })).message).toMatch(/not in mcp_servers/);
    expect(errorOf(() => update(base(), { tools: [toolset()] })).message).toMatch(/not referenced/);
  });

  it('patches metadata: strings upsert, null deletes, null patch keeps', () => {
    expect(update(base(), { metadata: { env: null, owner: 'me', team: '' } }).agent.metadata).toEqual({ team: '', owner: 'me' });
    expect(update(base(), { metadata: null }).changed).toBe(false);
    expect(update(base(), { metadata: { missing: null } }).changed).toBe(false);
  });

  it('rejects a metadata patch that leaves more than 16 keys with invalid_metadata', () => {
    const patch = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`n${i}`, 'v']));
    expect(errorOf(() => update(base(), { metadata: patch })).errorCode).toBe('invalid_metadata');
  });

  it('restores the default execution identity on null', () => {
    const a = create({ execution_identity: { type: 'aws_role', role_arn: 'arn:x' } });
    expect(update(a, { execution_identity: null }).agent.execution_identity).toEqual({ type: 'service_account' });
  });

  it('rejects a stale version with a non-retryable 409', () => {
    const e = errorOf(() => update(base(), { version: 3, name: 'b' }));
    expect([e.status, e.shouldRetry]).toEqual([409, false]);
    expect(update(base(), { version: 1, name: 'b' }).agent.version).toBe(2);
  });

  it('rejects updates to an archived agent', () => {
    const e = errorOf(() => update({ ...base(), archived_at: T1 }, { name: 'b' }));
    expect([e.status, e.message]).toEqual([400, 'agent agent_test1 is archived and cannot be updated']);
  });
});

describe('multiagent', () => {
  const member = create({ name: 'member' }, { id: 'agent_member' });
  const member2 = { ...member, version: 2 };
  const other = create({ name: 'other' }, { id: 'agent_other' });
  const roster = [member, member2, other];

  it('lists the agents a param refers to', () => {
    const param = parseWith(agentCreateSchema, { name: 'x', model: MODEL, multiagent: { type: 'coordinator', agents: ['agent_member', { type: 'agent', id: 'agent_other', version: 1 }, { type: 'self' }] } }).multiagent;
    expect(multiagentParamRefs(param)).toEqual([{ id: 'agent_member', version: undefined }, { id: 'agent_other', version: 1 }]);
  });

  it('resolves a coordinator roster to pinned references with self and the advisor last', () => {
    const a = create(
      { multiagent: { type: 'coordinator', agents: [{ type: 'advisor', model: 'claude-opus-4-6' }, 'agent_member', { type: 'self' }, { type: 'agent', id: 'agent_other', version: 1 }] } },
      { agents: roster },
    );
    expect(a.multiagent).toEqual({
      type: 'coordinator',
      agents: [
        { type: 'agent', id: 'agent_member', version: 2 },
        { type: 'agent', id: 'agent_test1', version: 1 },
        { type: 'agent', id: 'agent_other', version: 1 },
        { type: 'advisor', model: 'claude-opus-4-6' },
      ],
    });
  });

  it.each([
    [['agent_missing'], 404, /no agent with id agent_missing/],
    [['agent_archived'], 400, /archived/],
    [['agent_nested'], 400, /own multiagent/],
    [['agent_member', { type: 'agent', id: 'agent_member', version: 1 }], 400, /more than once/],
    [[{ type: 'self' }, { type: 'self' }], 400, /one self/],
    [[{ type: 'advisor', model: 'm' }, { type: 'advisor', model: 'n' }], 400, /one advisor/],
    [[], 400, /^multiagent\.agents/],
  ])('rejects coordinator roster %j', (agents, status, message) => {
    const archived = { ...create({ name: 'x' }, { id: 'agent_archived' }), archived_at: T0 };
    const nested = create({ name: 'n', multiagent: { type: 'coordinator', agents: [{ type: 'self' }] } }, { id: 'agent_nested' });
    const e = errorOf(() => create({ multiagent: { type: 'coordinator', agents } }, { agents: [...roster, archived, nested] }));
    expect(e.status).toBe(status);
    expect(e.message).toMatch(message);
  });

  it('fills multiagent_20261001 defaults', () => {
    expect(create({ multiagent: { type: 'multiagent_20261001' } }).multiagent).toEqual({
      type: 'multiagent_20261001',
      advisor: { type: 'disabled' },
      subagents: { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] },
      workflows: { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] },
    });
  });

  it('requires predefined agents when inline agents are disabled', () => {
    const body = { multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', inline_agents: { type: 'disabled' } } } };
    expect(errorOf(() => create(body)).message).toMatch(/multiagent\.subagents: with inline_agents disabled/);
  });

  it('merges a multiagent_20261001 update level by level into the stored one', () => {
    const a = create(
      {
        multiagent: {
          type: 'multiagent_20261001',
          advisor: { type: 'enabled', model: 'claude-opus-4-6' },
          subagents: { type: 'enabled', inline_agents: { type: 'disabled' }, predefined_agents: ['agent_member'] },
          workflows: { type: 'disabled' },
        },
      },
      { agents: roster },
    );
    const r = update(a, { multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: ['agent_other', { type: 'self' }] }, workflows: null } }, roster);
    expect(r.agent.multiagent).toEqual({
      type: 'multiagent_20261001',
      advisor: { type: 'enabled', model: 'claude-opus-4-6' },
      subagents: {
        type: 'enabled',
        inline_agents: { type: 'disabled' },
        predefined_agents: [
          { type: 'agent', id: 'agent_other', version: 1 },
          { type: 'agent', id: 'agent_test1', version: 2 },
        ],
      },
      workflows: { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] },
    });
  });

  it('does not version an agent that re-sends the same roster with self', () => {
    const body = { multiagent: { type: 'coordinator', agents: [{ type: 'self' }, 'agent_member'] } };
    const a = create(body, { agents: roster });
    expect(update(a, body, roster).changed).toBe(false);
  });

  it('clears multiagent with null and replaces a coordinator wholesale', () => {
    const a = create({ multiagent: { type: 'coordinator', agents: ['agent_member'] } }, { agents: roster });
    expect(update(a, { multiagent: null }).agent.multiagent).toBeNull();
    expect(update(a, { multiagent: { type: 'multiagent_20261001', workflows: { type: 'disabled' } } }).agent.multiagent).toMatchObject({
      subagents: { predefined_agents: [] },
      workflows: { type: 'disabled' },
    });
  });
});

describe('session agent snapshot', () => {
  const full = () => create({ description: 'd', system: 's', metadata: { a: 'b' }, tools: [toolset()] });

  it('carries the agent definition without metadata or timestamps', () => {
    const snap = sessionAgentSnapshot(full());
    expect(Object.keys(snap).sort()).toEqual(
      ['description', 'execution_identity', 'id', 'mcp_servers', 'model', 'multiagent', 'name', 'skills', 'system', 'tools', 'type', 'version'].sort(),
    );
    expect(snap).toMatchObject({ type: 'agent', id: 'agent_test1', version: 1, system: 's', multiagent: null });
  });

  it('expands roster references into full agent definitions', () => {
    const member = create({ name: 'member', system: 'sub' }, { id: 'agent_member' });
    const a = create({ multiagent: { type: 'coordinator', agents: ['agent_member', { type: 'self' }, { type: 'advisor', model: 'm' }] } }, { agents: [member] });
    const snap = sessionAgentSnapshot(a, (id, v) => (id === member.id && v === 1 ? member : undefined));
    expect(snap.multiagent).toMatchObject({
      type: 'coordinator',
      agents: [
        { type: 'agent', id: 'agent_member', version: 1, name: 'member', system: 'sub' },
        { type: 'agent', id: 'agent_test1', version: 1, name: 'a' },
        { type: 'advisor', model: 'm' },
      ],
    });
    expect(() => sessionAgentSnapshot(a)).toThrow(/agent_member/);
  });

  const override = (snapshotOf: AgentObject, body: Record<string, unknown>) => {
    const p = parseWith(agentWithOverridesSchema, { type: 'agent_with_overrides', id: snapshotOf.id, ...body });
    return applySessionOverrides(sessionAgentSnapshot(snapshotOf), p);
  };

  it('replaces whole fields, keeps the agent effort and clears with null', () => {
    const a = create({ model: { id: MODEL, effort: 'low' }, system: 's', skills: [{ type: 'anthropic', skill_id: 'xlsx' }], tools: [toolset()] });
    const snap = override(a, { model: 'claude-opus-4-6', system: null, tools: null, skills: [] });
    expect(snap).toMatchObject({ model: { id: 'claude-opus-4-6', effort: { type: 'low' } }, system: null, tools: [], skills: [] });
    expect(a.system).toBe('s');
  });

  it('re-validates tools against overridden MCP servers and refuses to clear the model', () => {
    const a = create({ mcp_servers: [server('gh')], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gh' }] });
    expect(errorOf(() => override(a, { mcp_servers: [] })).message).toMatch(/not in mcp_servers/);
    expect(override(a, { mcp_servers: [server('gl')], tools: [{ type: 'mcp_toolset', mcp_server_name: 'gl' }] }).mcp_servers).toEqual([server('gl')]);
    expect(errorOf(() => override(a, { model: null })).message).toMatch(/model: cannot be cleared/);
  });
});
