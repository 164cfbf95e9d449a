// Fits the next model request into the model's context before it is sent: estimates it (cached
// per event, calibrated by the provider's usage), asks the provider's counting endpoint when the
// estimate is over the threshold, and compacts the conversation — a summarizing request of its own,
// reserved and charged like any other, recorded by `agent.thread_context_compacted` — until the
// request fits. Fails with `compaction_limit` when nothing more can be cut and it still does not.
import { newId } from '../protocol/ids.ts';
import { EventFactory } from '../domain/session-events.ts';
import { ModelError, type ModelClient, type ModelMessage, type ModelRequest, type ModelResponse } from '../ports/model.ts';
import type { SessionRow, StoredEvent } from '../ports/store.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import type { SessionLog } from './session-log.ts';
import type { ContextLimits } from './context-window.ts';
import { calibrated, estimateFixedTokens, type ItemTokenCache } from './token-count.ts';
import { toolResultTokenCap } from './tool-result-trim.ts';
import {
  KEEP_SHARE, PRIMARY_CONVERSATION, contextFields, conversationContext, conversationView, cutPoints, fitCut, nextRecord, planCut,
  renderView, summaryRequest, summaryTokenCap, type ConversationRenderer,
} from './compaction.ts';

const nextEventId = () => newId('sevt');
/** Compactions one step may run before giving up (each covers what one summarizing request can read). */
const MAX_ROUNDS = 8;

export interface ContextFitDeps {
  log: Pick<SessionLog, 'commit' | 'preview'>;
  model: ModelClient;
  clock: Clock;
  tokens: ItemTokenCache;
  /** Session fields reserving / charging a model call (the budget's bookkeeping, shared with model-step). */
  reserve(session: Record<string, unknown>, model: string, request: ModelRequest, reservationId: string): Record<string, unknown>;
  account(session: Record<string, unknown>, model: string, usage: ModelResponse['usage'], reservationId: string): Record<string, unknown>;
}

export interface FitInput {
  sessionId: string;
  row: SessionRow;
  log: StoredEvent[];
  limits: ContextLimits;
  /** Builds the request around the given messages (system prompt, tools, output cap); `cacheMarks`: breakpoints they already carry. */
  build(messages: ModelMessage[], cacheMarks: number): ModelRequest;
  /** Renders the conversation (a session's `LogView`, which renders only what is new); default: from `log`. */
  render?: ConversationRenderer;
  /** The provider refused the last attempt as too long: compact even if the estimate says it fits. */
  force?: boolean;
  conversation?: string;
  signal: AbortSignal;
}

export type FitOutcome =
  | { type: 'fit'; request: ModelRequest; row: SessionRow; log: StoredEvent[]; /** Uncalibrated estimate of the request's prompt. */ estimate: number }
  | { type: 'failed'; error: ModelError; startId: string }
  | { type: 'gone' };

/** The conversation rendered from the whole log (without a `LogView`). */
function renderLog(log: StoredEvent[], record: Parameters<ConversationRenderer>[0], toolCap: number, tokens: ItemTokenCache) {
  const view = conversationView(log, record);
  return { view, rendered: renderView(view, tokens, toolCap) };
}

const limitError = (message: string) => new ModelError('compaction_limit', message, { retryable: false });

export async function fitContext(deps: ContextFitDeps, input: FitInput): Promise<FitOutcome> {
  const { sessionId, limits, signal } = input;
  const conversation = input.conversation ?? PRIMARY_CONVERSATION;
  const toolCap = toolResultTokenCap(limits.window);
  let { row, log } = input;
  let force = input.force === true;
  for (let round = 0; ; round++) {
    const ctx = conversationContext(row.session, conversation);
    const { view, rendered } = input.render ? input.render(ctx.compaction, toolCap) : renderLog(log, ctx.compaction, toolCap, deps.tokens);
    const request = input.build(rendered.messages, rendered.cacheMarks);
    const estimate = estimateFixedTokens(request) + rendered.summaryTokens + rendered.total;
    let prompt = calibrated(estimate, ctx.calibration);
    if (!force && prompt + limits.maxOutput > limits.threshold && deps.model.countTokens) {
      // Over by the estimate: the provider's exact count decides whether compaction is needed.
      try {
        prompt = (await deps.model.countTokens(request, { signal })) ?? prompt;
      } catch (err) {
        if (signal.aborted) return { type: 'failed', error: new ModelError('aborted', 'interrupted while counting tokens', { retryable: false, cause: err }), startId: '' };
      }
    }
    if (!force && prompt + limits.maxOutput <= limits.threshold) return { type: 'fit', request, row, log, estimate };
    const points = cutPoints(view.items);
    const cut = planCut(points, rendered.itemTokens, Math.floor(limits.window * KEEP_SHARE));
    if (cut === undefined || round >= MAX_ROUNDS) {
      if (!force && prompt + limits.maxOutput <= limits.window) return { type: 'fit', request, row, log, estimate };
      return {
        type: 'failed', startId: '',
        error: limitError(`the conversation (about ${prompt} tokens) plus ${limits.maxOutput} output tokens does not fit the context window of model ${request.model.id} (${limits.window} tokens), and compaction cannot shorten it further`),
      };
    }
    const summaryCap = summaryTokenCap(limits);
    const inputBudget = limits.window - summaryCap - (ctx.compaction ? summaryCap : 0) - 500;
    const covered = view.items.slice(0, fitCut(points, rendered.itemTokens, cut, inputBudget));
    const done = await compact(deps, { sessionId, conversation, covered, request, limits, summaryCap, signal });
    if (done.type !== 'compacted') return done;
    row = done.row;
    log = [...log, ...done.stored];
    force = false;
  }
}

type CompactOutcome = { type: 'compacted'; row: SessionRow; stored: StoredEvent[] } | Exclude<FitOutcome, { type: 'fit' }>;

/** One summarizing request and its commit: span, usage, the record and the compacted event. */
async function compact(
  deps: ContextFitDeps,
  a: { sessionId: string; conversation: string; covered: StoredEvent[]; request: ModelRequest; limits: ContextLimits; summaryCap: number; signal: AbortSignal },
): Promise<CompactOutcome> {
  const { sessionId, conversation } = a;
  let summarize: ModelRequest | undefined;
  const started = await deps.log.commit(sessionId, (current) => {
    const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
    const previous = conversationContext(current.session, conversation).compaction;
    summarize = summaryRequest(a.request.model, previous?.summary, a.covered, a.limits, a.summaryCap);
    const start = f.modelRequestStart();
    const reserve = deps.reserve(current.session, a.request.model.id, summarize, start.id);
    return { now: isoAt(deps.clock.now()), events: [start], patch: Object.keys(reserve).length ? { fields: reserve } : undefined };
  });
  if (!started || !summarize) return { type: 'gone' };
  const startId = started.stored[started.stored.length - 1].event.id;
  let response: ModelResponse;
  try {
    response = await deps.model.stream(summarize, { signal: a.signal });
  } catch (err) {
    const error = err instanceof ModelError ? err : new ModelError('request_failed', String(err), { retryable: true, cause: err });
    // What a cut-short summary had said is not the agent's: nothing of it is kept.
    const clean = error.kind === 'aborted' ? new ModelError('aborted', error.message, { retryable: false, cause: error }) : error;
    return { type: 'failed', error: clean, startId };
  }
  const text = response.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('\n').trim();
  if (!text) {
    return { type: 'failed', startId, error: new ModelError('request_failed', 'the summarizing request for compaction returned no text', { retryable: true }) };
  }
  const committed = await deps.log.commit(sessionId, (current) => {
    const now = isoAt(deps.clock.now());
    const f = new EventFactory(nextEventId, now);
    const ctx = conversationContext(current.session, conversation);
    const u = response.usage;
    const end = f.modelRequestEnd(startId, false, {
      input_tokens: u.input_tokens, output_tokens: u.output_tokens,
      cache_read_input_tokens: u.cache_read_input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens,
    });
    const event = f.threadContextCompacted();
    const record = nextRecord(event.id, text, a.covered, ctx.compaction, a.summaryCap);
    const accounted = deps.account(current.session, response.fallback?.model ?? a.request.model.id, u, startId);
    return { now, events: [end, event], patch: { fields: { ...accounted, ...contextFields(current.session, { ...ctx, compaction: record }, conversation) } } };
  });
  if (!committed) return { type: 'gone' };
  return { type: 'compacted', row: committed.row, stored: committed.stored };
}
