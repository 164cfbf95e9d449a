// The per-session MCP connection pool against a real MCP server: reuse, isolation between sessions,
// credential rotation, the onUnauthorized refresh path, idle close and reconnects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { McpSessionPool } from '../../src/adapters/mcp/mcp-session-pool.ts';
import { SdkMcpConnector } from '../../src/adapters/mcp/sdk-mcp-connector.ts';
import type { McpAuth, McpConnection, McpConnector, McpCredential, McpServerRef } from '../../src/ports/mcp.ts';
import { startTestMcpServer, type TestMcpServer, type TestMcpServerOptions } from '../kit/mcp-server.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(opts: TestMcpServerOptions = {}): Promise<TestMcpServer> {
  const s = await startTestMcpServer(opts);
  cleanups.push(() => s.close());
  return s;
}

/** A connector that counts connects and remembers which bearer each used. */
function countingConnector(): McpConnector & { connects: Array<string | undefined> } {
  const inner = new SdkMcpConnector({ connectTimeoutMs: 5_000 });
  const connects: Array<string | undefined> = [];
  return {
    connects,
    connect(server: McpServerRef, auth: McpAuth, signal?: AbortSignal): Promise<McpConnection> {
      connects.push(auth.bearer);
      return inner.connect(server, auth, signal);
    },
  };
}

function pool(credentials: (sessionId: string, url: string) => Promise<McpCredential>, idleMs?: number) {
  const connector = countingConnector();
  const p = new McpSessionPool({ connector, credentials, idleMs });
  cleanups.push(() => p.close());
  return { pool: p, connector };
}

const staticToken = (token: string) => async () => ({ bearer: token });

describe('McpSessionPool', () => {
  it('reuses one connection for many calls in a session', async () => {
    const s = await server();
    const { pool: p, connector } = pool(staticToken('test-token'));
    const ref = { name: 'kit', url: s.url };
    expect((await p.listTools('sesn_1', ref)).length).toBe(6);
    for (let i = 0; i < 5; i++) expect(await p.callTool('sesn_1', ref, 'add', { a: i, b: 1 })).toMatchObject({ isError: false });
    await Promise.all(Array.from({ length: 5 }, (_, i) => p.callTool('sesn_1', ref, 'echo', { text: `c${i}` })));
    expect(connector.connects).toHaveLength(1);
    expect(s.stats.initializes).toBe(1);
    expect(p.connectionCount('sesn_1')).toBe(1);
  });

  it('shares one in-flight connect between concurrent first calls', async () => {
    const s = await server();
    const { pool: p, connector } = pool(staticToken('test-token'));
    const ref = { name: 'kit', url: s.url };
    const results = await Promise.all(Array.from({ length: 8 }, () => p.callTool('sesn_1', ref, 'echo', { text: 'x' })));
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(connector.connects).toHaveLength(1);
  });

  it('keeps sessions apart and closeSession closes only that session', async () => {
    const s = await server();
    const { pool: p, connector } = pool(staticToken('test-token'));
    const ref = { name: 'kit', url: s.url };
    await p.callTool('sesn_a', ref, 'echo', { text: 'a' });
    await p.callTool('sesn_b', ref, 'echo', { text: 'b' });
    expect(connector.connects).toHaveLength(2);
    expect(s.sessionCount()).toBe(2);
    await p.closeSession('sesn_a');
    expect(p.connectionCount('sesn_a')).toBe(0);
    expect(p.connectionCount('sesn_b')).toBe(1);
    expect(s.sessionCount()).toBe(1);
    expect(await p.callTool('sesn_b', ref, 'echo', { text: 'b2' })).toMatchObject({ isError: false });
    expect(connector.connects).toHaveLength(2);
  });

  it('reconnects with the new credential when it rotates, closing the old connection', async () => {
    const s = await server({ token: 'v1' });
    let token = 'v1';
    const { pool: p, connector } = pool(async () => ({ bearer: token }));
    const ref = { name: 'kit', url: s.url };
    await p.callTool('sesn_1', ref, 'echo', { text: 'x' });
    s.setToken('v2');
    token = 'v2';
    expect(await p.callTool('sesn_1', ref, 'echo', { text: 'y' })).toMatchObject({ isError: false });
    expect(connector.connects).toEqual(['v1', 'v2']);
    await vi.waitFor(() => expect(s.sessionCount()).toBe(1));
  });

  it('refreshes via onUnauthorized on 401 at connect and retries once with the new token', async () => {
    const s = await server({ token: 'fresh' });
    const onUnauthorized = vi.fn(async () => 'fresh');
    const { pool: p, connector } = pool(async () => ({ bearer: 'expired', onUnauthorized }));
    const result = await p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'ok' });
    expect(result).toEqual({ content: [{ type: 'text', text: 'ok' }], isError: false });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(connector.connects).toEqual(['expired', 'fresh']);
  });

  it('refreshes when the token expires mid-session and the call succeeds', async () => {
    const s = await server({ token: 'one' });
    let stored = 'one';
    const onUnauthorized = vi.fn(async () => {
      stored = 'two';
      return stored;
    });
    const { pool: p } = pool(async () => ({ bearer: stored, onUnauthorized }));
    const ref = { name: 'kit', url: s.url };
    await p.callTool('sesn_1', ref, 'echo', { text: 'before' });
    s.setToken('two');
    expect(await p.callTool('sesn_1', ref, 'add', { a: 1, b: 2 })).toEqual({ content: [{ type: 'text', text: '3' }], isError: false });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(s.stats.toolCalls.map((c) => c.name)).toEqual(['echo', 'add']);
  });

  it('gives up with McpAuthenticationError when onUnauthorized has no new token', async () => {
    const s = await server({ token: 'right' });
    const onUnauthorized = vi.fn(async () => undefined);
    const { pool: p, connector } = pool(async () => ({ bearer: 'wrong', onUnauthorized }));
    await expect(p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'x' })).rejects.toMatchObject({ kind: 'authentication', serverName: 'kit' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(connector.connects).toHaveLength(1);
    expect(p.connectionCount()).toBe(0);
  });

  it('retries only once: a refreshed token that is also rejected fails with McpAuthenticationError', async () => {
    const s = await server({ token: 'right' });
    const onUnauthorized = vi.fn(async () => 'still-wrong');
    const { pool: p, connector } = pool(async () => ({ bearer: 'wrong', onUnauthorized }));
    await expect(p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'x' })).rejects.toMatchObject({ kind: 'authentication' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(connector.connects).toEqual(['wrong', 'still-wrong']);
  });

  it('connects unauthenticated without a credential, and a protected server then fails with authentication', async () => {
    const open = await server({ token: null });
    const locked = await server({ token: 'secret' });
    const { pool: p } = pool(async () => ({}));
    expect(await p.callTool('sesn_1', { name: 'open', url: open.url }, 'echo', { text: 'hi' })).toMatchObject({ isError: false });
    expect(open.stats.authorizationHeaders).toEqual([]);
    await expect(p.callTool('sesn_1', { name: 'locked', url: locked.url }, 'echo', { text: 'hi' })).rejects.toMatchObject({ kind: 'authentication' });
  });

  it('reports a server that is down as a connection error and keeps no entry', async () => {
    const s = await startTestMcpServer();
    const url = s.url;
    await s.close();
    const { pool: p } = pool(staticToken('test-token'));
    await expect(p.listTools('sesn_1', { name: 'gone', url })).rejects.toMatchObject({ kind: 'connection', serverName: 'gone' });
    expect(p.connectionCount()).toBe(0);
  });

  it('reconnects once when the server forgot the MCP session (404)', async () => {
    const s = await server();
    const { pool: p, connector } = pool(staticToken('test-token'));
    const ref = { name: 'kit', url: s.url };
    await p.callTool('sesn_1', ref, 'echo', { text: 'one' });
    await s.dropSessions();
    expect(await p.callTool('sesn_1', ref, 'echo', { text: 'two' })).toMatchObject({ isError: false });
    expect(connector.connects).toHaveLength(2);
    expect(s.stats.toolCalls.map((c) => c.args.text)).toEqual(['one', 'two']);
  });

  it('replaces a dead connection on the next call after the server restarted', async () => {
    const s = await startTestMcpServer();
    const { pool: p, connector } = pool(staticToken('test-token'));
    const ref = { name: 'kit', url: s.url };
    await p.callTool('sesn_1', ref, 'echo', { text: 'one' });
    await s.close();
    await expect(p.callTool('sesn_1', ref, 'echo', { text: 'lost' })).rejects.toMatchObject({ kind: 'connection' });
    const again = await server({ port: s.port });
    expect(await p.callTool('sesn_1', ref, 'echo', { text: 'back' })).toMatchObject({ isError: false });
    expect(connector.connects).toHaveLength(2);
    expect(again.stats.initializes).toBe(1);
  });

  it('closes a connection after the idle period', async () => {
    const s = await server();
    const { pool: p } = pool(staticToken('test-token'), 100);
    await p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'x' });
    expect(p.connectionCount()).toBe(1);
    await vi.waitFor(() => {
      expect(p.connectionCount()).toBe(0);
      expect(s.stats.terminated).toBe(1);
    }, { timeout: 3_000 });
  });

  it('does not close a connection while a call is running on it', async () => {
    const s = await server();
    const { pool: p } = pool(staticToken('test-token'), 50);
    const result = await p.callTool('sesn_1', { name: 'kit', url: s.url }, 'slow', { ms: 300 });
    expect(result).toMatchObject({ isError: false });
    expect(s.stats.terminated).toBe(0);
  });

  it('rejects an aborted call with the signal reason', async () => {
    const s = await server();
    const { pool: p } = pool(staticToken('test-token'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('interrupt')), 50);
    await expect(p.callTool('sesn_1', { name: 'kit', url: s.url }, 'slow', { ms: 5_000 }, ac.signal)).rejects.toThrow('interrupt');
    expect(await p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'after' })).toMatchObject({ isError: false });
  });

  it('resolves credentials per call with the session id and server URL', async () => {
    const s = await server();
    const seen: Array<[string, string]> = [];
    const { pool: p } = pool(async (sessionId, url) => {
      seen.push([sessionId, url]);
      return { bearer: 'test-token' };
    });
    await p.callTool('sesn_9', { name: 'kit', url: s.url }, 'echo', { text: 'x' });
    await p.callTool('sesn_9', { name: 'kit', url: s.url }, 'echo', { text: 'y' });
    expect(seen).toEqual([['sesn_9', s.url], ['sesn_9', s.url]]);
  });
});

describe('McpSessionPool refresh', () => {
  it('refreshes once when concurrent calls are rejected with the same token', async () => {
    const s = await server({ token: 'fresh' });
    let resolveRefresh: (t: string) => void = () => {};
    const onUnauthorized = vi.fn(() => new Promise<string>((r) => {
      resolveRefresh = r;
    }));
    const { pool: p } = pool(async () => ({ bearer: 'stale', onUnauthorized }));
    const ref = { name: 'kit', url: s.url };
    const calls = Array.from({ length: 4 }, (_, i) => p.callTool('sesn_1', ref, 'echo', { text: `c${i}` }));
    await vi.waitFor(() => expect(onUnauthorized).toHaveBeenCalled());
    resolveRefresh('fresh');
    const results = await Promise.all(calls);
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('passes credential-provider failures through unchanged', async () => {
    const s = await server();
    const boom = new Error('vault unavailable');
    const { pool: p } = pool(async () => {
      throw boom;
    });
    await expect(p.callTool('sesn_1', { name: 'kit', url: s.url }, 'echo', { text: 'x' })).rejects.toBe(boom);
    expect(s.stats.requests).toHaveLength(0);
  });
});
