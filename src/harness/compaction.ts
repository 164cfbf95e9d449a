// Compaction: when a conversation outgrows the model's context, its oldest part is summarized by
// the agent's model and later requests are built from the summary plus the recent events. The log
// is never rewritten; the model's view is a function of a conversation's events and the record of
// its last compaction (kept on the session row, written in the same commit as the
// `agent.thread_context_compacted` event, so a finished compaction is never redone and one cut short
// by a crash leaves only a dangling span, which the planner closes before the step is redone).
import type { StoredEvent } from '../ports/store.ts';
import type { ModelContentBlock, ModelMessage, ModelRequest } from '../ports/model.ts';
import { conversationOrder, resultTarget, isToolUse } from './log-state.ts';
import { assembleMessages, conversationItem, type ConversationItem } from './context.ts';
import { truncateMiddle } from '../domain/truncate.ts';
import { estimateTextTokens, type Calibration, type ItemTokenCache } from './token-count.ts';
import type { ContextLimits } from './context-window.ts';

/** Session-row key of the primary conversation's context state (threads get their own keys). */
export const PRIMARY_CONVERSATION = 'primary';

/** What a finished compaction left: the summary and where it ends. */
export interface CompactionRecord {
  /** The `agent.thread_context_compacted` event that recorded it. */
  eventId: string;
  /** The last conversation item the summary covers (in the order the model sees items). */
  throughId: string;
  summary: string;
  /** Conversation items covered in all (this and earlier compactions). */
  covered: number;
}

/** Per-conversation context state, on the session row as hidden `_context[conversation]`. */
export interface ConversationContext {
  compaction?: CompactionRecord;
  calibration?: Calibration;
}

export function conversationContext(session: Record<string, unknown>, conversation = PRIMARY_CONVERSATION): ConversationContext {
  return ((session._context as Record<string, ConversationContext> | undefined) ?? {})[conversation] ?? {};
}

/** Session fields replacing one conversation's context state. */
export function contextFields(session: Record<string, unknown>, next: ConversationContext, conversation = PRIMARY_CONVERSATION) {
  return { _context: { ...((session._context as Record<string, ConversationContext> | undefined) ?? {}), [conversation]: next } };
}

/** The model's view of a conversation: the summary (if any) and the items after it. */
export interface ConversationView {
  summary: string | undefined;
  items: StoredEvent[];
}

export function conversationView(events: StoredEvent[], record: CompactionRecord | undefined): ConversationView {
  const order = conversationOrder(events);
  if (!record) return { summary: undefined, items: order };
  const at = order.findIndex((e) => e.event.id === record.throughId);
  if (at < 0) return { summary: undefined, items: order };
  return { summary: record.summary, items: order.slice(at + 1) };
}

export const SUMMARY_OPEN = '<conversation_summary>';

export function summaryItem(summary: string): ConversationItem {
  return {
    role: 'user',
    blocks: [{
      type: 'text',
      text: `${SUMMARY_OPEN}\nThe earlier part of this conversation was compacted to save context; this summary replaces it.\n${summary}\n</conversation_summary>`,
      // Stable until the next compaction: a cache breakpoint of its own.
      cache: true,
    }],
  };
}

export interface RenderedView {
  messages: ModelMessage[];
  /** Estimated tokens per view item (same order as `view.items`). Read-only for callers. */
  itemTokens: number[];
  summaryTokens: number;
  /** Sum of `itemTokens`. */
  total: number;
  /** Blocks of `messages` that already carry a cache breakpoint (the summary's). */
  cacheMarks: number;
}

/** A conversation's view and its rendering (see `LogView.render`). */
export interface RenderedConversation {
  view: ConversationView;
  rendered: RenderedView;
}

/** Renders the conversation under a compaction record (`conversationView` + `renderView`, or a `LogView`'s cache). */
export type ConversationRenderer = (record: CompactionRecord | undefined, maxToolResultTokens: number) => RenderedConversation;

/** Estimated tokens of the summary turn. */
export function summaryItemTokens(summary: string): number {
  return estimateTextTokens((summaryItem(summary).blocks[0] as { text: string }).text) + 4;
}

/** The view as messages, with each item's token estimate (cached per event and rendering). */
export function renderView(view: ConversationView, tokens: ItemTokenCache, maxToolResultTokens: number): RenderedView {
  const items: ConversationItem[] = [];
  const itemTokens: number[] = [];
  const summary = view.summary === undefined ? undefined : summaryItem(view.summary);
  if (summary) items.push(summary);
  for (const e of view.items) {
    const item = conversationItem(e.event, { maxToolResultTokens }) ?? { role: 'user' as const, blocks: [] };
    itemTokens.push(tokens.tokens(`${e.event.id}:${maxToolResultTokens}`, () => item.blocks));
    items.push(item);
  }
  const summaryTokens = view.summary === undefined ? 0 : summaryItemTokens(view.summary);
  return { messages: assembleMessages(items), itemTokens, summaryTokens, total: itemTokens.reduce((a, b) => a + b, 0), cacheMarks: summary ? 1 : 0 };
}

/** Share of the window the recent, verbatim part of a compacted conversation may take. */
export const KEEP_SHARE = 0.3;
/** Share of the window a summary may take. */
export const SUMMARY_SHARE = 0.15;

/**
 * The places a conversation can be cut (the number of items before the cut): never inside a tool
 * call (between a call and its result, which would leave a result without its call), and always
 * keeping at least the last item.
 */
export function cutPoints(items: StoredEvent[]): number[] {
  const n = items.length;
  const blocked = new Array<number>(n + 1).fill(0);
  const useIndex = new Map<string, number>();
  items.forEach((e, i) => {
    if (isToolUse(e.event.type)) useIndex.set(e.event.id, i);
    const target = resultTarget(e.event);
    const from = target === undefined ? undefined : useIndex.get(target);
    if (from !== undefined) {
      blocked[from + 1] += 1;
      blocked[i + 1] -= 1;
    }
  });
  const points: number[] = [];
  let open = 0;
  for (let c = 0; c < n; c++) {
    open += blocked[c];
    if (c >= 1 && open === 0 && resultTarget(items[c].event) === undefined) points.push(c);
  }
  return points;
}

/**
 * Where to cut: the number of view items to summarize, or undefined when no cut is possible. The
 * kept part is the longest suffix within `keepTokens` (the shortest possible when none fits).
 */
export function planCut(points: number[], itemTokens: number[], keepTokens: number): number | undefined {
  if (!points.length) return undefined;
  const suffixAt = new Array<number>(itemTokens.length + 1).fill(0);
  for (let i = itemTokens.length - 1; i >= 0; i--) suffixAt[i] = suffixAt[i + 1] + itemTokens[i];
  return points.find((c) => suffixAt[c] <= keepTokens) ?? points[points.length - 1];
}

/**
 * Shortens a cut so the summarizing request fits: the furthest cut point whose items fit in
 * `inputTokens` (the first point when even it does not: its transcript is then trimmed).
 */
export function fitCut(points: number[], itemTokens: number[], cut: number, inputTokens: number): number {
  let used = 0;
  let best: number | undefined;
  let next = 0;
  for (let c = 1; c <= cut; c++) {
    used += itemTokens[c - 1];
    if (used > inputTokens) break;
    while (next < points.length && points[next] < c) next++;
    if (points[next] === c) best = c;
  }
  return best ?? points[0];
}

export const SUMMARY_SYSTEM = [
  'You compact the conversation of an autonomous agent so that it can keep working with a shorter context.',
  'Write a summary that will replace the transcript you are given (and the earlier summary, if there is one). The agent will see only your summary and the messages that follow it.',
  'Keep, precisely: the user\'s instructions, requirements and preferences (quote them where the wording matters);',
  'decisions made and their reasons; the current state of the work; open tasks and next steps;',
  'file paths, identifiers, commands, URLs and names; tool results that are still needed (exact values, errors, outputs referred to later).',
  'Drop greetings, superseded attempts and tool output that no longer matters. Output only the summary, in plain text.',
].join(' ');

function itemText(e: StoredEvent, maxItemTokens: number): string {
  const item = conversationItem(e.event, { maxToolResultTokens: maxItemTokens });
  if (!item) return '';
  const parts = item.blocks.map((b: ModelContentBlock) => {
    if (b.type === 'text') return b.text;
    if (b.type === 'tool_use') return `[called tool ${b.name} (id ${b.id}) with input ${JSON.stringify(b.input)}]`;
    if (b.type === 'tool_result') {
      const text = b.content.map((c) => (c.type === 'text' ? String(c.text) : `[${String(c.type)}]`)).join('\n');
      return `[result of tool call ${b.tool_use_id}${b.is_error ? ' (error)' : ''}]\n${text}`;
    }
    return `[${b.type}]`;
  });
  return `[${item.role}]\n${truncateMiddle(parts.join('\n'), maxItemTokens * 4)}`;
}

/** The dedicated summarizing request: no tools, the summarizer's instructions, one user turn. */
export function summaryRequest(model: ModelRequest['model'], previous: string | undefined, covered: StoredEvent[], limits: ContextLimits, summaryTokens: number): ModelRequest {
  const inputTokens = Math.max(256, limits.window - summaryTokens - estimateTextTokens(SUMMARY_SYSTEM) - 200);
  const maxItem = Math.max(100, Math.floor(inputTokens / 4));
  const transcript = truncateMiddle(covered.map((e) => itemText(e, maxItem)).filter(Boolean).join('\n\n'), Math.max(400, (inputTokens - (previous ? estimateTextTokens(previous) : 0)) * 4));
  const text = [
    previous ? `<previous_summary>\n${previous}\n</previous_summary>\n` : '',
    `<transcript>\n${transcript}\n</transcript>\n`,
    previous
      ? 'Write the new summary: everything the previous summary kept that still matters, plus what the transcript adds.'
      : 'Write the summary of this transcript.',
  ].join('\n');
  return {
    model: { id: model.id },
    system: [{ text: SUMMARY_SYSTEM }],
    tools: [],
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    maxTokens: summaryTokens,
  };
}

/** The output cap of a summarizing request (and the most a stored summary may take). */
export function summaryTokenCap(limits: ContextLimits): number {
  return Math.max(128, Math.min(limits.maxOutput, Math.floor(limits.window * SUMMARY_SHARE)));
}

/** The record a finished summarizing request leaves. */
export function nextRecord(eventId: string, text: string, covered: StoredEvent[], previous: CompactionRecord | undefined, cap: number): CompactionRecord {
  return {
    eventId,
    throughId: covered[covered.length - 1].event.id,
    summary: truncateMiddle(text.trim(), cap * 4),
    covered: (previous?.covered ?? 0) + covered.length,
  };
}

