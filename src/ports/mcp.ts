// The MCP port: connections to remote MCP servers (an agent's `mcp_servers`), the per-session pool
// the harness calls through, and the stable names under which MCP tools are offered to the model.
// No SDK types leak through here; the adapter in `adapters/mcp/` wraps `@modelcontextprotocol/sdk`.
export const MCP_PORT_VERSION = 'v1';

/** One entry of an agent's `mcp_servers` (`{type:"url", name, url}`). */
export interface McpServerRef {
  name: string;
  url: string;
}

/** How to authenticate one connection. No bearer = unauthenticated connect. */
export interface McpAuth {
  bearer?: string;
}

export interface McpToolInfo {
  /** The tool's own name on its server (what `agent.mcp_tool_use.name` carries). */
  name: string;
  /** Empty string when the server gave none. */
  description: string;
  /** JSON Schema of the input (`{type:"object", ...}`); `{type:"object"}` when the server gave none. */
  inputSchema: Record<string, unknown>;
}

/** A tool call's result as `agent.mcp_tool_result` / model `tool_result` content. */
export interface McpCallResult {
  /** Text and base64 image blocks; resources become text. Never empty. */
  content: Array<Record<string, unknown>>;
  isError: boolean;
}

export type McpErrorKind = 'connection' | 'authentication';

/**
 * A server could not be used. `kind` is decided from HTTP status codes and SDK error types, never
 * from message text: 401/403 or an OAuth-required answer is `authentication`, everything else
 * (refused, DNS, timeout, 5xx, protocol breakage) is `connection`. Messages name the server and
 * its URL without query string and never contain credentials, so they may go into `session.error`.
 */
export class McpServerError extends Error {
  readonly kind: McpErrorKind;
  readonly serverName: string;
  /** The HTTP status that decided the failure, when there was one. */
  readonly status: number | undefined;

  constructor(kind: McpErrorKind, serverName: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.serverName = serverName;
    this.status = options.status;
  }
}

export class McpConnectionError extends McpServerError {
  constructor(serverName: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super('connection', serverName, message, options);
  }
}

export class McpAuthenticationError extends McpServerError {
  constructor(serverName: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super('authentication', serverName, message, options);
  }
}

export interface McpConnection {
  readonly server: McpServerRef;
  /** Which transport the server answered on. */
  readonly transport: 'streamable_http' | 'sse';
  /** False once closed, or once the transport failed (the pool then reconnects). */
  readonly open: boolean;
  /**
   * Every tool the server offers (all pages). May be served from a per-connection cache that the
   * server's `notifications/tools/list_changed` invalidates. Rejects with `McpServerError`.
   */
  listTools(signal?: AbortSignal): Promise<McpToolInfo[]>;
  /**
   * Calls one tool. Resolves `isError: true` for what the server reported as a failure (the tool's
   * own error result, an unknown tool, invalid arguments, a JSON-RPC error) and for a call timeout.
   * Rejects with `McpServerError` when the server could not be reached or refused the credentials
   * (the connection is then no longer `open`), and with `signal.reason` when aborted.
   */
  callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult>;
  /** Ends the MCP session and releases sockets. Idempotent, never rejects. */
  close(): Promise<void>;
}

export interface McpConnector {
  /**
   * Opens and initializes a connection (streamable HTTP, falling back to SSE for servers that
   * answer the streamable POST with a 4xx other than 401/403). Rejects with `McpServerError`, or
   * with `signal.reason` when aborted. The caller owns the connection and must `close()` it.
   */
  connect(server: McpServerRef, auth: McpAuth, signal?: AbortSignal): Promise<McpConnection>;
}

/** Credentials for one (session, server URL), resolved by the caller from the session's vaults. */
export interface McpCredential {
  /** Token for `Authorization: Bearer`; absent = connect unauthenticated. */
  bearer?: string;
  /**
   * Called once when the server answers 401/403 with `bearer`: return a fresh token (an OAuth
   * refresh, which the caller also persists) and the pool reconnects with it, or undefined to give
   * up with an `McpAuthenticationError`.
   */
  onUnauthorized?: () => Promise<string | undefined>;
}

/** Resolved per call (not per connection), so a rotated credential reaches running sessions. */
export type McpCredentialProvider = (sessionId: string, serverUrl: string) => Promise<McpCredential>;

/**
 * What the harness uses: MCP calls scoped to a session. Connections are reused per
 * (session, server URL, credential) and closed when idle or when the session goes away.
 */
export interface McpSessions {
  /** Rejects with `McpServerError` (map to `mcp_connection_failed_error` / `mcp_authentication_failed_error`). */
  listTools(sessionId: string, server: McpServerRef, signal?: AbortSignal): Promise<McpToolInfo[]>;
  /** Same contract as `McpConnection.callTool`. */
  callTool(sessionId: string, server: McpServerRef, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpCallResult>;
  /** Closes every connection of the session (deleted, archived, or idle for long). */
  closeSession(sessionId: string): Promise<void>;
  /** Closes everything (server shutdown). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Model-facing tool names.
//
// Scheme: `mcp__<server>__<tool>`, matching `^[a-zA-Z0-9_-]{1,128}$`.
// - When both names are already made of [a-zA-Z0-9_-], the server name contains no `__` and does
//   not end in `_`, and the whole fits in 128 characters, the name is exactly `mcp__<server>__<tool>`
//   (the first `__` after the prefix then always ends the server name, so the name is unambiguous).
// - Otherwise each part is sanitized (other characters become `_`), shortened if needed (server
//   part at most 40 characters), and `_h` + 8 hex digits of a hash of the raw pair is appended,
//   so different pairs that sanitize alike still get different names. The name depends only on
//   the pair, so it is stable across turns, restarts and processes.
// Reverse lookup needs the pairs in play (a hash cannot be undone): `McpToolNameIndex`.
// ---------------------------------------------------------------------------------------------

const MODEL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const CLEAN = /^[a-zA-Z0-9_-]+$/;
const PREFIX = 'mcp__';
const MAX_NAME = 128;
const MAX_SERVER_PART = 40;

/** The model-facing name of MCP tool `tool` on server `server` (see the scheme above). */
export function modelToolName(server: string, tool: string): string {
  const plain = `${PREFIX}${server}__${tool}`;
  const unambiguous = CLEAN.test(server) && CLEAN.test(tool) && !server.includes('__') && !server.endsWith('_');
  return unambiguous && plain.length <= MAX_NAME ? plain : hashedName(server, tool, 8, '');
}

function hashedName(server: string, tool: string, hashLength: number, extra: string): string {
  const suffix = `_h${fnv1a64Hex(`${server}\u0000${tool}`).slice(0, hashLength)}${extra}`;
  const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '_') || '_';
  const serverPart = sanitize(server).slice(0, MAX_SERVER_PART);
  const room = MAX_NAME - PREFIX.length - serverPart.length - 2 - suffix.length;
  return `${PREFIX}${serverPart}__${sanitize(tool).slice(0, room)}${suffix}`;
}

/** True when `name` has the shape of an MCP model tool name (it may still name no known tool). */
export function isModelMcpToolName(name: string): boolean {
  return name.startsWith(PREFIX) && MODEL_NAME.test(name);
}

/**
 * Maps model tool names to (server, tool) pairs for the tools offered in one request. Names come
 * from `modelToolName`; in the astronomically unlikely case that two pairs still collide (equal
 * 32-bit hashes), the later pair in sorted order gets a longer hash, so every name stays unique
 * and independent of listing order.
 */
export class McpToolNameIndex {
  readonly #byName = new Map<string, { server: string; tool: string }>();
  readonly #byPair = new Map<string, string>();

  constructor(pairs: Iterable<{ server: string; tool: string }> = []) {
    const sorted = [...pairs].sort((a, b) => cmp(a.server, b.server) || cmp(a.tool, b.tool));
    for (const p of sorted) this.#add(p.server, p.tool);
  }

  #add(server: string, tool: string): string {
    const key = `${server}\u0000${tool}`;
    const existing = this.#byPair.get(key);
    if (existing !== undefined) return existing;
    let name = modelToolName(server, tool);
    const fallbacks = [hashedName(server, tool, 12, ''), hashedName(server, tool, 16, '')];
    for (let n = 2; this.#byName.has(name); n++) name = fallbacks.shift() ?? hashedName(server, tool, 16, `_${n}`);
    this.#byName.set(name, { server, tool });
    this.#byPair.set(key, name);
    return name;
  }

  /** The model-facing name of a pair registered in this index, or undefined. */
  nameOf(server: string, tool: string): string | undefined {
    return this.#byPair.get(`${server}\u0000${tool}`);
  }

  /** The (server, tool) pair behind a model tool name, or undefined when it names none of these. */
  lookup(modelName: string): { server: string; tool: string } | undefined {
    const found = this.#byName.get(modelName);
    return found ? { ...found } : undefined;
  }

  get size(): number {
    return this.#byName.size;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** FNV-1a 64-bit over UTF-16 code units, as 16 hex digits. Stable, dependency-free, not secret. */
function fnv1a64Hex(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}
