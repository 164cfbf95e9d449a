// Multiagent configuration of an agent: resolves roster params (ids, `self`, advisors) to pinned
// agent references, applies the `multiagent_20261001` level-by-level update merge, and expands
// references into full agent definitions for session snapshots. Pure: callers pre-fetch the
// referenced agents (see `multiagentParamRefs`) and pass a synchronous lookup.
import { invalidRequest, notFound } from '../protocol/errors.ts';
import type { MultiagentMemberParam, MultiagentParam, PredefinedAgentParam, RosterEntryParam } from '../protocol/agent-schemas.ts';

export interface AgentReference {
  type: 'agent';
  id: string;
  version: number;
}
export interface AdvisorEntry {
  type: 'advisor';
  model: string;
}
export interface Coordinator {
  type: 'coordinator';
  agents: Array<AgentReference | AdvisorEntry>;
}
export type Toggle = { type: 'enabled' } | { type: 'disabled' };
export type MultiagentMember<R = AgentReference> =
  | { type: 'enabled'; inline_agents: Toggle; predefined_agents: R[] }
  | { type: 'disabled' };
export interface Multiagent20261001<R = AgentReference> {
  type: 'multiagent_20261001';
  advisor: { type: 'enabled'; model: string } | { type: 'disabled' };
  subagents: MultiagentMember<R>;
  workflows: MultiagentMember<R>;
}
export type Multiagent = Coordinator | Multiagent20261001;
/** A configuration whose references were replaced by full definitions `T`. */
export type ExpandedMultiagent<T> = { type: 'coordinator'; agents: Array<T | AdvisorEntry> } | Multiagent20261001<T>;

/** What resolution needs to know about a referenced agent. */
export interface RosterAgent {
  id: string;
  version: number;
  archived_at: string | null;
  multiagent: unknown;
}

/** Finds a stored agent: the given version, or the latest when `version` is undefined. */
export type AgentLookup = (id: string, version?: number) => RosterAgent | undefined;

export interface MultiagentContext {
  /** The agent that owns the configuration; `self` and references to this id resolve to it. */
  selfId: string;
  /** The version being written (self references pin it). */
  selfVersion: number;
  lookup: AgentLookup;
}

const MAX_PREDEFINED = 20;

/** The agents a multiagent param refers to, so the caller can fetch them before resolving. */
export function multiagentParamRefs(param: MultiagentParam | null | undefined): Array<{ id: string; version?: number }> {
  if (!param) return [];
  const entries: Array<RosterEntryParam | PredefinedAgentParam> =
    param.type === 'coordinator'
      ? param.agents
      : [param.subagents, param.workflows].flatMap((m) => (m?.type === 'enabled' ? (m.predefined_agents ?? []) : []));
  return entries.flatMap((e) => (e.type === 'agent' ? [{ id: e.id, version: e.version ?? undefined }] : []));
}

function resolveRef(p: Extract<PredefinedAgentParam, { type: 'agent' | 'self' }>, ctx: MultiagentContext, where: string): AgentReference {
  if (p.type === 'self' || p.id === ctx.selfId) {
    const version = p.type === 'agent' && p.version != null ? p.version : ctx.selfVersion;
    if (version > ctx.selfVersion) throw notFound(`${where}: agent ${ctx.selfId} has no version ${version}`);
    return { type: 'agent', id: ctx.selfId, version };
  }
  const found = ctx.lookup(p.id, p.version ?? undefined);
  if (!found) throw notFound(`${where}: no agent with id ${p.id}${p.version != null ? ` and version ${p.version}` : ''}`);
  if (found.archived_at) throw invalidRequest(`${where}: agent ${p.id} is archived`);
  // Depth limit 1: a roster member cannot orchestrate agents of its own.
  if (found.multiagent) throw invalidRequest(`${where}: agent ${p.id} has its own multiagent configuration and cannot be a member`);
  return { type: 'agent', id: found.id, version: found.version };
}

function requireDistinct(refs: AgentReference[], where: string): void {
  const ids = new Set<string>();
  for (const r of refs) {
    if (ids.has(r.id)) throw invalidRequest(`${where}: agent ${r.id} is listed more than once`);
    ids.add(r.id);
  }
}

function resolveCoordinator(param: Extract<MultiagentParam, { type: 'coordinator' }>, ctx: MultiagentContext): Coordinator {
  const where = 'multiagent.agents';
  const selves = param.agents.filter((e) => e.type === 'self' || (e.type === 'agent' && e.id === ctx.selfId)).length;
  if (selves > 1) throw invalidRequest(`${where}: at most one self entry is allowed`);
  const advisors = param.agents.filter((e): e is Extract<RosterEntryParam, { type: 'advisor' }> => e.type === 'advisor');
  if (advisors.length > 1) throw invalidRequest(`${where}: at most one advisor entry is allowed`);
  const refs = param.agents.flatMap((e) => (e.type === 'advisor' ? [] : [resolveRef(e, ctx, where)]));
  requireDistinct(refs, where);
  // Responses list the advisor last.
  return { type: 'coordinator', agents: [...refs, ...advisors.map((a) => ({ type: 'advisor' as const, model: a.model }))] };
}

const defaultMember = (): MultiagentMember => ({ type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] });

function resolveMember(
  name: 'subagents' | 'workflows',
  param: MultiagentMemberParam | null | undefined,
  stored: MultiagentMember | undefined,
  ctx: MultiagentContext,
): MultiagentMember {
  const where = `multiagent.${name}`;
  let member: MultiagentMember;
  if (param === undefined) member = stored ?? defaultMember(); // omitted: keep the stored value
  else if (param === null) member = defaultMember(); // null: take the default
  else if (param.type === 'disabled') member = { type: 'disabled' };
  else {
    // Same type as stored: merge key by key; otherwise omitted keys take their defaults.
    const base = stored?.type === 'enabled' ? stored : undefined;
    const inline: Toggle =
      param.inline_agents === undefined ? (base?.inline_agents ?? { type: 'enabled' }) : { type: param.inline_agents?.type ?? 'enabled' };
    const predefined =
      param.predefined_agents === undefined
        ? (base?.predefined_agents ?? [])
        : (param.predefined_agents ?? []).map((p) => resolveRef(p, ctx, `${where}.predefined_agents`));
    member = { type: 'enabled', inline_agents: inline, predefined_agents: predefined };
  }
  if (member.type === 'enabled') {
    if (member.predefined_agents.length > MAX_PREDEFINED) throw invalidRequest(`${where}.predefined_agents: at most ${MAX_PREDEFINED} agents are allowed`);
    requireDistinct(member.predefined_agents, `${where}.predefined_agents`);
    if (member.inline_agents.type === 'disabled' && member.predefined_agents.length === 0) {
      throw invalidRequest(`${where}: with inline_agents disabled, predefined_agents must name at least one agent`);
    }
  }
  return member;
}

/**
 * Resolves a multiagent param. `stored` is the agent's current configuration on update: a
 * `multiagent_20261001` param merges into a stored one of the same type (SDK contract); every
 * other combination replaces it. null clears.
 */
export function resolveMultiagent(param: MultiagentParam | null, ctx: MultiagentContext, stored: Multiagent | null = null): Multiagent | null {
  if (param === null) return null;
  if (param.type === 'coordinator') return resolveCoordinator(param, ctx);
  const base = stored?.type === 'multiagent_20261001' ? stored : undefined;
  const advisor: Multiagent20261001['advisor'] =
    param.advisor === undefined
      ? (base?.advisor ?? { type: 'disabled' })
      : param.advisor === null || param.advisor.type === 'disabled'
        ? { type: 'disabled' }
        : { type: 'enabled', model: param.advisor.model };
  return {
    type: 'multiagent_20261001',
    advisor,
    subagents: resolveMember('subagents', param.subagents, base?.subagents, ctx),
    workflows: resolveMember('workflows', param.workflows, base?.workflows, ctx),
  };
}

/** Every agent reference in a resolved configuration (for callers that must fetch them). */
export function multiagentRefs(m: Multiagent | null): AgentReference[] {
  if (!m) return [];
  if (m.type === 'coordinator') return m.agents.filter((a): a is AgentReference => a.type === 'agent');
  return [m.subagents, m.workflows].flatMap((x) => (x.type === 'enabled' ? x.predefined_agents : []));
}

/** Replaces each agent reference with `expand(ref)` (session snapshots carry full definitions). */
export function expandMultiagent<T>(m: Multiagent | null, expand: (ref: AgentReference) => T): ExpandedMultiagent<T> | null {
  if (!m) return null;
  if (m.type === 'coordinator') {
    return { type: 'coordinator', agents: m.agents.map((a) => (a.type === 'agent' ? expand(a) : { ...a })) };
  }
  const member = (x: MultiagentMember): MultiagentMember<T> =>
    x.type === 'enabled' ? { type: 'enabled', inline_agents: { ...x.inline_agents }, predefined_agents: x.predefined_agents.map(expand) } : { type: 'disabled' };
  const out: Multiagent20261001<T> = { type: 'multiagent_20261001', advisor: { ...m.advisor }, subagents: member(m.subagents), workflows: member(m.workflows) };
  return out;
}
