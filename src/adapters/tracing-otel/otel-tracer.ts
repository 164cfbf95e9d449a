// The tracing port on the OpenTelemetry JS SDK: a private tracer provider (no global state, so
// several Hangars in one process keep apart), a batch processor over the OTLP/HTTP exporter of the
// configured protocol, and an AsyncLocalStorage frame that carries the current turn and span
// through the harness's async work. Loaded by `import()` only when tracing is configured.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace,
  type Attributes, type Context, type Link, type Span, type Tracer as OtelApiTracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider,
  type Sampler, type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { traceNow as now, type SpanAttributes, type SpanKindName, type StartSpanOptions, type TraceLogFields, type TraceSpan, type Tracer } from '../../ports/tracer.ts';
import { WORKSPACE_ATTRIBUTE, type SamplerSetting, type SpanDestination, type SpanRoutes, type TracingConfig } from '../../ports/tracer.ts';
import { DestinationRouter, sendTestSpan } from './destination-router.ts';

export interface OtelTracerOptions {
  serviceVersion: string;
  /** `service.instance.id`: this process among the nodes (the harness lease owner). */
  instanceId: string;
  /** Replaces the OTLP exporter (tests of the adapter itself). */
  exporter?: SpanExporter;
  /** Telemetry destinations: each workspace's spans also go to the destinations covering it. */
  routes?: SpanRoutes;
}

/** A turn (session active period) whose root span is created at its first span or log line. */
interface TurnState {
  sessionId: string;
  /** The session's workspace (spans carry it, so destinations can be chosen by it). */
  workspaceId?: string;
  startMs: number;
  links: Link[];
  span?: Span;
  pending: Attributes;
}

interface Frame {
  turn?: TurnState;
  span?: Span;
}

const KINDS: Record<SpanKindName, SpanKind> = { internal: SpanKind.INTERNAL, client: SpanKind.CLIENT, server: SpanKind.SERVER };


function clean(attributes: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  if (attributes) for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function sampler(s: SamplerSetting): Sampler {
  switch (s.type) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(s.ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) });
  }
}

function exporterFor(config: TracingConfig): SpanExporter {
  const options = {
    url: config.url, headers: config.headers, timeoutMillis: config.timeoutMs,
    compression: config.compression as never,
  };
  return config.protocol === 'http/json' ? new JsonExporter(options) : new ProtobufExporter(options);
}

class OtelSpan implements TraceSpan {
  private ended = false;
  readonly span: Span;
  private readonly frame: Frame;
  private readonly owner: OtelTracer;

  constructor(owner: OtelTracer, span: Span, turn: TurnState | undefined) {
    this.owner = owner;
    this.span = span;
    this.frame = { turn, span };
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.owner.als.run(this.frame, fn);
  }

  set(attributes: SpanAttributes): void {
    if (!this.ended) this.span.setAttributes(clean(attributes));
  }

  fail(errorType: string, message?: string): void {
    if (this.ended) return;
    this.span.setAttribute('error.type', errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: this.owner.captureContent ? message : undefined });
  }

  end(endMs?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end(endMs);
  }
}

export class OtelTracer implements Tracer {
  readonly enabled = true;
  readonly captureContent: boolean;
  readonly als = new AsyncLocalStorage<Frame>();
  private readonly provider: TracerProvider;
  private readonly tracer: OtelApiTracer;
  private readonly propagator: W3CTraceContextPropagator | undefined;
  private readonly routes: SpanRoutes | undefined;
  private readonly resource: ReturnType<typeof defaultResource>;

  constructor(config: TracingConfig, opts: OtelTracerOptions) {
    this.captureContent = config.captureContent;
    const resource = defaultResource().merge(resourceFromAttributes({
      ...config.resourceAttributes,
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion,
      'service.instance.id': opts.instanceId,
    }));
    this.resource = resource;
    this.routes = opts.routes;
    // No URL: tracing runs only for telemetry destinations (none configured through OTEL_*).
    const processors = config.url || opts.exporter ? [new BatchSpanProcessor({
      exporter: opts.exporter ?? exporterFor(config),
      scheduledDelayMillis: config.batch.scheduledDelayMs,
      maxQueueSize: config.batch.maxQueueSize,
      maxExportBatchSize: config.batch.maxExportBatchSize,
      exportTimeoutMillis: config.batch.exportTimeoutMs,
    })] : [];
    if (opts.routes) {
      processors.push(new DestinationRouter(opts.routes, { scheduledDelayMs: config.batch.scheduledDelayMs, exportTimeoutMs: config.batch.exportTimeoutMs }) as never);
    }
    this.provider = new TracerProvider({ resource, sampler: sampler(config.sampler), spanProcessors: processors });
    this.tracer = this.provider.getTracer('hangar', opts.serviceVersion);
    this.propagator = config.propagate ? new W3CTraceContextPropagator() : undefined;
  }

  async turn<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const cause = this.als.getStore()?.span?.spanContext();
    const turn: TurnState = { sessionId, startMs: now(), links: cause ? [{ context: cause }] : [], pending: {} };
    if (this.routes) turn.workspaceId = await this.routes.workspaceOf(sessionId).catch(() => undefined);
    return this.als.run({ turn }, async () => {
      try {
        return await fn();
      } finally {
        if (turn.span) {
          turn.span.setAttributes(turn.pending);
          turn.span.end();
        }
      }
    });
  }

  start(name: string, opts: StartSpanOptions = {}): TraceSpan {
    const frame = this.als.getStore();
    let parent: Context = ROOT_CONTEXT;
    if (opts.remoteParent) {
      if (this.propagator) parent = this.propagator.extract(ROOT_CONTEXT, opts.remoteParent, defaultTextMapGetter);
    } else {
      const parentSpan = frame?.span ?? (frame?.turn ? this.turnSpan(frame.turn) : undefined);
      if (parentSpan) parent = trace.setSpan(ROOT_CONTEXT, parentSpan);
    }
    const attributes = clean(opts.attributes);
    const ws = opts.remoteParent ? undefined : frame?.turn?.workspaceId;
    if (ws) attributes[WORKSPACE_ATTRIBUTE] = ws;
    const span = this.tracer.startSpan(name, {
      kind: KINDS[opts.kind ?? 'internal'], attributes, startTime: opts.startMs,
    }, parent);
    return new OtelSpan(this, span, opts.remoteParent ? undefined : frame?.turn);
  }

  annotateTurn(attributes: SpanAttributes): void {
    const turn = this.als.getStore()?.turn;
    if (turn) Object.assign(turn.pending, clean(attributes));
  }

  annotate(attributes: SpanAttributes): void {
    this.als.getStore()?.span?.setAttributes(clean(attributes));
  }

  currentSession(): string | undefined {
    return this.als.getStore()?.turn?.sessionId;
  }

  logFields(): TraceLogFields | undefined {
    const frame = this.als.getStore();
    if (!frame) return undefined;
    const span = frame.span ?? (frame.turn ? this.turnSpan(frame.turn) : undefined);
    if (!span) return undefined;
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  }

  /** Sends one `anthropic.test` span to a destination (its `test` endpoint). */
  sendTest(d: SpanDestination): Promise<string | undefined> {
    return sendTestSpan(d, this.resource as never, { name: 'hangar' });
  }

  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }

  /** The turn's root span, created on first need with the turn's start time and links. */
  private turnSpan(turn: TurnState): Span {
    turn.span ??= this.tracer.startSpan('invoke_agent', {
      root: true,
      kind: SpanKind.INTERNAL,
      startTime: turn.startMs,
      links: turn.links,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.conversation.id': turn.sessionId,
        'hangar.session.id': turn.sessionId,
        ...(turn.workspaceId ? { [WORKSPACE_ATTRIBUTE]: turn.workspaceId } : {}),
      },
    }, ROOT_CONTEXT);
    return turn.span;
  }
}

export function createOtelTracer(config: TracingConfig, opts: OtelTracerOptions): OtelTracer {
  return new OtelTracer(config, opts);
}
