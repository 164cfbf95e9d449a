// Constructors for the events the platform itself writes to a session log (wire shapes, §6).
// Keeping them here means the spelling of every event type lives in one place.
import type { Json } from '../ports/store.ts';

export type WireEvent = Json & { id: string; type: string; processed_at: string | null };

export type StopReason =
  | { type: 'end_turn' }
  | { type: 'requires_action'; event_ids: string[] }
  | { type: 'retries_exhausted' }
  | { type: 'budget_reached' }
  | { type: 'refusal' };

export type RetryStatus = 'retrying' | 'exhausted' | 'terminal';

export interface SessionErrorBody {
  type: string;
  message: string;
  retry_status: { type: RetryStatus };
  [extra: string]: unknown;
}

export interface ModelUsageWire {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** Factory for platform events; ids and timestamps come from the caller's id source and clock. */
export class EventFactory {
  private readonly nextId: () => string;
  private readonly now: string;

  constructor(nextId: () => string, now: string) {
    this.nextId = nextId;
    this.now = now;
  }

  private make(type: string, fields: Json = {}, id = this.nextId()): WireEvent {
    return { id, type, ...fields, processed_at: this.now };
  }

  statusRunning() { return this.make('session.status_running'); }
  statusRescheduled() { return this.make('session.status_rescheduled'); }
  statusTerminated() { return this.make('session.status_terminated'); }
  statusIdle(stop_reason: StopReason, stop_details: Json | null = null) {
    return this.make('session.status_idle', { stop_reason, stop_details });
  }
  /** `changed` holds only the fields that changed (agent, budget, metadata, title). */
  sessionUpdated(changed: Json) { return this.make('session.updated', changed); }
  error(error: SessionErrorBody) { return this.make('session.error', { error }); }
  modelRequestStart() { return this.make('span.model_request_start'); }
  modelRequestEnd(startId: string, isError: boolean, usage: ModelUsageWire) {
    return this.make('span.model_request_end', { model_request_start_id: startId, is_error: isError, model_usage: usage });
  }
  sessionUsage(usage: Json, budget: Json | null) { return this.make('session.usage', budget ? { usage, budget } : { usage }); }
  outcomeEvaluationStart(outcomeId: string, iteration: number) {
    return this.make('span.outcome_evaluation_start', { outcome_id: outcomeId, iteration });
  }
  outcomeEvaluationOngoing(outcomeId: string, iteration: number) {
    return this.make('span.outcome_evaluation_ongoing', { outcome_id: outcomeId, iteration });
  }
  outcomeEvaluationEnd(startId: string, outcomeId: string, iteration: number, result: string, explanation: string, usage: ModelUsageWire) {
    return this.make('span.outcome_evaluation_end', {
      outcome_evaluation_start_id: startId, outcome_id: outcomeId, iteration, result, explanation, usage,
    });
  }
  agentMessage(text: string, id?: string) { return this.make('agent.message', { content: [{ type: 'text', text }] }, id); }
  agentThinking(id?: string) { return this.make('agent.thinking', {}, id); }
  /** The harness summarized the oldest part of the conversation (the wire event has no fields). */
  threadContextCompacted() { return this.make('agent.thread_context_compacted'); }
  agentToolUse(fields: Json) { return this.make('agent.tool_use', fields); }
  agentMcpToolUse(fields: Json) { return this.make('agent.mcp_tool_use', fields); }
  agentCustomToolUse(name: string, input: Json) { return this.make('agent.custom_tool_use', { name, input }); }
  agentMcpToolResult(mcpToolUseId: string, text: string, isError: boolean) {
    return this.make('agent.mcp_tool_result', { mcp_tool_use_id: mcpToolUseId, content: [{ type: 'text', text }], is_error: isError });
  }
  agentToolResult(toolUseId: string, text: string, isError: boolean) {
    return this.make('agent.tool_result', { tool_use_id: toolUseId, content: [{ type: 'text', text }], is_error: isError });
  }
}

export const ZERO_MODEL_USAGE: ModelUsageWire = {
  input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0,
};

/** Event types a client may send, and whether each is processed on receipt (vs queued). */
export const PROCESSED_ON_RECEIPT = new Set(['user.custom_tool_result', 'user.tool_result', 'user.tool_confirmation', 'user.define_outcome']);
