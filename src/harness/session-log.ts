// Commit-then-publish: every change to a session goes through here, so an event is durably
// appended before any stream can see it.
import type { EventBus } from '../ports/event-bus.ts';
import type { CommitPlan, SessionRow, Store, StoredEvent } from '../ports/store.ts';
import { logTransitions, type InfoLogger } from './lifecycle-log.ts';

export class SessionLog {
  private readonly store: Store;
  private readonly bus: EventBus;
  /** Where status changes are logged (turn started/ended, …); none = not logged. */
  private readonly logger: InfoLogger | undefined;

  constructor(store: Store, bus: EventBus, logger?: InfoLogger) {
    this.store = store;
    this.bus = bus;
    this.logger = logger;
  }

  async commit<P extends CommitPlan>(sessionId: string, decide: (row: SessionRow, log: () => StoredEvent[]) => P) {
    const result = await this.store.sessions.commit(sessionId, decide);
    if (result) for (const e of result.stored) this.bus.publish(sessionId, { kind: 'event', payload: e.event });
    if (result && this.logger) logTransitions(this.logger, sessionId, result.stored);
    return result;
  }

  /** Stream-only previews (`event_start` / `event_delta`): published, never persisted. */
  preview(sessionId: string, payload: Record<string, unknown> & { type: string }): void {
    this.bus.publish(sessionId, { kind: 'preview', payload });
  }
}
