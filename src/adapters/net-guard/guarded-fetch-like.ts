// A `fetch`-compatible function with the same address vetting as `guardedFetch`, for clients
// that bring their own HTTP logic (the MCP SDK's transports): DNS is resolved and vetted here, the
// socket goes to a vetted address, and the response body streams (SSE stays open). Redirects are
// never followed here: a 3xx comes back as is, and a client that follows it calls this again,
// so the next hop is vetted too.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { parseTarget, pinnedRequest, vetTarget, GuardedFetchError, type GuardedFetchOptions } from './guarded-fetch.ts';

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface GuardedFetchLikeOptions {
  /** Deadline until response headers arrive (the body may stream for longer). Default 15 s. */
  headersTimeoutMs?: number;
  /** Resolver; default the system resolver. */
  lookup?: GuardedFetchOptions['lookup'];
  /** TEST ONLY, as in `GuardedFetchOptions`; production code never sets it. */
  unsafeAllowPrivateForTests?: GuardedFetchOptions['unsafeAllowPrivateForTests'];
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Returns a fetch that refuses loopback, private, link-local and metadata targets. Refusals reject
 * with `GuardedFetchError` (its `code` is the refusal reason); network failures reject like fetch
 * does, with `TypeError('fetch failed')` whose `cause` carries the Node error code.
 * Request bodies may be strings or bytes (what JSON clients send).
 */
export function createGuardedFetchLike(options: GuardedFetchLikeOptions = {}): FetchLike {
  const headersTimeoutMs = options.headersTimeoutMs ?? 15_000;
  return async (input, init = {}) => {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const url = parseTarget(String(input));
    const body = requestBody(init.body);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const addresses = await vetTarget(url, { lookup: options.lookup, unsafeAllowPrivateForTests: options.unsafeAllowPrivateForTests, dnsTimeoutMs: Math.min(5_000, headersTimeoutMs) });
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new Error('headers timeout')), headersTimeoutMs);
    let res: IncomingMessage;
    try {
      res = await pinnedRequest(url, addresses, { method: (init.method ?? 'GET').toUpperCase(), headers, body }, controller.signal);
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) throw signal.reason;
      throw new TypeError('fetch failed', { cause: err instanceof GuardedFetchError ? err.cause ?? err : err });
    } finally {
      clearTimeout(timer);
    }
    // The caller's signal keeps governing the body (closing an SSE stream aborts it).
    res.once('close', () => signal?.removeEventListener('abort', onAbort));
    const responseHeaders = new Headers();
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
    const status = res.statusCode ?? 502;
    const noBody = NULL_BODY.has(status) || init.method?.toUpperCase() === 'HEAD';
    if (noBody) res.resume();
    return new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers: responseHeaders });
  };
}

function requestBody(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof URLSearchParams) return body.toString();
  throw new TypeError('guarded fetch supports string and byte request bodies only');
}
