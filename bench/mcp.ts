// MCP tool call overhead through Hangar (warm connection): time from `agent.mcp_tool_use` to
// `agent.mcp_tool_result` on the session stream, against the MCP server's own time as a bare MCP
// SDK client sees it (same server, same tool, warm connection).
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { startTestMcpServer } from '../test/kit/mcp-server.ts';
import { EventTap, ms, summarize, userMessage } from './lib.ts';

export async function benchMcp(opts: { calls: number; warmup: number }): Promise<void> {
  const token = 'bench-mcp-token';
  const mcp = await startTestMcpServer({ token });
  const up = await startFakeUpstream();
  const h = await startHangar({ upstreamUrl: up.url });
  try {
    // Baseline: a bare MCP client on a warm connection.
    const bare = new Client({ name: 'bench', version: '1.0.0' });
    await bare.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    const own: number[] = [];
    for (let i = 0; i < opts.warmup + opts.calls; i++) {
      const t0 = performance.now();
      await bare.callTool({ name: 'echo', arguments: { text: `x${i}` } });
      if (i >= opts.warmup) own.push(performance.now() - t0);
    }
    await bare.close();

    const { client } = h;
    const vault = await client.beta.vaults.create({ display_name: 'bench' });
    await client.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.url, token } });
    const agent = await client.beta.agents.create({
      name: 'bench-mcp', model: 'claude-sonnet-4-6',
      mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: { type: 'always_allow' } } }],
    });
    const env = await client.beta.environments.create({ name: `bench-mcp-${Date.now()}` });
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id] });
    // Each turn: the model calls the MCP tool once, then answers.
    up.setResponder((req) => {
      const last = req.body.messages.at(-1);
      const answered = Array.isArray(last?.content) && last.content.some((b: { type: string }) => b.type === 'tool_result');
      return answered
        ? { content: [{ type: 'text', text: 'ok' }] }
        : { content: [{ type: 'tool_use', name: 'mcp__docs__echo', input: { text: 'hi' } }] };
    });
    const tap = await EventTap.open(client, session.id);
    const through: number[] = [];
    try {
      for (let i = 0; i < opts.warmup + opts.calls; i++) {
        const use = tap.next('agent.mcp_tool_use');
        const result = tap.next('agent.mcp_tool_result');
        const idle = tap.next('session.status_idle');
        await client.beta.sessions.events.send(session.id, userMessage(`call ${i}`));
        const [t0, t1] = [await use, await result];
        await idle;
        if (i >= opts.warmup) through.push(t1 - t0);
      }
    } finally {
      tap.close();
    }
    const o = summarize(own);
    const t = summarize(through);
    console.log(
      `MCP tool call through Hangar (agent.mcp_tool_use → agent.mcp_tool_result on the stream, warm connection): p50 ${ms(t.p50)}, p99 ${ms(t.p99)} (n=${t.n}); ` +
        `the MCP server's own time (bare MCP client, warm): p50 ${ms(o.p50)}, p99 ${ms(o.p99)}; overhead above it: p50 ${ms(t.p50 - o.p50)}, p99 ${ms(t.p99 - o.p99)}`,
    );
  } finally {
    await h.close();
    await up.close();
    await mcp.close();
  }
}
