// The API's edges (issue 18): malformed multipart is a 400, the router's and the HTTP parser's own
// rejections use the error envelope with a request id (after authentication), downloads can never
// render active content, and failed authentication is throttled per source address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';

const BODY_LIMIT = 4096;
let h: TestHangar;

beforeAll(async () => {
  h = await startHangar({ env: { HANGAR_BODY_LIMIT_BYTES: String(BODY_LIMIT), HANGAR_AUTH_FAIL_LIMIT: '1000' }, overrides: { files: { maxUploadBytes: 8192 } } });
});
afterAll(async () => {
  await h?.close();
});

interface Answer {
  status: number;
  requestId: string | null;
  body: any;
  headers: Headers;
}

async function call(path: string, init: RequestInit & { key?: string | null } = {}): Promise<Answer> {
  const { key = h.apiKey, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  const res = await fetch(`${h.url}${path}`, { ...rest, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: left as text for the assertion to show
  }
  return { status: res.status, requestId: res.headers.get('request-id'), body, headers: res.headers };
}

function expectEnvelope(a: Answer, status: number, type: string, message?: RegExp): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.requestId).toMatch(/^req_/);
  expect(a.body).toEqual({ type: 'error', error: { type, message: expect.any(String) }, request_id: a.requestId });
  if (message) expect(a.body.error.message).toMatch(message);
}

const fileCount = async () => (await h.client.beta.files.list({ limit: 1000 })).data.length;
const blobs = () => readdirSync(join(h.dataDir, 'files'), { recursive: true }).filter((n) => !String(n).endsWith('tmp'));

describe('malformed multipart on POST /v1/files', () => {
  const b = 'XBOUNDARY';
  const part = `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n`;
  const cases: Array<[string, string, string]> = [
    ['no closing boundary', part, `multipart/form-data; boundary=${b}`],
    ['a body cut inside the part headers', part.slice(0, 40), `multipart/form-data; boundary=${b}`],
    ['no boundary parameter', `${part}--${b}--\r\n`, 'multipart/form-data'],
    ['headers without a blank line', `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n`, `multipart/form-data; boundary=${b}`],
  ];
  for (const [name, body, contentType] of cases) {
    it(`answers ${name} with 400 invalid_request_error and stores nothing`, async () => {
      const files = await fileCount();
      const stored = blobs().length;
      const a = await call('/v1/files', { method: 'POST', body, headers: { 'content-type': contentType } });
      expectEnvelope(a, 400, 'invalid_request_error', /multipart/);
      expect(await fileCount()).toBe(files);
      expect(blobs().length).toBe(stored);
    });
  }

  it('still accepts a well-formed upload and keeps the size limit a 413', async () => {
    const ok = await call('/v1/files', { method: 'POST', body: `${part}--${b}--\r\n`, headers: { 'content-type': `multipart/form-data; boundary=${b}` } });
    expect(ok.status).toBe(200);
    const big = `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n${'x'.repeat(9000)}\r\n--${b}--\r\n`;
    expectEnvelope(await call('/v1/files', { method: 'POST', body: big, headers: { 'content-type': `multipart/form-data; boundary=${b}` } }), 413, 'request_too_large');
  });
});

describe('the router’s own rejections', () => {
  const longId = `agent_${'a'.repeat(120)}`;

  it('answers an id over 100 characters with 414 in the envelope, after authentication', async () => {
    expectEnvelope(await call(`/v1/agents/${longId}`), 414, 'invalid_request_error', /100 characters/);
    expectEnvelope(await call(`/v1/agents/${longId}`, { key: null }), 401, 'authentication_error');
    expectEnvelope(await call(`/v1/agents/${longId}`, { key: 'sk-wrong-000000000000000' }), 401, 'authentication_error');
  });

  it('answers bad percent-encoding with 400 in the envelope, after authentication', async () => {
    for (const bad of ['%zz', '%E0%A4%A', '%C0%AF', '%ff%fe']) {
      expectEnvelope(await call(`/v1/sessions/${bad}/events`), 400, 'invalid_request_error', /percent-encoded/);
      expectEnvelope(await call(`/v1/sessions/${bad}/events`, { key: null }), 401, 'authentication_error');
    }
  });

  it('keeps the router’s rejections from environment keys like any unknown route (403)', async () => {
    const env = await h.client.beta.environments.create({ name: `edges-${Date.now()}`, config: { type: 'self_hosted' } as never });
    const key = await h.client.post<{ key: string }>(`/v1/environments/${env.id}/keys`);
    expectEnvelope(await call(`/v1/agents/${longId}`, { key: key.key }), 403, 'permission_error');
  });

  it('answers unknown routes and unrouted methods with 404, with a request id', async () => {
    expectEnvelope(await call('/v1/nope'), 404, 'not_found_error');
    expectEnvelope(await call('/v1/agents', { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } }), 404, 'not_found_error');
    expectEnvelope(await call('/v1/nope', { key: null }), 401, 'authentication_error');
  });

  it('answers a body over the limit (413), an unsupported content type and malformed JSON (400) in the envelope', async () => {
    const json = { 'content-type': 'application/json' };
    expectEnvelope(await call('/v1/agents', { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }), headers: json }), 413, 'request_too_large', /4096 byte limit/);
    expectEnvelope(await call('/v1/agents', { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, 'invalid_request_error', /content-type "application\/x-www-form-urlencoded" is not supported/);
    expectEnvelope(await call('/v1/agents', { method: 'POST', body: '{"name":', headers: json }), 400, 'invalid_request_error', /not valid JSON/);
  });

  it('answers requests the HTTP parser refuses with the envelope and a request id', async () => {
    const raw = (request: string) => new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(request);
    });
    for (const request of ['BREW /v1/agents HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n']) {
      const answer = await raw(request);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 /);
      const id = /request-id: (req_\w+)/i.exec(head)?.[1];
      expect(id).toBeDefined();
      expect(JSON.parse(body)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'malformed HTTP request' }, request_id: id });
    }
    const huge = await raw(`GET /v1/agents HTTP/1.1\r\nHost: x\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.split('\r\n\r\n')[1]).error.type).toBe('request_too_large');
  });
});

describe('downloads', () => {
  async function uploadAs(content: string, filename: string, type: string) {
    return h.client.beta.files.upload({ file: new File([content], filename, { type }) });
  }

  it('serves active content (HTML, SVG, XML, JavaScript) as an octet-stream attachment that is never sniffed', async () => {
    const active: Array<[string, string]> = [
      ['page.html', 'text/html'], ['pic.svg', 'image/svg+xml'], ['doc.xml', 'application/xml'], ['run.js', 'text/javascript'],
      ['x.xhtml', 'application/xhtml+xml'], ['odd.bin', 'application/x-made-up'],
    ];
    for (const [name, type] of active) {
      const file = await uploadAs('<script>alert(document.cookie)</script>', name, type);
      expect(file.mime_type).toBe(type); // the metadata keeps what the client declared
      const res = await h.client.beta.files.download(file.id);
      expect(res.headers.get('content-type'), type).toBe('application/octet-stream');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(await res.text()).toBe('<script>alert(document.cookie)</script>');
    }
  });

  it('keeps passive types, and encodes hostile filenames safely', async () => {
    const png = await uploadAs('png', 'a.png', 'image/png');
    expect((await h.client.beta.files.download(png.id)).headers.get('content-type')).toBe('image/png');
    const text = await uploadAs('hi', 'notes.txt', 'text/plain; charset=utf-8');
    const res = await h.client.beta.files.download(text.id);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');

    const hostile = await uploadAs('x', 'evil"; filename=x.html; é.txt', 'text/plain');
    const disposition = (await h.client.beta.files.download(hostile.id)).headers.get('content-disposition')!;
    // One quoted ASCII fallback with nothing that could end it early, and the exact name percent-encoded.
    const m = /^attachment; filename="([^"\\]*)"; filename\*=UTF-8''([A-Za-z0-9%._~!-]*)$/.exec(disposition);
    expect(m, disposition).not.toBeNull();
    expect(decodeURIComponent(m![2])).toBe(hostile.filename);
    expect(hostile.filename).toContain('é');
  });
});

describe('failed authentication throttle', () => {
  let t: TestHangar;
  let skewMs = 0;
  const lines: string[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    t = await startHangar({
      env: { HANGAR_AUTH_FAIL_LIMIT: '5', HANGAR_AUTH_FAIL_WINDOW_S: '60' },
      overrides: { logger, clock: { now: () => Date.now() + skewMs } },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (key: string | null) => fetch(`${t.url}/v1/agents`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('locks an address out after the limit, even for a right key, with retry-after, and lets it in again later', async () => {
    // Successful requests and requests without any key do not count.
    for (let i = 0; i < 10; i++) expect((await as(t.apiKey)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await as(null)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await as(`sk-guess-${i}-0000000000000000`)).status).toBe(401);

    const locked = await as('sk-guess-6-0000000000000000');
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = await locked.json();
    expect(body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringMatching(/too many failed authentications/) }, request_id: locked.headers.get('request-id') });
    // A locked-out address learns nothing: the right key is refused too, and so are the router's errors.
    expect((await as(t.apiKey)).status).toBe(429);
    expect((await fetch(`${t.url}/v1/agents/${'a'.repeat(150)}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).status).toBe(429);
    // /health stays open.
    expect((await fetch(`${t.url}/health`)).status).toBe(200);

    // After retry-after, one token has refilled: the right key works, one more wrong key locks again.
    skewMs += retryAfter * 1000;
    expect((await as(t.apiKey)).status).toBe(200);
    expect((await as('sk-guess-7-0000000000000000')).status).toBe(401);
    expect((await as(t.apiKey)).status).toBe(429);
    skewMs += 60_000;
    expect((await as(t.apiKey)).status).toBe(200);
  });

  it('writes the request log line for the router’s own rejections, without the path', async () => {
    skewMs += 120_000; // past any lockout left by the test above
    const before = lines.length;
    const res = await fetch(`${t.url}/v1/agents/%zz-secret-in-path`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(res.status).toBe(400);
    const logged = lines.slice(before).map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(logged).toEqual([expect.objectContaining({ method: 'GET', route: '(not routed)', status: 400, reqId: res.headers.get('request-id') })]);
    expect(lines.slice(before).join('\n')).not.toContain('secret-in-path');
  });

  it('logs each failure with the address and credential kind, never the key', async () => {
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'authentication failed');
    expect(failures.length).toBe(6);
    expect(failures[0]).toMatchObject({ ip: '127.0.0.1', credential: 'api_key', lockedOut: false });
    expect(failures[4]).toMatchObject({ lockedOut: true });
    expect(lines.join('\n')).not.toContain('sk-guess-');
  });

  it('is off with HANGAR_AUTH_FAIL_LIMIT=0', async () => {
    const open = await startHangar({ env: { HANGAR_AUTH_FAIL_LIMIT: '0' } });
    try {
      for (let i = 0; i < 30; i++) {
        expect((await fetch(`${open.url}/v1/agents`, { headers: { authorization: 'Bearer sk-nope-000000000000000' } })).status).toBe(401);
      }
      expect((await open.client.beta.agents.list()).data).toEqual([]);
    } finally {
      await open.close();
    }
  });
});

describe('SDK view of the lockout', () => {
  it('surfaces as RateLimitError', async () => {
    const t = await startHangar({ env: { HANGAR_AUTH_FAIL_LIMIT: '1' } });
    try {
      const wrong = new Anthropic({ baseURL: t.url, apiKey: 'sk-wrong-0000000000000000', maxRetries: 0 });
      await expect(wrong.beta.agents.list()).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      await expect(t.client.beta.agents.list()).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    } finally {
      await t.close();
    }
  });
});
