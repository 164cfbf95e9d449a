// A stand-in for the egress proxy in sandbox tests: an HTTP server on the unix socket that answers
// every proxied request itself (naming the URL it was asked for) and records it, so sandbox tests
// exercise the socket → socat → HTTP_PROXY path without the real proxy or any network.
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import type { EgressPolicy, StartEgressProxy } from '../../src/ports/egress.ts';

export interface StubEgress {
  start: StartEgressProxy;
  requests: Array<{ method: string; url: string; policy: EgressPolicy }>;
}

export function stubEgress(): StubEgress {
  const requests: StubEgress['requests'] = [];
  const start: StartEgressProxy = async (policy, socketPath) => {
    rmSync(socketPath, { force: true });
    const server: Server = createServer((req, res) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', policy });
      res.end(`stub-egress ${req.method} ${req.url}\n`);
    });
    server.on('connect', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return {
      socketPath,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  };
  return { start, requests };
}
