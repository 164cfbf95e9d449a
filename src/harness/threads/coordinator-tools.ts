// The coordinator's tools (docs/notes/threads.md): `list_agents` shows the roster, `send_to_agent`
// starts a thread for a roster (or inline) agent or sends a follow-up to an existing one. A call
// is answered in the same commit that creates the thread and queues the message, so a crash can
// neither lose the message nor deliver it twice: re-running the call finds its result recorded.
import { z } from 'zod';
import { newId } from '../../protocol/ids.ts';
import type { ModelToolDefinition } from '../../ports/model.ts';
import type { CommitPlan, SessionRow, StoredEvent } from '../../ports/store.ts';
import { agentCreateSchema } from '../../protocol/agent-schemas.ts';
import { resolveModel, resolveTools } from '../../domain/agents.ts';
import { resultTarget } from '../log-state.ts';
import { ADVISOR_THREAD_NAME, isAdvisorThread, primaryThreadId, threadsOf, type ThreadMap, type ThreadState } from './thread-model.ts';

export const LIST_AGENTS = 'list_agents';
export const SEND_TO_AGENT = 'send_to_agent';
export const COORDINATOR_TOOL_NAMES: ReadonlySet<string> = new Set([LIST_AGENTS, SEND_TO_AGENT]);
/** The name a workflow tool would have; not offered (workflow runs are not supported yet). */
export const START_WORKFLOW_RUN = 'start_workflow_run';
/** Active (running or rescheduling) child threads a session may have at once. */
export const MAX_ACTIVE_THREADS = 25;

interface Roster {
  agents: Array<Record<string, unknown> & { name: string }>;
  inline: boolean;
}

/** Who the session's primary agent may delegate to; undefined when it may not delegate. */
export function rosterOf(agent: Record<string, unknown>): Roster | undefined {
  const m = agent.multiagent as Record<string, any> | null | undefined;
  if (!m) return undefined;
  if (m.type === 'coordinator') {
    const agents = (m.agents as Array<Record<string, any>>).filter((a) => a.type === 'agent');
    return agents.length ? { agents: agents as Roster['agents'], inline: false } : undefined;
  }
  if (m.subagents?.type !== 'enabled') return undefined;
  return { agents: m.subagents.predefined_agents ?? [], inline: m.subagents.inline_agents?.type === 'enabled' };
}

/**
 * The dedicated answer to a model that calls a workflow tool while `workflows` is enabled in the
 * agent's configuration (accepted, but workflow runs are not supported yet); undefined otherwise.
 */
export function workflowDenial(agent: Record<string, unknown>, toolName: string): string | undefined {
  const m = agent.multiagent as Record<string, any> | null | undefined;
  if (m?.type !== 'multiagent_20261001' || m.workflows?.type !== 'enabled') return undefined;
  if (toolName !== START_WORKFLOW_RUN && !/workflow/i.test(toolName)) return undefined;
  return `${toolName}: workflow runs are not yet supported by this server (multiagent.workflows is accepted but not run). Delegate with send_to_agent instead.`;
}

/** Tool definitions offered to a delegating primary agent. */
export function coordinatorToolDefinitions(roster: Roster): ModelToolDefinition[] {
  const names = roster.agents.map((a) => a.name);
  const agentProp = roster.inline
    ? {
      agent: {
        type: 'object',
        description: 'An inline agent definition, instead of agent_name: name, model (id), system prompt and tools (as on agent create).',
        properties: { name: { type: 'string' }, model: { type: 'string' }, system: { type: 'string' }, tools: { type: 'array', items: { type: 'object' } } },
      },
    }
    : {};
  return [
    {
      name: LIST_AGENTS,
      description: 'List the agents you can delegate work to, with their names and descriptions.',
      input_schema: { type: 'object', properties: {} },
    },
    {
      name: SEND_TO_AGENT,
      description: 'Send a message to another agent, which works on it in its own thread and context. Without session_thread_id a new thread is started; with it, the message is a follow-up in that thread. The agent\'s reply arrives later as a message from it; several agents can work at once.' +
        (names.length ? ` Agents: ${names.join(', ')}.` : ''),
      input_schema: {
        type: 'object',
        properties: {
          agent_name: { type: 'string', description: 'Name of the agent (see list_agents).' },
          message: { type: 'string', description: 'What the agent should do.' },
          session_thread_id: { type: 'string', description: 'A thread started earlier, to continue it.' },
          ...agentProp,
        },
        required: ['message'],
      },
    },
  ];
}

const inlineAgentSchema = agentCreateSchema.pick({ model: true, system: true, tools: true, description: true })
  .extend({ name: z.string().min(1).max(256).optional(), model: agentCreateSchema.shape.model.optional() })
  .strict();

type CallResult = { text: string; isError: boolean; events?: Array<StoredEvent['event']>; threads?: ThreadMap };

const err = (text: string): CallResult => ({ text, isError: true });

function listAgents(roster: Roster): CallResult {
  const agents = roster.agents.map((a) => ({ name: a.name, description: a.description ?? null }));
  return { text: JSON.stringify({ agents, inline_agents: roster.inline }), isError: false };
}

function inlineAgent(raw: unknown, coordinator: Record<string, unknown>): Record<string, unknown> | string {
  const parsed = inlineAgentSchema.safeParse(raw);
  if (!parsed.success) return `agent: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
  const p = parsed.data;
  try {
    return {
      type: 'inline', name: p.name ?? `inline-${newId('sthr').slice(-8)}`, description: p.description ?? null, system: p.system ?? null,
      model: p.model ? resolveModel(p.model) : coordinator.model, tools: resolveTools(p.tools ?? [], []),
      mcp_servers: [], skills: [], execution_identity: coordinator.execution_identity ?? { type: 'service_account' },
    };
  } catch (e) {
    return `agent: ${(e as Error).message}`;
  }
}

function sendToAgent(row: SessionRow, input: Record<string, unknown>, roster: Roster, now: string): CallResult {
  const sessionId = String(row.session.id);
  const primaryId = primaryThreadId(sessionId);
  const threads = threadsOf(row.session);
  const coordinator = threads[primaryId];
  const message = input.message;
  if (typeof message !== 'string' || !message.trim()) return err('send_to_agent: "message" must be a non-empty string.');
  const threadIdParam = input.session_thread_id;
  const name = input.agent_name;
  if (name !== undefined && typeof name !== 'string') return err('send_to_agent: "agent_name" must be a string.');
  if (threadIdParam !== undefined && threadIdParam !== null && typeof threadIdParam !== 'string') return err('send_to_agent: "session_thread_id" must be a string.');
  if (input.agent !== undefined && name !== undefined) return err('send_to_agent: give either "agent_name" or "agent", not both.');
  // Advisor consults are exempt from the limit.
  const active = Object.values(threads).filter((t) => t.parent_thread_id && !t.archived_at && !isAdvisorThread(t) && (t.status === 'running' || t.status === 'rescheduling')).length;

  let thread: ThreadState;
  let created = false;
  if (threadIdParam) {
    const found = threads[threadIdParam];
    if (!found || !found.parent_thread_id) return err(`send_to_agent: no thread ${threadIdParam} in this session to follow up on.`);
    if (found.archived_at) return err(`send_to_agent: thread ${threadIdParam} is archived and takes no more messages.`);
    if (found.status === 'terminated') return err(`send_to_agent: thread ${threadIdParam} has terminated and takes no more messages.`);
    if (name !== undefined && name !== found.agent_name) return err(`send_to_agent: thread ${threadIdParam} belongs to agent "${found.agent_name}", not "${name}".`);
    thread = { ...found };
  } else {
    let agent: Record<string, unknown>;
    if (input.agent !== undefined) {
      if (!roster.inline) return err('send_to_agent: inline agents are not enabled for this agent; name a roster agent with "agent_name".');
      const a = inlineAgent(input.agent, coordinator.agent);
      if (typeof a === 'string') return err(`send_to_agent: ${a}`);
      agent = a;
    } else {
      if (typeof name !== 'string') return err('send_to_agent: "agent_name" is required (or "session_thread_id" to follow up).');
      const found = roster.agents.find((a) => a.name === name || a.id === name);
      if (!found) return err(`send_to_agent: no agent named "${name}" in the roster. Available: ${roster.agents.map((a) => a.name).join(', ') || '(none)'}.`);
      agent = found;
    }
    // The advisor's consults are recognized by this name (their advice is not a report).
    if (agent.name === ADVISOR_THREAD_NAME) return err(`send_to_agent: the agent name "${ADVISOR_THREAD_NAME}" is reserved for advisor consults; give the agent another name.`);
    thread = {
      id: newId('sthr'), agent_name: String(agent.name), agent, parent_thread_id: primaryId, status: 'idle', running_since: null,
      retry_count: 0, active_seconds: 0, stop_reason: null, created_at: now, updated_at: now, archived_at: null,
    };
    created = true;
  }
  const starting = thread.status === 'idle';
  if (starting && active >= MAX_ACTIVE_THREADS) {
    return err(`send_to_agent: at most ${MAX_ACTIVE_THREADS} threads can be active in a session at once; wait for a thread to report back, then try again.`);
  }
  const make = (type: string, extra: Record<string, unknown>, processed: string | null = now) => ({ id: newId('sevt'), type, ...extra, processed_at: processed });
  const content = [{ type: 'text', text: message }];
  const events: Array<StoredEvent['event']> = [];
  if (created) events.push(make('session.thread_created', { session_thread_id: thread.id, agent_name: thread.agent_name, workflow_run_id: null }));
  events.push(make('agent.thread_message_sent', { to_session_thread_id: thread.id, to_agent_name: thread.agent_name, content }));
  events.push(make('agent.thread_message_received', {
    from_session_thread_id: primaryId, from_agent_name: coordinator.agent_name, content, session_thread_id: thread.id,
  }, null));
  if (starting) {
    events.push(make('session.thread_status_running', { session_thread_id: thread.id, agent_name: thread.agent_name }));
    thread.status = 'running';
    thread.running_since = Date.parse(now);
  }
  thread.updated_at = now;
  const text = created
    ? `Started thread ${thread.id} for agent "${thread.agent_name}". Its reply will arrive as a message from it; pass session_thread_id "${thread.id}" to send it a follow-up.`
    : `Sent a follow-up to thread ${thread.id} (agent "${thread.agent_name}"). Its reply will arrive as a message from it.`;
  return { text, isError: false, events, threads: { ...threads, [thread.id]: thread } };
}

/** The commit answering one coordinator tool call (nothing when it was answered already). */
export function planCoordinatorCall(row: SessionRow, log: StoredEvent[], use: { id: string; name: string; input: Record<string, unknown> }, now: string): CommitPlan {
  if (log.some((e) => resultTarget(e.event) === use.id)) return { now };
  const roster = rosterOf(row.session.agent as Record<string, unknown>);
  const result: CallResult = !roster ? err(`${use.name}: this agent cannot delegate to other agents.`)
    : use.name === LIST_AGENTS ? listAgents(roster) : sendToAgent(row, use.input, roster, now);
  const events = [...(result.events ?? []), {
    id: newId('sevt'), type: 'agent.tool_result', tool_use_id: use.id, content: [{ type: 'text', text: result.text }], is_error: result.isError, processed_at: now,
  }];
  return { now, events, patch: { pendingWake: result.threads ? true : undefined, fields: result.threads ? { _threads: result.threads } : undefined } };
}
