// Turns what the MCP SDK and fetch throw into the port's typed errors. The decision reads HTTP
// status codes (from the SDK's error classes, or recorded by the connector's fetch wrapper) and
// error classes, never message text.
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpAuthenticationError, McpConnectionError, McpServerError, type McpServerRef } from '../../ports/mcp.ts';

/** The last failed HTTP status a connection's fetch saw; filled in by `recordingFetch`. */
export interface StatusProbe {
  lastFailedStatus?: number;
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Wraps fetch so error classification can see HTTP statuses the SDK only puts in message text (the
 * SSE transport's POST errors). Only POSTs count: a 405 on the optional streamable GET is benign.
 */
export function recordingFetch(base: FetchLike, probe: StatusProbe): FetchLike {
  return async (url, init) => {
    const res = await base(url, init);
    if (res.status >= 400 && (init?.method ?? 'GET').toUpperCase() === 'POST') probe.lastFailedStatus = res.status;
    return res;
  };
}

/** The HTTP status carried by an SDK transport error, if any. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof StreamableHTTPError || err instanceof SseError) return typeof err.code === 'number' && err.code >= 100 ? err.code : undefined;
  return undefined;
}

export function isAuthStatus(status: number | undefined): boolean {
  return status === 401 || status === 403;
}

/** Status of the transport failure: the SDK error's own code, else what the fetch wrapper recorded. */
export function failureStatus(err: unknown, probe: StatusProbe): number | undefined {
  if (err instanceof UnauthorizedError) return 401;
  return statusOf(err) ?? (err instanceof McpError ? undefined : probe.lastFailedStatus);
}

/** A URL safe to show: origin and path only (a query string may carry a key). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Maps a failure while connecting or talking to a server onto the port's error classes.
 * `what` describes the step ("connect", "tools/list", ...) for the message.
 */
export function toServerError(err: unknown, server: McpServerRef, probe: StatusProbe, what: string): McpServerError {
  if (err instanceof McpServerError) return err;
  const where = `MCP server "${server.name}" (${displayUrl(server.url)})`;
  const status = failureStatus(err, probe);
  if (err instanceof UnauthorizedError || isAuthStatus(status)) {
    return new McpAuthenticationError(server.name, `${where} rejected the credentials during ${what} (HTTP ${status ?? 401})`, { status: status ?? 401, cause: err });
  }
  if (status !== undefined) {
    return new McpConnectionError(server.name, `${where} failed during ${what}: HTTP ${status}`, { status, cause: err });
  }
  if (err instanceof McpError) {
    const detail = err.code === ErrorCode.ConnectionClosed ? 'the connection closed' : err.code === ErrorCode.RequestTimeout ? 'the request timed out' : `protocol error ${err.code}`;
    return new McpConnectionError(server.name, `${where} failed during ${what}: ${detail}`, { cause: err });
  }
  return new McpConnectionError(server.name, `${where} is unreachable during ${what}: ${networkDetail(err)}`, { cause: err });
}

/** "ECONNREFUSED", "ENOTFOUND", ... from fetch's `TypeError: fetch failed` chain, else the class name. */
function networkDetail(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.name : 'unknown error';
}

