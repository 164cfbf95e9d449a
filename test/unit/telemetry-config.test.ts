// Telemetry configuration from the standard OTEL_* variables: what is honored, and every value
// Hangar cannot honor stops the start with a message naming the variable and the fix.
import { describe, expect, it } from 'vitest';
import { parseTelemetryConfig } from '../../src/server/telemetry-config.ts';
import { ConfigError, loadConfig } from '../../src/server/config.ts';

const local = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
const refused = (env: Record<string, string>) => {
  try {
    parseTelemetryConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('tracing configuration', () => {
  it('is off without an endpoint, and with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(parseTelemetryConfig({}).tracing).toBeUndefined();
    expect(parseTelemetryConfig({ ...local, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(parseTelemetryConfig({ ...local, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
  });

  it('appends /v1/traces to the base endpoint and takes the traces endpoint as given', () => {
    expect(parseTelemetryConfig(local).tracing?.url).toBe('http://127.0.0.1:4318/v1/traces');
    expect(parseTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/base/' }).tracing?.url).toBe('https://otel.example.com/base/v1/traces');
    expect(parseTelemetryConfig({ ...local, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example.com/custom' }).tracing?.url).toBe('https://otel.example.com/custom');
  });

  it('reads protocol, headers, service name, resource attributes, sampler, timeout, compression and batch settings', () => {
    const t = parseTelemetryConfig({
      ...local, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_HEADERS: 'a=1, b=x%3Dy', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=2',
      OTEL_SERVICE_NAME: 'svc', OTEL_RESOURCE_ATTRIBUTES: 'k=v%20w', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_BSP_SCHEDULE_DELAY: '100', HANGAR_OTEL_CAPTURE_CONTENT: 'true',
    }).tracing!;
    expect(t).toMatchObject({
      protocol: 'http/json', headers: { a: '1', b: '2' }, serviceName: 'svc', resourceAttributes: { k: 'v w' },
      sampler: { type: 'parentbased_traceidratio', ratio: 0.25 }, timeoutMs: 2500, compression: 'gzip', captureContent: true,
      batch: { scheduledDelayMs: 100 }, propagate: true,
    });
    expect(parseTelemetryConfig(local).tracing).toMatchObject({ protocol: 'http/protobuf', serviceName: 'hangar', captureContent: false, sampler: { type: 'parentbased_always_on' } });
  });

  it('refuses grpc, plain http to a non-loopback host, credentials in the URL and non-http schemes', () => {
    expect(refused({ ...local, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported.*http\/protobuf/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318' })).toMatch(/plain http is allowed only to a loopback collector.*https:\/\/collector\.internal:4318/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://u:p@otel.example.com' })).toMatch(/credentials in the URL/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://127.0.0.1' })).toMatch(/must be an http\(s\) URL/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT: not a URL/);
  });

  it('refuses values it cannot honor: unknown sampler, bad ratio, exporter, propagator, compression, malformed headers', () => {
    expect(refused({ ...local, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toMatch(/OTEL_TRACES_SAMPLER: "jaeger_remote"/);
    expect(refused({ ...local, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toMatch(/OTEL_TRACES_SAMPLER_ARG/);
    expect(refused({ ...local, OTEL_TRACES_EXPORTER: 'zipkin' })).toMatch(/OTEL_TRACES_EXPORTER: "zipkin"/);
    expect(refused({ ...local, OTEL_PROPAGATORS: 'b3' })).toMatch(/OTEL_PROPAGATORS: "b3"/);
    expect(refused({ ...local, OTEL_EXPORTER_OTLP_COMPRESSION: 'br' })).toMatch(/COMPRESSION/);
    expect(refused({ ...local, OTEL_EXPORTER_OTLP_HEADERS: 'novalue' })).toMatch(/OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/);
    expect(refused({ ...local, OTEL_BSP_SCHEDULE_DELAY: '-1' })).toMatch(/OTEL_BSP_SCHEDULE_DELAY/);
  });

  it('refuses HANGAR_OTEL_CAPTURE_CONTENT=true while tracing is off, and a short HANGAR_METRICS_KEY', () => {
    expect(refused({ HANGAR_OTEL_CAPTURE_CONTENT: 'true' })).toMatch(/no effect while tracing is off/);
    expect(refused({ HANGAR_OTEL_CAPTURE_CONTENT: 'yes' })).toMatch(/must be "true" or "false"/);
    expect(refused({ HANGAR_METRICS_KEY: 'short' })).toMatch(/HANGAR_METRICS_KEY: must be at least 16/);
    expect(parseTelemetryConfig({ HANGAR_METRICS_KEY: 'k'.repeat(16) }).metricsKey).toBe('k'.repeat(16));
  });

  it('is part of the server configuration', () => {
    expect(loadConfig({ ...local }).telemetry.tracing?.url).toBe('http://127.0.0.1:4318/v1/traces');
    expect(() => loadConfig({ ...local, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(ConfigError);
  });
});
