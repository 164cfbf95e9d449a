// The egress proxy adapter: an HTTP forward proxy on a unix socket (inside the sandbox, socat
// bridges 127.0.0.1:3128 to it), after the design of @anthropic-ai/sandbox-runtime. Every CONNECT
// tunnel and absolute-form HTTP request is checked against allowed_hosts, then DNS-resolved and
// refused when any address is loopback, private, link-local (cloud metadata) or reserved, then
// dialled at exactly the vetted address.
//
// Ports: any port 1-65535 is allowed. The host list and the address ranges are the boundary; a
// port allowlist would break ordinary tools (registries and git hosts on 8080, 8443, 9418...)
// without protecting anything the address checks do not already protect.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { chmod, lstat, rm } from 'node:fs/promises';
import type { EgressPolicy, EgressProxyHandle, StartEgressProxy } from '../../ports/egress.ts';
import { systemLookup, type EgressLookup } from './egress-gate.ts';
import { handleConnect } from './connect-tunnel.ts';
import { handleHttpRequest } from './http-forward.ts';
import { rawResponse, type EgressLogEntry, type ProxyContext } from './proxy-context.ts';

export type { EgressLogEntry } from './proxy-context.ts';
export type { EgressLookup, ResolvedAddress } from './egress-gate.ts';

export interface EgressProxyOptions {
  /** Receives one entry per allowed, refused or failed connection. Exceptions are swallowed. */
  log?: (entry: EgressLogEntry) => void;
  /** Tunnels and upstream requests with no traffic for this long are closed. Default 10 min. */
  idleTimeoutMs?: number;
  /** Per-address upstream connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** DNS lookup timeout. Default 10 s. */
  dnsTimeoutMs?: number;
  /** Largest accepted request head; larger ones get 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** How hostnames resolve. Default: the system resolver. Its answers are still vetted. */
  lookup?: EgressLookup;
  /**
   * TEST ONLY. Skips the address-range check so tests can tunnel to servers on 127.0.0.1.
   * allowed_hosts and metadata-name checks still apply. Production code never sets this: the
   * server builds its proxy with `startEgressProxy(policy, socketPath)`, and `EgressPolicy` (the
   * only thing environment config can influence) has no such field.
   */
  unsafeAllowPrivateAddressesForTests?: boolean;
  /**
   * Operator opt-in (HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE=on): the package-layer build proxy, whose
   * policy is a fixed list of registry hosts, may reach them at private addresses (a registry
   * mirror on the local network). Never set for session sandboxes.
   */
  allowPrivateAddresses?: boolean;
}

const DEFAULTS = {
  idleTimeoutMs: 10 * 60_000,
  connectTimeoutMs: 10_000,
  dnsTimeoutMs: 10_000,
  maxHeaderBytes: 16 * 1024,
};

/** A `StartEgressProxy` with fixed options (logging, timeouts; in tests, the private-address allowance). */
export function createEgressProxyStarter(opts: EgressProxyOptions = {}): StartEgressProxy {
  return (policy, socketPath) => startEgressProxy(policy, socketPath, opts);
}

/**
 * Listens on `socketPath` (mode 0600; a stale socket file there is replaced, any other file makes
 * this reject) and resolves once connections are accepted. `close()` stops listening, destroys
 * every open connection and tunnel, and removes the socket file; it is idempotent.
 */
export async function startEgressProxy(policy: EgressPolicy, socketPath: string, opts: EgressProxyOptions = {}): Promise<EgressProxyHandle> {
  const o = { ...DEFAULTS, ...definedOnly(opts) };
  // Copied so a caller mutating its policy object later cannot widen a running proxy.
  const frozenPolicy: EgressPolicy = { allowedHosts: policy.allowedHosts === null ? null : [...policy.allowedHosts] };
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const ctx: ProxyContext = {
    policy: frozenPolicy,
    gate: { lookup: opts.lookup ?? systemLookup, dnsTimeoutMs: o.dnsTimeoutMs, allowPrivateAddresses: opts.unsafeAllowPrivateAddressesForTests === true || opts.allowPrivateAddresses === true },
    connectTimeoutMs: o.connectTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    log: (entry) => {
      try {
        opts.log?.(entry);
      } catch {
        // A broken logger must not take connections down with it.
      }
    },
    track: (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    },
    isClosed: () => closing !== undefined,
  };

  const server = createServer({
    maxHeaderSize: o.maxHeaderBytes,
    requireHostHeader: false,
    // Bodies may stream for a long time; idleness, not total duration, is what gets cut.
    requestTimeout: 0,
    headersTimeout: 30_000,
    keepAliveTimeout: 5_000,
  });
  // No socket timeout on client connections: while a request is relayed, the upstream socket's
  // idle timer sees traffic in both directions (and stalls when the client stops reading), and
  // DNS and connect have their own limits. A timeout here would race it and drop the 504.
  server.on('connection', (socket: Socket) => ctx.track(socket));
  server.on('request', (req, res) => {
    handleHttpRequest(ctx, req, res).catch(() => res.destroy());
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const socket = client as Socket;
    // The HTTP server stops handling errors on sockets it hands over; without this an ECONNRESET
    // from a sandbox would be an uncaught exception.
    socket.on('error', () => socket.destroy());
    handleConnect(ctx, req, socket, head).catch(() => socket.destroy());
  });
  server.on('upgrade', (_req: IncomingMessage, client: Duplex) => {
    client.on('error', () => client.destroy());
    const body = 'protocol upgrades over plain HTTP are not proxied; use CONNECT (wss://, https://)\n';
    client.end(rawResponse(501, 'Not Implemented', body), () => client.destroy());
  });
  server.on('error', () => {
    // Accept errors (EMFILE...) on a listening server are transient; node keeps listening.
  });

  await removeStaleSocket(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);

  return {
    socketPath,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }).then(() => rm(socketPath, { force: true }));
      return closing;
    },
  };
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await rm(path, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
