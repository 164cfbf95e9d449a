// Commit-then-publish: every change to a session goes through here, so an event is durably
// appended before any stream can see it. After the commit, local streams hear of it on the bus
// and the other nodes through the node signal ("session S has events up to seq N").
import type { EventBus } from '../ports/event-bus.ts';
import type { NodeSignal } from '../ports/node-signal.ts';
import type { CommitPlan, SessionRow, Store, StoredEvent } from '../ports/store.ts';
import { logTransitions, type InfoLogger } from './lifecycle-log.ts';
import type { SecretScrubber } from '../domain/secret-scrubber.ts';
import { LogViews, type LogView } from './log-view.ts';
import type { LogStateOptions } from './log-state.ts';

/** Told of every commit: what was stored and how long the store took (metrics, span attributes). */
export type CommitObserver = (sessionId: string, stored: StoredEvent[], durationMs: number) => void;

/** The scrubber for a session's secrets (its vaults' credentials), asked before each commit. */
export type SessionScrubbers = (sessionId: string) => Promise<SecretScrubber>;

export class SessionLog {
  private readonly store: Store;
  private readonly bus: EventBus;
  /** Where status changes are logged (turn started/ended, …); none = not logged. */
  private readonly logger: InfoLogger | undefined;
  private readonly scrubbers: SessionScrubbers | undefined;
  private readonly observe: CommitObserver | undefined;
  private readonly signal: NodeSignal | undefined;
  /** Per-session derived log state, advanced by every commit made here. */
  readonly views = new LogViews();

  /**
   * `scrubbers`: every event appended is scrubbed of the session's secrets first, whoever produced
   * it (tool, MCP and web results, session.error messages, ...), so neither the log, its streams,
   * the API nor the next model request built from the log can carry a secret a tool echoed.
   */
  constructor(store: Store, bus: EventBus, logger?: InfoLogger, scrubbers?: SessionScrubbers, observe?: CommitObserver, signal?: NodeSignal) {
    this.signal = signal;
    this.store = store;
    this.bus = bus;
    this.logger = logger;
    this.scrubbers = scrubbers;
    this.observe = observe;
  }

  /** Sessions whose commits through this log are fenced by a lease owner (see `fence`). */
  private readonly fences = new Map<string, string>();

  /**
   * For the harness's own log: while `owner` drives the session, every commit through this log is
   * fenced by its lease (the store throws `LeaseLost` once another node took it over); undefined
   * lifts the fence. The log user input goes through is never fenced.
   */
  fence(sessionId: string, owner: string | undefined): void {
    if (owner === undefined) this.fences.delete(sessionId);
    else this.fences.set(sessionId, owner);
  }

  /**
   * `decide` gets the row, the whole log (read lazily) and the session's `LogView` at this commit's
   * revision (current without reading the log when this process made the last change; rebuilt from
   * it otherwise). Views are read-only for `decide`.
   */
  async commit<P extends CommitPlan>(sessionId: string, decide: (row: SessionRow, log: () => StoredEvent[], view?: (opts?: LogStateOptions) => LogView) => P) {
    const scrubber = this.scrubbers ? await this.scrubbers(sessionId) : undefined;
    let before: number | undefined;
    const viewed = (row: SessionRow, log: () => StoredEvent[]): P => {
      before = row.logRevision;
      return decide(row, log, (opts = {}) => this.views.at(sessionId, row.logRevision, opts, log));
    };
    const scrubbed = scrubber && !scrubber.empty
      ? (row: SessionRow, log: () => StoredEvent[]): P => {
        const plan = viewed(row, log);
        return plan.events ? { ...plan, events: scrubber.value(plan.events) } : plan;
      }
      : viewed;
    const started = this.observe ? performance.now() : 0;
    const owner = this.fences.get(sessionId);
    const result = await this.store.sessions.commit(sessionId, scrubbed, owner === undefined ? undefined : { leaseOwner: owner });
    if (result) this.views.committed(sessionId, before, result.row.logRevision, result.plan.markProcessed, result.plan.now, result.stored);
    if (result && this.observe) this.observe(sessionId, result.stored, performance.now() - started);
    if (result) for (const e of result.stored) this.bus.publish(sessionId, { kind: 'event', payload: e.event, seq: e.seq });
    if (result?.stored.length) this.signal?.send({ kind: 'events', sessionId, seq: result.stored[result.stored.length - 1].seq });
    if (result && this.logger) logTransitions(this.logger, sessionId, result.stored);
    return result;
  }

  /**
   * The session's `LogView` as of `row` (read just before), without a transaction when this process
   * holds it current; otherwise rebuilt inside an empty commit, so the log it is built from is the
   * one at the revision it is labelled with. Undefined when the session is gone.
   */
  async view(sessionId: string, row: SessionRow, opts: LogStateOptions = {}): Promise<LogView | undefined> {
    const known = this.views.current(sessionId, row.logRevision, opts);
    if (known) return known;
    let built: LogView | undefined;
    await this.store.sessions.commit(sessionId, (current, log) => {
      built = this.views.at(sessionId, current.logRevision, opts, log);
      return { now: '' };
    });
    return built;
  }

  /** Stream-only previews (`event_start` / `event_delta`): published, never persisted. */
  preview(sessionId: string, payload: Record<string, unknown> & { type: string }, threadId?: string): void {
    this.bus.publish(sessionId, threadId ? { kind: 'preview', payload, thread: threadId } : { kind: 'preview', payload });
  }
}
