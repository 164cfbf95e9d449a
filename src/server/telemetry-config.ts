// Telemetry settings, parsed once at start-up from the standard OpenTelemetry variables
// (OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*)
// and Hangar's own (HANGAR_OTEL_CAPTURE_CONTENT, HANGAR_METRICS_KEY). Pure: imports no OTel code,
// so a server with tracing off never loads the SDK. A value Hangar cannot honor stops the start.
import { ConfigError } from './config.ts';

import type { OtlpProtocol, SamplerSetting, TracingConfig } from '../ports/tracer.ts';

export type { OtlpProtocol, SamplerSetting, TracingConfig };

export interface TelemetryConfig {
  /** Undefined: tracing is off and no OpenTelemetry module is loaded. */
  tracing: TracingConfig | undefined;
  /** A key that may read `GET /metrics` (and nothing else), besides API keys. */
  metricsKey: string | undefined;
}

type Env = Record<string, string | undefined>;

const fail = (message: string): never => {
  throw new ConfigError(`invalid configuration: ${message}`);
};

/** `k=v,k2=v2` with percent-encoded values (the OTel format of the headers and resource variables). */
export function parseKeyValueList(name: string, raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`${name}: "${part.trim().slice(0, 40)}" is not key=value (entries are comma-separated key=value pairs)`);
    const key = part.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return fail(`${name}: the value of ${key} is not valid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The traces URL: the signal-specific variable as given, else the base endpoint + /v1/traces. */
function tracesUrl(env: Env): string | undefined {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const name = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = specific ?? base;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(specific ?? `${base!.replace(/\/+$/, '')}/v1/traces`);
  } catch {
    return fail(`${name}: not a URL; give e.g. http://127.0.0.1:4318 (a local collector) or https://collector.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${name}: must be an http(s) URL (OTLP/HTTP); gRPC is not supported`);
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) {
    fail(`${name}: plain http is allowed only to a loopback collector (127.0.0.1, ::1, localhost), since spans and headers would cross the network unencrypted; use https://${url.host}${url.pathname}`);
  }
  if (url.username || url.password) fail(`${name}: credentials in the URL are not accepted; send them with OTEL_EXPORTER_OTLP_HEADERS`);
  return url.toString();
}

function protocol(env: Env): OtlpProtocol {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (value === 'http/protobuf' || value === 'http/json') return value;
  if (value === 'grpc') return fail(`${name}: "grpc" is not supported by Hangar (OTLP/HTTP only); use http/protobuf (the default) or http/json, and point the endpoint at the collector's HTTP port (4318)`);
  return fail(`${name}: "${value}" is not one of http/protobuf, http/json`);
}

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`${name}: must be a whole number from 1 to ${max}`);
  return n;
}

function ratio(env: Env, sampler: string): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG;
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) fail(`OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1 for ${sampler}`);
  return n;
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

function sampler(env: Env): SamplerSetting {
  const value = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim();
  switch (value) {
    case 'always_on': case 'always_off': case 'parentbased_always_on': case 'parentbased_always_off':
      return { type: value };
    case 'traceidratio': case 'parentbased_traceidratio':
      return { type: value, ratio: ratio(env, value) };
    default:
      return fail(`OTEL_TRACES_SAMPLER: "${value}" is not one of ${SAMPLERS.join(', ')}`);
  }
}

function bool(env: Env, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined) return false;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return fail(`${name}: must be "true" or "false"`);
}

function propagators(env: Env): boolean {
  const raw = env.OTEL_PROPAGATORS;
  if (raw === undefined) return true;
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.find((n) => n !== 'tracecontext' && n !== 'none');
  if (unknown) fail(`OTEL_PROPAGATORS: "${unknown}" is not supported; Hangar reads only W3C "tracecontext" (or "none")`);
  return names.includes('tracecontext');
}

/** Node's version as [major, minor]. */
function nodeVersion(): [number, number] {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return [major, minor];
}

export function parseTelemetryConfig(env: Env): TelemetryConfig {
  const metricsKey = env.HANGAR_METRICS_KEY;
  if (metricsKey !== undefined && metricsKey.length < 16) fail('HANGAR_METRICS_KEY: must be at least 16 characters');
  const captureContent = bool(env, 'HANGAR_OTEL_CAPTURE_CONTENT');
  const disabled = bool(env, 'OTEL_SDK_DISABLED');
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none') {
    fail(`OTEL_TRACES_EXPORTER: "${exporter}" is not supported; Hangar exports traces over OTLP/HTTP only ("otlp", or "none" to turn tracing off)`);
  }
  const url = tracesUrl(env);
  if (!url || disabled || exporter === 'none') {
    if (captureContent) fail('HANGAR_OTEL_CAPTURE_CONTENT=true has no effect while tracing is off; set OTEL_EXPORTER_OTLP_ENDPOINT (or unset HANGAR_OTEL_CAPTURE_CONTENT)');
    return { tracing: undefined, metricsKey };
  }
  const [major, minor] = nodeVersion();
  if (major < 22 || (major === 22 && minor < 15)) {
    fail(`tracing (OTEL_EXPORTER_OTLP_ENDPOINT) needs Node.js 22.15 or later, the OpenTelemetry SDK's minimum; this is ${process.versions.node}. Upgrade Node or unset the variable`);
  }
  const compression = (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none').trim();
  if (compression !== 'gzip' && compression !== 'none') fail(`OTEL_EXPORTER_OTLP_COMPRESSION: "${compression}" is not one of gzip, none`);
  const timeoutName = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  return {
    metricsKey,
    tracing: {
      url,
      protocol: protocol(env),
      headers: {
        ...parseKeyValueList('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS),
        ...parseKeyValueList('OTEL_EXPORTER_OTLP_TRACES_HEADERS', env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      },
      timeoutMs: positiveInt(env, timeoutName, 10_000, 600_000),
      compression: compression as 'gzip' | 'none',
      serviceName: env.OTEL_SERVICE_NAME?.trim() || 'hangar',
      resourceAttributes: parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', env.OTEL_RESOURCE_ATTRIBUTES),
      sampler: sampler(env),
      batch: {
        scheduledDelayMs: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, 600_000),
        maxQueueSize: positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2_048, 1_000_000),
        maxExportBatchSize: positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1_000_000),
        exportTimeoutMs: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, 600_000),
      },
      captureContent,
      propagate: propagators(env),
    },
  };
}
