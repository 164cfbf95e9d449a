// The event bus port: live fan-out of session events to open streams, after they are durably
// appended. Also carries the stream-only previews (`event_start` / `event_delta`) which are never persisted.
import type { Json } from './store.ts';

export interface BusMessage {
  /** A persisted event (already in the log) or a stream-only preview. */
  kind: 'event' | 'preview';
  payload: Json & { type: string };
  /** Previews of a team session's child thread name it (the session stream previews only the primary). */
  thread?: string;
  /** A persisted event's seq in its session's log (streams deliver by seq). */
  seq?: number;
}

export interface EventBus {
  publish(sessionId: string, message: BusMessage): void;
  /** Returns an unsubscribe function. Listeners are called synchronously in publish order. */
  subscribe(sessionId: string, listener: (message: BusMessage) => void): () => void;
}
