// Tool results too big for the model's context: the log keeps them whole, the model gets the head
// and tail of their text and a note saying how much it is not seeing. One token-based rule for every
// tool (bash, file reads, MCP, web fetch, custom tools), applied when the request is built.
import { truncateMiddle } from '../domain/truncate.ts';

const CHARS_PER_TOKEN = 4;
/** The most one tool result may take of a large window (≈ the 30,000 characters tools used to cut at). */
export const TOOL_RESULT_MAX_TOKENS = 8_000;
/** …and of a small one. */
export const TOOL_RESULT_WINDOW_SHARE = 0.1;

/** The per-result token cap for a model with this context window. */
export function toolResultTokenCap(window: number): number {
  return Math.max(64, Math.min(TOOL_RESULT_MAX_TOKENS, Math.floor(window * TOOL_RESULT_WINDOW_SHARE)));
}

type Block = Record<string, unknown>;

/** Text a block carries (text blocks, and text documents as web fetches return them). */
function textOf(b: Block): string | undefined {
  if (b.type === 'text') return String(b.text ?? '');
  const source = b.source as Block | undefined;
  if (b.type === 'document' && source?.type === 'text') return String(source.data ?? '');
  return undefined;
}

function withText(b: Block, text: string): Block {
  if (b.type === 'text') return { ...b, text };
  return { ...b, source: { ...(b.source as Block), data: text } };
}

/**
 * `content` as sent to the model: unchanged when its text fits `maxTokens`, else each text block
 * cut in the middle to its share of the cap and a note appended. Non-text blocks pass unchanged.
 */
export function trimToolResult(content: Block[], maxTokens: number | undefined): Block[] {
  if (!maxTokens) return content;
  const texts = content.map(textOf);
  const total = texts.reduce((n, t) => n + (t?.length ?? 0), 0);
  if (Math.ceil(total / CHARS_PER_TOKEN) <= maxTokens) return content;
  const budget = maxTokens * CHARS_PER_TOKEN;
  const out = content.map((b, i) => {
    const t = texts[i];
    if (t === undefined) return b;
    const share = Math.max(200, Math.floor(budget * (t.length / total)));
    return withText(b, truncateMiddle(t, share));
  });
  out.push({
    type: 'text',
    text: `[This tool result was trimmed to fit the model's context: about ${maxTokens} of its ${Math.ceil(total / CHARS_PER_TOKEN)} tokens are shown. The whole result is kept in the session's event log.]`,
  });
  return out;
}
