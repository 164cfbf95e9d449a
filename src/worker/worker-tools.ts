// Hangar's built-in sandbox tools as the SDK worker's runnable tools: each call runs in the
// session's sandbox (not on the worker host), and error outcomes become `is_error` results.
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import type { BetaTool, BetaToolResultContentBlockParam } from '@anthropic-ai/sdk/resources/beta';
import { SANDBOX_TOOLS } from '../tools/sandbox-tools.ts';
import type { SessionSandbox } from './session-sandbox.ts';

type Content = BetaToolResultContentBlockParam[];

export function sandboxRunnableTools(box: SessionSandbox): BetaRunnableTool<Record<string, unknown>>[] {
  return [...SANDBOX_TOOLS.values()].map((tool) => ({
    type: 'custom' as const,
    name: tool.name,
    description: tool.description,
    input_schema: tool.input_schema as BetaTool.InputSchema,
    // The tools validate their own input (and report problems to the model as error results).
    parse: (input: unknown) => (input ?? {}) as Record<string, unknown>,
    run: async (input: Record<string, unknown>, ctx?: { signal?: AbortSignal | null }) => {
      const outcome = await box.execute(tool.name, input, ctx?.signal ?? new AbortController().signal);
      if (outcome.isError) throw new ToolError(outcome.content as unknown as Content);
      return outcome.content as unknown as Content;
    },
    // The runner closes every tool when it leaves the session; release is idempotent.
    close: () => box.release(),
  }));
}
