// Turns a model tool call into its log event and decides its permission: custom tools go to the
// client; built-in and MCP tools carry `evaluated_permission` from the agent's policies; calls to
// tools that were never offered are denied.
import type { EventFactory, WireEvent } from '../domain/session-events.ts';
import type { AgentSnapshot } from './context.ts';
import { evaluateAuto } from './auto-policy.ts';
import type { McpRoute } from './tool-runner.ts';
import { COORDINATOR_TOOL_NAMES, workflowDenial } from './threads/coordinator-tools.ts';
import { ADVISOR_TOOL } from './threads/thread-model.ts';

type Policy = { type: 'always_allow' | 'always_ask' | 'auto' };

interface ToolsetConfig {
  type: string;
  default_config?: { enabled?: boolean; permission_policy?: Policy };
  configs?: Array<{ name: string; enabled?: boolean; permission_policy?: Policy }>;
}

/** The effective policy of a built-in tool for this agent, or undefined when it is disabled/absent. */
export function builtinPolicy(agent: AgentSnapshot, name: string): Policy | undefined {
  const toolset = agent.tools.find((t) => t.type === 'agent_toolset_20260401') as ToolsetConfig | undefined;
  if (!toolset) return undefined;
  const own = toolset.configs?.find((c) => c.name === name);
  const enabled = own?.enabled ?? toolset.default_config?.enabled ?? true;
  if (!enabled) return undefined;
  return own?.permission_policy ?? toolset.default_config?.permission_policy ?? { type: 'always_allow' };
}

export function toolUseEvent(
  f: EventFactory,
  agent: AgentSnapshot,
  call: { name: string; input: Record<string, unknown> },
  offered: Set<string>,
  mcp: ReadonlyMap<string, McpRoute> = new Map(),
): { event: WireEvent; denial?: string } {
  const isCustom = agent.tools.some((t) => t.type === 'custom' && t.name === call.name);
  if (isCustom) return { event: f.agentCustomToolUse(call.name, call.input) };
  const route = mcp.get(call.name);
  if (route) {
    const base = { mcp_server_name: route.server, name: route.tool, input: call.input };
    if (route.policy.type === 'always_allow') return { event: f.agentMcpToolUse({ ...base, evaluated_permission: 'allow', evaluation: { type: 'always_allow' } }) };
    if (route.policy.type === 'auto') {
      // MCP tools are opaque to the rule set (it judges built-in tools' inputs; an MCP tool does
      // whatever its server does), so `auto` never allows one unasked: it asks, every time.
      return { event: f.agentMcpToolUse({ ...base, evaluated_permission: 'ask', evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } } }) };
    }
    return { event: f.agentMcpToolUse({ ...base, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } }) };
  }
  // The coordinator's own tools (offered only to agents with a roster) and the advisor need no permission.
  if (offered.has(call.name) && (COORDINATOR_TOOL_NAMES.has(call.name) || call.name === ADVISOR_TOOL)) {
    return { event: f.agentToolUse({ name: call.name, input: call.input, evaluated_permission: 'allow', evaluation: { type: 'always_allow' } }) };
  }
  const policy = offered.has(call.name) ? builtinPolicy(agent, call.name) : undefined;
  if (!policy) {
    // Never offered (disabled or unknown): denied, with no evaluation.
    return {
      event: f.agentToolUse({ name: call.name, input: call.input, evaluated_permission: 'deny' }),
      denial: workflowDenial(agent as unknown as Record<string, unknown>, call.name) ??
        `Permission to use ${call.name} has been denied: the tool is not available to this agent.`,
    };
  }
  if (policy.type === 'always_ask') {
    return { event: f.agentToolUse({ name: call.name, input: call.input, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } }) };
  }
  if (policy.type === 'auto') {
    const decision = evaluateAuto(call.name, call.input);
    const event = f.agentToolUse({
      name: call.name, input: call.input, evaluated_permission: decision.type,
      evaluation: { type: 'auto', evaluated_permission: decision },
    });
    return decision.type === 'deny' ? { event, denial: `Permission to use ${call.name} has been denied.` } : { event };
  }
  return { event: f.agentToolUse({ name: call.name, input: call.input, evaluated_permission: 'allow', evaluation: { type: 'always_allow' } }) };
}
