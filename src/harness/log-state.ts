// Reads a session log into the facts the planner decides on: what input is queued, which tool
// calls are still open, whether the conversation waits on the model. Pure; the log is the only input.
import type { StoredEvent } from '../ports/store.ts';
import { OUTCOME_FEEDBACK, activeOutcome, type OutcomeState } from '../domain/outcomes.ts';

export interface OpenToolUse {
  id: string;
  type: string;
  name: string;
  /** `client`: a custom tool the client answers; `confirmation`: an `ask` awaiting the user; `server`: runnable now. */
  waitsFor: 'client' | 'confirmation' | 'server';
  /** Set when the user denied the call: it must be answered with an error, never run. */
  denied?: { message: string | null };
}

export interface LogState {
  queuedInputIds: string[];
  pendingInterruptIds: string[];
  /** A model request whose start was logged but whose end never was (the process died mid-call). */
  danglingSpanId: string | null;
  openToolUses: OpenToolUse[];
  lastIdleSeq: number;
  /** `event_ids` of the last idle when it was `requires_action`, else null. */
  lastIdleEventIds: string[] | null;
  /** A tool result or confirmation arrived after the last idle. */
  inputSinceIdle: boolean;
  /** The last conversational item is user-side: the model owes an answer. */
  contextEndsWithUser: boolean;
  /** `stop_reason.type` of the last `session.status_idle`, or null. */
  lastIdleReason: string | null;
  /** The outcome in play, if any. */
  outcome: OutcomeState | undefined;
  /** The agent finished a working turn on the active outcome that has not been graded yet. */
  evaluationDue: boolean;
}

const TOOL_USE_TYPES = new Set(['agent.tool_use', 'agent.custom_tool_use', 'agent.mcp_tool_use']);
const RESULT_ID_FIELD: Record<string, string> = {
  'agent.tool_result': 'tool_use_id',
  'user.tool_result': 'tool_use_id',
  'user.custom_tool_result': 'custom_tool_use_id',
  'agent.mcp_tool_result': 'mcp_tool_use_id',
};
const USER_INPUT_TYPES = new Set(['user.message', 'system.message']);
/** Items that join the conversation as user turns without being queued input. */
function isUserSideItem(e: StoredEvent['event']): boolean {
  return e.type === 'user.define_outcome' || (e.type === 'span.outcome_evaluation_end' && OUTCOME_FEEDBACK.has(String(e.result)));
}
const ASSISTANT_TYPES = new Set(['agent.message', ...TOOL_USE_TYPES]);

/** The id of the tool use an event answers, if it is a tool result. */
export function resultTarget(e: StoredEvent['event']): string | undefined {
  const field = RESULT_ID_FIELD[e.type];
  return field ? (e[field] as string) : undefined;
}

export function isToolUse(type: string): boolean {
  return TOOL_USE_TYPES.has(type);
}

/**
 * Conversational events in the order the model sees them. A queued user message counts from the
 * point it was processed (the next model-request boundary), not from when it was sent.
 */
export function conversationOrder(log: StoredEvent[]): StoredEvent[] {
  // An outcome defined while a model request was in flight joins after that request's answer.
  const spans: Array<[number, number]> = [];
  const starts = new Map<string, number>();
  for (const e of log) {
    if (e.event.type === 'span.model_request_start') starts.set(e.event.id, e.seq);
    else if (e.event.type === 'span.model_request_end') {
      const start = starts.get(String(e.event.model_request_start_id));
      if (start !== undefined) spans.push([start, e.seq]);
    }
  }
  const afterInFlight = (seq: number) => spans.find(([a, b]) => a < seq && seq < b)?.[1];
  const items: Array<{ pos: number; e: StoredEvent }> = [];
  for (const e of log) {
    if (e.event.type === 'user.define_outcome') {
      const end = afterInFlight(e.seq);
      items.push({ pos: end !== undefined ? end + 0.5 : e.seq, e });
      continue;
    }
    const t = e.event.type;
    if (USER_INPUT_TYPES.has(t)) {
      if (e.event.processed_at === null) continue;
      // `>=`: inputs processed at one boundary share its position and keep their send order.
      items.push({ pos: e.processedSeq !== null && e.processedSeq >= e.seq ? e.processedSeq + 0.5 : e.seq, e });
    } else if (ASSISTANT_TYPES.has(t) || RESULT_ID_FIELD[t] || isUserSideItem(e.event)) {
      items.push({ pos: e.seq, e });
    }
  }
  return items.sort((a, b) => a.pos - b.pos || a.e.seq - b.e.seq).map((i) => i.e);
}

export interface LogStateOptions {
  /**
   * Built-in tools that run outside this server (a self-hosted environment's worker): once
   * allowed, such a call waits for the worker's `user.tool_result` instead of being run here.
   */
  remoteTools?: ReadonlySet<string>;
}

export function deriveLogState(log: StoredEvent[], opts: LogStateOptions = {}): LogState {
  const remote = opts.remoteTools;
  const afterAllow = (name: string): OpenToolUse['waitsFor'] => (remote?.has(name) ? 'client' : 'server');
  const open = new Map<string, OpenToolUse>();
  const state: LogState = {
    queuedInputIds: [], pendingInterruptIds: [], danglingSpanId: null, openToolUses: [],
    lastIdleSeq: 0, lastIdleEventIds: null, inputSinceIdle: false, contextEndsWithUser: false,
    lastIdleReason: null, outcome: undefined, evaluationDue: false,
  };
  for (const { seq, event: e } of log) {
    switch (e.type) {
      case 'user.message':
      case 'system.message':
        if (e.processed_at === null) state.queuedInputIds.push(e.id);
        break;
      case 'user.interrupt':
        if (e.processed_at === null) state.pendingInterruptIds.push(e.id);
        break;
      case 'span.model_request_start':
        state.danglingSpanId = e.id;
        break;
      case 'span.model_request_end':
        if (state.danglingSpanId === e.model_request_start_id) state.danglingSpanId = null;
        break;
      case 'session.status_idle': {
        state.lastIdleSeq = seq;
        state.inputSinceIdle = false;
        const stop = e.stop_reason as { type: string; event_ids?: string[] };
        state.lastIdleEventIds = stop.type === 'requires_action' ? [...(stop.event_ids ?? [])] : null;
        state.lastIdleReason = stop.type;
        break;
      }
      case 'user.define_outcome':
        state.inputSinceIdle = true;
        break;
      case 'user.tool_confirmation': {
        const use = open.get(e.tool_use_id as string);
        // A deny is answered by the harness with an error result; allow makes the call runnable.
        if (use && use.waitsFor === 'confirmation') {
          if (e.result === 'deny') {
            use.waitsFor = 'server'; // the harness answers a denial itself, wherever the tool runs
            use.denied = { message: (e.deny_message as string | null | undefined) ?? null };
          } else {
            use.waitsFor = use.type === 'agent.tool_use' ? afterAllow(use.name) : 'server';
          }
        }
        state.inputSinceIdle = true;
        break;
      }
      default:
        if (TOOL_USE_TYPES.has(e.type)) {
          const waitsFor: OpenToolUse['waitsFor'] = e.type === 'agent.custom_tool_use' ? 'client'
            : e.evaluated_permission === 'ask' ? 'confirmation'
            : e.type === 'agent.tool_use' && e.evaluated_permission === 'allow' ? afterAllow(String(e.name))
            : 'server';
          open.set(e.id, { id: e.id, type: e.type, name: String(e.name), waitsFor });
        } else {
          const target = resultTarget(e);
          if (target) {
            open.delete(target);
            if (e.type.startsWith('user.')) state.inputSinceIdle = true;
          }
        }
    }
  }
  state.openToolUses = [...open.values()];
  const convo = conversationOrder(log);
  const last = convo[convo.length - 1];
  state.contextEndsWithUser = last !== undefined && !ASSISTANT_TYPES.has(last.event.type);
  state.outcome = activeOutcome(log);
  const o = state.outcome;
  state.evaluationDue = o !== undefined && o.danglingStartId === null && last !== undefined &&
    ASSISTANT_TYPES.has(last.event.type) && last.seq > o.definedSeq;
  return state;
}
