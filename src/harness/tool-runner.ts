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

export interface ToolRunner {
  /** Built-in tool definitions to offer for this agent (only tools that can actually run). */
  catalog(agent: AgentSnapshot): ModelToolDefinition[];
  run(sessionId: string, call: ToolCall, opts: { signal: AbortSignal }): Promise<ToolOutcome>;
}

export class NoSandboxTools implements ToolRunner {
  catalog(): ModelToolDefinition[] {
    return [];
  }

  async run(_sessionId: string, call: ToolCall): Promise<ToolOutcome> {
    return {
      content: [{ type: 'text', text: `The tool "${call.name}" is not available: this server has no sandbox provider configured.` }],
      isError: true,
    };
  }
}
