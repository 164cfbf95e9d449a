// The built-in tools that run inside a sandbox, by name, and their definitions for the model.
import type { ModelToolDefinition } from '../ports/model.ts';
import type { BuiltinTool } from './builtin-tool.ts';
import { bashTool } from './bash.ts';
import { editTool } from './edit.ts';
import { globTool } from './glob.ts';
import { grepTool } from './grep.ts';
import { readTool } from './read.ts';
import { writeTool } from './write.ts';

export const SANDBOX_TOOLS: ReadonlyMap<string, BuiltinTool> = new Map(
  [bashTool, readTool, writeTool, editTool, globTool, grepTool].map((t) => [t.name, t]),
);

/**
 * Definitions (`{name, description, input_schema}`) of the named sandbox tools, in the order given.
 * Names that are not sandbox tools (`web_fetch`, `web_search`, custom or MCP tools) are skipped:
 * the caller passes the agent's enabled toolset names and gets what the sandbox serves. Schemas
 * are copies, so callers may annotate them freely.
 */
export function sandboxToolDefinitions(names: readonly string[]): ModelToolDefinition[] {
  const defs: ModelToolDefinition[] = [];
  for (const name of new Set(names)) {
    const tool = SANDBOX_TOOLS.get(name);
    if (tool) defs.push({ name: tool.name, description: tool.description, input_schema: structuredClone(tool.input_schema) });
  }
  return defs;
}
