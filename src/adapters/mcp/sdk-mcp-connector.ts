// `McpConnector` over `@modelcontextprotocol/sdk`: streamable HTTP first, the deprecated HTTP+SSE
// transport for older servers, bearer auth as a plain header (the vault owns OAuth refresh, so the
// SDK's own OAuth flow is never started), deadlines on every step and abort support.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  McpConnectionError, McpServerError,
  type McpAuth, type McpCallResult, type McpConnection, type McpConnector, type McpServerRef, type McpToolInfo,
} from '../../ports/mcp.ts';
import { DEFAULT_MAX_RESULT_CHARS, errorResult, mcpResultToBlocks } from './mcp-content.ts';
import {
  displayUrl, failureStatus, isAuthStatus, recordingFetch, toServerError,
  type FetchLike, type StatusProbe,
} from './mcp-errors.ts';

export type McpTransportKind = 'streamable_http' | 'sse';

export interface SdkMcpConnectorOptions {
  /** Deadline for opening and initializing one transport. Default 15 s. */
  connectTimeoutMs?: number;
  /** Deadline for one `tools/call`. Default 120 s; the result is then an error result, not a rejection. */
  callTimeoutMs?: number;
  /** Deadline for each `tools/list` page. Default 30 s. */
  listTimeoutMs?: number;
  /** Transports to try, in order. Default streamable HTTP, then SSE. */
  transports?: readonly McpTransportKind[];
  /** The fetch every request goes through (e.g. an address-vetting one). Default global fetch. */
  fetch?: FetchLike;
  /** Cap on the text of one call result, in characters. Default 100k. */
  maxResultChars?: number;
  clientInfo?: { name: string; version: string };
}

const MAX_LIST_PAGES = 50;
const TERMINATE_TIMEOUT_MS = 2_000;

export class SdkMcpConnector implements McpConnector {
  readonly #opts: Required<Omit<SdkMcpConnectorOptions, 'fetch'>> & { fetch: FetchLike };

  constructor(options: SdkMcpConnectorOptions = {}) {
    this.#opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      callTimeoutMs: options.callTimeoutMs ?? 120_000,
      listTimeoutMs: options.listTimeoutMs ?? 30_000,
      transports: options.transports ?? ['streamable_http', 'sse'],
      fetch: options.fetch ?? ((url, init) => fetch(url, init)),
      maxResultChars: options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS,
      clientInfo: options.clientInfo ?? { name: 'hangar', version: '0.1.0' },
    };
  }

  async connect(server: McpServerRef, auth: McpAuth, signal?: AbortSignal): Promise<McpConnection> {
    signal?.throwIfAborted();
    let url: URL;
    try {
      url = new URL(server.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('not http(s)');
    } catch (err) {
      throw new McpConnectionError(server.name, `MCP server "${server.name}" has an invalid URL (only http and https are supported)`, { cause: err });
    }
    let first: McpServerError | undefined;
    for (const kind of this.#opts.transports) {
      try {
        return await this.#connectWith(kind, url, server, auth, signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const failure = err as McpServerError;
        first ??= failure;
        // Per the MCP spec's compatibility rule, only a 4xx answer to the streamable POST suggests
        // an older server; auth failures, timeouts and unreachable hosts fail right away.
        const status = failure.status;
        const oldServer = kind === 'streamable_http' && status !== undefined && status >= 400 && status < 500 && !isAuthStatus(status) && status !== 408 && status !== 429;
        if (!oldServer) throw failure;
      }
    }
    throw first ?? new McpConnectionError(server.name, `MCP server "${server.name}": no transport configured`);
  }

  async #connectWith(kind: McpTransportKind, url: URL, server: McpServerRef, auth: McpAuth, signal?: AbortSignal): Promise<McpConnection> {
    const probe: StatusProbe = {};
    const headers: Record<string, string> = auth.bearer ? { Authorization: `Bearer ${auth.bearer}` } : {};
    const fetchFn = recordingFetch(this.#opts.fetch, probe);
    const transport: Transport =
      kind === 'streamable_http'
        ? new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: fetchFn, reconnectionOptions: NO_SSE_RECONNECT })
        : new SSEClientTransport(url, { requestInit: { headers }, fetch: fetchFn });
    const client = new Client(this.#opts.clientInfo, { capabilities: {} });
    const connection = new SdkMcpConnection(server, kind, client, transport, probe, this.#opts);
    const attempt = new AbortController();
    try {
      // Client.connect does not close the transport when `start()` fails (SSE), so we always do.
      await deadline(
        client.connect(transport, { signal: attempt.signal, timeout: this.#opts.connectTimeoutMs }),
        this.#opts.connectTimeoutMs,
        signal,
        () => new McpConnectionError(server.name, `MCP server "${server.name}" (${displayUrl(server.url)}) did not finish connecting within ${this.#opts.connectTimeoutMs} ms (${kind})`),
      );
      return connection;
    } catch (err) {
      attempt.abort();
      await connection.close();
      if (signal?.aborted) throw signal.reason;
      throw toServerError(err, server, probe, `connect (${kind === 'sse' ? 'SSE' : 'streamable HTTP'})`);
    }
  }
}

/** The GET stream of streamable HTTP is optional; failing to reopen it must not retry for long. */
const NO_SSE_RECONNECT = { initialReconnectionDelay: 1_000, maxReconnectionDelay: 5_000, reconnectionDelayGrowFactor: 1.5, maxRetries: 2 };

class SdkMcpConnection implements McpConnection {
  readonly server: McpServerRef;
  readonly transport: McpTransportKind;
  readonly #client: Client;
  readonly #sdkTransport: Transport;
  readonly #probe: StatusProbe;
  readonly #opts: { callTimeoutMs: number; listTimeoutMs: number; maxResultChars: number };
  #open = true;
  #closing: Promise<void> | undefined;
  #tools: Promise<McpToolInfo[]> | undefined;

  constructor(server: McpServerRef, kind: McpTransportKind, client: Client, transport: Transport, probe: StatusProbe, opts: { callTimeoutMs: number; listTimeoutMs: number; maxResultChars: number }) {
    this.server = server;
    this.transport = kind;
    this.#client = client;
    this.#sdkTransport = transport;
    this.#probe = probe;
    this.#opts = opts;
    client.onclose = () => {
      this.#open = false;
    };
    // Background stream errors are not call failures; calls report their own.
    client.onerror = () => {};
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      this.#tools = undefined;
    });
  }

  get open(): boolean {
    return this.#open;
  }

  listTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    if (!this.#tools) {
      const pending = this.#fetchTools(signal);
      this.#tools = pending;
      // A failed or aborted listing must not stay cached.
      pending.catch(() => {
        if (this.#tools === pending) this.#tools = undefined;
      });
    }
    return this.#tools.then((tools) => tools.map((t) => ({ ...t, inputSchema: structuredClone(t.inputSchema) })));
  }

  async #fetchTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await this.#request('tools/list', signal, (s) =>
        this.#client.listTools(cursor === undefined ? undefined : { cursor }, { signal: s, timeout: this.#opts.listTimeoutMs }),
      );
      for (const t of result.tools) {
        const schema = t.inputSchema && typeof t.inputSchema === 'object' ? (t.inputSchema as Record<string, unknown>) : { type: 'object' };
        tools.push({ name: t.name, description: t.description ?? '', inputSchema: schema });
      }
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  }

  async callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult> {
    try {
      const result = await this.#request(`tools/call ${name}`, signal, (s) =>
        this.#client.callTool({ name, arguments: args }, undefined, { signal: s, timeout: this.#opts.callTimeoutMs }),
      );
      return mcpResultToBlocks(result, this.#opts.maxResultChars);
    } catch (err) {
      if (err instanceof CallRejected) {
        const e = err.error;
        if (e.code === ErrorCode.RequestTimeout) return errorResult(`MCP tool "${name}" on server "${this.server.name}" did not answer within ${this.#opts.callTimeoutMs} ms.`);
        return errorResult(`MCP tool "${name}" on server "${this.server.name}" failed: ${e.message}`);
      }
      throw err;
    }
  }

  /**
   * Runs one SDK request with a per-call signal (the SDK never removes the abort listener it adds,
   * so a long-lived caller signal is linked here and unlinked when the call settles). JSON-RPC
   * errors come back as `CallRejected`; transport failures as `McpServerError`.
   */
  async #request<T>(what: string, signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    if (!this.#open) throw new McpConnectionError(this.server.name, `MCP server "${this.server.name}": the connection is closed`);
    const local = new AbortController();
    const onAbort = () => local.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(local.signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && failureStatus(err, this.#probe) === undefined) {
        throw new CallRejected(err);
      }
      this.#open = false;
      throw toServerError(err, this.server, this.#probe, what);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    const wasOpen = this.#open;
    this.#open = false;
    if (wasOpen && this.#sdkTransport instanceof StreamableHTTPClientTransport && this.#sdkTransport.sessionId) {
      // Polite session end (DELETE); a server that ignores it costs us at most this deadline.
      await deadline(this.#sdkTransport.terminateSession(), TERMINATE_TIMEOUT_MS, undefined, () => new Error('terminate timed out')).catch(() => {});
    }
    await this.#client.close().catch(() => {});
    await this.#sdkTransport.close().catch(() => {});
  }
}

/** A JSON-RPC error answer: the server is fine, the call is not (becomes an error result). */
class CallRejected extends Error {
  readonly error: McpError;

  constructor(error: McpError) {
    super(error.message, { cause: error });
    this.name = new.target.name;
    this.error = error;
  }
}

/** Settles with `work`, or rejects on timeout (`onTimeout()`) or abort (`signal.reason`). */
function deadline<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      work.catch(() => {});
      reject(signal.reason);
      return;
    }
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => settle(() => reject(signal?.reason));
    const timer = setTimeout(() => settle(() => reject(onTimeout())), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then((v) => settle(() => resolve(v)), (e) => settle(() => reject(e)));
  });
}
