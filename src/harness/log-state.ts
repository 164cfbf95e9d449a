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
  /** The log holds a `user.define_outcome` (active or finished). */
  definesOutcome: boolean;
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
 * Where an event sits in the conversation (`conversationOrder` sorts by it, then by seq), or
 * undefined when it is not conversational or not yet processed. A queued user message counts from
 * the point it was processed (the next model-request boundary), not from when it was sent. An
 * outcome defined during a model request moves after that request's answer (`conversationOrder`).
 */
export function conversationPosition(e: StoredEvent): number | undefined {
  const t = e.event.type;
  if (USER_INPUT_TYPES.has(t)) {
    if (e.event.processed_at === null) return undefined;
    // `>=`: inputs processed at one boundary share its position and keep their send order.
    return e.processedSeq !== null && e.processedSeq >= e.seq ? e.processedSeq + 0.5 : e.seq;
  }
  if (t === 'user.define_outcome' || ASSISTANT_TYPES.has(t) || RESULT_ID_FIELD[t] || isUserSideItem(e.event)) return e.seq;
  return undefined;
}

/** Conversational events in the order the model sees them (see `conversationPosition`). */
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
    const pos = conversationPosition(e);
    if (pos !== undefined) items.push({ pos, e });
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

/**
 * The facts of `deriveLogState` folded one event at a time, so a caller holding a session's state
 * (`LogView`) can apply newly committed events instead of re-reading the log. Input that is queued
 * when folded leaves the queue with `processed` (the store marked it). Outcome facts and the
 * conversation's last item are not folded: `snapshot` takes them from its caller.
 */
export class LogStateFold {
  private readonly remote: ReadonlySet<string> | undefined;
  private readonly queued = new Set<string>();
  private readonly interrupts = new Set<string>();
  private readonly open = new Map<string, OpenToolUse>();
  private danglingSpanId: string | null = null;
  private lastIdleSeq = 0;
  private lastIdleEventIds: string[] | null = null;
  private lastIdleReason: string | null = null;
  private inputSinceIdle = false;
  /** A `user.define_outcome` is in the log (outcome facts need the whole log). */
  definesOutcome = false;

  constructor(opts: LogStateOptions = {}) {
    this.remote = opts.remoteTools;
  }

  private afterAllow(name: string): OpenToolUse['waitsFor'] {
    return this.remote?.has(name) ? 'client' : 'server';
  }

  apply({ seq, event: e }: StoredEvent): void {
    switch (e.type) {
      case 'user.message':
      case 'system.message':
        if (e.processed_at === null) this.queued.add(e.id);
        break;
      case 'user.interrupt':
        if (e.processed_at === null) this.interrupts.add(e.id);
        break;
      case 'span.model_request_start':
        this.danglingSpanId = e.id;
        break;
      case 'span.model_request_end':
        if (this.danglingSpanId === e.model_request_start_id) this.danglingSpanId = null;
        break;
      case 'session.status_idle': {
        this.lastIdleSeq = seq;
        this.inputSinceIdle = false;
        const stop = e.stop_reason as { type: string; event_ids?: string[] };
        this.lastIdleEventIds = stop.type === 'requires_action' ? [...(stop.event_ids ?? [])] : null;
        this.lastIdleReason = stop.type;
        break;
      }
      case 'user.define_outcome':
        this.definesOutcome = true;
        this.inputSinceIdle = true;
        break;
      case 'user.tool_confirmation': {
        const use = this.open.get(e.tool_use_id as string);
        // A deny is answered by the harness with an error result; allow makes the call runnable.
        if (use && use.waitsFor === 'confirmation') {
          if (e.result === 'deny') {
            use.waitsFor = 'server'; // the harness answers a denial itself, wherever the tool runs
            use.denied = { message: (e.deny_message as string | null | undefined) ?? null };
          } else {
            use.waitsFor = use.type === 'agent.tool_use' ? this.afterAllow(use.name) : 'server';
          }
        }
        this.inputSinceIdle = true;
        break;
      }
      default:
        if (TOOL_USE_TYPES.has(e.type)) {
          const waitsFor: OpenToolUse['waitsFor'] = e.type === 'agent.custom_tool_use' ? 'client'
            : e.evaluated_permission === 'ask' ? 'confirmation'
            : e.type === 'agent.tool_use' && e.evaluated_permission === 'allow' ? this.afterAllow(String(e.name))
            : 'server';
          this.open.set(e.id, { id: e.id, type: e.type, name: String(e.name), waitsFor });
        } else {
          const target = resultTarget(e);
          if (target) {
            this.open.delete(target);
            if (e.type.startsWith('user.')) this.inputSinceIdle = true;
          }
        }
    }
  }

  /** A queued input (or interrupt) was marked processed. */
  processed(id: string): void {
    this.queued.delete(id);
    this.interrupts.delete(id);
  }

  /** The state as `deriveLogState` reports it; every array and open call is the caller's own copy. */
  snapshot(last: StoredEvent | undefined, outcome: OutcomeState | undefined): LogState {
    const state: LogState = {
      queuedInputIds: [...this.queued], pendingInterruptIds: [...this.interrupts], danglingSpanId: this.danglingSpanId,
      openToolUses: [...this.open.values()].map((u) => ({ ...u, ...(u.denied ? { denied: { ...u.denied } } : {}) })),
      lastIdleSeq: this.lastIdleSeq, lastIdleEventIds: this.lastIdleEventIds ? [...this.lastIdleEventIds] : null,
      inputSinceIdle: this.inputSinceIdle, contextEndsWithUser: false, lastIdleReason: this.lastIdleReason,
      outcome, evaluationDue: false, definesOutcome: this.definesOutcome,
    };
    state.contextEndsWithUser = last !== undefined && !ASSISTANT_TYPES.has(last.event.type);
    const o = outcome;
    state.evaluationDue = o !== undefined && o.danglingStartId === null && last !== undefined &&
      ASSISTANT_TYPES.has(last.event.type) && last.seq > o.definedSeq;
    return state;
  }
}

export function deriveLogState(log: StoredEvent[], opts: LogStateOptions = {}): LogState {
  const fold = new LogStateFold(opts);
  for (const e of log) fold.apply(e);
  const convo = conversationOrder(log);
  return fold.snapshot(convo[convo.length - 1], fold.definesOutcome ? activeOutcome(log) : undefined);
}
