// The metrics port: what Hangar counts and times, in domain terms. The Prometheus adapter
// (src/adapters/metrics-prometheus/) turns these into `hangar_*` series for `GET /metrics`;
// `NO_METRICS` drops them (tests and tools that build a harness without a server).
export const METRICS_PORT_VERSION = 'v1';

export type ToolKind = 'builtin' | 'mcp' | 'web';
export type ToolCallOutcome = 'ok' | 'error' | 'denied';

export interface ModelRequestRecord {
  provider: string;
  /** The model that answered (a fallback's id when one did). */
  model: string;
  durationMs: number;
  /** `ok`, or the ModelError kind (`rate_limited`, `overloaded`, `aborted`, …). */
  outcome: string;
  usage?: { input: number; output: number; cacheRead: number; cacheCreation: number };
  /** List cost in USD, when the model has a price. */
  costUsd?: number;
}

/** Figures read at scrape time (from the store: correct across processes and restarts). */
export interface MetricsSnapshotSource {
  sessionsByStatus(): Promise<Record<string, number>>;
  /** Self-hosted work items waiting for a worker, over all environments. */
  workQueueDepth(nowMs: number): Promise<number>;
}

export interface Metrics {
  turnStarted(): void;
  /** A turn ended idle: `stopReason` is the idle stop reason (`end_turn`, `requires_action`, …). */
  turnEnded(stopReason: string): void;
  /** A session was terminated (a terminal error mid-turn, or archived). */
  sessionTerminated(): void;
  modelRequest(r: ModelRequestRecord): void;
  toolCall(tool: string, kind: ToolKind, outcome: ToolCallOutcome, durationMs: number): void;
  sandboxProvisioned(durationMs: number, ok: boolean): void;
  graderVerdict(result: string): void;
  workPickedUp(latencyMs: number): void;
  sseOpened(): void;
  sseClosed(): void;
  eventLogAppend(durationMs: number): void;
  leaseTakeover(): void;
  /** The Prometheus text exposition; undefined when this recorder keeps nothing. */
  scrape?(): Promise<{ contentType: string; body: string }>;
}

/** Records nothing. */
export const NO_METRICS: Metrics = {
  turnStarted() {},
  turnEnded() {},
  sessionTerminated() {},
  modelRequest() {},
  toolCall() {},
  sandboxProvisioned() {},
  graderVerdict() {},
  workPickedUp() {},
  sseOpened() {},
  sseClosed() {},
  eventLogAppend() {},
  leaseTakeover() {},
};
