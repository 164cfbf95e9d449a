// SSRF-safe GET for server-side fetches on behalf of the model (web_fetch). Every hop: http(s)
// only, domain filters, metadata names refused, DNS resolved here and every address vetted
// (loopback, private, link-local, metadata, reserved), then the socket goes to a vetted address
// with no second lookup (TLS still verifies the certificate for the hostname). Redirects are
// followed by hand, at most 5, each one re-checked. The body is decoded and capped.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { decideEgress, systemLookup, type EgressLookup, type ResolvedAddress } from '../egress-proxy/egress-gate.ts';
import { normalizeHost } from '../egress-proxy/address-policy.ts';
import { checkDomainFilters } from './domain-filter.ts';

export const MAX_REDIRECTS = 5;

export interface GuardedFetchOptions {
  /** Only these domains (and their subdomains) may be fetched, on every hop. */
  allowedDomains?: readonly string[];
  /** These domains (and their subdomains) are refused, on every hop. */
  blockedDomains?: readonly string[];
  /** Decoded body bytes kept; the rest is not read and `truncated` is set. */
  maxBytes: number;
  /** Deadline for the whole fetch, redirects included. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** At most `MAX_REDIRECTS` (5); lower values are honored. */
  maxRedirects?: number;
  /** Extra request headers (e.g. `accept`). Host is always the URL's host. */
  headers?: Record<string, string>;
  /** Resolver; default the system resolver. Tests inject one to point names at chosen addresses. */
  lookup?: EgressLookup;
  /**
   * TEST ONLY: skip the address-range check so tests can reach servers on 127.0.0.1 — for every
   * target (`true`) or only for the listed origins (`{ origins: ['http://127.0.0.1:1234'] }`, so a
   * test can show that a redirect from its server to another private address is still refused).
   * Production code never sets this, and no configuration or environment variable maps to it;
   * domain filters, scheme and metadata-name checks still apply.
   */
  unsafeAllowPrivateForTests?: boolean | { origins: readonly string[] };
}

export interface GuardedResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body with any content-encoding removed, at most `maxBytes` long. */
  body: Buffer;
  truncated: boolean;
  /** URLs that redirected, in order (the final `url` is not included). */
  redirects: string[];
}

export type GuardedFetchRefusal =
  | 'invalid_url' | 'unsupported_scheme' | 'credentials_in_url' | 'domain_not_allowed' | 'domain_blocked'
  | 'forbidden_hostname' | 'forbidden_address' | 'dns_failed' | 'too_many_redirects' | 'bad_redirect'
  | 'timeout' | 'connect_failed' | 'bad_response';

/** A refused or failed fetch. `reason` is for decisions; the message is written for the model. */
export class GuardedFetchError extends Error {
  readonly reason: GuardedFetchRefusal;
  readonly url: string;

  constructor(reason: GuardedFetchRefusal, url: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = new.target.name;
    this.reason = reason;
    this.url = url;
  }

  /** Same as `reason`, where error handlers look for a Node-style code. */
  get code(): GuardedFetchRefusal {
    return this.reason;
  }
}

const USER_AGENT = 'Hangar-WebFetch/1.0';
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const DNS_TIMEOUT_MS = 5_000;

/**
 * GETs `url` under the checks above. Resolves for any HTTP status (the caller decides what a 404
 * means); rejects with `GuardedFetchError` for refusals and network failures, and with
 * `signal.reason` when aborted.
 */
export async function guardedFetch(url: string, options: GuardedFetchOptions): Promise<GuardedResponse> {
  const outer = options.signal;
  outer?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, options.timeoutMs);
  const redirects: string[] = [];
  let current = parseTarget(url);
  try {
    const limit = Math.min(options.maxRedirects ?? MAX_REDIRECTS, MAX_REDIRECTS);
    for (;;) {
      const addresses = await untilAborted(vetTarget(current, { ...options, dnsTimeoutMs: Math.min(DNS_TIMEOUT_MS, options.timeoutMs) }), controller.signal);
      controller.signal.throwIfAborted();
      const headers: Record<string, string> = {
        'user-agent': USER_AGENT,
        accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5',
        'accept-encoding': 'gzip, deflate, br',
        ...lowerKeys(options.headers ?? {}),
      };
      const res = await pinnedRequest(current, addresses, { method: 'GET', headers }, controller.signal);
      const location = res.headers.location;
      if (REDIRECT_CODES.has(res.statusCode ?? 0) && location) {
        res.destroy();
        if (redirects.length >= limit) {
          throw new GuardedFetchError('too_many_redirects', current.href, `Fetching ${url} was refused: more than ${limit} redirects.`);
        }
        redirects.push(current.href);
        current = parseRedirect(location, current);
        continue;
      }
      const { body, truncated } = await readBody(res, options.maxBytes, current);
      return { url: current.href, status: res.statusCode ?? 0, headers: flatHeaders(res), body, truncated, redirects };
    }
  } catch (err) {
    if (outer?.aborted) throw outer.reason;
    if (timedOut) throw new GuardedFetchError('timeout', current.href, `Fetching ${current.href} timed out after ${options.timeoutMs} ms.`, err);
    throw err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

/** DNS cannot be cancelled; stop waiting for it when the fetch is aborted or times out. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** An absolute http(s) URL without credentials or fragment; rejects with `GuardedFetchError`. */
export function parseTarget(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new GuardedFetchError('invalid_url', raw, `"${raw}" is not a valid absolute URL.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new GuardedFetchError('unsupported_scheme', raw, `Only http and https URLs can be fetched (got ${u.protocol}).`);
  }
  if (u.username || u.password) {
    throw new GuardedFetchError('credentials_in_url', `${u.protocol}//${u.host}${u.pathname}`, 'URLs with embedded credentials are not fetched.');
  }
  u.hash = '';
  return u;
}

function parseRedirect(location: string, from: URL): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new GuardedFetchError('bad_redirect', from.href, `${from.href} redirected to an invalid URL.`);
  }
  try {
    return parseTarget(next.href);
  } catch (err) {
    const e = err as GuardedFetchError;
    throw new GuardedFetchError(e.reason, next.href, `${from.href} redirected to a URL that is not fetched: ${e.message}`);
  }
}

/** What `vetTarget` reads: the filters, the resolver and the test allowance. */
export type VetOptions = Pick<GuardedFetchOptions, 'allowedDomains' | 'blockedDomains' | 'lookup' | 'unsafeAllowPrivateForTests'> & { dnsTimeoutMs: number };

/**
 * Domain filters, then name and address checks for one hop. Resolves with the vetted addresses,
 * the only ones a caller may connect to; rejects with `GuardedFetchError`.
 */
export async function vetTarget(url: URL, options: VetOptions): Promise<ResolvedAddress[]> {
  const host = normalizeHost(url.hostname);
  const domain = checkDomainFilters(url, options);
  if (domain === 'blocked') throw new GuardedFetchError('domain_blocked', url.href, `Fetching ${url.href} was refused: ${host} is in blocked_domains.`);
  if (domain === 'not_allowed') throw new GuardedFetchError('domain_not_allowed', url.href, `Fetching ${url.href} was refused: ${host} is not in allowed_domains.`);
  const decision = await decideEgress(
    { host, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) },
    { allowedHosts: null },
    { lookup: options.lookup ?? systemLookup, dnsTimeoutMs: options.dnsTimeoutMs, allowPrivateAddresses: testAllowance(url, options) },
  );
  if (decision.ok) return decision.addresses;
  switch (decision.reason) {
    case 'forbidden_hostname':
      throw new GuardedFetchError('forbidden_hostname', url.href, `Fetching ${url.href} was refused: ${host} is a cloud-metadata or internal-only name.`);
    case 'forbidden_address': {
      const which = decision.addresses?.find((a) => a !== host);
      const what = which ? `${host} resolves to ${which}, which is` : `${host} is`;
      throw new GuardedFetchError('forbidden_address', url.href, `Fetching ${url.href} was refused: ${what} a loopback, private, link-local or reserved address.`);
    }
    default:
      throw new GuardedFetchError('dns_failed', url.href, `Fetching ${url.href} failed: the name ${host} could not be resolved.`);
  }
}

function testAllowance(url: URL, options: VetOptions): boolean {
  const allow = options.unsafeAllowPrivateForTests;
  if (allow === true) return true;
  return typeof allow === 'object' && allow !== null && allow.origins.includes(url.origin);
}

/** A lookup that answers with the vetted addresses only, whatever it is asked. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (opts?.all) callback(null, addresses.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, addresses[0].address, addresses[0].family);
  }) as unknown as LookupFunction;
}

/**
 * Sends one request to `url` over a connection to one of `addresses` (already vetted), with the
 * URL's host in `Host` and in TLS SNI/certificate checks. No redirect handling, no decoding.
 * Rejects with `GuardedFetchError('connect_failed')`, or the abort error when `signal` aborted.
 */
export function pinnedRequest(
  url: URL,
  addresses: ResolvedAddress[],
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array },
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const host = normalizeHost(url.hostname);
  const literal = isIP(host) !== 0;
  const headers: Record<string, string> = { ...lowerKeys(init.headers), host: url.host, connection: 'close' };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({
      // An IP literal connects directly; a name goes through the pinned lookup (no second DNS query).
      host,
      port: Number(url.port) || undefined,
      path: `${url.pathname}${url.search}`,
      method: init.method,
      headers,
      lookup: literal ? undefined : pinnedLookup(addresses),
      servername: literal ? undefined : host,
      agent: false,
      signal,
    });
    req.once('response', resolve);
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(err);
      else reject(new GuardedFetchError('connect_failed', url.href, `Fetching ${url.href} failed: ${err.code ?? err.message}.`, err));
    });
    req.end(init.body);
  });
}

async function readBody(res: IncomingMessage, maxBytes: number, url: URL): Promise<{ body: Buffer; truncated: boolean }> {
  const encoding = (res.headers['content-encoding'] ?? '').toLowerCase().trim();
  let stream: Readable = res;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip());
  else if (encoding === 'deflate') stream = res.pipe(createInflate());
  else if (encoding === 'br') stream = res.pipe(createBrotliDecompress());
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (size + buf.length > maxBytes) {
        chunks.push(buf.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(buf);
      size += buf.length;
    }
  } catch (err) {
    throw new GuardedFetchError('bad_response', url.href, `Reading ${url.href} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, err);
  } finally {
    res.destroy();
    if (stream !== res) stream.destroy();
  }
  return { body: Buffer.concat(chunks, size), truncated };
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
