// The shape every built-in sandbox tool has, plus the small helpers tools share for building
// results. Tools reach the filesystem only through `SandboxRuntime.exec`/`shell`, so the sandbox
// (not this code) decides what is readable and writable.
import type { ToolOutcome } from '../ports/sandbox.ts';
import type { SandboxRuntime } from './runtime.ts';
import { validateInput } from './validate-input.ts';

/**
 * The subset of JSON Schema the built-in tools use (and `validate-input.ts` enforces). A type
 * alias, not an interface, so it is assignable to `Record<string, unknown>` (model tool definitions).
 */
export type JsonSchema = {
  type?: 'object' | 'string' | 'boolean' | 'integer' | 'number' | 'array';
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
};

export interface BuiltinTool {
  /** Tool name as the model sees it (`bash`, `read`, ...). */
  readonly name: string;
  /** Model-facing description. */
  readonly description: string;
  /** JSON Schema (type `object`) of the tool input. */
  readonly input_schema: JsonSchema;
  /**
   * Runs one call. Resolves `isError: true` for everything the model caused or can fix (bad input,
   * missing file, non-matching edit, timeout). Rejects only when the runtime itself threw (the
   * sandbox is broken), so the caller can replace the sandbox.
   */
  run(input: Record<string, unknown>, rt: SandboxRuntime, signal: AbortSignal): Promise<ToolOutcome>;
}

/** A failure reported to the model as an `isError: true` result (never a broken sandbox). */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The Messages API rejects empty text blocks, so every text result carries something.
 */
export function textOutcome(text: string, isError = false): ToolOutcome {
  return { content: [{ type: 'text', text: text === '' ? '(no output)' : text }], isError };
}

export function errorOutcome(message: string): ToolOutcome {
  return textOutcome(message, true);
}

/** Turns a thrown `ToolFailure` into an error result; anything else (runtime failure) propagates. */
export async function guard(body: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ToolFailure) return errorOutcome(err.message);
    throw err;
  }
}

export interface ToolSpec {
  name: string;
  description: string;
  input_schema: JsonSchema;
  /** Called with schema-valid input; may throw `ToolFailure` for model-fixable errors. */
  handler(input: Record<string, unknown>, rt: SandboxRuntime, signal: AbortSignal): Promise<ToolOutcome>;
}

export const INTERRUPTED_MESSAGE = 'Tool call was interrupted before it completed.';

/**
 * Builds a `BuiltinTool` whose `run` validates its input first (so tools are safe to call directly,
 * not only through `RuntimeSandbox`), and maps `ToolFailure` to an error result.
 */
export function defineTool(spec: ToolSpec): BuiltinTool {
  return {
    name: spec.name,
    description: spec.description,
    input_schema: spec.input_schema,
    async run(input, rt, signal) {
      const problem = validateInput(spec.name, spec.input_schema, input);
      if (problem) return errorOutcome(problem);
      if (signal.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
      return guard(() => spec.handler(input, rt, signal));
    },
  };
}
