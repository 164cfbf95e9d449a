// One tool call as the harness runs it: an `execute_tool <name>` span (GenAI semantic conventions)
// around the call — so MCP and sandbox spans nest under it — with the permission that let it run,
// its outcome and error type, and the tool-call metrics. A denied call gets a zero-length span.
import { performance } from 'node:perf_hooks';
import type { Metrics, ToolKind } from '../../ports/metrics.ts';
import { traceNow, type TraceSpan, type Tracer } from '../../ports/tracer.ts';
import type { ContentCapture } from './content-capture.ts';

export interface ToolCallTelemetry {
  tracer?: Tracer;
  metrics?: Metrics;
  content?: ContentCapture;
}

interface ToolUseRef {
  id: string;
  name: string;
  type: string;
  denied?: unknown;
}

function kindOf(use: ToolUseRef): ToolKind {
  if (use.type === 'agent.mcp_tool_use') return 'mcp';
  return use.name === 'web_fetch' || use.name === 'web_search' ? 'web' : 'builtin';
}

export class ToolCallTrace {
  private readonly t: ToolCallTelemetry;
  private readonly use: ToolUseRef;
  private readonly event: Record<string, unknown>;
  private readonly input: Record<string, unknown>;
  private span: TraceSpan | undefined;
  private startedAt: number | undefined;

  /** `event`: the stored tool-use event (its `evaluated_permission`); `input`: the call's input. */
  constructor(t: ToolCallTelemetry, use: ToolUseRef, event: Record<string, unknown>, input: Record<string, unknown>) {
    this.t = t;
    this.use = use;
    this.event = event;
    this.input = input;
  }

  private startSpan(): TraceSpan | undefined {
    const tracer = this.t.tracer;
    if (!tracer?.enabled) return undefined;
    const permission = typeof this.event.evaluated_permission === 'string' ? this.event.evaluated_permission : undefined;
    return tracer.start(`execute_tool ${this.use.name}`, {
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': this.use.name,
        'gen_ai.tool.call.id': this.use.id,
        'gen_ai.tool.type': kindOf(this.use) === 'mcp' ? 'extension' : 'function',
        'hangar.tool.kind': kindOf(this.use),
        'hangar.tool.permission': permission,
        'hangar.tool.confirmation': permission === 'ask' ? (this.use.denied ? 'denied' : 'allowed') : undefined,
        'hangar.mcp.server': typeof this.event.mcp_server_name === 'string' ? this.event.mcp_server_name : undefined,
      },
    });
  }

  /** Runs the call inside the tool span. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.startedAt = performance.now();
    this.span = this.startSpan();
    return this.span ? this.span.run(fn) : fn();
  }

  /** The call finished (or was denied without running): records metrics and ends the span. */
  end(outcome: { isError: boolean; content: unknown }, error?: { type: string; message?: string }): void {
    const ran = this.startedAt !== undefined;
    const durationMs = ran ? performance.now() - this.startedAt! : 0;
    const result = !ran ? 'denied' : outcome.isError ? 'error' : 'ok';
    this.t.metrics?.toolCall(this.use.name, kindOf(this.use), result, durationMs);
    const span = this.span ?? this.startSpan();
    if (!span) return;
    span.set({ 'hangar.tool.outcome': result });
    if (!ran) span.fail('permission_denied');
    else if (error) span.fail(error.type, error.message);
    else if (outcome.isError) span.fail('tool_error');
    const content = this.t.content;
    if (!content?.enabled) {
      span.end();
      return;
    }
    const endMs = traceNow();
    void (async () => {
      try {
        span.set({ 'gen_ai.tool.call.arguments': await content.capture(this.input), 'gen_ai.tool.call.result': await content.capture(outcome.content) });
      } finally {
        span.end(endMs);
      }
    })();
  }
}
