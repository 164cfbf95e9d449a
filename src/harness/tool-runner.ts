// The tool runner port as the harness sees it: which built-in tools to offer the model, and how to
// run one call. The sandbox-backed runner arrives with the sandbox issue; until then `NoSandboxTools`
// offers nothing and answers any built-in call with a clear error.
import type { ModelToolDefinition } from '../ports/model.ts';
import type { AgentSnapshot } from './context.ts';
import type { SessionErrorBody } from '../domain/session-events.ts';

export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolOutcome {
  content: Array<Record<string, unknown>>;
  isError: boolean;
  /** Session-level problems found while preparing the call (e.g. a repository that did not clone): `session.error` events before the result. */
  errors?: SessionErrorBody[];
}

/** What a runner may need to know about the session a call belongs to. */
export interface ToolSession {
  id: string;
  environment_id: string;
  resources: Array<Record<string, unknown>>;
}

export interface ToolRunner {
  /** Built-in tool definitions to offer for this agent (only tools that can actually run). */
  catalog(agent: AgentSnapshot): ModelToolDefinition[];
  run(session: ToolSession, call: ToolCall, opts: { signal: AbortSignal }): Promise<ToolOutcome>;
  /** A session was created: get ready for its first call (e.g. a warm sandbox). Best effort, never throws. */
  prewarm?(session: { id: string; environment_id: string }): Promise<void>;
  /** The session went idle: hand back what it produced (e.g. capture output files). */
  settle?(session: ToolSession): Promise<void>;
  /** The session can run no more tools (archived): release its sandbox, keep its workspace. */
  release?(sessionId: string): Promise<void>;
  /** The session is being deleted: release its sandbox and remove its workspace. */
  forget?(sessionId: string): Promise<void>;
  /** Server shutdown: release every sandbox (workspaces stay on disk). */
  close?(): Promise<void>;
}

export class NoSandboxTools implements ToolRunner {
  catalog(): ModelToolDefinition[] {
    return [];
  }

  async run(_session: ToolSession, call: ToolCall): Promise<ToolOutcome> {
    return {
      content: [{ type: 'text', text: `The tool "${call.name}" is not available: this server has no sandbox provider configured.` }],
      isError: true,
    };
  }
}

/** An MCP tool offered to the model, by its model-facing name. */
export interface McpRoute {
  server: string;
  tool: string;
  policy: { type: 'always_allow' | 'always_ask' | 'auto' };
}

export interface ServerToolCatalog {
  /** MCP and web tool definitions to offer. */
  definitions: ModelToolDefinition[];
  mcp: Map<string, McpRoute>;
  /** MCP servers that could not be reached: reported as `session.error`, the turn goes on without them. */
  errors: SessionErrorBody[];
}

/**
 * Tools that always run on the server, never in a sandbox: MCP toolsets (with credentials the
 * platform injects from the session's vaults) and `web_fetch` / `web_search`.
 */
export interface ServerToolRunner {
  prepare(session: { id: string }, agent: AgentSnapshot, signal: AbortSignal): Promise<ServerToolCatalog>;
  runMcp(session: { id: string }, agent: AgentSnapshot, server: string, tool: string, input: Record<string, unknown>, signal: AbortSignal):
    Promise<{ outcome: ToolOutcome; error?: SessionErrorBody }>;
  runWeb(name: string, input: Record<string, unknown>, agent: AgentSnapshot, signal: AbortSignal): Promise<ToolOutcome>;
  closeSession(sessionId: string): Promise<void>;
}

/** No MCP connector and no web tools configured. */
export const NO_SERVER_TOOLS: ServerToolRunner = {
  async prepare() {
    return { definitions: [], mcp: new Map(), errors: [] };
  },
  async runMcp(_s, _a, server) {
    return { outcome: { content: [{ type: 'text', text: `MCP server ${server} is not available on this server.` }], isError: true } };
  },
  async runWeb(name) {
    return { content: [{ type: 'text', text: `The tool "${name}" is not available on this server.` }], isError: true };
  },
  async closeSession() {},
};
