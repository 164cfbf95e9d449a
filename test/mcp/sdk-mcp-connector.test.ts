// The SDK-backed MCP connector against a real MCP server (test kit): streamable HTTP and SSE,
// bearer auth, typed failures, result mapping, timeouts, abort and clean shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SdkMcpConnector } from '../../src/adapters/mcp/sdk-mcp-connector.ts';
import { McpAuthenticationError, McpConnectionError, McpServerError, type McpConnection } from '../../src/ports/mcp.ts';
import { startTestMcpServer, TINY_PNG_BASE64, type TestMcpServer, type TestMcpServerOptions } from '../kit/mcp-server.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(opts: TestMcpServerOptions = {}): Promise<TestMcpServer> {
  const s = await startTestMcpServer(opts);
  cleanups.push(() => s.close());
  return s;
}

function track(c: McpConnection): McpConnection {
  cleanups.push(() => c.close());
  return c;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const connector = new SdkMcpConnector({ connectTimeoutMs: 5_000 });

describe('SdkMcpConnector over streamable HTTP', () => {
  it('connects with the right bearer token, lists tools and calls them', async () => {
    const s = await server({ token: 'tok-123' });
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'tok-123' }));
    expect(c.transport).toBe('streamable_http');
    expect(c.open).toBe(true);

    const tools = await c.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'echo', 'fail', 'image', 'resource', 'slow']);
    const echo = tools.find((t) => t.name === 'echo')!;
    expect(echo.description).toBe('Echoes the text back.');
    expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });

    expect(await c.callTool('echo', { text: 'hello' })).toEqual({ content: [{ type: 'text', text: 'hello' }], isError: false });
    expect(await c.callTool('add', { a: 2, b: 3 })).toEqual({ content: [{ type: 'text', text: '5' }], isError: false });
    expect(s.stats.authorizationHeaders.every((h) => h === 'Bearer tok-123')).toBe(true);
    expect(s.stats.initializes).toBe(1);
  });

  it('maps a tool error result to isError: true and keeps the connection', async () => {
    const s = await server();
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }));
    expect(await c.callTool('fail', { message: 'nope' })).toEqual({ content: [{ type: 'text', text: 'nope' }], isError: true });
    expect(c.open).toBe(true);
  });

  it('answers an unknown tool and invalid arguments with error results, not rejections', async () => {
    const s = await server();
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }));
    const unknown = await c.callTool('does_not_exist', {});
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toMatch(/does_not_exist/);
    const invalid = await c.callTool('add', { a: 'x' });
    expect(invalid.isError).toBe(true);
    expect(c.open).toBe(true);
    expect(await c.callTool('add', { a: 1, b: 1 })).toMatchObject({ isError: false });
  });

  it('maps images to base64 image blocks and embedded resources to text', async () => {
    const s = await server();
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }));
    expect(await c.callTool('image', {})).toEqual({
      content: [
        { type: 'text', text: 'here is an image' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: TINY_PNG_BASE64 } },
      ],
      isError: false,
    });
    expect(await c.callTool('resource', {})).toEqual({
      content: [{ type: 'text', text: '[resource file:///notes.txt (text/plain)]\nresource body' }],
      isError: false,
    });
  });

  it('rejects a wrong token with McpAuthenticationError (401), without the token in the message', async () => {
    const s = await server({ token: 'right' });
    const err = await rejection(connector.connect({ name: 'kit', url: s.url }, { bearer: 'wrong-secret-value' }));
    expect(err).toBeInstanceOf(McpAuthenticationError);
    expect(err).toMatchObject({ kind: 'authentication', status: 401, serverName: 'kit' });
    expect(String((err as Error).message)).not.toContain('wrong-secret-value');
    expect((err as Error).message).toContain('"kit"');
    // No fallback to SSE after an auth failure.
    expect(s.stats.requests.filter((r) => r.method === 'GET')).toHaveLength(0);
  });

  it('rejects a missing token with McpAuthenticationError', async () => {
    const s = await server({ token: 'right' });
    const err = await rejection(connector.connect({ name: 'kit', url: s.url }, {}));
    expect(err).toMatchObject({ kind: 'authentication', status: 401 });
  });

  it('treats 403 as an authentication failure', async () => {
    const s = await server({ token: 'right', unauthorizedStatus: 403 });
    const err = await rejection(connector.connect({ name: 'kit', url: s.url }, { bearer: 'wrong' }));
    expect(err).toMatchObject({ kind: 'authentication', status: 403 });
  });

  it('reports a server that is down as McpConnectionError', async () => {
    const s = await startTestMcpServer();
    const url = s.url;
    await s.close();
    const err = await rejection(connector.connect({ name: 'gone', url }, { bearer: 'test-token' }));
    expect(err).toBeInstanceOf(McpConnectionError);
    expect(err).toMatchObject({ kind: 'connection', serverName: 'gone' });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('reports a non-MCP endpoint (404 everywhere) as a connection error after trying SSE', async () => {
    const http = createServer((_req, res) => {
      res.writeHead(404).end('not here');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => http.close(() => r())));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp?api_key=query-secret`;
    const err = await rejection(connector.connect({ name: 'nope', url }, {}));
    expect(err).toMatchObject({ kind: 'connection', status: 404 });
    expect((err as Error).message).not.toContain('query-secret');
  });

  it('rejects an invalid or non-http URL as a connection error', async () => {
    await expect(connector.connect({ name: 'x', url: 'ftp://example.com/mcp' }, {})).rejects.toMatchObject({ kind: 'connection' });
    await expect(connector.connect({ name: 'x', url: 'not a url' }, {})).rejects.toBeInstanceOf(McpServerError);
  });

  it('fails a call with McpAuthenticationError when the token is revoked mid-session, and marks the connection closed', async () => {
    const s = await server({ token: 'one' });
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'one' }));
    s.setToken('two');
    const err = await rejection(c.callTool('echo', { text: 'x' }));
    expect(err).toMatchObject({ kind: 'authentication', status: 401 });
    expect(c.open).toBe(false);
  });

  it('turns a call timeout into an error result', async () => {
    const s = await server();
    const fast = new SdkMcpConnector({ callTimeoutMs: 150 });
    const c = track(await fast.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }));
    const result = await c.callTool('slow', { ms: 2_000 });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/did not answer within 150 ms/);
    expect(c.open).toBe(true);
  });

  it('rejects an aborted call with the signal reason and stays usable', async () => {
    const s = await server();
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }));
    const ac = new AbortController();
    const reason = new Error('interrupted by user');
    setTimeout(() => ac.abort(reason), 50);
    const started = Date.now();
    await expect(c.callTool('slow', { ms: 5_000 }, ac.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await c.callTool('echo', { text: 'still here' })).toMatchObject({ isError: false });
  });

  it('rejects connect at once when the signal is already aborted', async () => {
    const s = await server();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' }, ac.signal)).rejects.toThrow('stop');
    expect(s.stats.requests).toHaveLength(0);
  });

  it('ends the MCP session with DELETE on close, idempotently', async () => {
    const s = await server();
    const c = await connector.connect({ name: 'kit', url: s.url }, { bearer: 'test-token' });
    expect(s.sessionCount()).toBe(1);
    await Promise.all([c.close(), c.close()]);
    expect(c.open).toBe(false);
    expect(s.stats.terminated).toBe(1);
    expect(s.sessionCount()).toBe(0);
    await expect(c.callTool('echo', { text: 'x' })).rejects.toMatchObject({ kind: 'connection' });
  });
});

describe('SdkMcpConnector SSE fallback', () => {
  it('falls back to the HTTP+SSE transport for an SSE-only server', async () => {
    const s = await server({ mode: 'sse-only', token: 'sse-token' });
    const c = track(await connector.connect({ name: 'old', url: s.url }, { bearer: 'sse-token' }));
    expect(c.transport).toBe('sse');
    expect((await c.listTools()).map((t) => t.name)).toContain('add');
    expect(await c.callTool('add', { a: 20, b: 22 })).toEqual({ content: [{ type: 'text', text: '42' }], isError: false });
    expect(await c.callTool('fail', {})).toMatchObject({ isError: true });
    expect(s.stats.initializes).toBe(1);
    expect(s.stats.requests[0]).toEqual({ method: 'POST', path: '/mcp' });
    expect(s.stats.authorizationHeaders.every((h) => h === 'Bearer sse-token')).toBe(true);
  });

  it('reports a wrong token on an SSE-only server as an authentication failure', async () => {
    const s = await server({ mode: 'sse-only', token: 'sse-token' });
    // The streamable POST is refused with 401 before the fallback could start.
    await expect(connector.connect({ name: 'old', url: s.url }, { bearer: 'bad' })).rejects.toMatchObject({ kind: 'authentication', status: 401 });
  });

  it('reports a revoked token on an established SSE connection as an authentication failure', async () => {
    const s = await server({ mode: 'sse-only', token: 'sse-token' });
    const c = track(await connector.connect({ name: 'old', url: s.url }, { bearer: 'sse-token' }));
    s.setToken('rotated');
    await expect(c.callTool('echo', { text: 'x' })).rejects.toMatchObject({ kind: 'authentication', status: 401 });
  });

  it('can be limited to SSE only', async () => {
    const s = await server({ mode: 'sse-only' });
    const sseOnly = new SdkMcpConnector({ transports: ['sse'] });
    const c = track(await sseOnly.connect({ name: 'old', url: s.url }, { bearer: 'test-token' }));
    expect(c.transport).toBe('sse');
    expect(s.stats.requests[0]).toEqual({ method: 'GET', path: '/mcp' });
  });
});
