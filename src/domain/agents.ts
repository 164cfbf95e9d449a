// Agent rules, free of I/O: create and versioned update (no-op detection, field-by-field update
// semantics), model/skill/identity resolution, and the agent snapshot a session carries
// (optionally with `agent_with_overrides` applied).
import { conflict, invalidRequest } from '../protocol/errors.ts';
import {
  applyMetadataPatch,
  validateMetadata,
  type EffortLevel,
  type ExecutionIdentityParam,
  type McpServerParam,
  type Metadata,
  type ModelParam,
  type SkillParam,
  type ToolParam,
} from '../protocol/common-schemas.ts';
import type { AgentCreateParams, AgentUpdateParams } from '../protocol/agent-schemas.ts';
import { checkMcpReferences, resolveMcpServers, resolveTools, type McpServer, type ResolvedTool } from './agent-tools.ts';
import {
  expandMultiagent,
  multiagentRefs,
  resolveMultiagent,
  type AgentLookup,
  type AgentReference,
  type ExpandedMultiagent,
  type Multiagent,
} from './agent-multiagent.ts';

export { resolveTools, resolveMcpServers, checkMcpReferences, multiagentRefs };
export type { ResolvedTool, McpServer, Multiagent, AgentLookup, AgentReference };

export interface ModelConfig {
  id: string;
  effort: { type: EffortLevel };
  inference_geo?: string;
  speed?: 'standard' | 'fast';
}

export interface Skill {
  type: 'anthropic' | 'custom';
  skill_id: string;
  version: string;
}

export type ExecutionIdentity = { type: 'service_account' } | { type: 'aws_role'; role_arn: string };

export interface AgentObject {
  type: 'agent';
  id: string;
  version: number;
  name: string;
  description: string | null;
  system: string | null;
  model: ModelConfig;
  tools: ResolvedTool[];
  mcp_servers: McpServer[];
  skills: Skill[];
  metadata: Metadata;
  multiagent: Multiagent | null;
  execution_identity: ExecutionIdentity;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

/** An agent definition as sessions and threads see it (`BetaManagedAgentsSessionThreadAgent`). */
export interface ThreadAgent {
  type: 'agent';
  id: string;
  version: number;
  name: string;
  description: string | null;
  system: string | null;
  model: ModelConfig;
  tools: ResolvedTool[];
  mcp_servers: McpServer[];
  skills: Skill[];
  execution_identity: ExecutionIdentity;
}

/** The session's `agent` (`BetaManagedAgentsSessionAgent`): a thread agent plus the expanded roster. */
export interface SessionAgent extends ThreadAgent {
  multiagent: ExpandedMultiagent<ThreadAgent> | null;
}

/**
 * The per-model default effort. The SDK says effort is "resolved to the per-model default at save
 * time"; Anthropic documents `high` as the effort every model uses when none is given, so we
 * store `{type:"high"}` for every model rather than keep a per-model table that goes stale.
 */
export const DEFAULT_EFFORT: EffortLevel = 'high';

/**
 * Resolves a model param (id string or config) to the stored object. `keepEffortFrom` is the
 * model being replaced on update: an omitted effort keeps its value (SDK contract), while an
 * explicit null resets to the default. `inference_geo`/`speed` appear only when given, since the
 * model is replaced whole (dropping `inference_geo` clears it).
 */
export function resolveModel(param: ModelParam | string, keepEffortFrom?: ModelConfig): ModelConfig {
  const p = typeof param === 'string' ? { id: param } : param;
  const effort = p.effort === undefined && keepEffortFrom ? keepEffortFrom.effort.type : (p.effort?.type ?? DEFAULT_EFFORT);
  const model: ModelConfig = { id: p.id, effort: { type: effort } };
  if (p.inference_geo != null) model.inference_geo = p.inference_geo;
  if (p.speed != null) model.speed = p.speed;
  return model;
}

/**
 * Resolves skill params. An unpinned version is stored as `"latest"`: Hangar has no skills
 * registry yet, so the version is resolved when the session loads the skill. Duplicates are a 400.
 */
export function resolveSkills(params: SkillParam[] | null | undefined): Skill[] {
  const seen = new Set<string>();
  return (params ?? []).map((s) => {
    const key = `${s.type}:${s.skill_id}`;
    if (seen.has(key)) throw invalidRequest(`skills: skill ${s.skill_id} is listed more than once`);
    seen.add(key);
    return { type: s.type, skill_id: s.skill_id, version: s.version ?? 'latest' };
  });
}

/** Omitted, null and `service_account` all store the default principal. */
export function resolveExecutionIdentity(param: ExecutionIdentityParam | null | undefined): ExecutionIdentity {
  return param?.type === 'aws_role' ? { type: 'aws_role', role_arn: param.role_arn } : { type: 'service_account' };
}

// Create normalizes "" like update does: an empty description/system means "none".
const textOrNull = (v: string | null | undefined): string | null => (v ? v : null);

/** Agents with no roster never consult the lookup, so it may be omitted for them. */
const noAgents: AgentLookup = () => undefined;

export function createAgent(params: AgentCreateParams, ctx: { id: string; now: string; lookup?: AgentLookup }): AgentObject {
  const mcpServers = resolveMcpServers(params.mcp_servers);
  return {
    type: 'agent',
    id: ctx.id,
    version: 1,
    name: params.name,
    description: textOrNull(params.description),
    system: textOrNull(params.system),
    model: resolveModel(params.model),
    tools: resolveTools(params.tools, mcpServers),
    mcp_servers: mcpServers,
    skills: resolveSkills(params.skills),
    metadata: validateMetadata(params.metadata ?? {}),
    multiagent: resolveMultiagent(params.multiagent ?? null, { selfId: ctx.id, selfVersion: 1, lookup: ctx.lookup ?? noAgents }),
    execution_identity: resolveExecutionIdentity(params.execution_identity),
    created_at: ctx.now,
    updated_at: ctx.now,
    archived_at: null,
  };
}

/** The fields that make up an agent version; a change to any of them is a new version. */
const VERSIONED_FIELDS = ['name', 'description', 'system', 'model', 'tools', 'mcp_servers', 'skills', 'metadata', 'multiagent', 'execution_identity'] as const;

/** Key-order-insensitive JSON, for comparing resolved configurations. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Applies an update. Rules (SDK/Docs): omitted fields keep their value; `description`/`system`
 * null or "" clear; `name`/`model` cannot be cleared (the schema rejects null); `model` is
 * replaced whole but keeps `effort` when it is omitted; tools, mcp_servers, skills and
 * execution_identity replace wholesale (null/[] clear); `multiagent` replaces, except that a
 * `multiagent_20261001` merges into a stored one of that type; `metadata` is a patch (null = no
 * change). An update that changes nothing returns the current agent with `changed:false` and no
 * new version or `updated_at`. Throws 400 when archived, 409 when `params.version` is stale.
 */
export function updateAgent(
  current: AgentObject,
  params: AgentUpdateParams,
  ctx: { now: string; lookup?: AgentLookup },
): { agent: AgentObject; changed: boolean } {
  if (current.archived_at) throw invalidRequest(`agent ${current.id} is archived and cannot be updated`);
  if (params.version !== undefined && params.version !== current.version) {
    throw conflict(`agent ${current.id} is at version ${current.version}, not ${params.version}; retrieve it and retry`);
  }
  const mcpServers = params.mcp_servers === undefined ? current.mcp_servers : resolveMcpServers(params.mcp_servers);
  let tools = current.tools;
  if (params.tools !== undefined) tools = resolveTools(params.tools, mcpServers);
  else if (params.mcp_servers !== undefined) checkMcpReferences(tools, mcpServers);

  // `self` roster entries pin the version being written, so resolve against the current version
  // first: re-sending an unchanged configuration must not look like a change.
  const build = (version: number): AgentObject => ({
    ...current,
    version,
    name: params.name ?? current.name,
    description: params.description === undefined ? current.description : textOrNull(params.description),
    system: params.system === undefined ? current.system : textOrNull(params.system),
    model: params.model === undefined ? current.model : resolveModel(params.model, current.model),
    tools,
    mcp_servers: mcpServers,
    skills: params.skills === undefined ? current.skills : resolveSkills(params.skills),
    metadata: params.metadata == null ? current.metadata : applyMetadataPatch(current.metadata, params.metadata, { emptyStringDeletes: false }),
    multiagent:
      params.multiagent === undefined
        ? current.multiagent
        : resolveMultiagent(params.multiagent, { selfId: current.id, selfVersion: version, lookup: ctx.lookup ?? noAgents }, current.multiagent),
    execution_identity: params.execution_identity === undefined ? current.execution_identity : resolveExecutionIdentity(params.execution_identity),
  });

  const same = build(current.version);
  const changed = VERSIONED_FIELDS.some((f) => canonical(same[f]) !== canonical(current[f]));
  if (!changed) return { agent: current, changed: false };
  return { agent: { ...build(current.version + 1), updated_at: ctx.now }, changed: true };
}

function threadAgentOf(a: AgentObject | SessionAgent): ThreadAgent {
  return {
    type: 'agent',
    id: a.id,
    version: a.version,
    name: a.name,
    description: a.description,
    system: a.system,
    model: structuredClone(a.model),
    tools: structuredClone(a.tools),
    mcp_servers: structuredClone(a.mcp_servers),
    skills: structuredClone(a.skills),
    execution_identity: structuredClone(a.execution_identity),
  };
}

/** Finds an exact agent version (for expanding a roster into a session snapshot). */
export type AgentVersionLookup = (id: string, version: number) => AgentObject | undefined;

/**
 * The session's `agent` object. Roster references (see `multiagentRefs(agent.multiagent)`) are
 * expanded to full definitions through `lookup`; references to the agent itself need none.
 * A reference the lookup cannot find is a server bug (agents are never deleted), so it throws a
 * plain Error.
 */
export function sessionAgentSnapshot(agent: AgentObject, lookup?: AgentVersionLookup): SessionAgent {
  const expand = (ref: AgentReference): ThreadAgent => {
    if (ref.id === agent.id && ref.version === agent.version) return threadAgentOf(agent);
    const found = lookup?.(ref.id, ref.version);
    if (!found) throw new Error(`roster agent ${ref.id} v${ref.version} was not provided to sessionAgentSnapshot`);
    return threadAgentOf(found);
  };
  return { ...threadAgentOf(agent), multiagent: expandMultiagent(agent.multiagent, expand) };
}

export interface AgentOverrides {
  model?: ModelParam | string | null;
  system?: string | null;
  tools?: ToolParam[] | null;
  mcp_servers?: McpServerParam[] | null;
  skills?: SkillParam[] | null;
}

/**
 * Applies `agent_with_overrides` fields to a session snapshot: each given field replaces the
 * agent's value whole; null clears (`[]` for lists, null for system) except `model`, which cannot
 * be cleared. An overridden model keeps the agent's effort unless it names one, like an update.
 * Tools are re-validated against the resulting MCP servers. The agent itself is not changed.
 */
export function applySessionOverrides(snapshot: SessionAgent, overrides: AgentOverrides): SessionAgent {
  if (overrides.model === null) throw invalidRequest('agent.model: cannot be cleared; send a model or omit it');
  const mcpServers = overrides.mcp_servers === undefined ? snapshot.mcp_servers : resolveMcpServers(overrides.mcp_servers);
  let tools = snapshot.tools;
  if (overrides.tools !== undefined) tools = resolveTools(overrides.tools, mcpServers);
  else if (overrides.mcp_servers !== undefined) checkMcpReferences(tools, mcpServers);
  return {
    ...snapshot,
    model: overrides.model === undefined ? snapshot.model : resolveModel(overrides.model, snapshot.model),
    system: overrides.system === undefined ? snapshot.system : textOrNull(overrides.system),
    tools,
    mcp_servers: mcpServers,
    skills: overrides.skills === undefined ? snapshot.skills : resolveSkills(overrides.skills),
  };
}
