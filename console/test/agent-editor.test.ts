// The agent editor's pure parts: the JSON and YAML views parse to the same editable fields (and
// refuse what is not an object of editable fields), the form's built-in tool toggles change
// only the toggled tool's `enabled` in the agent toolset, and the environment and credential forms'
// request bodies.
import { describe, expect, it } from 'vitest';
import { agentText, parseAgentText, setToolEnabled, toolEnabled } from '../src/pages/Agents.tsx';
import { credentialBody, environmentBody } from '../src/pages/Resources.tsx';

const TOOLSET = 'agent_toolset_20260401';

describe('agent editor views', () => {
  it('round-trips the editable fields through YAML and JSON', () => {
    const value = { name: 'a', model: { id: 'm', speed: 'standard' }, system: 'line one\nline two', tools: [{ type: TOOLSET, configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }] };
    for (const mode of ['json', 'yaml'] as const) expect(parseAgentText(agentText(value, mode), mode)).toEqual({ value });
    expect(agentText(value, 'yaml')).toContain('name: a');
    expect(parseAgentText('name: b\nsystem: |\n  hi\n', 'yaml')).toEqual({ value: { name: 'b', system: 'hi\n' } });
  });

  it('refuses invalid YAML, a non-mapping and non-editable keys', () => {
    expect(parseAgentText('name: [unclosed', 'yaml').problem).toMatch(/^not valid YAML/);
    expect(parseAgentText('- 1\n- 2', 'yaml').problem).toBe('expected a YAML mapping');
    expect(parseAgentText('just a string', 'yaml').problem).toBe('expected a YAML mapping');
    expect(parseAgentText('id: agent_1\nname: x', 'yaml').problem).toBe('not editable here: id');
    expect(parseAgentText('{"name": ', 'json').problem).toMatch(/^not valid JSON/);
  });
});

describe('built-in tool toggles', () => {
  it('reads enabled from the tool config, then the toolset default, and is off without a toolset', () => {
    expect(toolEnabled(undefined, 'bash')).toBe(false);
    expect(toolEnabled([{ type: 'custom', name: 'bash' }], 'bash')).toBe(false);
    expect(toolEnabled([{ type: TOOLSET }], 'bash')).toBe(true);
    expect(toolEnabled([{ type: TOOLSET, default_config: { enabled: false } }], 'bash')).toBe(false);
    expect(toolEnabled([{ type: TOOLSET, default_config: { enabled: false }, configs: [{ name: 'bash', enabled: true }] }], 'bash')).toBe(true);
    expect(toolEnabled([{ type: TOOLSET, configs: [{ name: 'bash', enabled: false }] }], 'bash')).toBe(false);
  });

  it('adds a toolset with only the switched-on tool, and changes only that tool afterwards', () => {
    const custom = { type: 'custom', name: 'lookup', input_schema: { type: 'object' } };
    const on = setToolEnabled([custom], 'grep', true);
    expect(on).toEqual([custom, { type: TOOLSET, default_config: { enabled: false }, configs: [{ name: 'grep', enabled: true }] }]);
    expect(toolEnabled(on, 'grep')).toBe(true);
    expect(toolEnabled(on, 'bash')).toBe(false);
    expect(setToolEnabled([custom], 'grep', false)).toEqual([custom]);
    const tools = [{ type: TOOLSET, configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }];
    const off = setToolEnabled(tools, 'bash', false);
    expect(off).toEqual([{ type: TOOLSET, configs: [{ name: 'bash', permission_policy: { type: 'always_ask' }, enabled: false }] }]);
    expect(tools[0].configs[0]).not.toHaveProperty('enabled'); // the input is not mutated
    expect(setToolEnabled(off, 'web_fetch', false)[0].configs).toEqual([{ name: 'bash', permission_policy: { type: 'always_ask' }, enabled: false }, { name: 'web_fetch', enabled: false }]);
  });
});

describe('environment form body', () => {
  const base = { name: ' env ', description: '', type: 'cloud', networking: 'unrestricted', hosts: '', mcp: false, packages: false, pkgs: {} };
  it('sends networking, only the package managers given, and nothing cloud-only for self-hosted', () => {
    expect(environmentBody(base)).toEqual({ name: 'env', config: { type: 'cloud', networking: { type: 'unrestricted' } } });
    expect(environmentBody({ ...base, networking: 'limited', hosts: 'a.example.com, b.example.com\nc.example.com', mcp: true, packages: true, pkgs: { pip: 'requests==2.32.3  rich', npm: ' ', apt: 'jq' } })).toEqual({
      name: 'env',
      config: {
        type: 'cloud',
        networking: { type: 'limited', allowed_hosts: ['a.example.com', 'b.example.com', 'c.example.com'], allow_mcp_servers: true, allow_package_managers: true },
        packages: { type: 'packages', apt: ['jq'], pip: ['requests==2.32.3', 'rich'] },
      },
    });
    expect(environmentBody({ ...base, type: 'self_hosted', description: ' d ', networking: 'limited', pkgs: { pip: 'x' } })).toEqual({ name: 'env', description: 'd', config: { type: 'self_hosted' } });
  });

  it('builds credential bodies with the secret in its kind\'s field only', () => {
    expect(credentialBody('static_bearer', { name: ' n ', target: ' https://m.example/mcp ', secret: 's1' })).toEqual({ display_name: 'n', auth: { type: 'static_bearer', mcp_server_url: 'https://m.example/mcp', token: 's1' } });
    expect(credentialBody('environment_variable', { name: '', target: 'KEY', secret: 's2' })).toEqual({ auth: { type: 'environment_variable', secret_name: 'KEY', secret_value: 's2', networking: { type: 'unrestricted' } } });
  });
});
