// Test kit: a real OTLP/HTTP trace receiver on 127.0.0.1. It decodes `application/x-protobuf`
// exports with protobufjs over the OTLP trace schema (the subset of opentelemetry-proto's
// ExportTraceServiceRequest a receiver reads; unknown fields are skipped by the decoder) and
// `application/json` exports (OTLP/JSON: hex ids, enum numbers), gzip or not, into one span shape,
// and records each request's headers so tests can check what the exporter sent.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/** Field numbers as in opentelemetry/proto/{collector/trace,trace,resource,common}/v1 (OTLP 1.x). */
const OTLP_TRACE_SCHEMA = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11;
  uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const ExportRequest = protobuf.parse(OTLP_TRACE_SCHEMA, { keepCase: true }).root.lookupType('otlp.ExportTraceServiceRequest');

export type AttributeValue = string | number | boolean | AttributeValue[] | { [k: string]: AttributeValue } | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttributeValue>;
  links: Array<{ traceId: string; spanId: string }>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, AttributeValue>;
  scope: string;
}

export interface ReceivedExport {
  contentType: string;
  headers: Record<string, string | string[] | undefined>;
  spans: ReceivedSpan[];
}

export interface OtlpReceiver {
  /** Base endpoint for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  url: string;
  exports: ReceivedExport[];
  spans(): ReceivedSpan[];
  /** Resolves once `pred` holds for the spans received so far. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number, what?: string): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const hex = (b: Uint8Array | string | undefined): string => {
  if (b === undefined || b === null) return '';
  if (typeof b === 'string') return b.toLowerCase();
  return Buffer.from(b).toString('hex');
};

/** Protobuf (decoded object with keepCase) and JSON (camelCase) AnyValue into a plain value. */
function anyValue(v: Record<string, any> | undefined): AttributeValue {
  if (!v) return null;
  const pick = (snake: string, camel: string) => (v[snake] !== undefined ? v[snake] : v[camel]);
  const s = pick('string_value', 'stringValue');
  if (s !== undefined && s !== null) return String(s);
  const b = pick('bool_value', 'boolValue');
  if (b !== undefined && b !== null) return Boolean(b);
  const i = pick('int_value', 'intValue');
  if (i !== undefined && i !== null) return Number(i.toString());
  const d = pick('double_value', 'doubleValue');
  if (d !== undefined && d !== null) return Number(d);
  const a = pick('array_value', 'arrayValue');
  if (a) return ((a.values ?? []) as Array<Record<string, any>>).map(anyValue);
  const kv = pick('kvlist_value', 'kvlistValue');
  if (kv) return attributes(kv.values);
  return null;
}

function attributes(list: Array<Record<string, any>> | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

const nanos = (v: unknown): bigint => (v === undefined || v === null ? 0n : BigInt(v.toString()));

/** One decoded export request (either encoding) into flat spans. */
function flatten(req: Record<string, any>): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const f = (o: Record<string, any>, snake: string, camel: string) => (o[snake] !== undefined ? o[snake] : o[camel]);
  for (const rs of (f(req, 'resource_spans', 'resourceSpans') ?? []) as Array<Record<string, any>>) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of (f(rs, 'scope_spans', 'scopeSpans') ?? []) as Array<Record<string, any>>) {
      for (const s of (ss.spans ?? []) as Array<Record<string, any>>) {
        out.push({
          traceId: hex(f(s, 'trace_id', 'traceId')),
          spanId: hex(f(s, 'span_id', 'spanId')),
          parentSpanId: hex(f(s, 'parent_span_id', 'parentSpanId')),
          name: String(s.name),
          kind: Number(s.kind ?? 0),
          startNs: nanos(f(s, 'start_time_unix_nano', 'startTimeUnixNano')),
          endNs: nanos(f(s, 'end_time_unix_nano', 'endTimeUnixNano')),
          attributes: attributes(s.attributes),
          links: ((s.links ?? []) as Array<Record<string, any>>).map((l) => ({ traceId: hex(f(l, 'trace_id', 'traceId')), spanId: hex(f(l, 'span_id', 'spanId')) })),
          status: { code: Number(s.status?.code ?? 0), message: String(s.status?.message ?? '') },
          resource,
          scope: String(ss.scope?.name ?? ''),
        });
      }
    }
  }
  return out;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const listeners = new Set<() => void>();
  const server = createServer(async (req, res) => {
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    try {
      const data = await body(req);
      let decoded: Record<string, any>;
      if (contentType === 'application/x-protobuf') {
        decoded = ExportRequest.toObject(ExportRequest.decode(data), { longs: String, bytes: Array, defaults: false }) as Record<string, any>;
        // toObject turns bytes into number arrays: back to byte arrays for hex()
        const fixBytes = (o: any): any => {
          if (Array.isArray(o)) return o.map(fixBytes);
          if (o && typeof o === 'object') {
            for (const k of Object.keys(o)) {
              if ((k === 'trace_id' || k === 'span_id' || k === 'parent_span_id') && Array.isArray(o[k])) o[k] = Uint8Array.from(o[k]);
              else o[k] = fixBytes(o[k]);
            }
          }
          return o;
        };
        decoded = fixBytes(decoded);
      } else if (contentType === 'application/json') {
        decoded = JSON.parse(data.toString('utf8'));
      } else {
        res.writeHead(415).end();
        return;
      }
      exports.push({ contentType, headers: req.headers, spans: flatten(decoded) });
      for (const l of [...listeners]) l();
      // An empty ExportTraceServiceResponse: full success.
      if (contentType === 'application/json') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const spans = () => exports.flatMap((e) => e.spans);
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans,
    waitFor(pred, timeoutMs = 10_000, what = 'spans') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(spans())) return false;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(spans());
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${what} not received within ${timeoutMs} ms; got ${JSON.stringify(spans().map((s) => s.name))}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
