// MCP connections through the address-vetting fetch: private targets are refused before any request
// leaves, and with the explicit test allowance both transports (including SSE streams) work.
import { afterEach, describe, expect, it } from 'vitest';
import { createGuardedFetchLike } from '../../src/adapters/net-guard/guarded-fetch-like.ts';
import { SdkMcpConnector } from '../../src/adapters/mcp/sdk-mcp-connector.ts';
import { McpConnectionError, type McpConnection } from '../../src/ports/mcp.ts';
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

function track(c: McpConnection): McpConnection {
  cleanups.push(() => c.close());
  return c;
}

describe('SdkMcpConnector with the guarded fetch', () => {
  it('refuses an MCP server on a loopback address as a connection failure, sending nothing', async () => {
    const s = await server();
    const connector = new SdkMcpConnector({ fetch: createGuardedFetchLike() });
    const err = await connector.connect({ name: 'internal', url: s.url }, { bearer: 'test-token' }).catch((e) => e);
    expect(err).toBeInstanceOf(McpConnectionError);
    expect(err.message).toMatch(/forbidden_address/);
    expect(s.stats.requests).toHaveLength(0);
  });

  it('refuses the metadata address', async () => {
    const connector = new SdkMcpConnector({ fetch: createGuardedFetchLike() });
    await expect(connector.connect({ name: 'meta', url: 'http://169.254.169.254/mcp' }, {})).rejects.toMatchObject({ kind: 'connection' });
  });

  it('works over streamable HTTP with the test allowance for that origin', async () => {
    const s = await server({ token: 'tok' });
    const origin = new URL(s.url).origin;
    const connector = new SdkMcpConnector({ fetch: createGuardedFetchLike({ unsafeAllowPrivateForTests: { origins: [origin] } }) });
    const c = track(await connector.connect({ name: 'kit', url: s.url }, { bearer: 'tok' }));
    expect((await c.listTools()).length).toBe(6);
    expect(await c.callTool('add', { a: 1, b: 2 })).toEqual({ content: [{ type: 'text', text: '3' }], isError: false });
    s.setToken('other');
    await expect(c.callTool('add', { a: 1, b: 2 })).rejects.toMatchObject({ kind: 'authentication', status: 401 });
  });

  it('keeps SSE streams open through the guarded fetch (SSE-only server)', async () => {
    const s = await server({ mode: 'sse-only' });
    const origin = new URL(s.url).origin;
    const connector = new SdkMcpConnector({ fetch: createGuardedFetchLike({ unsafeAllowPrivateForTests: { origins: [origin] } }) });
    const c = track(await connector.connect({ name: 'old', url: s.url }, { bearer: 'test-token' }));
    expect(c.transport).toBe('sse');
    expect(await c.callTool('echo', { text: 'over sse' })).toEqual({ content: [{ type: 'text', text: 'over sse' }], isError: false });
    expect(await c.callTool('echo', { text: 'again' })).toMatchObject({ isError: false });
  });
});
