// Sends each workspace's spans to the telemetry destinations covering it (issue 11): a span
// processor that, as a span ends, reads its `hangar.workspace.id`, asks the routing table for the
// destinations, and hands the span to one batch processor per destination (an OTLP/HTTP protobuf
// exporter with that destination's headers, rebuilt when its settings change). Spans for a
// `metadata_only` destination lose their content attributes and error messages first; content is cut
// to a destination's `max_content_bytes`. Export outcomes feed the destination's delivery health.
import { SpanStatusCode, type Attributes, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { randomBytes } from 'node:crypto';
import { WORKSPACE_ATTRIBUTE, type SpanDestination, type SpanRoutes } from '../../ports/tracer.ts';

/** Attributes that carry content (prompts, model output, tool inputs and results). */
export const CONTENT_ATTRIBUTES = ['gen_ai.system_instructions', 'gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result'];

function cut(value: unknown, max: number): unknown {
  if (typeof value !== 'string' || Buffer.byteLength(value) <= max) return value;
  return `${Buffer.from(value).subarray(0, max).toString('utf8').replace(/\uFFFD+$/, '')}…`;
}

/** The span as one destination may see it (a plain copy; the original is untouched). */
export function spanFor(span: ReadableSpan, d: Pick<SpanDestination, 'contentMode' | 'maxContentBytes'>): ReadableSpan {
  const content = CONTENT_ATTRIBUTES.filter((k) => k in span.attributes);
  const strip = d.contentMode === 'metadata_only';
  if (!content.length && !(strip && span.status.message) && d.maxContentBytes === null) return span;
  const attributes: Attributes = { ...span.attributes };
  for (const k of content) {
    if (strip) delete attributes[k];
    else if (d.maxContentBytes !== null) attributes[k] = cut(attributes[k], d.maxContentBytes) as never;
  }
  const status = strip && span.status.message ? { code: span.status.code ?? SpanStatusCode.UNSET } : span.status;
  return {
    name: span.name, kind: span.kind, spanContext: () => span.spanContext(), parentSpanContext: span.parentSpanContext,
    startTime: span.startTime, endTime: span.endTime, status, attributes, links: span.links, events: span.events,
    duration: span.duration, ended: span.ended, resource: span.resource, instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount, droppedEventsCount: span.droppedEventsCount, droppedLinksCount: span.droppedLinksCount,
  };
}

/** Reports each export's outcome (the error's message only: never headers). */
class ReportingExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly report: (error: string | undefined) => void;

  constructor(inner: SpanExporter, report: (error: string | undefined) => void) {
    this.inner = inner;
    this.report = report;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.report(result.code === ExportResultCode.SUCCESS ? undefined : (result.error?.message ?? 'export failed'));
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function destinationExporter(d: SpanDestination): SpanExporter {
  return new OTLPTraceExporter({ url: d.url, headers: { ...d.headers } });
}

export interface RouterOptions {
  /** Batch settings of each destination's processor. */
  scheduledDelayMs: number;
  exportTimeoutMs: number;
}

export class DestinationRouter implements SpanProcessor {
  private readonly routes: SpanRoutes;
  private readonly opts: RouterOptions;
  private readonly processors = new Map<string, { revision: string; processor: BatchSpanProcessor }>();

  constructor(routes: SpanRoutes, opts: RouterOptions) {
    this.routes = routes;
    this.opts = opts;
  }

  onStart(_span: Span, _parent: Context): void {}

  onEnd(span: ReadableSpan): void {
    const ws = span.attributes[WORKSPACE_ATTRIBUTE];
    if (typeof ws !== 'string') return;
    const destinations = this.routes.destinationsFor(ws);
    for (const d of destinations) this.processorFor(d).onEnd(spanFor(span, d));
  }

  private processorFor(d: SpanDestination): BatchSpanProcessor {
    const held = this.processors.get(d.id);
    if (held && held.revision === d.revision) return held.processor;
    if (held) void held.processor.shutdown().catch(() => undefined);
    const exporter = new ReportingExporter(destinationExporter(d), (error) => this.routes.delivered?.(d.id, error));
    const processor = new BatchSpanProcessor({ exporter, scheduledDelayMillis: this.opts.scheduledDelayMs, exportTimeoutMillis: this.opts.exportTimeoutMs });
    this.processors.set(d.id, { revision: d.revision, processor });
    return processor;
  }

  /** A destination that cannot be reached fails only its own delivery (its health says so), never the flush. */
  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.processors.values()].map((p) => p.processor.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.processors.values()].map((p) => p.processor.shutdown()));
    this.processors.clear();
  }
}

/**
 * One `anthropic.test` span, posted once (no retries, no redirects) with the destination's headers;
 * resolves to the failure, or undefined when the destination answered 2xx.
 */
export async function sendTestSpan(
  d: SpanDestination, resource: ReadableSpan['resource'] = resourceFromAttributes({ 'service.name': 'hangar' }), scope: ReadableSpan['instrumentationScope'] = { name: 'hangar' },
): Promise<string | undefined> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const hr = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const span: ReadableSpan = {
    name: 'anthropic.test', kind: 0, spanContext: () => ({ traceId, spanId, traceFlags: 1 }), startTime: hr(nowNs), endTime: hr(nowNs + 1_000_000n),
    status: { code: SpanStatusCode.UNSET }, attributes: { 'hangar.telemetry_destination.id': d.id }, links: [], events: [], duration: [0, 1_000_000],
    ended: true, resource, instrumentationScope: scope, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
  const body = ProtobufTraceSerializer.serializeRequest([span]);
  try {
    const res = await fetch(d.url, {
      method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(10_000),
      headers: { ...d.headers, 'content-type': 'application/x-protobuf' }, body: body as Uint8Array<ArrayBuffer>,
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 300 && res.status < 400) return `the destination answered with a redirect (HTTP ${res.status}); redirects are not followed`;
    return res.ok ? undefined : `the destination answered HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return cause ?? (err instanceof Error ? err.message : String(err));
  }
}
