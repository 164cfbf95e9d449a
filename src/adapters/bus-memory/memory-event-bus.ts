// In-process event bus: enough for one server process on SQLite. A PostgreSQL deployment with
// several processes would put LISTEN/NOTIFY behind the same port.
import type { BusMessage, EventBus } from '../../ports/event-bus.ts';

export class MemoryEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<(m: BusMessage) => void>>();

  publish(sessionId: string, message: BusMessage): void {
    const set = this.listeners.get(sessionId);
    if (!set) return;
    for (const listener of [...set]) listener(message);
  }

  subscribe(sessionId: string, listener: (m: BusMessage) => void): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.listeners.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    };
  }
}
