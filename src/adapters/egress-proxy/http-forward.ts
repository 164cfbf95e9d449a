// Absolute-form plain HTTP (`GET http://host/path`): vet the target, dial the vetted address and
// relay one request, streaming bodies both ways and dropping hop-by-hop headers in each direction.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decideEgress } from './egress-gate.ts';
import { parseHttpTarget } from './proxy-target.ts';
import { HOP_BY_HOP, type ProxyContext } from './proxy-context.ts';
import { connectUpstream, UpstreamConnectError } from './upstream-connect.ts';

export async function handleHttpRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseHttpTarget(req.url);
  if (!target) {
    const message = /^https:/i.test(req.url ?? '')
      ? 'https:// URLs must be tunnelled with CONNECT host:443'
      : 'this is a forward proxy: send an absolute-form http:// URL or CONNECT host:port';
    ctx.log({ event: 'egress_refused', kind: 'http', reason: 'bad_request', message });
    return respond(res, 400, message);
  }
  const { host, port } = target;

  const decision = await decideEgress(target, ctx.policy, ctx.gate);
  if (clientGone(req, res) || ctx.isClosed()) return;
  if (!decision.ok) {
    const event = decision.status === 403 ? 'egress_refused' : 'egress_failed';
    ctx.log({ event, kind: 'http', host, port, reason: decision.reason, message: decision.message, addresses: decision.addresses });
    return respond(res, decision.status, decision.message, decision.reason);
  }

  let socket: Socket;
  let address: string;
  try {
    ({ socket, address } = await connectUpstream(decision.addresses, port, ctx.connectTimeoutMs));
  } catch (err) {
    const timedOut = err instanceof UpstreamConnectError && err.timedOut;
    const message = `egress to ${host}:${port} failed: ${(err as Error).message}`;
    ctx.log({ event: 'egress_failed', kind: 'http', host, port, reason: timedOut ? 'upstream_timeout' : 'upstream_error', message });
    return respond(res, timedOut ? 504 : 502, message);
  }
  if (clientGone(req, res) || ctx.isClosed()) {
    socket.destroy();
    return;
  }
  ctx.track(socket);
  ctx.log({ event: 'egress_allowed', kind: 'http', host, port, address });

  let upstreamReq: ClientRequest;
  try {
    upstreamReq = httpRequest({
      method: req.method,
      path: target.path,
      headers: forwardedHeaders(req.rawHeaders, { host: target.authority }, ['expect']),
      setHost: false,
      // The socket is already connected to the vetted address; no agent, no second lookup.
      createConnection: () => socket,
    });
  } catch (err) {
    socket.destroy();
    return respond(res, 400, `cannot forward request to ${host}: ${(err as Error).message}`);
  }
  socket.setTimeout(ctx.idleTimeoutMs, () => upstreamReq.destroy(new UpstreamConnectError(`upstream idle for ${ctx.idleTimeoutMs} ms`, true)));

  upstreamReq.on('response', (upstreamRes) => {
    upstreamRes.on('error', () => res.destroy());
    try {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardedHeaders(upstreamRes.rawHeaders, {}, []));
    } catch (err) {
      upstreamReq.destroy();
      ctx.log({ event: 'egress_failed', kind: 'http', host, port, reason: 'upstream_error', message: `unforwardable response: ${(err as Error).message}` });
      return respond(res, 502, `egress to ${host}:${port} failed: unforwardable response head`);
    }
    upstreamRes.pipe(res);
    // A body cut short upstream must reach the client as a cut, not as a clean end.
    upstreamRes.on('close', () => {
      if (!upstreamRes.complete) res.destroy();
    });
  });
  upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
    const timedOut = err instanceof UpstreamConnectError && err.timedOut;
    const message = `egress to ${host}:${port} failed: ${err.code ?? err.message}`;
    ctx.log({ event: 'egress_failed', kind: 'http', host, port, reason: timedOut ? 'upstream_timeout' : 'upstream_error', message });
    respond(res, timedOut ? 504 : 502, message);
  });
  req.on('error', () => upstreamReq.destroy());
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.pipe(upstreamReq);
}

/**
 * Copies raw headers minus hop-by-hop ones (including any the Connection header names), keeping
 * repeated headers such as Set-Cookie, then applies `overrides`.
 */
export function forwardedHeaders(raw: string[], overrides: Record<string, string>, drop: string[]): OutgoingHttpHeaders {
  const dropped = new Set([...HOP_BY_HOP, ...drop, ...Object.keys(overrides)]);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') {
      for (const token of raw[i + 1].split(',')) dropped.add(token.trim().toLowerCase());
    }
  }
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (dropped.has(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1] : [...(Array.isArray(prev) ? prev : [prev]), raw[i + 1]];
  }
  return { ...out, ...overrides };
}

function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded || req.socket.destroyed;
}

function respond(res: ServerResponse, status: number, message: string, reason?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // Unread request bodies are not worth draining for a refused request.
    connection: 'close',
  };
  if (reason) headers['x-hangar-egress-refusal'] = reason;
  res.writeHead(status, headers).end(body);
}
