// A real MCP server for tests, built with the SDK's server side over node:http on 127.0.0.1. It
// requires `Authorization: Bearer <token>` (changeable at runtime; 401 otherwise) and serves
// streamable HTTP, the old HTTP+SSE transport only, or both. Tools: echo, add, fail, image,
// resource, slow, and with `echoCredentials` also whoami (echoes the Authorization header it
// received, raw and encoded, as a careless server might). Counters let tests see how many sessions were opened and what was called.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export type TestMcpMode = 'streamable' | 'sse-only';

export interface TestMcpServerOptions {
  /** Required bearer token; null = no auth. Default `test-token`. */
  token?: string | null;
  /** `streamable` serves streamable HTTP at /mcp; `sse-only` serves the old transport there (POST /mcp → 405). */
  mode?: TestMcpMode;
  /** Status for unauthorized requests (401 default; 403 to test that path). */
  unauthorizedStatus?: 401 | 403;
  /** Also offer `whoami`, which echoes the Authorization header it received. Default false. */
  echoCredentials?: boolean;
  /** Listen on this port (e.g. to restart a server in place); default a free one. */
  port?: number;
}

export interface TestMcpStats {
  /** `initialize` requests that passed auth (one per MCP session opened). */
  initializes: number;
  /** HTTP requests refused for a missing/wrong token. */
  unauthorized: number;
  /** Every HTTP request, in order: method and path. */
  requests: Array<{ method: string; path: string }>;
  toolCalls: Array<{ name: string; args: Record<string, unknown> }>;
  /** Raw Authorization headers received (so leak tests can check what went over the wire). */
  authorizationHeaders: string[];
  /** MCP sessions ended with DELETE. */
  terminated: number;
}

export interface TestMcpServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  readonly port: number;
  readonly stats: TestMcpStats;
  setToken(token: string | null): void;
  /** Forget every MCP session (the next request with an old session id gets 404). */
  dropSessions(): Promise<void>;
  /** Number of live MCP sessions. */
  sessionCount(): number;
  close(): Promise<void>;
}

/** A 1×1 transparent PNG. */
export const TINY_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

function buildServer(stats: TestMcpStats, echoCredentials: boolean): McpServer {
  const server = new McpServer({ name: 'hangar-test-mcp', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes the text back.', inputSchema: { text: z.string() } }, async ({ text }) => {
    stats.toolCalls.push({ name: 'echo', args: { text } });
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool('add', { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
    stats.toolCalls.push({ name: 'add', args: { a, b } });
    return { content: [{ type: 'text', text: String(a + b) }] };
  });
  server.registerTool('fail', { description: 'Always fails.', inputSchema: { message: z.string().optional() } }, async ({ message }) => {
    stats.toolCalls.push({ name: 'fail', args: { message } });
    return { content: [{ type: 'text', text: message ?? 'it failed' }], isError: true };
  });
  server.registerTool('image', { description: 'Returns a tiny PNG.' }, async () => {
    stats.toolCalls.push({ name: 'image', args: {} });
    return { content: [{ type: 'text', text: 'here is an image' }, { type: 'image', data: TINY_PNG_BASE64, mimeType: 'image/png' }] };
  });
  server.registerTool('resource', { description: 'Returns an embedded text resource.' }, async () => {
    stats.toolCalls.push({ name: 'resource', args: {} });
    return { content: [{ type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'resource body' } }] };
  });
  if (echoCredentials) server.registerTool('whoami', { description: 'Echoes the credentials it was called with.' }, async (extra) => {
    stats.toolCalls.push({ name: 'whoami', args: {} });
    const header = String(extra.requestInfo?.headers.authorization ?? '');
    const token = header.replace(/^Bearer /, '');
    const lines = [
      `you sent: ${header}`,
      `token again: ${token}`,
      `base64 header: ${Buffer.from(`Authorization: ${header}`).toString('base64')}`,
      `base64url token: ${Buffer.from(token).toString('base64url')}`,
      `url-encoded: https://example.invalid/cb?access_token=${encodeURIComponent(token)}&x=1`,
    ];
    return { content: [{ type: 'text', text: lines.join('\n') }] };
  });
  server.registerTool('slow', { description: 'Waits `ms` milliseconds.', inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
    stats.toolCalls.push({ name: 'slow', args: { ms } });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      extra.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    return { content: [{ type: 'text', text: `waited ${ms} ms` }] };
  });
  return server;
}

export async function startTestMcpServer(options: TestMcpServerOptions = {}): Promise<TestMcpServer> {
  let token = options.token === undefined ? 'test-token' : options.token;
  const mode = options.mode ?? 'streamable';
  const stats: TestMcpStats = { initializes: 0, unauthorized: 0, requests: [], toolCalls: [], authorizationHeaders: [], terminated: 0 };
  const streamable = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const sse = new Map<string, { transport: SSEServerTransport; server: McpServer }>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    stats.requests.push({ method: req.method ?? '', path });
    const auth = req.headers.authorization;
    if (auth !== undefined) stats.authorizationHeaders.push(auth);
    if (token !== null && auth !== `Bearer ${token}`) {
      stats.unauthorized++;
      await drain(req);
      const status = options.unauthorizedStatus ?? 401;
      res.writeHead(status, {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer error="invalid_token", error_description="missing or wrong bearer token"',
      });
      res.end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    if (mode === 'streamable' && path === '/mcp') return handleStreamable(req, res);
    if (mode === 'sse-only' && path === '/mcp' && req.method === 'GET') return openSse(res);
    if (mode === 'sse-only' && path === '/messages' && req.method === 'POST') {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId') ?? '';
      const entry = sse.get(id);
      if (!entry) return sendJson(res, 404, { error: 'unknown session' });
      return entry.transport.handlePostMessage(req, res);
    }
    if (mode === 'sse-only' && path === '/mcp') return sendJson(res, 405, { error: 'method not allowed' });
    return sendJson(res, 404, { error: 'not found' });
  };

  const handleStreamable = async (req: IncomingMessage, res: ServerResponse) => {
    const sessionId = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (typeof sessionId === 'string') {
      const entry = streamable.get(sessionId);
      if (!entry) return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      if (req.method === 'DELETE') stats.terminated++;
      return entry.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'No session' }, id: null });
    }
    stats.initializes++;
    const server = buildServer(stats, options.echoCredentials ?? false);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        streamable.set(id, { transport, server });
      },
      onsessionclosed: (id) => {
        streamable.delete(id);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const openSse = async (res: ServerResponse) => {
    const transport = new SSEServerTransport('/messages', res);
    const server = buildServer(stats, options.echoCredentials ?? false);
    sse.set(transport.sessionId, { transport, server });
    transport.onclose = () => sse.delete(transport.sessionId);
    const onmessage = (message: unknown) => {
      if (isInitialize(message)) stats.initializes++;
    };
    await server.connect(transport);
    const inner = transport.onmessage;
    transport.onmessage = (message, extra) => {
      onmessage(message);
      inner?.(message, extra);
    };
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;

  const dropSessions = async () => {
    const all = [...streamable.values(), ...sse.values()];
    streamable.clear();
    sse.clear();
    await Promise.all(all.map(async (e) => {
      await e.server.close().catch(() => {});
    }));
  };

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    stats,
    setToken(t) {
      token = t;
    },
    dropSessions,
    sessionCount: () => streamable.size + sse.size,
    async close() {
      await dropSessions();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function isInitialize(body: unknown): boolean {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
