// The console's static files at /console (src/server/routes/console.ts) on a real in-process Hangar:
// served without an API key while the API still needs one, hashed assets cached for a year and
// index.html revalidated, a CSP allowing only this origin on every console response, client-side
// routes falling back to index.html, a missing asset or a path outside the build a 404 in the error
// envelope, and a server without a built console saying how to build it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { CONSOLE_CSP, acceptedEncodings } from '../../src/server/routes/console.ts';

let h: TestHangar;
let bare: TestHangar;
let dir: string;
const INDEX = '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'index.html.br'), brotliCompressSync(INDEX));
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("hi")');
  writeFileSync(join(dir, 'assets', 'index-abc123.js.br'), brotliCompressSync('console.log("hi")'));
  writeFileSync(join(dir, 'assets', 'index-abc123.js.gz'), gzipSync('console.log("hi")'));
  writeFileSync(join(dir, 'robots.txt'), 'User-agent: *\nDisallow: /');
  writeFileSync(join(tmpdir(), 'hangar-console-secret.txt'), 'outside');
  h = await startHangar({ overrides: { consoleDir: dir } });
  bare = await startHangar({ overrides: { consoleDir: join(dir, 'missing') } });
});

/** A GET exactly as written (fetch would resolve dot segments and add cache headers of its own). */
function raw(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    httpGet({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

afterAll(async () => {
  await h?.close();
  await bare?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console static files', () => {
  it('serves index.html at /console without an API key, no-cache, with the CSP', async () => {
    for (const path of ['/console', '/console/']) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe(INDEX);
    }
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe');
  });

  it('caches hashed assets for a year and supports revalidation', async () => {
    const res = await fetch(`${h.url}/console/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(await res.text()).toBe('console.log("hi")');
    // Revalidation (the same encoding both times: each precompressed sibling has its own ETag).
    const first = await raw(h.url, '/console/assets/index-abc123.js', { 'accept-encoding': 'identity' });
    const etag = first.headers.etag as string;
    expect(etag).toBeTruthy();
    const again = await raw(h.url, '/console/assets/index-abc123.js', { 'if-none-match': etag, 'accept-encoding': 'identity' });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const other = await fetch(`${h.url}/console/robots.txt`);
    expect(other.headers.get('cache-control')).toBe('no-cache');
  });

  it('sends the precompressed sibling a browser accepts, and the plain file otherwise', async () => {
    const raw2 = (enc: string) => new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const u = new URL(h.url);
      httpGet({ host: u.hostname, port: u.port, path: '/console/assets/index-abc123.js', headers: { 'accept-encoding': enc } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    const br = await raw2('gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(brotliDecompressSync(br.body).toString()).toBe('console.log("hi")');
    const gz = await raw2('gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe('console.log("hi")');
    const plain = await raw2('identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe('console.log("hi")');
  });

  it('reads accept-encoding: preference br then gzip, q=0 refuses, * admits', () => {
    expect(acceptedEncodings('gzip, deflate, br')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('gzip;q=0.5, br;q=0')).toEqual(['gzip']);
    expect(acceptedEncodings('identity')).toEqual([]);
    expect(acceptedEncodings(undefined)).toEqual([]);
    expect(acceptedEncodings('*')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings('*, gzip;q=0')).toEqual(['br']);
  });

  it('answers client-side routes with index.html (a pasted link works)', async () => {
    for (const path of ['/console/sessions', '/console/sessions/sesn_123?thread=sthr_1', '/console/agents/agent_1']) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(INDEX);
    }
    // The precompressed index.html keeps its HTML type.
    const br = await raw(h.url, '/console/sessions', { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(br.headers['cache-control']).toBe('no-cache');
  });

  it('a missing asset or a path outside the build is a 404 in the error envelope, never index.html', async () => {
    for (const path of ['/console/assets/index-gone.js', '/console/..%2f..%2fhangar-console-secret.txt', '/console/../../hangar-console-secret.txt', '/console/%2e%2e/%2e%2e/hangar-console-secret.txt']) {
      const res = await raw(h.url, path);
      expect(res.status, path).toBe(404);
      const body = JSON.parse(res.body);
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('not_found_error');
      expect(body.request_id).toBe(res.headers['request-id']);
      expect(res.body).not.toContain('outside');
    }
  });

  it('does not open the API: /v1 still needs the key', async () => {
    const res = await fetch(`${h.url}/v1/sessions`);
    expect(res.status).toBe(401);
    const ok = await fetch(`${h.url}/v1/sessions`, { headers: { 'x-api-key': h.apiKey } });
    expect(ok.status).toBe(200);
    // A console-looking prefix elsewhere is not public.
    expect((await fetch(`${h.url}/consoles`)).status).toBe(401);
  });

  it('without a built console, /console says how to build it', async () => {
    const res = await fetch(`${bare.url}/console/sessions`);
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body.error.message).toMatch(/npm run build:console/);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });
});
