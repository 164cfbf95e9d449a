// Builds the model request from the session's agent snapshot and its log: system prompt, tool
// definitions and the conversation, with prompt-cache breakpoints. Pure and deterministic, so
// the same log always yields the same prefix (which is what makes prompt caching pay off).
import type { StoredEvent } from '../ports/store.ts';
import type { ModelContentBlock, ModelMessage, ModelRequest, ModelToolDefinition } from '../ports/model.ts';
import { conversationOrder, resultTarget } from './log-state.ts';
import { modelToolName } from '../ports/mcp.ts';

export interface AgentSnapshot {
  model: { id: string; effort?: { type: string }; speed?: string };
  system: string | null;
  tools: Array<Record<string, unknown>>;
}

/** Tool definitions for built-in tools the harness can run (supplied by the tool router). */
export type BuiltinToolCatalog = (agent: AgentSnapshot) => ModelToolDefinition[];

const INPUT_BLOCK_TYPES = new Set(['text', 'image', 'document']);

function userBlocks(content: unknown): ModelContentBlock[] {
  if (!Array.isArray(content)) return [];
  const out: ModelContentBlock[] = [];
  for (const b of content as Array<Record<string, unknown>>) {
    if (!INPUT_BLOCK_TYPES.has(String(b.type))) continue;
    if (b.type === 'text') out.push({ type: 'text', text: String(b.text) });
    else if (b.type === 'image') out.push({ type: 'image', source: b.source as Record<string, unknown> });
    else out.push({ type: 'document', source: b.source as Record<string, unknown>, title: (b.title as string) ?? undefined, context: (b.context as string) ?? undefined });
  }
  return out;
}

function resultContent(content: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(content)) return [];
  return (content as Array<Record<string, unknown>>).map((b) => {
    if (b.type === 'document') {
      const { type, source, title, context } = b;
      return Object.fromEntries(Object.entries({ type, source, title, context }).filter(([, v]) => v !== undefined && v !== null));
    }
    return b;
  });
}

/** Converts the conversational part of the log to alternating user/assistant messages. */
export function buildMessages(log: StoredEvent[]): ModelMessage[] {
  const messages: ModelMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: ModelContentBlock[]) => {
    if (!blocks.length) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: [...blocks] });
  };
  for (const { event: e } of conversationOrder(log)) {
    switch (e.type) {
      case 'user.message':
        push('user', userBlocks(e.content));
        break;
      case 'system.message':
        push('user', userBlocks(e.content).map((b) => (b.type === 'text' ? { ...b, text: `<system>${b.text}</system>` } : b)));
        break;
      case 'user.define_outcome': {
        const rubric = e.rubric as { type: string; content?: string; file_id?: string };
        const rubricText = rubric.type === 'text' ? `Rubric:\n${rubric.content}` : `The rubric is in file ${rubric.file_id}; the grader applies it.`;
        push('user', [{ type: 'text', text: `<outcome id="${e.outcome_id}">\nWork until this outcome is achieved: ${e.description}\n${rubricText}\nAn independent grader will review your work against it.\n</outcome>` }]);
        break;
      }
      case 'span.outcome_evaluation_end': {
        const text = e.result === 'needs_revision'
          ? `An independent grader reviewed your work against the outcome and found that it needs revision:\n${e.explanation}\nRevise your work to address this.`
          : `The grader's latest review:\n${e.explanation}\nThe maximum number of revisions has been reached. Wrap up now: summarize what was done and what remains.`;
        push('user', [{ type: 'text', text: `<outcome_evaluation iteration="${e.iteration}">\n${text}\n</outcome_evaluation>` }]);
        break;
      }
      case 'agent.message':
        push('assistant', (e.content as Array<{ type: string; text?: string }>).filter((b) => b.type === 'text' && b.text).map((b) => ({ type: 'text' as const, text: String(b.text) })));
        break;
      case 'agent.tool_use':
      case 'agent.custom_tool_use':
        push('assistant', [{ type: 'tool_use', id: e.id, name: String(e.name), input: (e.input as Record<string, unknown>) ?? {} }]);
        break;
      case 'agent.mcp_tool_use':
        // The model knew the tool by its model-facing name.
        push('assistant', [{ type: 'tool_use', id: e.id, name: modelToolName(String(e.mcp_server_name), String(e.name)), input: (e.input as Record<string, unknown>) ?? {} }]);
        break;
      default: {
        const target = resultTarget(e);
        if (target) push('user', [{ type: 'tool_result', tool_use_id: target, content: resultContent(e.content), is_error: e.is_error === true }]);
      }
    }
  }
  // The API wants tool results first in a user turn (they answer the preceding assistant turn).
  for (const m of messages) {
    if (m.role === 'user') m.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  }
  return messages;
}

export function customToolDefinitions(agent: AgentSnapshot): ModelToolDefinition[] {
  return agent.tools
    .filter((t) => t.type === 'custom')
    .map((t) => ({ name: String(t.name), description: String(t.description ?? ''), input_schema: t.input_schema as Record<string, unknown> }));
}

export function buildModelRequest(agent: AgentSnapshot, log: StoredEvent[], opts: { maxTokens: number; builtinTools: BuiltinToolCatalog }): ModelRequest {
  const tools = [...opts.builtinTools(agent), ...customToolDefinitions(agent)];
  if (tools.length) tools[tools.length - 1] = { ...tools[tools.length - 1], cache: true };
  const messages = buildMessages(log);
  const last = messages[messages.length - 1];
  if (last) {
    const i = last.content.length - 1;
    last.content[i] = { ...last.content[i], cache: true };
  }
  const model: ModelRequest['model'] = { id: agent.model.id };
  if (agent.model.effort) model.effort = agent.model.effort.type;
  if (agent.model.speed) model.speed = agent.model.speed;
  return {
    model,
    system: agent.system ? [{ text: agent.system, cache: true }] : [],
    tools,
    messages,
    maxTokens: opts.maxTokens,
  };
}
