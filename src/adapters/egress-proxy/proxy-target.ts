// Parses what a proxy client asks for: the `host:port` authority of a CONNECT, or the
// absolute-form URL of a plain HTTP request. Both go through the WHATWG URL parser, so numeric
// IPv4 spellings (`0x7f.1`, `2130706433`) and IDNs arrive normalized before any policy check.
import { isValidHostname, normalizeHost } from './address-policy.ts';
import type { EgressTarget } from './egress-gate.ts';

export interface HttpTarget extends EgressTarget {
  /** `host[:port]` as the origin server should see it in the Host header. */
  authority: string;
  /** Path and query, origin-form. */
  path: string;
}

/** The target of `CONNECT host:port`; undefined when malformed (the port is required). */
export function parseConnectTarget(authority: string | undefined): EgressTarget | undefined {
  if (!authority || /[/?#@\\\s]/.test(authority)) return undefined;
  const m = /^(\[[^\]]*\]|[^:]*):([0-9]{1,5})$/.exec(authority);
  if (!m) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${m[1]}/`);
  } catch {
    return undefined;
  }
  return withHost(url.hostname, Number(m[2]));
}

/** The target of `GET http://host[:port]/path`; undefined unless it is an absolute http URL. */
export function parseHttpTarget(requestUrl: string | undefined): HttpTarget | undefined {
  if (!requestUrl || !/^http:\/\//i.test(requestUrl)) return undefined;
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return undefined;
  }
  const port = url.port === '' ? 80 : Number(url.port);
  const target = withHost(url.hostname, port);
  if (!target) return undefined;
  return { ...target, authority: url.host, path: `${url.pathname}${url.search}` };
}

function withHost(hostname: string, port: number): EgressTarget | undefined {
  const host = normalizeHost(hostname);
  if (!isValidHostname(host) || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}
