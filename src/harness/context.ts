// Builds the model request from the session's agent snapshot and its log: system prompt, tool
// definitions and the conversation, with prompt-cache breakpoints. Pure and deterministic, so
// the same log always yields the same prefix (which is what makes prompt caching pay off).
import type { StoredEvent } from '../ports/store.ts';
import type { ModelContentBlock, ModelMessage, ModelRequest, ModelToolDefinition } from '../ports/model.ts';
import { conversationOrder, resultTarget } from './log-state.ts';
import { modelToolName } from '../ports/mcp.ts';
import { trimToolResult } from './tool-result-trim.ts';

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

/** How conversation items are rendered for the model. */
export interface RenderOptions {
  /** Tool results larger than this (estimated tokens) are sent trimmed, with a note; the log keeps them whole. */
  maxToolResultTokens?: number;
}

/** One conversational event as the model sees it: its role and blocks (undefined: not conversational). */
export interface ConversationItem {
  role: ModelMessage['role'];
  blocks: ModelContentBlock[];
}

export function conversationItem(e: StoredEvent['event'], opts: RenderOptions = {}): ConversationItem | undefined {
  switch (e.type) {
    case 'user.message':
      return { role: 'user', blocks: userBlocks(e.content) };
    case 'system.message':
      // A `role: "system"` turn after the user turn it accompanies (API-SPEC §4.5).
      return { role: 'system', blocks: userBlocks(e.content).filter((b) => b.type === 'text') };
    case 'user.define_outcome': {
      const rubric = e.rubric as { type: string; content?: string; file_id?: string };
      const rubricText = rubric.type === 'text' ? `Rubric:\n${rubric.content}` : `The rubric is in file ${rubric.file_id}; the grader applies it.`;
      return { role: 'user', blocks: [{ type: 'text', text: `<outcome id="${e.outcome_id}">\nWork until this outcome is achieved: ${e.description}\n${rubricText}\nAn independent grader will review your work against it.\n</outcome>` }] };
    }
    case 'span.outcome_evaluation_end': {
      const text = e.result === 'needs_revision'
        ? `An independent grader reviewed your work against the outcome and found that it needs revision:\n${e.explanation}\nRevise your work to address this.`
        : `The grader's latest review:\n${e.explanation}\nThe maximum number of revisions has been reached. Wrap up now: summarize what was done and what remains.`;
      return { role: 'user', blocks: [{ type: 'text', text: `<outcome_evaluation iteration="${e.iteration}">\n${text}\n</outcome_evaluation>` }] };
    }
    case 'agent.message':
      return { role: 'assistant', blocks: (e.content as Array<{ type: string; text?: string }>).filter((b) => b.type === 'text' && b.text).map((b) => ({ type: 'text' as const, text: String(b.text) })) };
    case 'agent.tool_use':
    case 'agent.custom_tool_use':
      return { role: 'assistant', blocks: [{ type: 'tool_use', id: e.id, name: String(e.name), input: (e.input as Record<string, unknown>) ?? {} }] };
    case 'agent.mcp_tool_use':
      // The model knew the tool by its model-facing name.
      return { role: 'assistant', blocks: [{ type: 'tool_use', id: e.id, name: modelToolName(String(e.mcp_server_name), String(e.name)), input: (e.input as Record<string, unknown>) ?? {} }] };
    default: {
      const target = resultTarget(e);
      if (!target) return undefined;
      const content = trimToolResult(resultContent(e.content), opts.maxToolResultTokens);
      return { role: 'user', blocks: [{ type: 'tool_result', tool_use_id: target, content, is_error: e.is_error === true }] };
    }
  }
}

/** Assembles items into alternating messages (a system turn stands alone). */
export function assembleMessages(items: Iterable<ConversationItem>): ModelMessage[] {
  const messages: ModelMessage[] = [];
  for (const { role, blocks } of items) {
    if (!blocks.length) continue;
    const last = messages[messages.length - 1];
    if (last && last.role === role && role !== 'system') last.content.push(...blocks);
    else messages.push({ role, content: [...blocks] });
  }
  // The API wants tool results first in a user turn (they answer the preceding assistant turn).
  for (const m of messages) {
    if (m.role === 'user') m.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  }
  return messages;
}

/** Converts the conversational part of the log to alternating user/assistant messages. */
export function buildMessages(log: StoredEvent[], opts: RenderOptions = {}): ModelMessage[] {
  const items: ConversationItem[] = [];
  for (const { event } of conversationOrder(log)) {
    const item = conversationItem(event, opts);
    if (item) items.push(item);
  }
  return assembleMessages(items);
}

export function customToolDefinitions(agent: AgentSnapshot): ModelToolDefinition[] {
  return agent.tools
    .filter((t) => t.type === 'custom')
    .map((t) => ({ name: String(t.name), description: String(t.description ?? ''), input_schema: t.input_schema as Record<string, unknown> }));
}

export interface RequestOptions extends RenderOptions {
  maxTokens: number;
  builtinTools: BuiltinToolCatalog;
  /** The conversation as the model should see it (a compacted view); default: the whole log. */
  messages?: ModelMessage[];
  /** Blocks of `messages` that already carry a cache breakpoint; default: counted. */
  cacheMarks?: number;
}

export function buildModelRequest(agent: AgentSnapshot, log: StoredEvent[], opts: RequestOptions): ModelRequest {
  const tools = [...opts.builtinTools(agent), ...customToolDefinitions(agent)];
  const messages = opts.messages ?? buildMessages(log, opts);
  const model: ModelRequest['model'] = { id: agent.model.id };
  if (agent.model.effort) model.effort = agent.model.effort.type;
  if (agent.model.speed) model.speed = agent.model.speed;
  const request: ModelRequest = {
    model,
    system: agent.system ? [{ text: agent.system }] : [],
    tools,
    messages,
    maxTokens: opts.maxTokens,
  };
  placeCacheBreakpoints(request, opts.cacheMarks);
  return request;
}

/**
 * Prompt-cache breakpoints (Anthropic takes at most four), placed where the prefix is stable:
 * the system prompt (or, without one, the last tool: both come before the messages), the end of the
 * previous request's conversation (the user turn before the last answer: this request reads the
 * prefix that one wrote), and the end of this one (written for the next). A compacted view marks
 * its summary itself, which stays the same prefix until the next compaction.
 */
export function placeCacheBreakpoints(request: ModelRequest, existingMarks?: number): void {
  if (request.system.length) {
    const i = request.system.length - 1;
    request.system[i] = { ...request.system[i], cache: true };
  } else if (request.tools.length) {
    const i = request.tools.length - 1;
    request.tools[i] = { ...request.tools[i], cache: true };
  }
  const marks = new Set<number>();
  const messages = request.messages;
  if (messages.length) marks.add(messages.length - 1);
  for (let a = messages.length - 1; a > 0; a--) {
    if (messages[a].role === 'assistant') {
      if (a < messages.length - 1) marks.add(a - 1);
      break;
    }
  }
  const existing = existingMarks ?? messages.reduce((n, m) => n + m.content.filter((b) => b.cache).length, 0);
  const budget = 4 - 1 - existing;
  // The marked message is replaced, not changed: its content may be shared with a cached rendering.
  [...marks].sort((x, y) => y - x).slice(0, Math.max(0, budget)).forEach((m) => {
    const content = messages[m].content.slice();
    content[content.length - 1] = { ...content[content.length - 1], cache: true };
    messages[m] = { ...messages[m], content };
  });
}
