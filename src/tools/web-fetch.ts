// The `web_fetch` server tool: fetch one URL through an address-vetting fetcher (supplied by the
// caller; see adapters/net-guard), turn HTML into readable markdown, pass text through, refuse
// other content types, and cap the result at `max_content_tokens`.
import type { ToolOutcome } from '../ports/sandbox.ts';
import { errorOutcome, INTERRUPTED_MESSAGE, textOutcome, type JsonSchema } from './builtin-tool.ts';
import { htmlToText } from './html-to-text.ts';
import { validateInput } from './validate-input.ts';

/** What `runWebFetch` needs from a fetcher; `guardedFetch` from adapters/net-guard fits. */
export interface WebFetchRequestOptions {
  allowedDomains?: readonly string[];
  blockedDomains?: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface WebFetchResponse {
  /** Final URL after redirects. */
  url: string;
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Decoded (no content-encoding) body, possibly cut at `maxBytes`. */
  body: Uint8Array;
  truncated: boolean;
  redirects?: string[];
}

/**
 * Fetches one URL, enforcing the domain filters on every redirect hop and refusing private
 * addresses. Rejections carry a message written for the model.
 */
export type WebFetcher = (url: string, options: WebFetchRequestOptions) => Promise<WebFetchResponse>;

/** The agent's web_fetch config (snake_case, as in the agent's toolset `configs[]`). */
export interface WebFetchConfig {
  allowed_domains?: readonly string[] | null;
  blocked_domains?: readonly string[] | null;
  max_content_tokens?: number | null;
}

/** Rough token estimate used for `max_content_tokens`. */
export const CHARS_PER_TOKEN = 4;
/** Cap when the agent sets no `max_content_tokens`. */
export const DEFAULT_MAX_CONTENT_TOKENS = 25_000;
export const WEB_FETCH_MAX_BYTES = 5 * 1024 * 1024;
export const WEB_FETCH_TIMEOUT_MS = 30_000;

const INPUT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { url: { type: 'string', description: 'The absolute http(s) URL to fetch.' } },
  required: ['url'],
  additionalProperties: false,
};

export const WEB_FETCH_TOOL = {
  name: 'web_fetch',
  description:
    'Fetches a web page or text file by URL and returns its content as markdown/plain text (HTML is converted; ' +
    'scripts and styles are removed). Only public http(s) URLs; binary content such as PDFs and images is not supported. ' +
    'Long pages are truncated.',
  input_schema: INPUT_SCHEMA,
} as const;

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const TEXT_TYPES = new Set([
  'application/json', 'application/xml', 'application/javascript', 'application/ecmascript', 'application/x-javascript',
  'application/yaml', 'application/x-yaml', 'application/toml', 'application/x-sh', 'application/sql', 'application/graphql',
  'application/x-ndjson', 'application/csv',
]);

export async function runWebFetch(input: Record<string, unknown>, config: WebFetchConfig, fetcher: WebFetcher, signal?: AbortSignal): Promise<ToolOutcome> {
  const problem = validateInput('web_fetch', INPUT_SCHEMA, input);
  if (problem) return errorOutcome(problem);
  if (signal?.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
  const url = (input.url as string).trim();

  let res: WebFetchResponse;
  try {
    res = await fetcher(url, {
      allowedDomains: config.allowed_domains ?? undefined,
      blockedDomains: config.blocked_domains ?? undefined,
      maxBytes: WEB_FETCH_MAX_BYTES,
      timeoutMs: WEB_FETCH_TIMEOUT_MS,
      signal,
    });
  } catch (err) {
    if (signal?.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
    return errorOutcome(`web_fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  const { mime, charset } = parseContentType(res.headers['content-type']);
  const bytes = res.body;
  const kind = HTML_TYPES.has(mime) ? 'html' : isTextType(mime) ? 'text' : mime === '' ? sniff(bytes) : 'other';
  if (kind === 'other') {
    return errorOutcome(`web_fetch cannot read ${mime || 'binary'} content from ${res.url}: only HTML and text are supported.`);
  }
  const decoded = decode(bytes, charset ?? (kind === 'html' ? metaCharset(bytes) : undefined));
  const page = kind === 'html' ? htmlToText(decoded, { baseUrl: res.url }) : { title: undefined, text: decoded.replace(/\r\n?/g, '\n').trim() };

  if (res.status < 200 || res.status >= 300) {
    const excerpt = page.text.slice(0, 1_000);
    return errorOutcome(`web_fetch got HTTP ${res.status} from ${res.url}.${excerpt ? `\n\n${excerpt}` : ''}`);
  }

  const maxTokens = config.max_content_tokens ?? DEFAULT_MAX_CONTENT_TOKENS;
  const maxChars = Math.max(1, maxTokens) * CHARS_PER_TOKEN;
  let body = page.text;
  const notes: string[] = [];
  if (body.length > maxChars) {
    const cut = cutAt(body, maxChars);
    notes.push(`[Content truncated: showing the first ${cut.length} of ${body.length} characters (max_content_tokens=${maxTokens}).]`);
    body = cut;
  }
  if (res.truncated) notes.push(`[The response was larger than ${WEB_FETCH_MAX_BYTES} bytes; only its beginning was read.]`);

  const header = [`URL: ${res.url}`];
  if (page.title) header.push(`Title: ${page.title}`);
  if (res.redirects && res.redirects.length > 0) header.push(`Redirected from: ${res.redirects[0]}`);
  const text = `${header.join('\n')}\n\n${body || '(the page has no readable text)'}${notes.length ? `\n\n${notes.join('\n')}` : ''}`;
  return textOutcome(text);
}

function parseContentType(header: string | undefined): { mime: string; charset: string | undefined } {
  if (!header) return { mime: '', charset: undefined };
  const [type, ...params] = header.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(p);
    if (m) charset = m[1];
  }
  return { mime: type.trim().toLowerCase(), charset };
}

function isTextType(mime: string): boolean {
  return mime.startsWith('text/') || TEXT_TYPES.has(mime) || mime.endsWith('+json') || mime.endsWith('+xml');
}

/** For a response without a content type: HTML by its opening, text when it has no NUL bytes. */
function sniff(bytes: Uint8Array): 'html' | 'text' | 'other' {
  const head = new TextDecoder('utf-8').decode(bytes.subarray(0, 1024)).replace(/^\ufeff/, '').trimStart().toLowerCase();
  if (/^<(!doctype html|html|head|body)[\s>]/.test(head)) return 'html';
  const sample = bytes.subarray(0, 8192);
  return sample.includes(0) ? 'other' : 'text';
}

/** `<meta charset>` / `http-equiv` declaration within the first 2 KiB, read as ASCII. */
function metaCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 2048));
  return /<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.-]+)/i.exec(head)?.[1];
}

function decode(bytes: Uint8Array, charset: string | undefined): string {
  // A byte-order mark beats any declaration.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** The first `max` characters, not splitting a surrogate pair, preferring a line or word end. */
function cutAt(text: string, max: number): string {
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  const nl = text.lastIndexOf('\n', end);
  if (nl > end - 500 && nl > 0) return text.slice(0, nl).trimEnd();
  const sp = text.lastIndexOf(' ', end);
  if (sp > end - 100 && sp > 0) return text.slice(0, sp).trimEnd();
  return text.slice(0, end);
}
