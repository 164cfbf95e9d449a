// Test kit for the egress proxy: local upstream servers, and clients that speak to the proxy over
// its unix socket the way a sandboxed tool does (raw CONNECT, absolute-form HTTP).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  socketPath: string;
  remove(): Promise<void>;
}

export async function tempSocketDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'egress-'));
  return { path, socketPath: join(path, 'proxy.sock'), remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TcpServer {
  port: number;
  /** Server-side sockets seen so far. */
  sockets: Socket[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 running `onSocket` for each connection (default: echo). */
export async function startTcpServer(onSocket: (s: Socket) => void = (s) => s.pipe(s)): Promise<TcpServer> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  const port = await listen(server);
  return {
    port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RecordedHttpRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpUpstream {
  port: number;
  requests: RecordedHttpRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records each request (with its body) before `handler` runs. */
export async function startHttpUpstream(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<HttpUpstream> {
  const requests: RecordedHttpRequest[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString() });
      handler(req, res, body);
    });
  });
  const port = await listen(server);
  return {
    port,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

export interface ConnectResult {
  status: number;
  /** The response head, status line included. */
  head: string;
  /** After a 2xx: the open tunnel. Otherwise the connection, already ended by the proxy. */
  socket: Socket;
  /** Bytes after the head: the refusal body, or early tunnel bytes. */
  rest: Buffer;
}

/** Sends `CONNECT authority` over the proxy's unix socket and reads the response head. */
export function proxyConnect(socketPath: string, authority: string, opts: { extraHeaders?: string; firstBytes?: Buffer } = {}): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      const head = buf.subarray(0, end).toString('latin1');
      resolve({ status: Number(head.split(' ')[1]), head, socket, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`proxy closed before answering; got ${JSON.stringify(buf.toString())}`)));
    const request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${opts.extraHeaders ?? ''}\r\n`;
    socket.write(opts.firstBytes ? Buffer.concat([Buffer.from(request), opts.firstBytes]) : request);
  });
}

/** Reads a socket to its end, starting with bytes already read. */
export function readToEnd(socket: Socket, already: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks = [already];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/** Writes `data` into an open tunnel and waits until `expectedBytes` come back. */
export function roundTrip(socket: Socket, data: Buffer, expectedBytes = data.length): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= expectedBytes) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`tunnel closed after ${got} of ${expectedBytes} bytes`)));
    socket.resume();
    socket.write(data);
  });
}

export interface ProxyHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** An absolute-form request through the proxy with node's own HTTP client. */
export function proxyHttp(socketPath: string, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<ProxyHttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: url, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function waitForClose(socket: Socket, timeoutMs = 5_000): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
  });
}
