// Session rows and events as both SQL store adapters read them: the session row's parsed `data`
// cached beside the text it came from (a turn reads its row 6-9 times), and the event mapper.
import type { SessionRow, StoredEvent } from '../../ports/store.ts';
import type { Row } from './store-rows.ts';

/** How many sessions' parsed rows stay cached (least recently used are evicted). */
const ROW_CACHE_SESSIONS = 256;

/** Freezes every object and array below `top` (not `top` itself), so shared parsed values stay intact. */
function freezeNested<T extends Record<string, unknown>>(top: T): T {
  const freeze = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
    for (const x of Object.values(v)) freeze(x);
    Object.freeze(v);
  };
  for (const x of Object.values(top)) freeze(x);
  return top;
}

/**
 * The parsed `data` of recently read session rows beside the text it was parsed from. A read reuses
 * it only when the text it just read is that same text, so a write by this or any other process (or
 * node) is seen at the next read. Nested values are frozen: every reader shares them, and a caller
 * mutating one would throw instead of corrupting the others.
 */
export class SessionRowCache {
  private readonly rows = new Map<string, { data: string; parsed: Record<string, unknown> }>();
  private readonly onParse: () => void;

  /** `onParse` counts the rows actually parsed (bench and test counters). */
  constructor(onParse: () => void) {
    this.onParse = onParse;
  }

  toRow(r: Row): SessionRow {
    const id = String(r.id);
    const data = String(r.data);
    let cached = this.rows.get(id);
    if (cached?.data === data) {
      this.rows.delete(id); // re-insert: most recently used last
    } else {
      this.onParse();
      cached = { data, parsed: freezeNested(JSON.parse(data)) };
      if (this.rows.size >= ROW_CACHE_SESSIONS) this.rows.delete(this.rows.keys().next().value!);
    }
    this.rows.set(id, cached);
    // A top-level copy per reader, as a fresh parse gave: callers may set its own fields.
    const session = { ...cached.parsed } as SessionRow['session'];
    session.status = r.status as SessionRow['session']['status'];
    session.archived_at = (r.archived_at as string | null) ?? null;
    return {
      session,
      runningSince: r.running_since === null ? null : Number(r.running_since),
      retryCount: Number(r.retry_count),
      workspaceId: String(r.workspace_id),
      logRevision: Number(r.log_rev ?? 0),
    };
  }

  forget(id: string): void {
    this.rows.delete(id);
  }
}

/** An events row (seq, processed_at, processed_seq, data) as a stored event. */
export function eventRow(r: Row): StoredEvent {
  const event = JSON.parse(String(r.data));
  event.processed_at = (r.processed_at as string | null) ?? null;
  return { seq: Number(r.seq), event, processedSeq: r.processed_seq === null ? null : Number(r.processed_seq) };
}
