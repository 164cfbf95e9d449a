// Reuses MCP connections within a session: one live connection per (session, server URL), replaced
// when the session's credential for that URL changes (rotation) and closed after an idle period or
// when the session goes away. A 401/403 gets one retry after the caller refreshed the token.
import { createHmac, randomBytes } from 'node:crypto';
import {
  McpServerError,
  type McpCallResult, type McpConnection, type McpConnector, type McpCredential, type McpCredentialProvider,
  type McpServerRef, type McpSessions, type McpToolInfo,
} from '../../ports/mcp.ts';

export interface McpSessionPoolOptions {
  connector: McpConnector;
  credentials: McpCredentialProvider;
  /** Close a connection after this long without calls. Default 10 minutes. */
  idleMs?: number;
}

interface Entry {
  /** Keyed fingerprint of the bearer the connection was opened with ('' = none); never the token. */
  fingerprint: string;
  connecting: Promise<McpConnection>;
  connection?: McpConnection;
  inFlight: number;
  idleTimer?: NodeJS.Timeout;
}

export class McpSessionPool implements McpSessions {
  readonly #connector: McpConnector;
  readonly #credentials: McpCredentialProvider;
  readonly #idleMs: number;
  // The fingerprint key is random per pool, so fingerprints reveal nothing outside this process.
  readonly #fingerprintKey = randomBytes(32);
  /** sessionId -> server URL -> entry. */
  readonly #sessions = new Map<string, Map<string, Entry>>();
  /** In-flight refreshes by session, URL and rejected token, so concurrent 401s refresh once. */
  readonly #refreshing = new Map<string, Promise<string | undefined>>();
  #closed = false;

  constructor(options: McpSessionPoolOptions) {
    this.#connector = options.connector;
    this.#credentials = options.credentials;
    this.#idleMs = options.idleMs ?? 10 * 60_000;
  }

  listTools(sessionId: string, server: McpServerRef, signal?: AbortSignal): Promise<McpToolInfo[]> {
    return this.#withConnection(sessionId, server, signal, (c) => c.listTools(signal));
  }

  callTool(sessionId: string, server: McpServerRef, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult> {
    return this.#withConnection(sessionId, server, signal, (c) => c.callTool(tool, args, signal));
  }

  /** Number of open or opening connections (for tests and metrics). */
  connectionCount(sessionId?: string): number {
    if (sessionId !== undefined) return this.#sessions.get(sessionId)?.size ?? 0;
    let n = 0;
    for (const m of this.#sessions.values()) n += m.size;
    return n;
  }

  async closeSession(sessionId: string): Promise<void> {
    const entries = this.#sessions.get(sessionId);
    if (!entries) return;
    this.#sessions.delete(sessionId);
    await Promise.all([...entries.values()].map((e) => this.#dispose(e)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.keys()].map((id) => this.closeSession(id)));
  }

  /**
   * Runs `use` on the session's connection to `server`. Retries once with a fresh connection when
   * the server rejected the credentials and the caller produced a new token, or when the server
   * forgot the MCP session (HTTP 404): both mean the request was refused before any tool ran.
   */
  async #withConnection<T>(sessionId: string, server: McpServerRef, signal: AbortSignal | undefined, use: (c: McpConnection) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    if (this.#closed) throw new Error('MCP session pool is closed');
    const credential = await this.#credentials(sessionId, server.url);
    let bearer = credential.bearer;
    for (let attempt = 0; ; attempt++) {
      const entry = this.#acquire(sessionId, server, bearer);
      let connected = false;
      try {
        const connection = await abortable(entry.connecting, signal);
        connected = true;
        return await use(connection);
      } catch (err) {
        if (!(err instanceof McpServerError) || attempt > 0 || signal?.aborted) throw err;
        if (err.kind === 'authentication') {
          const fresh = await this.#refresh(sessionId, server.url, credential, bearer);
          if (fresh === undefined) throw err;
          bearer = fresh;
        } else if (!(connected && err.status === 404)) {
          throw err;
        }
        this.#evict(sessionId, server.url, entry);
      } finally {
        this.#release(sessionId, server.url, entry);
      }
    }
  }

  /**
   * A new token from `onUnauthorized`, or undefined when there is none or it is unchanged. Calls
   * that were rejected with the same token share one refresh.
   */
  async #refresh(sessionId: string, url: string, credential: McpCredential, current: string | undefined): Promise<string | undefined> {
    const onUnauthorized = credential.onUnauthorized;
    if (!onUnauthorized || current === undefined) return undefined;
    const key = `${sessionId}\u0000${url}\u0000${this.#fingerprint(current)}`;
    let pending = this.#refreshing.get(key);
    if (!pending) {
      pending = onUnauthorized().finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, pending);
    }
    const fresh = await pending;
    return fresh && fresh !== current ? fresh : undefined;
  }

  #fingerprint(bearer: string | undefined): string {
    return bearer === undefined ? '' : createHmac('sha256', this.#fingerprintKey).update(bearer).digest('base64url');
  }

  #acquire(sessionId: string, server: McpServerRef, bearer: string | undefined): Entry {
    let entries = this.#sessions.get(sessionId);
    if (!entries) {
      entries = new Map();
      this.#sessions.set(sessionId, entries);
    }
    const fingerprint = this.#fingerprint(bearer);
    let entry = entries.get(server.url);
    if (entry && (entry.fingerprint !== fingerprint || (entry.connection && !entry.connection.open))) {
      // The credential rotated, or the connection died: replace it (in-flight calls finish on the old one).
      this.#evict(sessionId, server.url, entry);
      entry = undefined;
    }
    if (!entry) {
      // The connect outlives any one caller's signal: other calls may be waiting on it.
      const connecting = this.#connector.connect(server, bearer === undefined ? {} : { bearer });
      const created: Entry = { fingerprint, connecting, inFlight: 0 };
      connecting.then(
        (c) => {
          created.connection = c;
        },
        () => this.#evict(sessionId, server.url, created),
      );
      entries.set(server.url, created);
      entry = created;
    }
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.inFlight++;
    return entry;
  }

  #release(sessionId: string, url: string, entry: Entry): void {
    entry.inFlight--;
    if (entry.inFlight > 0) return;
    const current = this.#sessions.get(sessionId)?.get(url) === entry;
    if (!current) {
      void this.#dispose(entry);
      return;
    }
    entry.idleTimer = setTimeout(() => {
      if (this.#sessions.get(sessionId)?.get(url) !== entry || entry.inFlight > 0) return;
      this.#evict(sessionId, url, entry);
      void this.#dispose(entry);
    }, this.#idleMs);
    entry.idleTimer.unref();
  }

  /** Removes `entry` from the map (if still there); closes it now unless calls are still running on it. */
  #evict(sessionId: string, url: string, entry: Entry): void {
    const entries = this.#sessions.get(sessionId);
    if (entries?.get(url) === entry) {
      entries.delete(url);
      if (entries.size === 0) this.#sessions.delete(sessionId);
    }
    if (entry.inFlight === 0) void this.#dispose(entry);
  }

  async #dispose(entry: Entry): Promise<void> {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const connection = await entry.connecting.catch(() => undefined);
    await connection?.close();
  }
}

/** Waits for `promise` unless `signal` aborts first (the work itself goes on for other waiters). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
