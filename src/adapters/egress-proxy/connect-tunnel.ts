// CONNECT host:port: vet the target, dial the vetted address, answer 200, then splice bytes both
// ways until either side closes, errors or stays idle too long.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { decideEgress } from './egress-gate.ts';
import { parseConnectTarget } from './proxy-target.ts';
import { rawResponse, STATUS_TEXT, type ProxyContext } from './proxy-context.ts';
import { connectUpstream, UpstreamConnectError } from './upstream-connect.ts';

/** Bytes a client may send after CONNECT before the tunnel is up (a TLS ClientHello fits). */
const MAX_EARLY_BYTES = 64 * 1024;

/** `client` must already have an error listener (the server attaches one synchronously). */
export async function handleConnect(ctx: ProxyContext, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  // Until the tunnel is up, an idle client is simply dropped; splice() replaces this handler.
  client.setTimeout(ctx.idleTimeoutMs);
  client.on('timeout', () => client.destroy());
  // Read while DNS and connect are pending, so a client that hangs up is noticed (its socket is
  // half-open otherwise) and no upstream connection is made for it. Early bytes are kept.
  const early: Buffer[] = head.length > 0 ? [head] : [];
  let earlyBytes = head.length;
  const onEarlyData = (chunk: Buffer) => {
    early.push(chunk);
    earlyBytes += chunk.length;
    if (earlyBytes > MAX_EARLY_BYTES) client.destroy();
  };
  const onEarlyEnd = () => client.destroy();
  client.on('data', onEarlyData);
  client.on('end', onEarlyEnd);

  const target = parseConnectTarget(req.url);
  if (!target) {
    const message = `bad CONNECT target ${JSON.stringify(req.url ?? '')}: expected host:port`;
    ctx.log({ event: 'egress_refused', kind: 'connect', reason: 'bad_request', message });
    return reply(client, 400, `${message}\n`);
  }
  const { host, port } = target;

  const decision = await decideEgress(target, ctx.policy, ctx.gate);
  if (client.destroyed || ctx.isClosed()) return;
  if (!decision.ok) {
    const event = decision.status === 403 ? 'egress_refused' : 'egress_failed';
    ctx.log({ event, kind: 'connect', host, port, reason: decision.reason, message: decision.message, addresses: decision.addresses });
    return reply(client, decision.status, `${decision.message}\n`, decision.reason);
  }

  let upstream: Socket;
  let address: string;
  try {
    ({ socket: upstream, address } = await connectUpstream(decision.addresses, port, ctx.connectTimeoutMs));
  } catch (err) {
    const timedOut = err instanceof UpstreamConnectError && err.timedOut;
    const message = `egress to ${host}:${port} failed: ${(err as Error).message}`;
    ctx.log({ event: 'egress_failed', kind: 'connect', host, port, reason: timedOut ? 'upstream_timeout' : 'upstream_error', message });
    if (!client.destroyed) reply(client, timedOut ? 504 : 502, `${message}\n`);
    return;
  }
  if (client.destroyed || ctx.isClosed()) {
    upstream.destroy();
    return;
  }
  ctx.track(upstream);
  ctx.log({ event: 'egress_allowed', kind: 'connect', host, port, address });

  client.off('data', onEarlyData);
  client.off('end', onEarlyEnd);
  client.pause();
  splice(ctx, client, upstream, { host, port });
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (early.length > 0) upstream.write(Buffer.concat(early));
  client.pipe(upstream);
  upstream.pipe(client);
}

function splice(ctx: ProxyContext, client: Socket, upstream: Socket, target: { host: string; port: number }): void {
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    ctx.log({ event: 'egress_failed', kind: 'connect', ...target, reason: 'upstream_error', message: err.code ?? err.message });
    destroyBoth();
  });
  client.on('error', destroyBoth);
  // A clean end travels through pipe() as a half-close; an abrupt close (reset, destroy, timeout)
  // leaves the other side's writable open, and then that side is torn down too.
  upstream.on('close', () => {
    if (!client.writableEnded) client.destroy();
  });
  client.on('close', () => {
    if (!upstream.writableEnded) upstream.destroy();
  });
  const onIdle = () => {
    if (!client.destroyed || !upstream.destroyed) {
      ctx.log({ event: 'egress_failed', kind: 'connect', ...target, reason: 'tunnel_idle', message: `tunnel idle for ${ctx.idleTimeoutMs} ms` });
    }
    destroyBoth();
  };
  client.setTimeout(ctx.idleTimeoutMs);
  upstream.setTimeout(ctx.idleTimeoutMs);
  client.removeAllListeners('timeout');
  client.on('timeout', onIdle);
  upstream.on('timeout', onIdle);
}

function reply(client: Socket, status: number, body: string, reason?: string): void {
  client.end(rawResponse(status, STATUS_TEXT[status] ?? 'Error', body, reason), () => client.destroy());
}
