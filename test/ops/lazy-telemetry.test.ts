// Cold start: with tracing off none of the OpenTelemetry SDK is loaded (only @opentelemetry/api,
// which the Anthropic SDK itself imports at start-up whatever Hangar does), and prom-client is not
// loaded while the server starts (it loads a second later or at the first scrape). Checked in a
// fresh Node process whose module-resolution hook records every module it loads.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');

/** Starts a Hangar in a child with `env`, then reports the observability modules loaded before listen, after it, and after a scrape. */
function loadedModules(env: Record<string, string>): { atListen: string[]; afterScrape: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-lazy-'));
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (/@opentelemetry|prom-client/.test(r.url)) seen.push(r.url); return r; } });
    const { loadConfig } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/server/config.ts')).href)});
    const { createHangar } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/server/hangar.ts')).href)});
    const h = await createHangar(loadConfig(${JSON.stringify({ HANGAR_DATA_DIR: dir, HANGAR_PORT: '0', HANGAR_LOG_LEVEL: 'silent', HANGAR_API_KEY: 'sk-lazy-test-0123456789abcdef', ANTHROPIC_API_KEY: 'x', ...env })}));
    const url = await h.listen();
    const atListen = [...seen];
    const res = await fetch(url + '/metrics', { headers: { authorization: 'Bearer sk-lazy-test-0123456789abcdef' } });
    if (res.status !== 200) throw new Error('scrape failed: ' + res.status);
    await h.close();
    process.stdout.write(JSON.stringify({ atListen, afterScrape: [...seen] }));
  `;
  try {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('observability modules load lazily', () => {
  it('loads none of the OpenTelemetry SDK and no prom-client by start-up when tracing is off; prom-client at the first scrape', () => {
    const { atListen, afterScrape } = loadedModules({});
    const otelApi = (u: string) => u.includes('/@opentelemetry/api/');
    expect(atListen.filter((u) => !otelApi(u))).toEqual([]);
    expect(afterScrape.some((u) => u.includes('/prom-client/'))).toBe(true);
    expect(afterScrape.filter((u) => u.includes('@opentelemetry/') && !otelApi(u))).toEqual([]);
  });

  it('loads the OpenTelemetry SDK and exporter when an endpoint is configured', () => {
    const { atListen } = loadedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(atListen.some((u) => u.includes('@opentelemetry/sdk-trace/'))).toBe(true);
    expect(atListen.some((u) => u.includes('@opentelemetry/exporter-trace-otlp-proto/'))).toBe(true);
    expect(atListen.some((u) => u.includes('/prom-client/'))).toBe(false);
  });
});
