// Scripted fake of the Anthropic Messages API served over real HTTP. Tests point Hangar's model
// adapter (the official @anthropic-ai/sdk client) at it, so the SDK's own request building, SSE
// parsing, error mapping and abort handling are exercised instead of being mocked away.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, type Hash } from 'node:crypto';

export type FakeBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export interface FakeUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export type FakeReply =
  | {
      kind?: 'message';
      content: FakeBlock[];
      stop_reason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'refusal' | 'stop_sequence' | 'pause_turn';
      // SDK 1.12.0 carries refusal details on Message / message_delta as `stop_details`; passed through verbatim.
      stop_details?: unknown;
      usage?: FakeUsage;
      /** Delay before the response headers are sent. */
      delayMs?: number;
      /** Delay between SSE events (streaming only). */
      chunkDelayMs?: number;
      /** Streaming: send message_start and the first content chunk, then stall until the client disconnects.
       *  Non-streaming: send nothing at all until the client disconnects. */
      hang?: boolean;
    }
  | { kind: 'error'; status: number; type: string; message?: string; retryAfterSeconds?: number; delayMs?: number }
  | { kind: 'disconnect'; delayMs?: number };

export interface RecordedRequest {
  method: string;
  /** Request target as sent, query included (e.g. `/v1/messages?beta=true`). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; the raw string if it was not valid JSON. */
  body: any;
  receivedAt: number;
}

/** Token accounting of the fake's tokenizer (see `FakeUpstreamOptions`), summed over answered requests. */
export interface FakeTokenTotals {
  /** Messages requests answered with counted usage. */
  requests: number;
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  /** Requests refused as over the context window. */
  overflows: number;
  /** `count_tokens` calls answered. */
  counts: number;
  /** The largest prompt (in the fake's tokens) of a request it answered. */
  largestPrompt: number;
}

export interface FakeUpstreamOptions {
  port?: number;
  /**
   * The model's context window in the fake's tokens: a request whose prompt is longer gets the real
   * API's 400 `prompt is too long: N tokens > W maximum` (prompt plus `max_tokens` over it: the
   * `input length and max_tokens exceed context limit` 400). Also turns on counted usage.
   */
  contextWindow?: number;
  /**
   * Report usage from the fake's tokenizer (prompt tokens split into fresh input, prefix-cache reads
   * and writes at the request's `cache_control` breakpoints) instead of the fixed 10 / 5. Scripted
   * `usage` fields still win. Default: on when `contextWindow` is set.
   */
  countedUsage?: boolean;
  /** Characters a token of the fake's tokenizer (default 3.5: counts higher than Hangar's 4-char estimate). */
  charsPerToken?: number;
}

export interface FakeUpstream {
  url: string;
  requests: RecordedRequest[];
  /** `POST /v1/messages/count_tokens` requests (kept apart so message-request counts stay as they were). */
  countRequests: RecordedRequest[];
  /** What counted usage reported so far. */
  tokenTotals(): FakeTokenTotals;
  /** The fake tokenizer's count of a Messages request body's prompt. */
  promptTokens(body: any): number;
  script(...replies: FakeReply[]): void;
  setResponder(fn: ((req: RecordedRequest) => FakeReply | Promise<FakeReply>) | null): void;
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  pending(): number;
  reset(): void;
  close(): Promise<void>;
}

type Responder = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;
type MessageReply = Extract<FakeReply, { content: FakeBlock[] }>;
type SseEvent = { name: string; data: unknown };
type Waiter = { n: number; resolve: (r: RecordedRequest[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

// A few code points per text/thinking delta so tests can observe incremental previews; long texts
// get bigger chunks so a single reply never explodes into thousands of events.
const MIN_CHUNK = 4;
const MAX_CHUNKS = 256;
// Real upstream interleaves pings; the SDK must skip them, so emit them regularly.
const PING_EVERY_N_DELTAS = 10;
const DEFAULT_WAIT_MS = 5_000;

/** A prompt's parts in the order the API caches them (tools, system, then message blocks), without breakpoints. */
function promptUnits(body: any): Array<{ text: string; breakpoint: boolean }> {
  const units: Array<{ text: string; breakpoint: boolean }> = [];
  const add = (x: any, prefix = '') => {
    const { cache_control, ...rest } = x ?? {};
    units.push({ text: prefix + JSON.stringify(rest), breakpoint: cache_control !== undefined && cache_control !== null });
  };
  for (const t of Array.isArray(body?.tools) ? body.tools : []) add(t);
  if (typeof body?.system === 'string') add({ type: 'text', text: body.system });
  else for (const b of Array.isArray(body?.system) ? body.system : []) add(b);
  for (const m of Array.isArray(body?.messages) ? body.messages : []) {
    if (typeof m?.content === 'string') add({ type: 'text', text: m.content }, `${m.role}:`);
    else (Array.isArray(m?.content) ? m.content : []).forEach((b: any, i: number) => add(b, i === 0 ? `${m.role}:` : ''));
  }
  return units;
}

export function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const charsPerToken = opts.charsPerToken ?? 3.5;
  const countedUsage = opts.countedUsage ?? opts.contextWindow !== undefined;
  const countRequests: RecordedRequest[] = [];
  /** Prefixes written to the prompt cache: hash of the prefix through a breakpoint → its tokens. */
  const cached = new Map<string, number>();
  const totals: FakeTokenTotals = { requests: 0, input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, overflows: 0, counts: 0, largestPrompt: 0 };
  const tokensOf = (chars: number) => Math.ceil(chars / charsPerToken);
  const promptTokens = (body: any) => tokensOf(promptUnits(body).reduce((n, u) => n + u.text.length, 0));
  /** Prompt tokens, and the prefix-cache read and write of a request (the cache is updated). */
  function cacheUsage(body: any): { prompt: number; read: number; write: number } {
    const hash: Hash = createHash('sha256');
    let chars = 0;
    let read = 0;
    let deepest = 0;
    const written: Array<[string, number]> = [];
    for (const u of promptUnits(body)) {
      hash.update(u.text);
      chars += u.text.length;
      if (!u.breakpoint) continue;
      const key = hash.copy().digest('hex');
      const tokens = tokensOf(chars);
      if (cached.has(key)) read = Math.max(read, tokens);
      written.push([key, tokens]);
      deepest = Math.max(deepest, tokens);
    }
    for (const [k, t] of written) cached.set(k, t);
    return { prompt: tokensOf(chars), read, write: Math.max(0, deepest - read) };
  }
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  const sockets = new Set<Socket>();
  let waiters: Waiter[] = [];
  let responder: Responder | null = null;
  let msgSeq = 0;
  let toolSeq = 0;
  let sigSeq = 0;
  let closing: Promise<void> | null = null;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the kit must surface as a loud 500 rather than a silently hung test.
      if (!res.headersSent && !res.destroyed) sendError(res, 500, 'api_error', `fake upstream: internal error: ${errMessage(err)}`);
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Clients vanishing mid-write (aborts, hang tests) are expected, not failures.
    socket.on('error', () => {});
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  function notifyWaiters(): void {
    if (waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of waiters) {
      if (requests.length >= w.n) {
        clearTimeout(w.timer);
        w.resolve(requests.slice());
      } else still.push(w);
    }
    waiters = still;
  }

  async function nextReply(rec: RecordedRequest): Promise<FakeReply | undefined> {
    const scripted = queue.shift();
    if (scripted) return scripted;
    if (responder) return await responder(rec);
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    res.on('error', () => {});
    req.on('error', () => {});

    const target = req.url ?? '/';
    const pathname = new URL(target, 'http://fake.invalid').pathname;
    if (req.method === 'POST' && pathname === '/v1/messages/count_tokens') {
      let raw: string;
      try {
        raw = await readBody(req);
      } catch {
        return;
      }
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        sendError(res, 400, 'invalid_request_error', 'fake upstream: request body is not valid JSON');
        return;
      }
      countRequests.push({ method: req.method, path: target, headers: { ...req.headers }, body, receivedAt: Date.now() });
      totals.counts++;
      const payload = JSON.stringify({ input_tokens: promptTokens(body) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'request-id': 'req_fake_count' });
      res.end(payload);
      return;
    }
    if (req.method !== 'POST' || pathname !== '/v1/messages') {
      req.resume();
      sendError(res, 404, 'not_found_error', `fake upstream: no route for ${req.method} ${pathname}`);
      return;
    }

    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return; // client went away mid-upload; nothing to answer
    }
    let body: any = raw;
    let parseFailed = false;
    try {
      body = JSON.parse(raw);
    } catch {
      parseFailed = true;
    }
    const rec: RecordedRequest = { method: req.method, path: target, headers: { ...req.headers }, body, receivedAt: Date.now() };
    // Recorded before answering so tests can assert what was sent even when the reply is an error.
    requests.push(rec);
    notifyWaiters();

    if (parseFailed) {
      sendError(res, 400, 'invalid_request_error', 'fake upstream: request body is not valid JSON');
      return;
    }

    let reply: FakeReply | undefined;
    try {
      reply = await nextReply(rec);
    } catch (err) {
      sendError(res, 500, 'api_error', `fake upstream: responder threw: ${errMessage(err)}`);
      return;
    }
    if (!reply) {
      sendError(res, 500, 'api_error', 'fake upstream: no scripted reply');
      return;
    }

    const delayMs = 'delayMs' in reply ? reply.delayMs : undefined;
    if (delayMs && delayMs > 0) await sleep(delayMs, gone.signal);
    if (gone.signal.aborted) return;

    if (reply.kind === 'disconnect') {
      req.socket.destroy();
      return;
    }
    if (reply.kind === 'error') {
      sendError(res, reply.status, reply.type, reply.message ?? `fake upstream: scripted ${reply.type}`, reply.retryAfterSeconds);
      return;
    }
    if (!Array.isArray(reply.content)) {
      sendError(res, 500, 'api_error', `fake upstream: invalid reply ${JSON.stringify(reply)}`);
      return;
    }

    let counted: { input_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number } | undefined;
    if (opts.contextWindow !== undefined || countedUsage) {
      const prompt = promptTokens(body);
      const window = opts.contextWindow;
      const maxTokens = Number(body?.max_tokens ?? 0);
      if (window !== undefined && prompt > window) {
        totals.overflows++;
        sendError(res, 400, 'invalid_request_error', `prompt is too long: ${prompt} tokens > ${window} maximum`);
        return;
      }
      if (window !== undefined && prompt + maxTokens > window) {
        totals.overflows++;
        sendError(res, 400, 'invalid_request_error', `input length and \`max_tokens\` exceed context limit: ${prompt} + ${maxTokens} > ${window}, decrease input length or \`max_tokens\` and try again`);
        return;
      }
      if (countedUsage) {
        const c = cacheUsage(body);
        counted = { input_tokens: c.prompt - c.read - c.write, cache_read_input_tokens: c.read, cache_creation_input_tokens: c.write };
        totals.requests++;
        totals.input_tokens += counted.input_tokens;
        totals.cache_read_input_tokens += counted.cache_read_input_tokens;
        totals.cache_creation_input_tokens += counted.cache_creation_input_tokens;
        totals.largestPrompt = Math.max(totals.largestPrompt, c.prompt);
      }
    }
    const message = buildMessage(counted ? { ...reply, usage: { ...counted, ...reply.usage } } : reply, body);
    if (body?.stream === true) {
      await streamMessage(res, message, reply, gone.signal);
      return;
    }
    if (reply.hang) {
      await untilAborted(gone.signal);
      return;
    }
    const payload = JSON.stringify(message);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'request-id': requestIdFor(message),
    });
    res.end(payload);
  }

  function buildMessage(reply: MessageReply, body: any): Record<string, any> {
    msgSeq += 1;
    const content = reply.content.map((b) => {
      if (b.type === 'tool_use') return { type: 'tool_use', id: b.id ?? `toolu_fake_${++toolSeq}`, name: b.name, input: b.input };
      if (b.type === 'thinking') return { type: 'thinking', thinking: b.thinking, signature: `sig_fake_${++sigSeq}` };
      return { type: 'text', text: b.text };
    });
    const u = reply.usage ?? {};
    return {
      id: `msg_fake_${msgSeq}`,
      type: 'message',
      role: 'assistant',
      model: typeof body?.model === 'string' ? body.model : 'fake-model',
      content,
      stop_reason: reply.stop_reason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
      stop_sequence: null,
      stop_details: reply.stop_details ?? null,
      usage: {
        input_tokens: u.input_tokens ?? 10,
        output_tokens: u.output_tokens ?? 5,
        cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
        cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
      },
    };
  }

  async function streamMessage(res: ServerResponse, message: Record<string, any>, reply: MessageReply, signal: AbortSignal): Promise<void> {
    const events = sseEvents(message);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestIdFor(message),
    });
    let last = events.length - 1;
    if (reply.hang) {
      const firstDelta = events.findIndex((e) => e.name === 'content_block_delta');
      const firstStart = events.findIndex((e) => e.name === 'content_block_start');
      last = firstDelta >= 0 ? firstDelta : firstStart >= 0 ? firstStart : 0;
    }
    for (let i = 0; i <= last; i++) {
      if (i > 0 && reply.chunkDelayMs && reply.chunkDelayMs > 0) await sleep(reply.chunkDelayMs, signal);
      if (signal.aborted || res.destroyed) return;
      const e = events[i];
      res.write(`event: ${e.name}\ndata: ${JSON.stringify(e.data)}\n\n`);
    }
    if (reply.hang) {
      await untilAborted(signal);
      return;
    }
    res.end();
  }

  return new Promise<FakeUpstream>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        countRequests,
        tokenTotals: () => ({ ...totals }),
        promptTokens,
        script(...replies: FakeReply[]) {
          queue.push(...replies);
        },
        setResponder(fn: Responder | null) {
          responder = fn;
        },
        waitForRequests(n: number, timeoutMs = DEFAULT_WAIT_MS) {
          if (requests.length >= n) return Promise.resolve(requests.slice());
          return new Promise<RecordedRequest[]>((res, rej) => {
            const w: Waiter = {
              n,
              resolve: res,
              reject: rej,
              timer: setTimeout(() => {
                waiters = waiters.filter((x) => x !== w);
                rej(new Error(`fake upstream: expected ${n} request(s) within ${timeoutMs}ms, got ${requests.length}`));
              }, timeoutMs),
            };
            waiters.push(w);
          });
        },
        pending() {
          return queue.length;
        },
        reset() {
          queue.length = 0;
          // Mutated in place so references to `upstream.requests` held by tests stay live.
          requests.length = 0;
          countRequests.length = 0;
          cached.clear();
          Object.assign(totals, { requests: 0, input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, overflows: 0, counts: 0, largestPrompt: 0 });
          responder = null;
          msgSeq = 0;
          toolSeq = 0;
          sigSeq = 0;
        },
        close() {
          if (closing) return closing;
          closing = new Promise<void>((res) => {
            for (const w of waiters) {
              clearTimeout(w.timer);
              w.reject(new Error('fake upstream: closed while waiting for requests'));
            }
            waiters = [];
            server.close(() => res());
            // server.close() alone waits for keep-alive and hung responses; those must not block teardown.
            server.closeAllConnections();
            for (const s of sockets) s.destroy();
          });
          return closing;
        },
      });
    });
  });
}

function sseEvents(message: Record<string, any>): SseEvent[] {
  const usage = message.usage;
  const events: SseEvent[] = [
    {
      name: 'message_start',
      data: {
        type: 'message_start',
        message: {
          ...message,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          // Like the real API, output_tokens here is a small placeholder; message_delta carries the total.
          usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
        },
      },
    },
    { name: 'ping', data: { type: 'ping' } },
  ];
  let deltas = 0;
  const delta = (index: number, d: Record<string, unknown>): void => {
    events.push({ name: 'content_block_delta', data: { type: 'content_block_delta', index, delta: d } });
    if (++deltas % PING_EVERY_N_DELTAS === 0) events.push({ name: 'ping', data: { type: 'ping' } });
  };
  (message.content as Array<Record<string, any>>).forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ name: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      for (const piece of chunkText(block.text)) delta(index, { type: 'text_delta', text: piece });
    } else if (block.type === 'thinking') {
      events.push({
        name: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } },
      });
      for (const piece of chunkText(block.thinking)) delta(index, { type: 'thinking_delta', thinking: piece });
      delta(index, { type: 'signature_delta', signature: block.signature });
    } else {
      events.push({
        name: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } },
      });
      for (const piece of splitJson(JSON.stringify(block.input ?? {}))) delta(index, { type: 'input_json_delta', partial_json: piece });
    }
    events.push({ name: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push(
    {
      name: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: message.stop_reason, stop_sequence: null, stop_details: message.stop_details },
        usage: {
          output_tokens: usage.output_tokens,
          input_tokens: usage.input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
        },
      },
    },
    { name: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

// Splits by code point so surrogate pairs (emoji) are never cut across deltas.
function chunkText(text: string): string[] {
  const cps = Array.from(text);
  const size = Math.max(MIN_CHUNK, Math.ceil(cps.length / MAX_CHUNKS));
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

// At least two pieces so consumers must really accumulate partial JSON rather than parse per delta.
function splitJson(json: string): string[] {
  const parts = Math.min(json.length, Math.max(2, Math.ceil(json.length / 16)));
  const size = Math.ceil(json.length / parts);
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
}

function requestIdFor(message: Record<string, any>): string {
  return String(message.id).replace(/^msg_/, 'req_');
}

function sendError(res: ServerResponse, status: number, type: string, message: string, retryAfterSeconds?: number): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_fake' });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'request-id': 'req_fake',
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed before the body was complete'));
    });
  });
}

// Resolves (never rejects) on abort so callers just check signal.aborted afterwards.
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
