// The tracing port: spans around a session's turn and the work inside it (model requests, tool
// calls, MCP calls, sandbox provisioning, grading, the HTTP requests that start turns). Vendor
// neutral: the OpenTelemetry adapter (src/adapters/tracing-otel/) is loaded only when tracing is
// configured; otherwise `NO_TRACER` runs every callback as is and allocates nothing.
export const TRACER_PORT_VERSION = 'v1';

/** What the tracing adapter is configured with (parsed from OTEL_* by server/telemetry-config.ts). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type SamplerSetting =
  | { type: 'always_on' | 'always_off' }
  | { type: 'traceidratio'; ratio: number }
  | { type: 'parentbased_always_on' | 'parentbased_always_off' }
  | { type: 'parentbased_traceidratio'; ratio: number };

export interface TracingConfig {
  /** The full traces URL (…/v1/traces). */
  url: string;
  protocol: OtlpProtocol;
  /** Sent with every export; never logged, never in spans or API responses. */
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: SamplerSetting;
  batch: { scheduledDelayMs: number; maxQueueSize: number; maxExportBatchSize: number; exportTimeoutMs: number };
  /** Export prompts, model output and tool inputs/outputs (scrubbed of vault secrets). */
  captureContent: boolean;
  /** Whether the incoming W3C `traceparent` header parents the request's span. */
  propagate: boolean;
}

export type SpanAttributeValue = string | number | boolean | string[];
export type SpanAttributes = Record<string, SpanAttributeValue | undefined>;

export type SpanKindName = 'internal' | 'client' | 'server';

export interface TraceSpan {
  /** Runs `fn` with this span as the current one, so spans started inside nest under it. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Adds attributes (undefined values are skipped). */
  set(attributes: SpanAttributes): void;
  /** Marks the span failed: status ERROR and `error.type`; `message` only when content may be exported. */
  fail(errorType: string, message?: string): void;
  /** Ends the span (at `endMs`, default now). Further calls do nothing. */
  end(endMs?: number): void;
}

/** The ids a log line carries to join it to its trace (W3C hex). */
export interface TraceLogFields {
  trace_id: string;
  span_id: string;
}

export interface StartSpanOptions {
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  startMs?: number;
  remoteParent?: Record<string, string | string[] | undefined>;
}

/** The tracing clock in epoch milliseconds (time origin + monotonic time, as OpenTelemetry counts). */
export const traceNow = (): number => performance.timeOrigin + performance.now();

export interface Tracer {
  /** False for the no-op tracer: callers may skip building attributes. */
  readonly enabled: boolean;
  /** True when a tracer that is off may turn on later (a telemetry destination is registered): callers check `enabled` per call, never once. */
  readonly mayEnable?: boolean;
  /** Whether prompts, model output and tool inputs/outputs may be recorded (HANGAR_OTEL_CAPTURE_CONTENT). */
  readonly captureContent: boolean;
  /**
   * Runs `fn` as one active period of a session (a turn): a new trace whose root span is created
   * at the first span or log line inside it — a wake with nothing to do leaves no trace. The span
   * current when this is called (the HTTP request that sent the input) becomes a link, not a
   * parent: the turn outlives the request.
   */
  turn<T>(sessionId: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Starts a span under the current one (a root span outside any). Call `end()`. `remoteParent`:
   * request headers instead — a root span of this process whose parent is the W3C `traceparent`
   * they carry, if any (for the HTTP server span). Times are `traceNow()` milliseconds.
   */
  start(name: string, opts?: StartSpanOptions): TraceSpan;
  /** Adds attributes to the current turn's root span (nothing outside a turn). */
  annotateTurn(attributes: SpanAttributes): void;
  /** Adds attributes to the current span (nothing outside a span). */
  annotate(attributes: SpanAttributes): void;
  /** The session of the current turn, if any (for scrubbing captured content). */
  currentSession(): string | undefined;
  /** Ids of the current span for log lines; undefined outside any span. */
  logFields(): TraceLogFields | undefined;
  /** Exports what has ended so far (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

const NOOP_SPAN: TraceSpan = {
  run: (fn) => fn(),
  set() {},
  fail() {},
  end() {},
};

/** Tracing off: callbacks run unchanged, nothing is recorded. */
export const NO_TRACER: Tracer = {
  enabled: false,
  captureContent: false,
  turn: (_sessionId, fn) => fn(),
  start: () => NOOP_SPAN,
  annotateTurn() {},
  annotate() {},
  currentSession: () => undefined,
  logFields: () => undefined,
  flush: async () => {},
  shutdown: async () => {},
};

/** Runs `fn` inside a new span that ends when `fn` settles; a throw marks it failed and is rethrown. */
export async function inSpan<T>(
  tracer: Tracer, name: string, opts: { kind?: SpanKindName; attributes?: SpanAttributes },
  fn: (span: TraceSpan) => Promise<T>,
): Promise<T> {
  if (!tracer.enabled) return fn(NOOP_SPAN);
  const span = tracer.start(name, opts);
  try {
    return await span.run(() => fn(span));
  } catch (err) {
    span.fail(err instanceof Error ? err.name : 'Error', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    span.end();
  }
}

/** Where a workspace's spans also go: one registered telemetry destination (issue 11). */
export interface SpanDestination {
  id: string;
  /** The full OTLP/HTTP traces URL. */
  url: string;
  /** Sent with every export to it; never logged, never in spans or API responses. */
  headers: Record<string, string>;
  /** `metadata_only` strips prompts, outputs and tool inputs/results (and error messages) from its spans. */
  contentMode: 'metadata_only' | 'content';
  /** Content attributes are cut to this many bytes for it (null: no cut beyond the capture limit). */
  maxContentBytes: number | null;
  /** Changes whenever the destination's settings do, so its exporter is rebuilt. */
  revision: string;
}

/** The routing table the tracer consults for each span: sessions' workspaces and their destinations. */
export interface SpanRoutes {
  /** The workspace of a session (resolved once per turn). */
  workspaceOf(sessionId: string): Promise<string | undefined>;
  /** Enabled destinations covering the workspace (synchronous: called as each span ends). */
  destinationsFor(workspaceId: string): SpanDestination[];
  /** The outcome of one export to a destination (delivery health). */
  delivered?(destinationId: string, error: string | undefined): void;
}

/** The span attribute naming the workspace a span belongs to (what destinations are chosen by). */
export const WORKSPACE_ATTRIBUTE = 'hangar.workspace.id';
