// Node signal over PostgreSQL LISTEN/NOTIFY. One dedicated connection per node both listens and
// sends: hints raised in the same tick are coalesced (per session only the highest seq) into one
// `SELECT pg_notify(...)` statement, sent after the change's own transaction committed (the caller
// sends after commit). Payloads carry ids only: `<origin>\n<hint>\n<hint>…` with hints
// `e <session> <seq>`, `w <session>`, `i <session> [<thread>,…]` (wake to interrupt),
// `q <environment>`, `d <session>`, `r` (re-sync).
// The connection is checked every few seconds; when it drops (server restart, network blip,
// pg_terminate_backend) it is re-opened with backoff, LISTEN is issued again, and the local
// subscribers get `resync` (hints may have been missed meanwhile). Hints raised while disconnected
// are queued and sent after reconnecting; past the queue bound they are dropped and an `r` hint
// is sent instead, so the other nodes re-read everything.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { NodeHint, NodeSignal } from '../../ports/node-signal.ts';

export interface PgNodeSignalOptions {
  url: string;
  /** The NOTIFY channel (default `hangar_nodes`); nodes of one installation share it. */
  channel?: string;
  /** Reconnect backoff bounds (default 50 ms doubling to 2 s). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How often the listening connection is checked with `SELECT 1` (default 5 s). */
  healthCheckMs?: number;
  /** `application_name` of the listening connection (default `hangar-signal`; operators find it in pg_stat_activity). */
  applicationName?: string;
  /** Told of connection problems (logging); never given the URL. */
  onProblem?: (message: string, err?: unknown) => void;
}

/** Most distinct hints kept while disconnected; beyond it they collapse into one re-sync. */
const MAX_PENDING = 20_000;
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7_800;
const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

type SentHint = Exclude<NodeHint, { kind: 'resync' }>;

export class PgNodeSignal implements NodeSignal {
  readonly specificationVersion = 'v1' as const;
  /** Identifies this instance's own notifications (they come back to the listening connection). */
  readonly origin = randomUUID();
  private readonly opts: Required<Omit<PgNodeSignalOptions, 'onProblem'>> & Pick<PgNodeSignalOptions, 'onProblem'>;
  private readonly listeners = new Set<(hint: NodeHint) => void>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private everConnected = false;
  /** Notifications may have been missed since the last LISTEN: re-sync once listening again. */
  private missed = false;
  private closed = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private readonly pendingEvents = new Map<string, number>();
  private readonly pendingOther = new Set<string>();
  private lost = false;
  /** Totals for tests and benches. */
  readonly counters = { notifies: 0, received: 0, reconnects: 0, resyncs: 0 };

  constructor(opts: PgNodeSignalOptions) {
    const channel = opts.channel ?? 'hangar_nodes';
    if (!CHANNEL_RE.test(channel)) throw new Error(`invalid NOTIFY channel name: ${channel}`);
    this.opts = {
      url: opts.url, channel, reconnectMinMs: opts.reconnectMinMs ?? 50, reconnectMaxMs: opts.reconnectMaxMs ?? 2_000,
      healthCheckMs: opts.healthCheckMs ?? 5_000, applicationName: opts.applicationName ?? 'hangar-signal', onProblem: opts.onProblem,
    };
    this.backoffMs = this.opts.reconnectMinMs;
  }

  /** Whether the listening connection is up (tests). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  send(hint: SentHint): void {
    if (this.closed) return;
    if (hint.kind === 'events') {
      const had = this.pendingEvents.get(hint.sessionId);
      if (had === undefined || hint.seq > had) this.pendingEvents.set(hint.sessionId, hint.seq);
    } else {
      this.pendingOther.add(hint.kind === 'wake' ? wakeLine(hint) : hint.kind === 'work' ? `q ${hint.environmentId}` : `d ${hint.sessionId}`);
    }
    if (this.pendingEvents.size + this.pendingOther.size > MAX_PENDING) {
      this.pendingEvents.clear();
      this.pendingOther.clear();
      this.lost = true;
    }
    this.scheduleFlush();
  }

  subscribe(listener: (hint: NodeHint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects and LISTENs. A failed first attempt is reported and retried in the background. */
  async start(): Promise<void> {
    await this.connect();
    this.healthTimer = setInterval(() => void this.checkHealth(), this.opts.healthCheckMs);
    this.healthTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.healthTimer);
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => {});
    if (this.client) {
      await this.flush().catch(() => {});
      await this.flushing?.catch(() => {});
    }
    const c = this.client;
    this.client = undefined;
    this.listeners.clear();
    await c?.end().catch(() => {});
  }

  // ---- connection ------------------------------------------------------------------------------

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const c = new pg.Client({ connectionString: this.opts.url, keepAlive: true, application_name: this.opts.applicationName, connectionTimeoutMillis: 5_000, query_timeout: 5_000 });
    c.on('error', (err) => this.dropped(c, err));
    c.on('end', () => this.dropped(c));
    c.on('notification', (msg) => {
      if (msg.channel === this.opts.channel && msg.payload) this.receive(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${this.opts.channel}`);
    } catch (err) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
      if (!this.closed) {
        this.opts.onProblem?.('the node signal connection could not be opened; retrying', err);
        this.scheduleReconnect();
      }
      return;
    }
    if (this.closed) {
      await c.end().catch(() => {});
      return;
    }
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.client = c;
    this.backoffMs = this.opts.reconnectMinMs;
    if (reconnected) {
      this.counters.reconnects++;
      this.opts.onProblem?.('the node signal connection is back; re-reading what open streams and polls follow');
    }
    // Anything could have been missed while not listening (or before the first LISTEN after a failed start).
    if (this.missed) {
      this.missed = false;
      this.emit({ kind: 'resync' });
    }
    this.scheduleFlush();
  }

  private dropped(c: pg.Client, err?: unknown): void {
    if (this.client !== c) return;
    this.client = undefined;
    if (!this.closed) this.opts.onProblem?.('the node signal connection dropped; reconnecting', err);
    c.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    // Not listening from now until the next LISTEN: whatever was notified meanwhile is missed.
    this.missed = true;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.opts.reconnectMaxMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private async checkHealth(): Promise<void> {
    const c = this.client;
    if (!c || this.closed) return;
    try {
      await c.query('SELECT 1');
    } catch (err) {
      this.dropped(c, err);
    }
  }

  // ---- sending ---------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.client) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.pendingEvents.size || this.pendingOther.size || this.lost) this.scheduleFlush();
      return;
    }
    const c = this.client;
    if (!c || (!this.pendingEvents.size && !this.pendingOther.size && !this.lost)) return;
    const lines = [...this.pendingOther];
    for (const [sessionId, seq] of this.pendingEvents) lines.push(`e ${sessionId} ${seq}`);
    if (this.lost) lines.push('r');
    const events = new Map(this.pendingEvents);
    this.pendingEvents.clear();
    this.pendingOther.clear();
    const wasLost = this.lost;
    this.lost = false;
    const payloads = pack(this.origin, lines);
    this.flushing = (async () => {
      try {
        await c.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.opts.channel, payloads]);
        this.counters.notifies += payloads.length;
      } catch (err) {
        // Not sent: keep them for the next connection (newer seqs raised meanwhile win).
        for (const line of lines) if (!line.startsWith('e ') && line !== 'r') this.pendingOther.add(line);
        for (const [sessionId, seq] of events) if ((this.pendingEvents.get(sessionId) ?? -1) < seq) this.pendingEvents.set(sessionId, seq);
        if (wasLost) this.lost = true;
        this.dropped(c, err);
      } finally {
        this.flushing = undefined;
      }
    })();
    await this.flushing;
    if (this.pendingEvents.size || this.pendingOther.size || this.lost) this.scheduleFlush();
  }

  // ---- receiving -------------------------------------------------------------------------------

  private receive(payload: string): void {
    const lines = payload.split('\n');
    if (lines[0] === this.origin) return;
    this.counters.received++;
    for (let i = 1; i < lines.length; i++) {
      const hint = parseHint(lines[i]);
      if (hint) this.emit(hint);
    }
  }

  private emit(hint: NodeHint): void {
    if (hint.kind === 'resync') this.counters.resyncs++;
    for (const listener of [...this.listeners]) {
      try {
        listener(hint);
      } catch (err) {
        this.opts.onProblem?.('a node signal listener failed', err);
      }
    }
  }
}

function wakeLine(hint: Extract<NodeHint, { kind: 'wake' }>): string {
  if (!hint.interrupt) return `w ${hint.sessionId}`;
  return hint.interrupt === true ? `i ${hint.sessionId}` : `i ${hint.sessionId} ${hint.interrupt.join(',')}`;
}

/** Splits hint lines into payloads under the NOTIFY size limit, each starting with the origin. */
export function pack(origin: string, lines: string[]): string[] {
  const out: string[] = [];
  let current = origin;
  for (const line of lines) {
    if (current.length + 1 + line.length > MAX_PAYLOAD && current !== origin) {
      out.push(current);
      current = origin;
    }
    current += `\n${line}`;
  }
  if (current !== origin) out.push(current);
  return out;
}

/** One hint line; undefined for anything malformed (another version's hint, say). */
export function parseHint(line: string): NodeHint | undefined {
  const [k, id, seq] = line.split(' ');
  if (k === 'r') return { kind: 'resync' };
  if (!id) return undefined;
  if (k === 'e') {
    const n = Number(seq);
    return Number.isSafeInteger(n) ? { kind: 'events', sessionId: id, seq: n } : undefined;
  }
  if (k === 'w') return { kind: 'wake', sessionId: id };
  if (k === 'i') return { kind: 'wake', sessionId: id, interrupt: seq ? seq.split(',').filter(Boolean) : true };
  if (k === 'q') return { kind: 'work', environmentId: id };
  if (k === 'd') return { kind: 'deleted', sessionId: id };
  return undefined;
}
