// Scripted fake of an OpenAI-compatible Chat Completions API (OpenAI, vLLM, Ollama) served over
// real HTTP with SSE streaming. Scripted like test/kit/fake-upstream.ts (same replies: text,
// thinking, tool_use blocks; errors; disconnects; hangs), so tests read the same, while Hangar's
// OpenAI adapter exercises the official `openai` client's request building and stream parsing.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FakeBlock, FakeReply, RecordedRequest } from './fake-upstream.ts';

export type { FakeBlock, RecordedRequest } from './fake-upstream.ts';

/** Chat Completions usage. `prompt_tokens` includes `cached_tokens`, as OpenAI reports it. */
export interface FakeOpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
}

export type FakeOpenAIReply =
  | {
      kind?: 'message';
      content: FakeBlock[];
      finish_reason?: 'stop' | 'tool_calls' | 'length' | 'content_filter';
      usage?: FakeOpenAIUsage;
      /** Leave the usage chunk out (servers that ignore stream_options). */
      omitUsage?: boolean;
      delayMs?: number;
      chunkDelayMs?: number;
      /** Send the first content chunk, then stall until the client disconnects. */
      hang?: boolean;
    }
  | { kind: 'error'; status: number; type?: string; code?: string; param?: string; message?: string; retryAfterSeconds?: number; delayMs?: number }
  | { kind: 'disconnect'; delayMs?: number }
  /** A 200 stream whose data lines are not JSON: a provider answering garbage. */
  | { kind: 'garbage' };

/** Either shape: Chat Completions replies, or the Anthropic fake's replies (translated), so shared suites run here too. */
export type AnyFakeReply = FakeOpenAIReply | FakeReply;

export interface FakeOpenAIUpstream {
  /** The base URL to configure (`…/v1`). */
  url: string;
  /**
   * Recorded requests. With `view: 'anthropic'`, `body` is the request translated to the Messages API
   * shape (so suites written against the Anthropic fake can inspect it) and `wire` is what was sent.
   */
  requests: Array<RecordedRequest & { wire?: any }>;
  script(...replies: AnyFakeReply[]): void;
  setResponder(fn: ((req: RecordedRequest) => AnyFakeReply | Promise<AnyFakeReply>) | null): void;
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  pending(): number;
  reset(): void;
  close(): Promise<void>;
}

type Responder = (req: RecordedRequest) => AnyFakeReply | Promise<AnyFakeReply>;
type MessageReply = Extract<FakeOpenAIReply, { content: FakeBlock[] }>;
type Waiter = { n: number; resolve: (r: RecordedRequest[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

const MIN_CHUNK = 4;
const MAX_CHUNKS = 256;
const DEFAULT_WAIT_MS = 5_000;

export function startFakeOpenAIUpstream(opts: { port?: number; view?: 'openai' | 'anthropic' } = {}): Promise<FakeOpenAIUpstream> {
  const requests: Array<RecordedRequest & { wire?: any }> = [];
  const queue: AnyFakeReply[] = [];
  const sockets = new Set<Socket>();
  let waiters: Waiter[] = [];
  let responder: Responder | null = null;
  let seq = 0;
  let callSeq = 0;
  let closing: Promise<void> | null = null;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) sendError(res, { kind: 'error', status: 500, type: 'server_error', message: `fake openai upstream: internal error: ${String(err)}` });
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  function notifyWaiters(): void {
    const still: Waiter[] = [];
    for (const w of waiters) {
      if (requests.length >= w.n) {
        clearTimeout(w.timer);
        w.resolve(requests.slice());
      } else still.push(w);
    }
    waiters = still;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    res.on('error', () => {});
    req.on('error', () => {});
    const target = req.url ?? '/';
    const pathname = new URL(target, 'http://fake.invalid').pathname;
    if (req.method !== 'POST' || pathname !== '/v1/chat/completions') {
      req.resume();
      sendError(res, { kind: 'error', status: 404, type: 'invalid_request_error', message: `fake openai upstream: no route for ${req.method} ${pathname}` });
      return;
    }
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    let body: any = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      /* recorded raw */
    }
    const rec: RecordedRequest & { wire?: any } = opts.view === 'anthropic' && typeof body === 'object'
      ? { method: req.method, path: target, headers: { ...req.headers }, body: asMessagesRequest(body), wire: body, receivedAt: Date.now() }
      : { method: req.method, path: target, headers: { ...req.headers }, body, receivedAt: Date.now() };
    requests.push(rec);
    notifyWaiters();
    if (typeof body !== 'object') {
      sendError(res, { kind: 'error', status: 400, type: 'invalid_request_error', message: 'fake openai upstream: body is not JSON' });
      return;
    }
    const scripted = queue.shift() ?? (responder ? await responder(rec) : undefined);
    const reply = scripted ? fromAnthropicReply(scripted) : undefined;
    if (!reply) {
      sendError(res, { kind: 'error', status: 500, type: 'server_error', message: 'fake openai upstream: no scripted reply' });
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
      sendError(res, reply);
      return;
    }
    if (reply.kind === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"id": "chatcmpl-x", "choices": [ this is not json\n\n');
      return;
    }
    body = rec.wire ?? body;
    if (body.stream !== true) {
      sendError(res, { kind: 'error', status: 400, type: 'invalid_request_error', message: 'fake openai upstream: only streaming requests are served' });
      return;
    }
    await stream(res, reply, String(body.model ?? 'fake-model'), body.stream_options?.include_usage === true, gone.signal);
  }

  async function stream(res: ServerResponse, reply: MessageReply, model: string, includeUsage: boolean, signal: AbortSignal): Promise<void> {
    seq += 1;
    const id = `chatcmpl-fake-${seq}`;
    const base = { id, object: 'chat.completion.chunk', created: 1_700_000_000, model };
    const chunks: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
    const delta = (d: Record<string, unknown>) => chunks.push({ ...base, choices: [{ index: 0, delta: d, finish_reason: null }] });
    let calls = 0;
    for (const b of reply.content) {
      if (b.type === 'text') for (const piece of chunkText(b.text)) delta({ content: piece });
      else if (b.type === 'thinking') for (const piece of chunkText(b.thinking)) delta({ reasoning_content: piece });
      else {
        const index = calls++;
        const json = JSON.stringify(b.input ?? {});
        const pieces = splitJson(json);
        delta({ tool_calls: [{ index, id: b.id ?? `call_fake_${++callSeq}`, type: 'function', function: { name: b.name, arguments: pieces[0] ?? '' } }] });
        for (const piece of pieces.slice(1)) delta({ tool_calls: [{ index, function: { arguments: piece } }] });
      }
    }
    const finish = reply.finish_reason ?? (calls ? 'tool_calls' : 'stop');
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
    const u = reply.usage ?? {};
    if (includeUsage && !reply.omitUsage) {
      const prompt = u.prompt_tokens ?? 10;
      const completion = u.completion_tokens ?? 5;
      chunks.push({
        ...base, choices: [],
        usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0 } },
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_${id}` });
    const last = reply.hang ? Math.min(1, chunks.length - 1) : chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      if (i > 0 && reply.chunkDelayMs) await sleep(reply.chunkDelayMs, signal);
      if (signal.aborted || res.destroyed) return;
      res.write(`data: ${JSON.stringify(chunks[i])}\n\n`);
    }
    if (reply.hang) {
      await untilAborted(signal);
      return;
    }
    res.end('data: [DONE]\n\n');
  }

  return new Promise<FakeOpenAIUpstream>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        requests,
        script(...replies) {
          queue.push(...replies);
        },
        setResponder(fn) {
          responder = fn;
        },
        waitForRequests(n, timeoutMs = DEFAULT_WAIT_MS) {
          if (requests.length >= n) return Promise.resolve(requests.slice());
          return new Promise<RecordedRequest[]>((res, rej) => {
            const w: Waiter = {
              n, resolve: res, reject: rej,
              timer: setTimeout(() => {
                waiters = waiters.filter((x) => x !== w);
                rej(new Error(`fake openai upstream: expected ${n} request(s) within ${timeoutMs}ms, got ${requests.length}`));
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
          requests.length = 0;
          responder = null;
          seq = 0;
          callSeq = 0;
        },
        close() {
          if (closing) return closing;
          closing = new Promise<void>((res) => {
            for (const w of waiters) {
              clearTimeout(w.timer);
              w.reject(new Error('fake openai upstream: closed while waiting for requests'));
            }
            waiters = [];
            server.close(() => res());
            server.closeAllConnections();
            for (const s of sockets) s.destroy();
          });
          return closing;
        },
      });
    });
  });
}

const FINISH: Record<string, 'stop' | 'tool_calls' | 'length' | 'content_filter'> = {
  end_turn: 'stop', stop_sequence: 'stop', pause_turn: 'stop', tool_use: 'tool_calls', max_tokens: 'length', refusal: 'content_filter',
};

/** An Anthropic-fake reply in Chat Completions terms (uncached input + cache reads = prompt tokens). */
function fromAnthropicReply(r: AnyFakeReply): FakeOpenAIReply {
  if (r.kind === 'error') return { ...r, type: r.type };
  if (r.kind === 'disconnect' || r.kind === 'garbage' || !('content' in r)) return r as FakeOpenAIReply;
  if (!('stop_reason' in r) && !(r.usage && ('input_tokens' in r.usage || 'output_tokens' in r.usage || 'cache_read_input_tokens' in r.usage))) return r as FakeOpenAIReply;
  const a = r as Extract<FakeReply, { content: FakeBlock[] }>;
  const u = a.usage ?? {};
  const cached = u.cache_read_input_tokens ?? 0;
  const out: FakeOpenAIReply = {
    content: a.content, delayMs: a.delayMs, chunkDelayMs: a.chunkDelayMs, hang: a.hang,
    usage: { prompt_tokens: (u.input_tokens ?? 10) + cached + (u.cache_creation_input_tokens ?? 0), completion_tokens: u.output_tokens ?? 5, cached_tokens: cached },
  };
  if (a.stop_reason) out.finish_reason = FINISH[a.stop_reason];
  return out;
}

/** A Chat Completions request read back as the Messages API request it stands for. */
export function asMessagesRequest(body: Record<string, any>): Record<string, any> {
  const messages: Array<{ role: string; content: Array<Record<string, any>> }> = [];
  const system: Array<Record<string, any>> = [];
  const push = (role: string, blocks: Array<Record<string, any>>) => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  const parts = (c: unknown): Array<Record<string, any>> => {
    if (typeof c === 'string') return c ? [{ type: 'text', text: c }] : [];
    if (!Array.isArray(c)) return [];
    return c.map((p: any) => {
      if (p.type !== 'image_url') return p.type === 'text' ? { type: 'text', text: p.text } : p;
      const m = /^data:([^;]+);base64,(.*)$/.exec(String(p.image_url?.url));
      return { type: 'image', source: m ? { type: 'base64', media_type: m[1], data: m[2] } : { type: 'url', url: p.image_url?.url } };
    });
  };
  const ERROR_PREFIX = '[the tool reported an error]\n';
  for (const m of (body.messages ?? []) as Array<Record<string, any>>) {
    if (m.role === 'system') system.push({ type: 'text', text: m.content });
    else if (m.role === 'assistant') {
      const calls = ((m.tool_calls ?? []) as Array<Record<string, any>>).map((c) => ({ type: 'tool_use', id: c.id, name: c.function.name, input: JSON.parse(c.function.arguments || '{}') }));
      push('assistant', [...parts(m.content), ...calls]);
    } else if (m.role === 'tool') {
      const text = String(m.content);
      const isError = text.startsWith(ERROR_PREFIX);
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: [{ type: 'text', text: isError ? text.slice(ERROR_PREFIX.length) : text }], is_error: isError }]);
    } else push('user', parts(m.content));
  }
  const out: Record<string, any> = { model: body.model, max_tokens: body.max_tokens ?? body.max_completion_tokens, stream: body.stream, messages };
  if (system.length) out.system = system;
  if (body.tools) out.tools = body.tools.map((t: any) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters }));
  if (body.tool_choice?.function) out.tool_choice = { type: 'tool', name: body.tool_choice.function.name };
  return out;
}

function sendError(res: ServerResponse, e: Extract<FakeOpenAIReply, { kind: 'error' }>): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify({ error: { message: e.message ?? `fake openai upstream: scripted ${e.status}`, type: e.type ?? 'invalid_request_error', param: e.param ?? null, code: e.code ?? null } });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  if (e.retryAfterSeconds !== undefined) headers['retry-after'] = String(e.retryAfterSeconds);
  res.writeHead(e.status, headers);
  res.end(payload);
}

function chunkText(text: string): string[] {
  const cps = Array.from(text);
  const size = Math.max(MIN_CHUNK, Math.ceil(cps.length / MAX_CHUNKS));
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

// At least two pieces, so the adapter must accumulate argument deltas.
function splitJson(json: string): string[] {
  const parts = Math.min(json.length, Math.max(2, Math.ceil(json.length / 16)));
  const size = Math.ceil(json.length / parts);
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
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
