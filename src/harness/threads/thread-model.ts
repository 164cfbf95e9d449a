// Session threads as data (docs/notes/threads.md): which thread an event belongs to, the per-thread
// state kept in the session row (`_threads`), the log as one thread's planner sees it, and which
// events each stream shows. Pure: no I/O, so the harness, the API and the tests share one reading.
import type { StoredEvent } from '../../ports/store.ts';

export type ThreadStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

/** One thread's state, stored in the session row under `_threads` (hidden from clients). */
export interface ThreadState {
  id: string;
  agent_name: string;
  /** The thread's agent snapshot (a roster definition, or an inline one). */
  agent: Record<string, unknown>;
  parent_thread_id: string | null;
  status: ThreadStatus;
  running_since: number | null;
  retry_count: number;
  active_seconds: number;
  stop_reason: { type: string; event_ids?: string[] } | null;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export type ThreadMap = Record<string, ThreadState>;

/** The primary thread's id, derived from the session's id so no session needs a migration. */
export function primaryThreadId(sessionId: string): string {
  return `sthr_${sessionId.replace(/^sesn_/, '')}`;
}

/** True when the session's agent runs as a team (it has a multiagent configuration). */
export function isTeamSession(session: Record<string, unknown>): boolean {
  const agent = session.agent as { multiagent?: unknown } | undefined;
  return agent?.multiagent != null;
}

/** The thread states of a session, the primary included (created idle on first use). */
export function threadsOf(session: Record<string, unknown>): ThreadMap {
  const stored = (session._threads as ThreadMap | undefined) ?? {};
  const primary = primaryThreadId(String(session.id));
  if (stored[primary]) return stored;
  const agent = { ...(session.agent as Record<string, unknown>) };
  delete agent.multiagent;
  return {
    ...stored,
    [primary]: {
      id: primary, agent_name: String(agent.name ?? 'primary'), agent, parent_thread_id: null,
      status: 'idle', running_since: null, retry_count: 0, active_seconds: 0, stop_reason: null,
      created_at: String(session.created_at), updated_at: String(session.created_at), archived_at: null,
    },
  };
}

/** The advisor's tool on the primary thread, and the name of the thread each consult runs as. */
export const ADVISOR_TOOL = 'advisor';
export const ADVISOR_THREAD_NAME = 'anthropic.advisor';

/** An advisor consult's thread (`agent: {type:"advisor", model}`): driven by its tool call, never planned. */
export function isAdvisorThread(t: ThreadState): boolean {
  return (t.agent as { type?: unknown }).type === 'advisor';
}

const THREAD_STATUS_PREFIX = 'session.thread_status_';
const SESSION_STATUS_PREFIX = 'session.status_';

/** The thread an event belongs to (status events name their thread; others default to the primary). */
export function ownerOf(e: Record<string, unknown>, primaryId: string): string {
  return (e.session_thread_id as string | null | undefined) || primaryId;
}

/** Text shown to a coordinator for a message another thread sent it. */
export function incomingText(e: Record<string, unknown>): string {
  const from = String(e.from_agent_name ?? 'agent');
  const body = ((e.content as Array<{ type: string; text?: string }> | undefined) ?? [])
    .map((b) => (b.type === 'text' ? b.text : '[redacted]')).join('\n');
  return `Message from agent "${from}" (session_thread_id: ${String(e.from_session_thread_id)}):\n${body}`;
}

/**
 * The log as one thread's planner sees it: only that thread's events, its own
 * `session.thread_status_*` shown as `session.status_*` (the aggregate session statuses are not
 * its business), and messages from other threads shown as user input. The planner, context
 * builder and model step then work on a thread exactly as on a single-agent session.
 */
export function plannerView(log: StoredEvent[], threadId: string, primaryId: string): StoredEvent[] {
  const out: StoredEvent[] = [];
  const isPrimary = threadId === primaryId;
  for (const se of log) {
    const e = se.event;
    const t = e.type;
    if (t.startsWith(SESSION_STATUS_PREFIX) || t === 'session.thread_created') continue;
    if (ownerOf(e, primaryId) !== threadId) continue;
    if (t.startsWith(THREAD_STATUS_PREFIX)) {
      out.push({ ...se, event: { ...e, type: SESSION_STATUS_PREFIX + t.slice(THREAD_STATUS_PREFIX.length) } });
    } else if (t === 'agent.thread_message_received') {
      // The advisor's advice reaches the model as its tool's result, not as a message.
      if (e.from_agent_name === ADVISOR_THREAD_NAME) continue;
      const content = isPrimary ? [{ type: 'text', text: incomingText(e) }] : e.content;
      out.push({ ...se, event: { id: e.id, type: 'user.message', content, processed_at: e.processed_at } });
    } else {
      out.push(se);
    }
  }
  return out;
}

/** Child-thread events the primary stream shows (the condensed view): status and what needs a human. */
export function crossPosted(e: Record<string, unknown>): boolean {
  const t = String(e.type);
  if (t === 'session.thread_created' || t.startsWith(THREAD_STATUS_PREFIX)) return true;
  if (t === 'agent.custom_tool_use') return true;
  if ((t === 'agent.tool_use' || t === 'agent.mcp_tool_use') && e.evaluated_permission === 'ask') return true;
  // Replies a client sent on the primary stream, echoed with the thread they were routed to.
  return t === 'user.tool_confirmation' || t === 'user.custom_tool_result';
}

/** Whether an event appears on the given thread's stream and events list. */
export function visibleOn(e: Record<string, unknown>, threadId: string, primaryId: string): boolean {
  if (threadId === primaryId) return ownerOf(e, primaryId) === primaryId || crossPosted(e);
  return e.session_thread_id === threadId;
}

/** Aggregate session status: any thread working makes the session work (archived threads excluded). */
export function aggregateStatus(threads: ThreadMap, primaryId: string): ThreadStatus {
  if (threads[primaryId]?.status === 'terminated') return 'terminated';
  const live = Object.values(threads).filter((t) => !t.archived_at && t.status !== 'terminated');
  if (live.some((t) => t.status === 'running')) return 'running';
  if (live.some((t) => t.status === 'rescheduling')) return 'rescheduling';
  return 'idle';
}

/** Why an all-idle session is idle: pending human actions of every thread first, else the primary's reason. */
export function aggregateStopReason(threads: ThreadMap, primaryId: string): { type: string; event_ids?: string[] } {
  const waiting = Object.values(threads)
    .filter((t) => !t.archived_at && t.stop_reason?.type === 'requires_action')
    .flatMap((t) => t.stop_reason!.event_ids ?? []);
  if (waiting.length) return { type: 'requires_action', event_ids: waiting };
  return threads[primaryId]?.stop_reason ?? { type: 'end_turn' };
}

/** Text of a thread's last reply since its last input (what a child reports to its parent). */
export function lastReply(view: StoredEvent[]): Array<{ type: 'text'; text: string }> {
  const texts: string[] = [];
  for (let i = view.length - 1; i >= 0; i--) {
    const e = view[i].event;
    if (e.type === 'user.message') break;
    if (e.type === 'agent.message') {
      const t = ((e.content as Array<{ type: string; text?: string }>) ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');
      if (t) texts.unshift(t);
      if (texts.length) break; // the final message of the turn
    }
  }
  return [{ type: 'text', text: texts.join('\n') || '(the agent ended its turn without a message)' }];
}
