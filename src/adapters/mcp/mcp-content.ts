// Maps an MCP `tools/call` result onto tool_result content blocks (text and base64 images), the
// shape `agent.mcp_tool_result` and the model's `tool_result` carry. Everything the Messages API
// cannot take (audio, binary blobs, links) becomes a short text note instead of being dropped silently.
import { truncateMiddle } from '../../domain/truncate.ts';
import type { McpCallResult } from '../../ports/mcp.ts';

/** Image types the Messages API accepts in a base64 image block. */
const MODEL_IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Default cap on all text of one result, in characters. */
export const DEFAULT_MAX_RESULT_CHARS = 100_000;

type Block = Record<string, unknown>;

/**
 * Converts an MCP call result (current `content[]` form, `structuredContent`-only, or the legacy
 * `toolResult` form) to tool_result blocks. Text beyond `maxChars` in total is cut in the middle
 * with a note. The result is never empty (the Messages API rejects empty text blocks).
 */
export function mcpResultToBlocks(result: unknown, maxChars = DEFAULT_MAX_RESULT_CHARS): McpCallResult {
  const r = (isObject(result) ? result : {}) as Record<string, unknown>;
  const isError = r.isError === true;
  const blocks: Block[] = [];
  if (Array.isArray(r.content)) {
    for (const item of r.content) blocks.push(...contentItemToBlocks(item));
  }
  if (blocks.length === 0 && r.structuredContent !== undefined) {
    blocks.push(text(JSON.stringify(r.structuredContent, null, 2)));
  }
  if (blocks.length === 0 && 'toolResult' in r) {
    blocks.push(text(typeof r.toolResult === 'string' ? r.toolResult : JSON.stringify(r.toolResult, null, 2)));
  }
  if (blocks.length === 0) blocks.push(text(isError ? '(the tool reported an error without details)' : '(no output)'));
  return { content: capText(blocks, maxChars), isError };
}

/** A text-only error result, e.g. for a JSON-RPC error or a timeout. */
export function errorResult(message: string): McpCallResult {
  return { content: [text(message)], isError: true };
}

function contentItemToBlocks(item: unknown): Block[] {
  if (!isObject(item)) return [];
  switch (item.type) {
    case 'text':
      return typeof item.text === 'string' && item.text !== '' ? [text(item.text)] : [];
    case 'image':
      return [imageOrNote(str(item.mimeType), item.data, 'image')];
    case 'audio':
      return [text(`[audio content (${str(item.mimeType) || 'unknown type'}) omitted: audio cannot be shown to the model]`)];
    case 'resource':
      return [resourceBlock(isObject(item.resource) ? item.resource : {})];
    case 'resource_link': {
      const name = str(item.name) || str(item.title);
      const desc = str(item.description);
      return [text(`[resource link${name ? `: ${name}` : ''} <${str(item.uri)}>${desc ? ` ${desc}` : ''}]`)];
    }
    default:
      return [text(JSON.stringify(item))];
  }
}

function resourceBlock(res: Record<string, unknown>): Block {
  const uri = str(res.uri);
  const mime = str(res.mimeType);
  if (typeof res.text === 'string') return text(`[resource ${uri}${mime ? ` (${mime})` : ''}]\n${res.text}`);
  if (typeof res.blob === 'string') {
    if (MODEL_IMAGE_TYPES.has(mime)) return imageOrNote(mime, res.blob, `resource ${uri}`);
    const bytes = Math.floor((res.blob.length * 3) / 4);
    return text(`[binary resource ${uri} (${mime || 'unknown type'}, about ${bytes} bytes) omitted]`);
  }
  return text(`[resource ${uri}]`);
}

function imageOrNote(mime: string, data: unknown, what: string): Block {
  if (MODEL_IMAGE_TYPES.has(mime) && typeof data === 'string' && data !== '') {
    return { type: 'image', source: { type: 'base64', media_type: mime, data } };
  }
  return text(`[${what} (${mime || 'unknown type'}) omitted: only JPEG, PNG, GIF and WebP images can be shown]`);
}

/** Shares `maxChars` across text blocks in order; later blocks shrink first to whatever is left. */
function capText(blocks: Block[], maxChars: number): Block[] {
  let left = maxChars;
  return blocks.map((b) => {
    if (b.type !== 'text') return b;
    const t = b.text as string;
    const capped = truncateMiddle(t, Math.max(left, 200));
    left = Math.max(0, left - t.length);
    return capped === t ? b : text(capped);
  });
}

function text(t: string): Block {
  return { type: 'text', text: t };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
