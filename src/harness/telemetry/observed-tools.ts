// Spans for the tool work below a tool call: MCP `tools/list` (when the agent has MCP servers) and
// `tools/call` as client spans, and sandbox provisioning (also timed for
// hangar_sandbox_provision_duration_seconds). Decorators over the ports, wired by the composition root.
import { performance } from 'node:perf_hooks';
import type { ServerToolRunner } from '../tool-runner.ts';
import type { SandboxProvider } from '../../ports/sandbox.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { inSpan, type Tracer } from '../../ports/tracer.ts';

type McpServerRef = { name: string; url: string };
const mcpServers = (agent: unknown): McpServerRef[] => ((agent as { mcp_servers?: McpServerRef[] }).mcp_servers ?? []);

function hostOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).hostname : undefined;
  } catch {
    return undefined;
  }
}

export function observeServerTools(inner: ServerToolRunner, tracer: Tracer): ServerToolRunner {
  if (!tracer.enabled && !tracer.mayEnable) return inner;
  return {
    prepare(session, agent, signal) {
      const servers = mcpServers(agent);
      if (servers.length === 0) return inner.prepare(session, agent, signal);
      return inSpan(tracer, 'tools/list', {
        kind: 'client',
        attributes: { 'mcp.method.name': 'tools/list', 'hangar.mcp.servers': servers.map((s) => s.name) },
      }, async (span) => {
        const catalog = await inner.prepare(session, agent, signal);
        span.set({ 'hangar.mcp.tools_offered': catalog.mcp.size, 'hangar.mcp.unreachable_servers': catalog.errors.length });
        if (catalog.errors.length) span.fail('mcp_server_unreachable');
        return catalog;
      });
    },
    runMcp(session, agent, server, tool, input, signal) {
      const url = mcpServers(agent).find((s) => s.name === server)?.url;
      return inSpan(tracer, `tools/call ${tool}`, {
        kind: 'client',
        attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool, 'hangar.mcp.server': server, 'server.address': hostOf(url) },
      }, async (span) => {
        const result = await inner.runMcp(session, agent, server, tool, input, signal);
        if (result.error) span.fail(result.error.type);
        else if (result.outcome.isError) span.fail('tool_error');
        return result;
      });
    },
    runWeb: (name, input, agent, signal) => inner.runWeb(name, input, agent, signal),
    closeSession: (sessionId) => inner.closeSession(sessionId),
  };
}

export function observeSandboxProvider(inner: SandboxProvider, tracer: Tracer, metrics: Metrics): SandboxProvider {
  return {
    unavailableReason: () => inner.unavailableReason(),
    ...(inner.limitWarnings ? { limitWarnings: () => inner.limitWarnings!() } : {}),
    async provision(spec, signal) {
      const t0 = performance.now();
      const attributes = { 'hangar.session.id': spec.sessionId, 'hangar.sandbox.network': spec.network.type, 'hangar.sandbox.mounts': spec.mounts.length };
      try {
        const sandbox = await inSpan(tracer, 'sandbox.provision', { attributes }, () => inner.provision(spec, signal));
        metrics.sandboxProvisioned(performance.now() - t0, true);
        return sandbox;
      } catch (err) {
        metrics.sandboxProvisioned(performance.now() - t0, false);
        throw err;
      }
    },
  };
}
