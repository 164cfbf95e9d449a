// The two outbound HTTP calls vault credentials need: the OAuth refresh_token grant against a
// token endpoint (client auth none / client_secret_basic / client_secret_post) and a live MCP
// `initialize` probe. Redirects are never followed (a token must not reach another host), bodies
// are read with a cap, and captured response bodies are scrubbed of secrets before anyone sees them.
import { redact } from '../domain/vaults.ts';

/** A captured HTTP response, shaped like the API's `http_response` objects. */
export interface HttpCapture {
  status_code: number;
  content_type: string;
  body: string;
  body_truncated: boolean;
}

export type FetchFn = typeof fetch;

export interface HttpOptions {
  fetch: FetchFn;
  timeoutMs: number;
  /** Secret strings to scrub from any captured body. */
  scrub: readonly string[];
}

/** Captured bodies keep at most this many characters. */
const CAPTURE_CHARS = 2048;
/** Token responses larger than this are refused (a token response is a few KB at most). */
const READ_CAP_BYTES = 256 * 1024;

async function readCapped(res: Response, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > cap) {
        truncated = true;
        break;
      }
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  return { text: Buffer.concat(chunks).subarray(0, cap).toString('utf8'), truncated };
}

function capture(res: Response, text: string, truncated: boolean, scrub: readonly string[]): HttpCapture {
  const clean = redact(text, scrub);
  return {
    status_code: res.status,
    content_type: res.headers.get('content-type') ?? '',
    body: clean.length > CAPTURE_CHARS ? clean.slice(0, CAPTURE_CHARS) : clean,
    body_truncated: truncated || clean.length > CAPTURE_CHARS,
  };
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 §2.3.1 uses it for Basic too). */
const formEncode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');

export interface RefreshRequest {
  tokenEndpoint: string;
  clientId: string;
  refreshToken: string;
  auth: { type: 'none' } | { type: 'client_secret_basic' | 'client_secret_post'; clientSecret: string };
  scope: string | null;
  resource: string | null;
}

export type RefreshOutcome =
  | { status: 'succeeded'; accessToken: string; refreshToken: string | null; expiresInS: number | null }
  | { status: 'failed'; http: HttpCapture }
  | { status: 'connect_error'; reason: string };

/** Runs the refresh_token grant. Never throws; network failures are `connect_error`. */
export async function refreshTokens(req: RefreshRequest, opts: HttpOptions): Promise<RefreshOutcome> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: req.refreshToken });
  if (req.scope) form.set('scope', req.scope);
  if (req.resource) form.set('resource', req.resource);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (req.auth.type === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(req.clientId)}:${formEncode(req.auth.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', req.clientId);
    if (req.auth.type === 'client_secret_post') form.set('client_secret', req.auth.clientSecret);
  }
  let res: Response;
  try {
    res = await opts.fetch(req.tokenEndpoint, {
      method: 'POST', headers, body: form.toString(), redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    return { status: 'connect_error', reason: describeFetchError(err) };
  }
  let body: { text: string; truncated: boolean };
  try {
    body = await readCapped(res, READ_CAP_BYTES);
  } catch (err) {
    return { status: 'connect_error', reason: describeFetchError(err) };
  }
  const scrub = [...opts.scrub, req.refreshToken, ...(req.auth.type === 'none' ? [] : [req.auth.clientSecret])];
  if (res.status < 200 || res.status >= 300 || body.truncated) return { status: 'failed', http: capture(res, body.text, body.truncated, scrub) };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.text);
  } catch {
    return { status: 'failed', http: capture(res, body.text, false, scrub) };
  }
  const accessToken = json?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return { status: 'failed', http: capture(res, body.text, false, scrub) };
  const refreshToken = typeof json.refresh_token === 'string' && json.refresh_token !== '' ? json.refresh_token : null;
  const expiresIn = Number(json.expires_in);
  return { status: 'succeeded', accessToken, refreshToken, expiresInS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null };
}

export type ProbeOutcome =
  | { result: 'ok' }
  /** The server rejected the token (401 or 403). */
  | { result: 'unauthorized'; http: HttpCapture }
  /** Anything else: an unexpected status (captured) or no response at all (null). */
  | { result: 'error'; http: HttpCapture | null };

/** The MCP method the probe calls (reported as `mcp_probe.method`). */
export const PROBE_METHOD = 'initialize';

/**
 * Probes an MCP server with a bearer token: a streamable-HTTP `initialize`; a 404/405 falls back
 * to opening a legacy SSE stream. A session the server opens for the probe is deleted again.
 */
export async function probeMcpServer(url: string, token: string, opts: HttpOptions): Promise<ProbeOutcome> {
  const auth = { authorization: `Bearer ${token}` };
  const scrub = [...opts.scrub, token];
  try {
    const res = await opts.fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
      headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0', id: 1, method: PROBE_METHOD,
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hangar-credential-probe', version: '1' } },
      }),
    });
    if (res.status === 404 || res.status === 405) {
      await res.body?.cancel().catch(() => {});
      return await classify(await opts.fetch(url, {
        method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs), headers: { ...auth, accept: 'text/event-stream' },
      }), scrub);
    }
    const outcome = await classify(res, scrub);
    const session = res.headers.get('mcp-session-id');
    if (outcome.result === 'ok' && session) {
      // Best effort: end the session the probe opened.
      await opts.fetch(url, { method: 'DELETE', redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs), headers: { ...auth, 'mcp-session-id': session } })
        .then((r) => r.body?.cancel(), () => {});
    }
    return outcome;
  } catch {
    return { result: 'error', http: null };
  }
}

async function classify(res: Response, scrub: readonly string[]): Promise<ProbeOutcome> {
  if (res.status >= 200 && res.status < 300) {
    // A 2xx answer to initialize (JSON or an SSE stream) means the token was accepted; the stream
    // itself is not needed.
    await res.body?.cancel().catch(() => {});
    return { result: 'ok' };
  }
  const body = await readCapped(res, CAPTURE_CHARS * 4).catch(() => ({ text: '', truncated: false }));
  const http = capture(res, body.text, body.truncated, scrub);
  return res.status === 401 || res.status === 403 ? { result: 'unauthorized', http } : { result: 'error', http };
}

/** A short, secret-free description of a fetch failure (names the cause, never the request). */
export function describeFetchError(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return e?.cause?.code ?? e?.name ?? 'network error';
}
