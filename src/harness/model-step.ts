// One model request of a turn: span start, live previews, then the answer's events, usage and the
// span end committed together — so a crash mid-call leaves only a dangling span, never half an answer.
import { newId } from '../protocol/ids.ts';
import { EventFactory, type WireEvent } from '../domain/session-events.ts';
import { ModelError, type ModelClient, type ModelOutputBlock, type ModelResponse, type ModelStreamEvent } from '../ports/model.ts';
import type { SessionRow, StoredEvent } from '../ports/store.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import { buildModelRequest, type AgentSnapshot } from './context.ts';
import { idlePatch, withoutReservation } from './planner.ts';
import type { PriceTable } from '../domain/pricing.ts';
import { listCost } from '../domain/budget.ts';
import { toolUseEvent } from './permissions.ts';
import { sessionErrorType } from './retry.ts';
import type { SessionLog } from './session-log.ts';
import type { ServerToolRunner, ToolRunner, McpRoute } from './tool-runner.ts';
import { contextLimits, type ContextLimits, type ContextLimitsLookup } from './context-window.ts';
import { ItemTokenCache, recalibrate, reportedPromptTokens } from './token-count.ts';
import { fitContext, type ContextFitDeps } from './context-fit.ts';
import { contextFields, conversationContext } from './compaction.ts';
import type { LogView } from './log-view.ts';

export interface ModelStepDeps {
  log: Pick<SessionLog, 'commit' | 'preview'>;
  model: ModelClient;
  tools: ToolRunner;
  clock: Clock;
  maxTokens: number;
  prices: PriceTable;
  serverTools: ServerToolRunner;
  /** Each model's context window and output limit; default: the built-in values. */
  limits?: ContextLimitsLookup;
  /** Token estimates of conversation items, shared across steps. */
  tokens?: ItemTokenCache;
}

const sharedTokens = new ItemTokenCache();
/** The provider refused a request as too long this many times in one step: give up on the turn. */
const OVERFLOW_RETRIES = 2;

/** A rough token count of a request (≈4 characters per token), for worst-case budget reservations. */
export function estimatePromptTokens(request: unknown): number {
  return Math.ceil(JSON.stringify(request).length / 4);
}

/** Usage and cost after one model call: returns the session fields to patch. */
export function accountCall(deps: ModelStepDeps, session: Record<string, unknown>, model: string, u: ModelResponse['usage'], reservationId: string) {
  const usage = addUsage(session.usage as Record<string, unknown>, u);
  const cost = deps.prices.costMicros(model, {
    input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_5m: u.cache_creation_5m, cache_creation_1h: u.cache_creation_1h,
  });
  const fields: Record<string, unknown> = { _reserved: withoutReservation(session, reservationId) };
  if (cost !== undefined) {
    const total = Number(session._cost_micros ?? 0) + cost;
    fields._cost_micros = total;
    usage.list_cost = listCost(total);
  }
  fields.usage = usage;
  return fields;
}

/** Session fields reserving a request's worst-case cost while it is in flight. */
export function reserveCall(deps: ModelStepDeps, session: Record<string, unknown>, model: string, request: unknown, reservationId: string) {
  // Every priced request reserves: besides the session's own budget, the spend limits of its
  // workspace and the organization (src/domain/spend.ts) admit it against this worst case.
  const worst = deps.prices.worstCaseMicros(model, estimatePromptTokens(request), deps.maxTokens);
  if (worst === undefined) return {};
  return { _reserved: { ...((session._reserved as Record<string, number> | undefined) ?? {}), [reservationId]: worst } };
}

export type ModelStepOutcome =
  | { type: 'ok' }
  | { type: 'failed'; error: ModelError; startId: string };

const nextEventId = () => newId('sevt');

/** Accumulates the usage of one model call into the session's usage object. */
export function addUsage(usage: Record<string, any>, r: ModelResponse['usage']): Record<string, unknown> {
  const cc = usage.cache_creation ?? {};
  return {
    ...usage,
    input_tokens: (usage.input_tokens ?? 0) + r.input_tokens,
    output_tokens: (usage.output_tokens ?? 0) + r.output_tokens,
    cache_read_input_tokens: (usage.cache_read_input_tokens ?? 0) + r.cache_read_input_tokens,
    cache_creation: {
      ephemeral_5m_input_tokens: (cc.ephemeral_5m_input_tokens ?? 0) + r.cache_creation_5m,
      ephemeral_1h_input_tokens: (cc.ephemeral_1h_input_tokens ?? 0) + r.cache_creation_1h,
    },
  };
}

/** Keeps ids for previewed blocks so the persisted event has the id its previews announced. */
class PreviewTracker {
  readonly ids = new Map<number, string>();
  private readonly deps: ModelStepDeps;
  private readonly sessionId: string;

  constructor(deps: ModelStepDeps, sessionId: string) {
    this.deps = deps;
    this.sessionId = sessionId;
  }

  onEvent = (e: ModelStreamEvent): void => {
    if (e.type === 'block_start' && e.block !== 'tool_use') {
      const id = nextEventId();
      this.ids.set(e.index, id);
      this.deps.log.preview(this.sessionId, { type: 'event_start', event: { type: e.block === 'text' ? 'agent.message' : 'agent.thinking', id } });
    } else if (e.type === 'text_delta' || e.type === 'thinking_delta') {
      const id = this.ids.get(e.index);
      if (id && e.text) {
        this.deps.log.preview(this.sessionId, {
          type: 'event_delta', event_id: id, delta: { type: 'content_delta', index: 0, content: { type: 'text', text: e.text } },
        });
      }
    }
  };
}

/** Events for the answer's blocks, in order; tool calls are evaluated against the agent's policies. */
function answerEvents(f: EventFactory, agent: AgentSnapshot, blocks: ModelOutputBlock[], ids: Map<number, string>, offered: Set<string>, mcp: Map<string, McpRoute>) {
  const events: WireEvent[] = [];
  const denials: WireEvent[] = [];
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      if (b.text.length) events.push(f.agentMessage(b.text, ids.get(index)));
    } else if (b.type === 'thinking') {
      events.push(f.agentThinking(ids.get(index)));
    } else {
      const { event, denial } = toolUseEvent(f, agent, b, offered, mcp);
      events.push(event);
      if (denial) denials.push(f.agentToolResult(event.id, denial, true));
    }
  });
  return { events, denials };
}

/**
 * `view`: the session's `LogView` (kept current by the session log's commits), which renders only
 * the conversation items that are new since the previous request; without one the request is built
 * from `log`.
 */
export async function runModelStep(deps: ModelStepDeps, sessionId: string, row: SessionRow, log: StoredEvent[], signal: AbortSignal, view?: LogView): Promise<ModelStepOutcome> {
  const agent = row.session.agent as unknown as AgentSnapshot;
  let server;
  try {
    server = await deps.serverTools.prepare({ id: sessionId }, agent, signal);
  } catch (err) {
    return { type: 'failed', error: new ModelError('aborted', 'interrupted while preparing tools', { retryable: false, cause: err }), startId: '' };
  }
  const catalog = [...deps.tools.catalog(agent), ...server.definitions];
  const limits: ContextLimits = (deps.limits ?? ((id: string) => contextLimits(id, {}, { maxTokens: deps.maxTokens })))(agent.model.id);
  const fitDeps: ContextFitDeps = {
    log: deps.log, model: deps.model, clock: deps.clock, tokens: deps.tokens ?? sharedTokens,
    reserve: (session, model, request, id) => reserveCall(deps, session, model, request, id),
    account: (session, model, usage, id) => accountCall(deps, session, model, usage, id),
  };
  let current = row;
  let currentLog = log;
  let force = false;
  for (let overflows = 0; ; overflows++) {
    const fit = await fitContext(fitDeps, {
      sessionId, row: current, log: currentLog, limits, force, signal,
      build: (messages, cacheMarks) => buildModelRequest(agent, currentLog, { maxTokens: limits.maxOutput, builtinTools: () => catalog, messages, cacheMarks }),
      render: view ? (record, cap) => view.render(record, cap, fitDeps.tokens) : undefined,
    });
    if (fit.type === 'gone') return { type: 'ok' };
    if (fit.type === 'failed') return fit;
    const sent = await sendRequest(deps, sessionId, current, agent, fit.request, fit.estimate, server, signal);
    if (sent.type !== 'overflow') return sent;
    if (overflows >= OVERFLOW_RETRIES) {
      return { type: 'failed', startId: '', error: new ModelError('compaction_limit', `the model provider refused the conversation as longer than the context window of model ${agent.model.id} ${overflows + 1} times, even after compaction (${sent.error.message})`, { retryable: false }) };
    }
    // The estimate was wrong: compact (and count higher from now on), then retry.
    const after = await recordOverflow(deps, sessionId, sent.startId, sent.error, fit.estimate, limits);
    if (!after) return { type: 'ok' };
    current = after.row;
    currentLog = [...fit.log, ...after.stored];
    force = true;
  }
}

type SendOutcome = ModelStepOutcome | { type: 'overflow'; error: ModelError; startId: string };

/** The agent's request itself: span start (with the budget reservation), the stream, the answer's commit. */
async function sendRequest(
  deps: ModelStepDeps, sessionId: string, row: SessionRow, agent: AgentSnapshot, request: ReturnType<typeof buildModelRequest>, estimate: number,
  server: { errors: Array<Parameters<EventFactory['error']>[0]>; mcp: Map<string, McpRoute> }, signal: AbortSignal,
): Promise<SendOutcome> {
  const offered = new Set(request.tools.map((t) => t.name));
  const started = await deps.log.commit(sessionId, (current) => {
    const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
    // Unreachable MCP servers are reported before the request that goes on without them (once).
    const errors = server.errors.splice(0).map((e) => f.error(e));
    const start = f.modelRequestStart();
    const reserve = reserveCall(deps, current.session, request.model.id, request, start.id);
    return { now: isoAt(deps.clock.now()), events: [...errors, start], patch: Object.keys(reserve).length ? { fields: reserve } : undefined };
  });
  if (!started) return { type: 'ok' };
  const startId = started.stored[started.stored.length - 1].event.id;

  const previews = new PreviewTracker(deps, sessionId);
  let response: ModelResponse;
  try {
    response = await deps.model.stream(request, { signal, onEvent: previews.onEvent, attempt: row.retryCount });
  } catch (err) {
    const error = err instanceof ModelError ? err : new ModelError('request_failed', String(err), { retryable: true, cause: err });
    if (error.kind === 'context_overflow') return { type: 'overflow', error, startId };
    return { type: 'failed', error, startId };
  }

  await deps.log.commit(sessionId, (current) => {
    const nowMs = deps.clock.now();
    const f = new EventFactory(nextEventId, isoAt(nowMs));
    const answered = answerEvents(f, agent, response.content, previews.ids, offered, server.mcp);
    const { denials } = answered;
    const events = response.fallback ? [fallbackNotice(f, request.model.id, response.fallback), ...answered.events] : answered.events;
    const u = response.usage;
    events.push(f.modelRequestEnd(startId, false, {
      input_tokens: u.input_tokens, output_tokens: u.output_tokens,
      cache_read_input_tokens: u.cache_read_input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens,
    }));
    events.push(...denials);
    // A fallback's tokens are priced as the model that produced them.
    const accounted: Record<string, unknown> = accountCall(deps, current.session, response.fallback?.model ?? request.model.id, u, startId);
    // What the provider counted calibrates the next estimates.
    const calibration = recalibrate(estimate, reportedPromptTokens(u));
    if (calibration) Object.assign(accounted, contextFields(current.session, { ...conversationContext(current.session), calibration }));
    if (response.stopReason === 'refusal') {
      const details = { type: 'refusal', category: response.stopDetails?.category ?? null, explanation: response.stopDetails?.explanation ?? null };
      events.push(f.statusIdle({ type: 'refusal' }, details));
      const patch = idlePatch({ ...current, session: { ...current.session, ...accounted } }, nowMs);
      return { now: isoAt(nowMs), events, patch: { ...patch, pendingWake: false, fields: { ...accounted, ...patch.fields } } };
    }
    return { now: isoAt(nowMs), events, patch: { retryCount: 0, fields: { ...accounted, updated_at: isoAt(nowMs) } } };
  });
  return { type: 'ok' };
}

/**
 * The provider refused the request as too long: its span ends failed, a `session.error` (retrying)
 * says so, the reservation is released and the calibration raised so later estimates count higher.
 */
async function recordOverflow(deps: ModelStepDeps, sessionId: string, startId: string, error: ModelError, estimate: number, limits: ContextLimits) {
  return deps.log.commit(sessionId, (current) => {
    const now = isoAt(deps.clock.now());
    const f = new EventFactory(nextEventId, now);
    const zero = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    const ctx = conversationContext(current.session);
    const ratio = Math.min(4, Math.max((ctx.calibration?.ratio ?? 1) * 1.25, (limits.threshold + 1) / Math.max(1, estimate + limits.maxOutput)));
    return {
      now,
      events: [
        f.modelRequestEnd(startId, true, zero),
        f.error({ type: 'model_request_failed_error', message: `${error.message}; compacting the conversation and retrying`, retry_status: { type: 'retrying' } }),
      ],
      patch: { fields: { _reserved: withoutReservation(current.session, startId), ...contextFields(current.session, { ...ctx, calibration: { ratio: Math.round(ratio * 1000) / 1000 } }) } },
    };
  });
}

/** `session.error` saying the primary failed past its retries and which model answered instead. */
function fallbackNotice(f: EventFactory, primary: string, fallback: NonNullable<ModelResponse['fallback']>): WireEvent {
  return f.error({
    type: sessionErrorType(fallback.cause),
    message: `model ${primary} failed past its retries (${fallback.cause.message}); fallback model ${fallback.model} answered`,
    retry_status: { type: 'retrying' },
  });
}

/** Persists what an interrupted call had already said, and closes its span as failed. */
export async function recordInterruptedCall(deps: ModelStepDeps, sessionId: string, startId: string, partial: ModelOutputBlock[]): Promise<void> {
  await deps.log.commit(sessionId, (current) => {
    const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
    const events: WireEvent[] = partial.filter((b) => b.type === 'text' && b.text).map((b) => f.agentMessage((b as { text: string }).text));
    events.push(f.modelRequestEnd(startId, true, { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }));
    return { now: isoAt(deps.clock.now()), events, patch: { fields: { _reserved: withoutReservation(current.session, startId) } } };
  });
}
