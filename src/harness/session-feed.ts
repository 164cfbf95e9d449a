// What open streams see: a session's events delivered from the log by seq, so order and "each
// event once" hold whichever node committed them. Every hint — a local commit on the bus, another
// node's notification, a re-sync after the signal connection came back — makes the session's feed
// read `events(after: lowest seq its streams delivered)`; a missed hint is repaired by the next
// read. Local commits lend their payloads (the event exactly as committed) to that read.
// Previews (`event_start` / `event_delta`) stay local to the driving node and keep their place in
// the order: every message of a feed goes through one queue.
import type { BusMessage, EventBus } from '../ports/event-bus.ts';
import type { NodeHint } from '../ports/node-signal.ts';
import type { Store, StoredEvent } from '../ports/store.ts';
import { newId } from '../protocol/ids.ts';

/** Events read per store query while catching up. */
const READ_PAGE = 500;

interface FeedStream {
  /** Seq of the last event this stream got. */
  last: number;
  listener: (m: BusMessage) => void;
}

type Task = { read: true } | { read: false; message: BusMessage };

class Feed {
  readonly streams = new Set<FeedStream>();
  /** Payloads of local commits by seq, until the read delivering them. */
  readonly local = new Map<number, BusMessage['payload']>();
  private readonly queue: Task[] = [];
  private draining = false;
  unsubscribeBus: () => void = () => {};

  private readonly sessionId: string;
  private readonly store: Store;
  private readonly onError: (err: unknown) => void;

  constructor(sessionId: string, store: Store, onError: (err: unknown) => void) {
    this.sessionId = sessionId;
    this.store = store;
    this.onError = onError;
  }

  /** The lowest seq any stream delivered (what the next read continues after). */
  low(): number {
    let low = Infinity;
    for (const s of this.streams) low = Math.min(low, s.last);
    return low;
  }

  push(task: Task): void {
    // Consecutive reads collapse: the one already queued will see the newer events too.
    if (task.read && this.queue.at(-1)?.read) return;
    this.queue.push(task);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length && this.streams.size) {
        const task = this.queue.shift()!;
        if (task.read) await this.read().catch(this.onError);
        else for (const s of [...this.streams]) s.listener(task.message);
      }
    } finally {
      this.draining = false;
    }
  }

  private async read(): Promise<void> {
    for (;;) {
      const after = this.low();
      if (after === Infinity) return;
      const page = await this.store.sessions.events(this.sessionId, { order: 'asc', after, limit: READ_PAGE });
      for (const e of page.data) this.deliver(e);
      for (const seq of this.local.keys()) if (seq <= this.low()) this.local.delete(seq);
      if (page.next === null || page.data.length === 0) return;
    }
  }

  private deliver(e: StoredEvent): void {
    const payload = this.local.get(e.seq) ?? e.event;
    for (const s of [...this.streams]) {
      if (s.last >= e.seq) continue;
      s.last = e.seq;
      s.listener({ kind: 'event', payload });
    }
  }
}

export class SessionFeed {
  private readonly store: Store;
  private readonly bus: EventBus;
  private readonly onError: (err: unknown, sessionId: string) => void;
  private readonly feeds = new Map<string, Feed>();

  constructor(deps: { store: Store; bus: EventBus; onError?: (err: unknown, sessionId: string) => void }) {
    this.store = deps.store;
    this.bus = deps.bus;
    this.onError = deps.onError ?? (() => {});
  }

  /** Seq of the session's newest event (0 for none): where a stream opened now starts. */
  async head(sessionId: string): Promise<number> {
    const page = await this.store.sessions.events(sessionId, { order: 'desc', limit: 1 });
    return page.data[0]?.seq ?? 0;
  }

  /**
   * Delivers the session's events with seq > `fromSeq` in seq order, each once, and local previews
   * in their place, until unsubscribed. A `session.deleted` message ends the session's messages.
   */
  subscribe(sessionId: string, fromSeq: number, listener: (m: BusMessage) => void): () => void {
    let feed = this.feeds.get(sessionId);
    if (!feed) {
      const created = new Feed(sessionId, this.store, (err) => this.onError(err, sessionId));
      created.unsubscribeBus = this.bus.subscribe(sessionId, (m) => this.onLocal(created, m));
      this.feeds.set(sessionId, created);
      feed = created;
    }
    const stream: FeedStream = { last: fromSeq, listener };
    feed.streams.add(stream);
    // Whatever was committed between the head read and now reaches this stream too.
    feed.push({ read: true });
    const joined = feed;
    return () => {
      joined.streams.delete(stream);
      if (joined.streams.size === 0 && this.feeds.get(sessionId) === joined) {
        joined.unsubscribeBus();
        this.feeds.delete(sessionId);
      }
    };
  }

  /** A hint from another node (or a re-sync): the feeds concerned read again. */
  hint(h: NodeHint): void {
    if (h.kind === 'resync') {
      for (const feed of this.feeds.values()) feed.push({ read: true });
      return;
    }
    if (h.kind !== 'events' && h.kind !== 'deleted') return;
    const feed = this.feeds.get(h.sessionId);
    if (!feed) return;
    if (h.kind === 'deleted') {
      feed.push({ read: false, message: { kind: 'event', payload: { id: newId('sevt'), type: 'session.deleted', processed_at: new Date().toISOString() } } });
    } else if (h.seq > feed.low()) {
      feed.push({ read: true });
    }
  }

  /** Sessions with open streams on this node (tests, metrics). */
  followed(): number {
    return this.feeds.size;
  }

  private onLocal(feed: Feed, m: BusMessage): void {
    if (m.kind === 'preview' || m.payload.type === 'session.deleted' || m.seq === undefined) {
      feed.push({ read: false, message: m });
      return;
    }
    if (m.seq <= feed.low()) return;
    feed.local.set(m.seq, m.payload);
    feed.push({ read: true });
  }
}
