// Server-side tools: MCP toolsets over the session's MCP connection pool (credentials come from
// the session's vaults through the pool's provider) and the web tools. Failures to reach an MCP
// server become `session.error` bodies and the turn continues without that server's tools.
import type { ModelToolDefinition } from '../ports/model.ts';
import { McpServerError, McpToolNameIndex, type McpSessions } from '../ports/mcp.ts';
import type { WebSearchProvider } from '../ports/web-search.ts';
import type { SessionErrorBody } from '../domain/session-events.ts';
import type { AgentSnapshot } from '../harness/context.ts';
import type { McpRoute, ServerToolCatalog, ServerToolRunner } from '../harness/tool-runner.ts';
import type { ToolOutcome } from '../ports/sandbox.ts';
import { builtinPolicy } from '../harness/permissions.ts';
import { WEB_FETCH_TOOL, runWebFetch, type WebFetcher } from './web-fetch.ts';
import { WEB_SEARCH_TOOL, runWebSearch } from './web-search.ts';

type Policy = McpRoute['policy'];

interface McpToolsetConfig {
  type: 'mcp_toolset';
  mcp_server_name: string;
  default_config?: { enabled?: boolean; permission_policy?: Policy };
  configs?: Array<{ name: string; enabled?: boolean; permission_policy?: Policy }>;
}

export interface ServerToolsOptions {
  mcp: McpSessions | undefined;
  fetcher: WebFetcher | undefined;
  search: WebSearchProvider | undefined;
}

export function mcpErrorBody(err: McpServerError): SessionErrorBody {
  return {
    type: err.kind === 'authentication' ? 'mcp_authentication_failed_error' : 'mcp_connection_failed_error',
    message: err.message,
    mcp_server_name: err.serverName,
    // The server is tried again at the next model request.
    retry_status: { type: 'retrying' },
  };
}

function toolsetConfig(agent: AgentSnapshot, server: string): McpToolsetConfig | undefined {
  return agent.tools.find((t) => t.type === 'mcp_toolset' && t.mcp_server_name === server) as McpToolsetConfig | undefined;
}

export class ServerTools implements ServerToolRunner {
  private readonly o: ServerToolsOptions;

  constructor(opts: ServerToolsOptions) {
    this.o = opts;
  }

  async prepare(session: { id: string }, agent: AgentSnapshot, signal: AbortSignal): Promise<ServerToolCatalog> {
    const definitions: ModelToolDefinition[] = [];
    const errors: SessionErrorBody[] = [];
    if (this.o.fetcher && builtinPolicy(agent, 'web_fetch')) definitions.push({ ...WEB_FETCH_TOOL });
    if (this.o.search && builtinPolicy(agent, 'web_search')) definitions.push({ ...WEB_SEARCH_TOOL });
    const offered: Array<{ server: string; tool: string; description: string; schema: Record<string, unknown>; policy: Policy }> = [];
    const servers = ((agent as unknown as { mcp_servers?: Array<{ name: string; url: string }> }).mcp_servers ?? []);
    for (const server of servers) {
      const cfg = toolsetConfig(agent, server.name);
      if (!cfg || !this.o.mcp) continue;
      try {
        for (const t of await this.o.mcp.listTools(session.id, server, signal)) {
          const own = cfg.configs?.find((c) => c.name === t.name);
          if (!(own?.enabled ?? cfg.default_config?.enabled ?? true)) continue;
          const policy = own?.permission_policy ?? cfg.default_config?.permission_policy ?? { type: 'always_ask' };
          offered.push({ server: server.name, tool: t.name, description: t.description ?? '', schema: t.inputSchema as Record<string, unknown>, policy });
        }
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof McpServerError) errors.push(mcpErrorBody(err));
        else errors.push({ type: 'mcp_connection_failed_error', message: `MCP server ${server.name}: ${(err as Error).message}`, mcp_server_name: server.name, retry_status: { type: 'retrying' } });
      }
    }
    const index = new McpToolNameIndex(offered.map(({ server, tool }) => ({ server, tool })));
    const mcp = new Map<string, McpRoute>();
    for (const t of offered) {
      const name = index.nameOf(t.server, t.tool)!;
      mcp.set(name, { server: t.server, tool: t.tool, policy: t.policy });
      definitions.push({ name, description: t.description || `${t.tool} (MCP server ${t.server})`, input_schema: t.schema ?? { type: 'object' } });
    }
    return { definitions, mcp, errors };
  }

  async runMcp(session: { id: string }, agent: AgentSnapshot, server: string, tool: string, input: Record<string, unknown>, signal: AbortSignal) {
    const ref = ((agent as unknown as { mcp_servers?: Array<{ name: string; url: string }> }).mcp_servers ?? []).find((s) => s.name === server);
    if (!ref || !this.o.mcp) return { outcome: failure(`MCP server ${server} is not configured for this agent.`) };
    try {
      const result = await this.o.mcp.callTool(session.id, ref, tool, input, signal);
      return { outcome: { content: result.content.length ? result.content : [{ type: 'text', text: '(no content)' }], isError: result.isError } };
    } catch (err) {
      if (err instanceof McpServerError) return { outcome: failure(`MCP server ${server} failed: ${err.message}`), error: mcpErrorBody(err) };
      return { outcome: failure(`MCP call failed: ${(err as Error).message}`) };
    }
  }

  async runWeb(name: string, input: Record<string, unknown>, agent: AgentSnapshot, signal: AbortSignal): Promise<ToolOutcome> {
    const cfg = ((agent.tools.find((t) => t.type === 'agent_toolset_20260401') as { configs?: Array<Record<string, unknown>> } | undefined)?.configs ?? [])
      .find((c) => c.name === name) ?? {};
    if (name === 'web_fetch' && this.o.fetcher) return runWebFetch(input, cfg as never, this.o.fetcher, signal);
    if (name === 'web_search' && this.o.search) return runWebSearch(input, cfg as never, this.o.search, signal);
    return failure(`The tool "${name}" is not available on this server.`);
  }

  async closeSession(sessionId: string): Promise<void> {
    await this.o.mcp?.closeSession(sessionId);
  }
}

function failure(text: string): ToolOutcome {
  return { content: [{ type: 'text', text }], isError: true };
}
