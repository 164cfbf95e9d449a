// In-process node signal: the default with SQLite (one process, so there is nobody else to tell).
// Several instances joined to one hub behave like nodes on one database (tests run several
// Hangars in one process that way); a hint never comes back to its sender.
import type { NodeHint, NodeSignal } from '../../ports/node-signal.ts';

/** The "database" several in-process nodes share. */
export class MemoryNodeSignalHub {
  readonly members = new Set<MemoryNodeSignal>();
}

export class MemoryNodeSignal implements NodeSignal {
  readonly specificationVersion = 'v1' as const;
  private readonly hub: MemoryNodeSignalHub;
  private readonly listeners = new Set<(hint: NodeHint) => void>();

  constructor(hub: MemoryNodeSignalHub = new MemoryNodeSignalHub()) {
    this.hub = hub;
    hub.members.add(this);
  }

  send(hint: Exclude<NodeHint, { kind: 'resync' }>): void {
    // Delivered in a later task, like a notification from another process after its commit.
    for (const member of this.hub.members) if (member !== this) queueMicrotask(() => member.deliver(hint));
  }

  subscribe(listener: (hint: NodeHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.hub.members.delete(this);
    this.listeners.clear();
  }

  private deliver(hint: NodeHint): void {
    for (const listener of [...this.listeners]) listener(hint);
  }
}
