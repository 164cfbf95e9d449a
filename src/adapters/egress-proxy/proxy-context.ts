// What the CONNECT and plain-HTTP handlers share with the proxy server that owns them.
import type { Socket } from 'node:net';
import type { EgressPolicy } from '../../ports/egress.ts';
import type { EgressGateOptions, EgressRefusalReason } from './egress-gate.ts';

/** One structured log line; the host application maps these onto its logger (pino). */
export interface EgressLogEntry {
  event: 'egress_allowed' | 'egress_refused' | 'egress_failed';
  kind: 'connect' | 'http';
  /** Absent only when the request was too malformed to name a host. */
  host?: string;
  port?: number;
  reason?: EgressRefusalReason | 'bad_request' | 'upstream_error' | 'upstream_timeout' | 'tunnel_idle';
  /** The address connected to (allowed), or every resolved address (refused by address). */
  address?: string;
  addresses?: string[];
  message?: string;
}

export interface ProxyContext {
  readonly policy: EgressPolicy;
  readonly gate: EgressGateOptions;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  log(entry: EgressLogEntry): void;
  /** Registers an upstream socket so `close()` can destroy it. */
  track(socket: Socket): void;
  /** True once `close()` started; handlers drop work that finishes afterwards. */
  isClosed(): boolean;
}

export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** A complete raw HTTP/1.1 response for sockets that left the HTTP server (CONNECT, upgrade). */
export function rawResponse(status: number, statusText: string, body: string, reason?: string): string {
  const bytes = Buffer.byteLength(body);
  const extra = reason ? `X-Hangar-Egress-Refusal: ${reason}\r\n` : '';
  return `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes}\r\n${extra}Connection: close\r\n\r\n${body}`;
}

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 501: 'Not Implemented', 502: 'Bad Gateway', 504: 'Gateway Timeout',
};
