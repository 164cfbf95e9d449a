// The `hangar_*` series on prom-client: one private registry per Hangar (no global default
// registry, so in-process servers keep apart), the process's default metrics under the same
// prefix, and gauges read from the store at scrape time. Imported only by PrometheusMetrics.load().
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsSnapshotSource } from '../../ports/metrics.ts';

export type PromInstruments = ReturnType<typeof createInstruments>;

export function createInstruments(source: MetricsSnapshotSource | undefined, now: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hangar_' });
  const registers = [registry];
  const instruments = {
    registry,
    sessions: new Gauge({
      name: 'hangar_sessions', help: 'Sessions in the store by status (archived included)', labelNames: ['status'], registers,
      async collect() {
        if (!source) return;
        this.reset();
        for (const [status, n] of Object.entries(await source.sessionsByStatus())) this.set({ status }, n);
      },
    }),
    turnsStarted: new Counter({ name: 'hangar_turns_started_total', help: 'Turns started (session.status_running)', registers }),
    turnsEnded: new Counter({ name: 'hangar_turns_ended_total', help: 'Turns that ended idle, by stop reason', labelNames: ['stop_reason'], registers }),
    terminated: new Counter({ name: 'hangar_sessions_terminated_total', help: 'Sessions terminated (a terminal error mid-turn, or archived)', registers }),
    modelRequests: new Counter({ name: 'hangar_model_requests_total', help: 'Model requests by provider, model and outcome (ok or the error kind)', labelNames: ['provider', 'model', 'outcome'], registers }),
    modelErrors: new Counter({ name: 'hangar_model_request_errors_total', help: 'Failed model requests by provider, model and error kind', labelNames: ['provider', 'model', 'kind'], registers }),
    modelDuration: new Histogram({
      name: 'hangar_model_request_duration_seconds', help: 'Model request duration (whole streamed answer)', labelNames: ['provider', 'model'], registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    }),
    tokens: new Counter({ name: 'hangar_model_tokens_total', help: 'Tokens by provider, model and type (input, output, cache_read, cache_creation)', labelNames: ['provider', 'model', 'type'], registers }),
    cost: new Counter({ name: 'hangar_model_list_cost_usd_total', help: 'List cost of model requests in USD (models with a price)', labelNames: ['provider', 'model'], registers }),
    toolCalls: new Counter({ name: 'hangar_tool_calls_total', help: 'Tool calls run by the server, by tool, kind (builtin, mcp, web) and outcome (ok, error, denied)', labelNames: ['tool', 'kind', 'outcome'], registers }),
    toolDuration: new Histogram({
      name: 'hangar_tool_call_duration_seconds', help: 'Tool call duration', labelNames: ['tool', 'kind'], registers,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    }),
    sandboxProvision: new Histogram({
      name: 'hangar_sandbox_provision_duration_seconds', help: 'Sandbox provisioning latency (queueing for a provisioning slot included), by outcome', labelNames: ['outcome'], registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    graderVerdicts: new Counter({ name: 'hangar_grader_evaluations_total', help: 'Outcome evaluations ended, by result', labelNames: ['result'], registers }),
    workDepth: new Gauge({
      name: 'hangar_work_queue_depth', help: 'Self-hosted work items waiting for a worker (lapsed leases included)', registers,
      async collect() {
        if (source) this.set(await source.workQueueDepth(now()));
      },
    }),
    workPickup: new Histogram({
      name: 'hangar_work_pickup_latency_seconds', help: 'Time from a work item being queued to its first hand-out to a worker', registers,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    }),
    sse: new Gauge({ name: 'hangar_sse_connections', help: 'Open session event streams', registers }),
    eventAppend: new Histogram({
      name: 'hangar_event_log_append_duration_seconds', help: 'Session event log commits (append + session row update, one transaction)', registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    }),
    leaseTakeovers: new Counter({ name: 'hangar_lease_takeovers_total', help: 'Sessions resumed by the sweep after their previous harness lease expired or was released mid-turn', registers }),
  };
  return instruments;
}
