// The node signal port: wake-up hints between the Hangar nodes that share one database. Hints
// carry ids only and are never state: whoever receives one re-reads the store, so a lost hint
// costs latency (repaired by the next hint, a re-sync or the harness sweep), never data.

/** "Something changed, look again." Sent after the change is committed. */
export type NodeHint =
  /** The session's log holds events up to `seq` (streams read what they lack). */
  | { kind: 'events'; sessionId: string; seq: number }
  /**
   * The session has input and this node could not take its lease: whoever drives it, look again.
   * `interrupt`: the input was a `user.interrupt` (true: the whole session; else these thread ids),
   * so the driver aborts what it is doing instead of finishing the step first.
   */
  | { kind: 'wake'; sessionId: string; interrupt?: true | string[] }
  /** The environment's work queue has a new item: long polls claim again. */
  | { kind: 'work'; environmentId: string }
  /** The session was deleted: its open streams get `session.deleted` and close. */
  | { kind: 'deleted'; sessionId: string }
  /**
   * Hints may have been lost (the listening connection dropped and came back, or a sender could
   * not deliver): every receiver re-reads everything it follows. Raised by the adapter, not sent.
   */
  | { kind: 'resync' };

export interface NodeSignal {
  readonly specificationVersion: 'v1';
  /**
   * Tells the OTHER nodes (never this one: local consumers are called directly by the code that
   * made the change). Fire and forget: never throws, never waits for delivery; an adapter that
   * could not deliver makes the receivers re-sync once it can.
   */
  send(hint: Exclude<NodeHint, { kind: 'resync' }>): void;
  /** Hints from other nodes, and `resync`. Returns an unsubscribe function. */
  subscribe(listener: (hint: NodeHint) => void): () => void;
  /** Starts listening (resolves once subscribed, or rejects when the backend cannot be reached). */
  start(): Promise<void>;
  /** Stops listening and sending; pending hints are flushed first when possible. */
  close(): Promise<void>;
}
