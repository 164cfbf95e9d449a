// HANGAR_MCP_EGRESS_GUARD=on: MCP servers on loopback/private addresses are refused, reported as
// mcp_connection_failed_error, and the turn continues without their tools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startTestMcpServer, type TestMcpServer } from '../kit/mcp-server.ts';
import { MODEL, text } from './helpers.ts';

let up: FakeUpstream;
let h: TestHangar;
let mcp: TestMcpServer;

beforeAll(async () => {
  up = await startFakeUpstream();
  mcp = await startTestMcpServer({ token: null });
  h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_MCP_EGRESS_GUARD: 'on' } });
});
afterAll(async () => {
  await h?.close();
  await mcp?.close();
  await up?.close();
});

describe('MCP egress guard', () => {
  it('refuses an MCP server on loopback and goes on without its tools', async () => {
    const agent = await h.client.beta.agents.create({
      name: 'a', model: MODEL,
      mcp_servers: [{ type: 'url', name: 'local', url: mcp.url }],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'local' }],
    });
    const env = await h.client.beta.environments.create({ name: `e-${Date.now()}` });
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    up.script({ content: [{ type: 'text', text: 'no tools' }] });
    await h.client.beta.sessions.events.send(s.id, { events: [text('hi')] });
    // Wait for the turn's idle event (the status alone is idle for a moment before the turn starts).
    let events: Array<Record<string, any>> = [];
    for (let i = 0; i < 400 && !events.some((e) => e.type === 'session.status_idle'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      events = (await h.client.beta.sessions.events.list(s.id)).data as Array<Record<string, any>>;
    }
    const error = events.find((e) => e.type === 'session.error');
    expect(error?.error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'local' });
    expect(up.requests[0].body.tools ?? []).toEqual([]);
    expect(mcp.stats.requests).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  });
});
