// One session's log as this process last committed or read it, with what the harness derives from
// it kept up to date event by event: the planner's facts (`LogStateFold`), the conversation order and
// the rendered messages of the last request. `SessionLog` advances a view with every commit it makes
// and checks it against the session row's log revision before each use, so a step costs the same at
// turn 10,000 as at turn 1; a view it cannot vouch for (process start, another writer, a gap) is
// rebuilt from the whole log. Sessions with outcomes take their outcome facts from the whole log.
import { isDeepStrictEqual } from 'node:util';
import type { StoredEvent } from '../ports/store.ts';
import type { ModelContentBlock, ModelMessage } from '../ports/model.ts';
import { activeOutcome } from '../domain/outcomes.ts';
import { LogStateFold, conversationOrder, conversationPosition, deriveLogState, type LogState, type LogStateOptions } from './log-state.ts';
import { conversationItem, type ConversationItem } from './context.ts';
import {
  conversationView, renderView, summaryItem, summaryItemTokens, type CompactionRecord, type ConversationView, type RenderedConversation,
} from './compaction.ts';
import type { ItemTokenCache } from './token-count.ts';

/** The rendered messages of one conversation view, extended as items are appended. */
interface RenderCache {
  key: string;
  epoch: number;
  /** Index in the conversation order of the first item after the summary. */
  start: number;
  /** Order items rendered so far (from `start`). */
  count: number;
  summary: string | undefined;
  summaryTokens: number;
  /** Clean messages (no cache breakpoints but the summary's); copied before a request marks them. */
  messages: ModelMessage[];
  itemTokens: number[];
  total: number;
}

function resultsFirst(content: ModelContentBlock[]): void {
  content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
}

/** `assembleMessages` one item at a time; a message already handed out is replaced, never changed. */
function pushItem(messages: ModelMessage[], { role, blocks }: ConversationItem): void {
  if (!blocks.length) return;
  const last = messages[messages.length - 1];
  if (last && last.role === role && role !== 'system') {
    const content = [...last.content, ...blocks];
    if (role === 'user') resultsFirst(content);
    messages[messages.length - 1] = { role, content };
  } else {
    const content = [...blocks];
    if (role === 'user') resultsFirst(content);
    messages.push({ role, content });
  }
}

export class LogView {
  /** The session row's log revision this view matches (undefined: never current, never reused). */
  rev: number | undefined;
  readonly opts: LogStateOptions;
  /** The log, in seq order. Read-only for callers. */
  readonly events: StoredEvent[] = [];
  private readonly at = new Map<string, number>();
  private readonly fold: LogStateFold;
  private readonly confirmedUses = new Set<string>();
  private readonly order: StoredEvent[] = [];
  private readonly pos: number[] = [];
  /** Bumped when an item joins the order anywhere but at its end: renders start over. */
  private epoch = 0;
  private rendered: RenderCache | undefined;
  /** The arguments of the last `render` (what `viewMismatch` checks by default). */
  lastRender: { record: CompactionRecord | undefined; maxToolResultTokens: number } | undefined;

  constructor(log: readonly StoredEvent[], rev: number | undefined, opts: LogStateOptions = {}) {
    this.rev = rev;
    this.opts = opts;
    this.fold = new LogStateFold(opts);
    for (const e of log) this.append(e);
  }

  /** The last event's seq (0 for an empty log). */
  get head(): number {
    return this.events.length ? this.events[this.events.length - 1].seq : 0;
  }

  find(eventId: string): StoredEvent | undefined {
    const i = this.at.get(eventId);
    return i === undefined ? undefined : this.events[i];
  }

  /** A `user.tool_confirmation` for this tool use is in the log. */
  confirmed(toolUseId: string): boolean {
    return this.confirmedUses.has(toolUseId);
  }

  /** What `deriveLogState(log, opts)` gives for this log. */
  state(): LogState {
    if (!this.fold.definesOutcome) return this.fold.snapshot(this.order[this.order.length - 1], undefined);
    const convo = conversationOrder(this.events);
    return this.fold.snapshot(convo[convo.length - 1], activeOutcome(this.events));
  }

  /** What `conversationOrder(log)` gives. Read-only for callers. */
  conversation(): readonly StoredEvent[] {
    return this.fold.definesOutcome ? conversationOrder(this.events) : this.order;
  }

  /**
   * Applies one commit as the store applied it: `markProcessed` first (stamped `now`, at the head
   * before the append), then the stored events. The caller vouches that the view was current.
   */
  apply(markProcessed: readonly string[] | undefined, now: string, stored: readonly StoredEvent[]): void {
    const head = this.head;
    for (const id of markProcessed ?? []) {
      const i = this.at.get(id);
      if (i === undefined) continue; // not this session's
      const e = this.events[i];
      if (e.event.processed_at !== null) continue;
      const next: StoredEvent = { ...e, event: { ...e.event, processed_at: now }, processedSeq: head };
      this.events[i] = next;
      this.fold.processed(id);
      this.place(next);
    }
    for (const e of stored) this.append({ ...e, event: { ...e.event } });
  }

  private append(e: StoredEvent): void {
    this.at.set(e.event.id, this.events.length);
    this.events.push(e);
    this.fold.apply(e);
    if (e.event.type === 'user.tool_confirmation') this.confirmedUses.add(String(e.event.tool_use_id));
    this.place(e);
  }

  /** Inserts a conversational item where `conversationOrder`'s sort puts it (almost always the end). */
  private place(e: StoredEvent): void {
    const p = conversationPosition(e);
    if (p === undefined) return;
    let i = this.order.length;
    while (i > 0 && (this.pos[i - 1] > p || (this.pos[i - 1] === p && this.order[i - 1].seq > e.seq))) i--;
    if (i !== this.order.length) this.epoch++;
    this.order.splice(i, 0, e);
    this.pos.splice(i, 0, p);
  }

  /**
   * The model's view of the conversation under `record` and its messages, as `conversationView` +
   * `renderView` give them, rendering only the items that are new since the last call.
   */
  render(record: CompactionRecord | undefined, maxToolResultTokens: number, tokens: ItemTokenCache): RenderedConversation {
    this.lastRender = { record, maxToolResultTokens };
    if (this.fold.definesOutcome) {
      const view = conversationView(this.events, record);
      return { view, rendered: renderView(view, tokens, maxToolResultTokens) };
    }
    const order = this.order;
    const key = `${record?.eventId ?? ''}\u0000${record?.throughId ?? ''}\u0000${maxToolResultTokens}`;
    let c = this.rendered;
    if (!c || c.key !== key || c.epoch !== this.epoch || c.start + c.count > order.length) {
      let start = 0;
      let summary: string | undefined;
      if (record) {
        // Searched from the end: the covered item is usually recent relative to the whole log.
        let at = -1;
        for (let i = order.length - 1; i >= 0; i--) if (order[i].event.id === record.throughId) { at = i; break; }
        if (at >= 0) {
          start = at + 1;
          summary = record.summary;
        }
      }
      const head = summary === undefined ? undefined : summaryItem(summary);
      const messages: ModelMessage[] = [];
      if (head) pushItem(messages, head);
      const summaryTokens = summary === undefined ? 0 : summaryItemTokens(summary);
      c = { key, epoch: this.epoch, start, count: 0, summary, summaryTokens, messages, itemTokens: [], total: 0 };
      this.rendered = c;
    }
    for (let i = c.start + c.count; i < order.length; i++) {
      const e = order[i];
      const item = conversationItem(e.event, { maxToolResultTokens }) ?? { role: 'user' as const, blocks: [] };
      const n = tokens.tokens(`${e.event.id}:${maxToolResultTokens}`, () => item.blocks);
      c.itemTokens.push(n);
      c.total += n;
      c.count++;
      pushItem(c.messages, item);
    }
    const start = c.start;
    const view: ConversationView = { summary: c.summary, get items() { return order.slice(start); } };
    return {
      view,
      rendered: {
        messages: c.messages.slice(), itemTokens: c.itemTokens, summaryTokens: c.summaryTokens,
        total: c.total, cacheMarks: c.summary === undefined ? 0 : 1,
      },
    };
  }
}

/** How many sessions' views stay in memory (least recently used are dropped and rebuilt on use). */
const VIEW_SESSIONS = 256;

/** The views of the sessions this process works on, keyed by session id (an LRU map). */
export class LogViews {
  private readonly views = new Map<string, LogView>();
  /** Whole-log rebuilds and commits applied in place (benches and tests read them). */
  readonly counters = { rebuilds: 0, applied: 0 };

  /** The session's view if it is current at `rev` with these options. */
  current(sessionId: string, rev: number | undefined, opts: LogStateOptions = {}): LogView | undefined {
    const v = this.views.get(sessionId);
    if (!v || rev === undefined || v.rev !== rev || v.opts.remoteTools !== opts.remoteTools) return undefined;
    this.views.delete(sessionId);
    this.views.set(sessionId, v);
    return v;
  }

  /** The current view, or one rebuilt from `log` (which must be the log at `rev`). */
  at(sessionId: string, rev: number | undefined, opts: LogStateOptions, log: () => StoredEvent[]): LogView {
    const known = this.current(sessionId, rev, opts);
    if (known) return known;
    this.counters.rebuilds++;
    const fresh = new LogView(log(), rev, opts);
    if (rev === undefined) return fresh;
    this.views.delete(sessionId);
    this.views.set(sessionId, fresh);
    if (this.views.size > VIEW_SESSIONS) this.views.delete(this.views.keys().next().value!);
    return fresh;
  }

  /**
   * A commit moved the session's log from revision `before` to `after`: a view at `before` takes it
   * in; any other view (another writer came between) is dropped unless it already is at `after`.
   */
  committed(sessionId: string, before: number | undefined, after: number | undefined, markProcessed: readonly string[] | undefined, now: string, stored: readonly StoredEvent[]): void {
    const v = this.views.get(sessionId);
    if (!v) return;
    if (before !== undefined && after !== undefined && v.rev === before) {
      if (after === before) return;
      if (after === before + 1) {
        v.apply(markProcessed, now, stored);
        v.rev = after;
        this.counters.applied++;
        return;
      }
    }
    if (after === undefined || v.rev !== after) this.views.delete(sessionId);
  }

  forget(sessionId: string): void {
    this.views.delete(sessionId);
  }
}

/**
 * Where a view differs from what the whole log derives (undefined: nowhere): its state, its
 * conversation order and its rendering under `record`. For tests, which drive views through real
 * commits and compare.
 */
export function viewMismatch(
  view: LogView, log: StoredEvent[], tokens: ItemTokenCache,
  record = view.lastRender?.record, maxToolResultTokens = view.lastRender?.maxToolResultTokens ?? 8000,
): string | undefined {
  const want = deriveLogState(log, view.opts);
  const got = view.state();
  if (!isDeepStrictEqual(got, want)) return `state: ${JSON.stringify(got)} != ${JSON.stringify(want)}`;
  const order = conversationOrder(log).map((e) => e.event.id);
  const seen = view.conversation().map((e) => e.event.id);
  if (JSON.stringify(order) !== JSON.stringify(seen)) return `order: ${seen.join(',')} != ${order.join(',')}`;
  const v = conversationView(log, record);
  const full = renderView(v, tokens, maxToolResultTokens);
  const mine = view.render(record, maxToolResultTokens, tokens);
  if (!isDeepStrictEqual(full.messages, mine.rendered.messages)) return 'messages differ';
  if (JSON.stringify(full.itemTokens) !== JSON.stringify(mine.rendered.itemTokens) || full.total !== mine.rendered.total) return 'token estimates differ';
  if (JSON.stringify(v.items.map((e) => e.event.id)) !== JSON.stringify(mine.view.items.map((e) => e.event.id))) return 'view items differ';
  if (!isDeepStrictEqual(view.events, log)) return 'events differ';
  return undefined;
}
