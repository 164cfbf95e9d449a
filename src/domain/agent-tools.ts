// Tool and MCP server resolution for agents (and session overrides): turns validated tool params
// into the resolved wire form (every built-in tool listed, policies filled in) and enforces the
// cross-field rules zod cannot see (unique names, MCP server references, url_sources names).
import { invalidRequest } from '../protocol/errors.ts';
import {
  BUILTIN_TOOL_NAMES,
  MAX_MCP_SERVERS,
  MAX_TOOLS,
  CUSTOM_TOOL_NAME,
  type BuiltinToolConfigParam,
  type BuiltinToolName,
  type McpServerParam,
  type PermissionPolicy,
  type ToolParam,
} from '../protocol/common-schemas.ts';

export type { PermissionPolicy, BuiltinToolName };

export interface ToolDefaultConfig {
  enabled: boolean;
  permission_policy: PermissionPolicy;
}

/** One built-in tool in a resolved agent toolset; web tools carry their extras (domains, url_sources, ...). */
export interface BuiltinToolConfig extends ToolDefaultConfig {
  name: BuiltinToolName;
  type: BuiltinToolName;
  [extra: string]: unknown;
}

export interface AgentToolset {
  type: 'agent_toolset_20260401';
  default_config: ToolDefaultConfig;
  configs: BuiltinToolConfig[];
}

export interface McpToolConfig extends ToolDefaultConfig {
  name: string;
}

export interface McpToolset {
  type: 'mcp_toolset';
  mcp_server_name: string;
  default_config: ToolDefaultConfig;
  configs: McpToolConfig[];
}

export interface CustomTool {
  type: 'custom';
  name: string;
  description: string;
  input_schema: { type: 'object'; [k: string]: unknown };
}

export type ResolvedTool = AgentToolset | McpToolset | CustomTool;

export interface McpServer {
  type: 'url';
  name: string;
  url: string;
}

// Documented defaults: the agent toolset runs without asking, MCP tools ask first.
const AGENT_TOOLSET_POLICY: PermissionPolicy = { type: 'always_allow' };
const MCP_TOOLSET_POLICY: PermissionPolicy = { type: 'always_ask' };
const SERVER_TOOL_NAMES = new Set(['web_search', 'web_fetch']);

function resolveDefault(
  param: { enabled?: boolean | null; permission_policy?: PermissionPolicy | null } | null | undefined,
  policy: PermissionPolicy,
): ToolDefaultConfig {
  return { enabled: param?.enabled ?? true, permission_policy: { ...(param?.permission_policy ?? policy) } };
}

type UrlFilter = { type: string; tools?: Array<{ name: string; type: 'tool_reference' }> };

function resolveUrlSources(
  sources: { user_input?: UrlFilter | null; client_tool_results?: UrlFilter | null; server_tool_results?: UrlFilter | null } | null | undefined,
  customNames: Set<string>,
): Record<string, UrlFilter | null> | null {
  if (!sources) return null;
  const out = {
    user_input: sources.user_input ?? null,
    client_tool_results: sources.client_tool_results ?? null,
    server_tool_results: sources.server_tool_results ?? null,
  };
  if (out.user_input?.type === 'none' && out.client_tool_results?.type === 'none' && out.server_tool_results?.type === 'none') {
    throw invalidRequest('tools: web_fetch url_sources cannot set all three sources to "none"; disable web_fetch instead');
  }
  const checkNames = (key: string, f: UrlFilter | null, valid: (n: string) => boolean, what: string) => {
    const names = (f?.tools ?? []).map((t) => t.name);
    if (new Set(names).size !== names.length) throw invalidRequest(`tools: web_fetch url_sources.${key} names a tool twice`);
    const bad = names.find((n) => !valid(n));
    if (bad !== undefined) throw invalidRequest(`tools: web_fetch url_sources.${key} names "${bad}", which is not ${what}`);
  };
  checkNames('client_tool_results', out.client_tool_results, (n) => customNames.has(n), 'a custom tool in this tools array');
  checkNames('server_tool_results', out.server_tool_results, (n) => SERVER_TOOL_NAMES.has(n), 'web_search or web_fetch');
  return out;
}

function resolveBuiltin(name: BuiltinToolName, def: ToolDefaultConfig, param: BuiltinToolConfigParam | undefined, customNames: Set<string>): BuiltinToolConfig {
  const cfg: BuiltinToolConfig = {
    name,
    type: name,
    enabled: param?.enabled ?? def.enabled,
    permission_policy: { ...(param?.permission_policy ?? def.permission_policy) },
  };
  if (param?.name === 'web_fetch' || param?.name === 'web_search') {
    if (param.allowed_domains && param.blocked_domains) {
      throw invalidRequest(`tools: ${name} cannot combine allowed_domains with blocked_domains`);
    }
    if (param.allowed_domains) cfg.allowed_domains = [...param.allowed_domains];
    if (param.blocked_domains) cfg.blocked_domains = [...param.blocked_domains];
  }
  if (name === 'web_fetch') {
    const p = param?.name === 'web_fetch' ? param : undefined;
    if (p?.max_content_tokens != null) cfg.max_content_tokens = p.max_content_tokens;
    // The response type always carries url_sources; null means "every source allowed".
    cfg.url_sources = resolveUrlSources(p?.url_sources, customNames);
  }
  if (param?.name === 'web_search' && param.user_location !== undefined) {
    cfg.user_location = param.user_location === null ? null : { ...param.user_location };
  }
  return cfg;
}

function resolveAgentToolset(param: Extract<ToolParam, { type: 'agent_toolset_20260401' }>, customNames: Set<string>): AgentToolset {
  const def = resolveDefault(param.default_config, AGENT_TOOLSET_POLICY);
  const byName = new Map<BuiltinToolName, BuiltinToolConfigParam>();
  for (const c of param.configs ?? []) {
    if (byName.has(c.name)) throw invalidRequest(`tools: agent_toolset_20260401 configures "${c.name}" more than once`);
    byName.set(c.name, c);
  }
  return {
    type: 'agent_toolset_20260401',
    default_config: def,
    configs: BUILTIN_TOOL_NAMES.map((n) => resolveBuiltin(n, def, byName.get(n), customNames)),
  };
}

function resolveMcpToolset(param: Extract<ToolParam, { type: 'mcp_toolset' }>): McpToolset {
  const def = resolveDefault(param.default_config, MCP_TOOLSET_POLICY);
  const seen = new Set<string>();
  const configs = (param.configs ?? []).map((c) => {
    if (seen.has(c.name)) throw invalidRequest(`tools: mcp_toolset "${param.mcp_server_name}" configures "${c.name}" more than once`);
    seen.add(c.name);
    return { name: c.name, enabled: c.enabled ?? def.enabled, permission_policy: { ...(c.permission_policy ?? def.permission_policy) } };
  });
  return { type: 'mcp_toolset', mcp_server_name: param.mcp_server_name, default_config: def, configs };
}

/** Resolves MCP server params: <=20, unique names. */
export function resolveMcpServers(params: McpServerParam[] | null | undefined): McpServer[] {
  const servers = params ?? [];
  if (servers.length > MAX_MCP_SERVERS) throw invalidRequest(`mcp_servers: at most ${MAX_MCP_SERVERS} MCP servers are allowed`);
  const names = new Set<string>();
  return servers.map((s) => {
    if (names.has(s.name)) throw invalidRequest(`mcp_servers: duplicate server name "${s.name}"`);
    names.add(s.name);
    return { type: 'url', name: s.name, url: s.url };
  });
}

/**
 * Every mcp_toolset must name a server in `servers`, and every server must be used by exactly
 * one toolset (unreferenced servers are rejected, per the SDK docs). Works on resolved tools, so
 * an update that changes only one side can re-check the pair.
 */
export function checkMcpReferences(tools: ResolvedTool[], servers: McpServer[]): void {
  const serverNames = new Set(servers.map((s) => s.name));
  const used = new Set<string>();
  for (const t of tools) {
    if (t.type !== 'mcp_toolset') continue;
    if (!serverNames.has(t.mcp_server_name)) {
      throw invalidRequest(`tools: mcp_toolset refers to MCP server "${t.mcp_server_name}", which is not in mcp_servers`);
    }
    if (used.has(t.mcp_server_name)) throw invalidRequest(`tools: MCP server "${t.mcp_server_name}" is referenced by more than one mcp_toolset`);
    used.add(t.mcp_server_name);
  }
  const unused = servers.find((s) => !used.has(s.name));
  if (unused) throw invalidRequest(`mcp_servers: server "${unused.name}" is not referenced by any mcp_toolset in tools`);
}

/**
 * Resolves tool params against the agent's (resulting) MCP servers. Throws 400 on: >256 tools,
 * more than one agent toolset, duplicate or malformed custom tool names, a custom tool shadowing
 * a built-in tool of a present agent toolset, duplicate per-tool configs, bad MCP references.
 */
export function resolveTools(params: ToolParam[] | null | undefined, servers: McpServer[]): ResolvedTool[] {
  const list = params ?? [];
  if (list.length > MAX_TOOLS) throw invalidRequest(`tools: at most ${MAX_TOOLS} tools are allowed, got ${list.length}`);
  const customNames = new Set<string>();
  let toolsets = 0;
  for (const t of list) {
    if (t.type === 'agent_toolset_20260401') toolsets++;
    if (t.type !== 'custom') continue;
    if (!CUSTOM_TOOL_NAME.test(t.name)) throw invalidRequest(`tools: custom tool name "${t.name}" must match ${CUSTOM_TOOL_NAME.source}`);
    if (customNames.has(t.name)) throw invalidRequest(`tools: duplicate custom tool name "${t.name}"`);
    customNames.add(t.name);
  }
  if (toolsets > 1) throw invalidRequest('tools: at most one agent_toolset_20260401 is allowed');
  if (toolsets === 1) {
    const clash = BUILTIN_TOOL_NAMES.find((n) => customNames.has(n));
    if (clash) throw invalidRequest(`tools: custom tool "${clash}" clashes with the built-in tool of the same name`);
  }
  const resolved: ResolvedTool[] = list.map((t) => {
    switch (t.type) {
      case 'agent_toolset_20260401':
        return resolveAgentToolset(t, customNames);
      case 'mcp_toolset':
        return resolveMcpToolset(t);
      case 'custom':
        return { type: 'custom', name: t.name, description: t.description, input_schema: structuredClone(t.input_schema) };
    }
  });
  checkMcpReferences(resolved, servers);
  return resolved;
}
