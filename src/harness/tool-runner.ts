// The tool runner port as the harness sees it: which built-in tools to offer the model, and how to
// run one call. The sandbox-backed runner arrives with the sandbox issue; until then `NoSandboxTools`
// offers nothing and answers any built-in call with a clear error.
import type { ModelToolDefinition } from '../ports/model.ts';
import type { AgentSnapshot } from './context.ts';

export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolOutcome {
  content: Array<Record<string, unknown>>;
  isError: boolean;
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
