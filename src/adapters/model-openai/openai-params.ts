// Translates the neutral model request into Chat Completions parameters: one system message,
// user/assistant turns with content parts, assistant tool calls, and one `tool` message per tool
// result (images a tool returned follow in a user message, since tool messages carry text only).
import type { ModelContentBlock, ModelRequest } from '../../ports/model.ts';

type Part = Record<string, unknown>;
type ChatMessage = Record<string, unknown>;

export interface OpenAIParamOptions {
  /** OpenAI's own API wants `max_completion_tokens`; most compatible servers read `max_tokens`. */
  maxTokensParam: 'max_completion_tokens' | 'max_tokens';
}

function imagePart(source: Record<string, unknown>): Part | undefined {
  if (source.type === 'base64') return { type: 'image_url', image_url: { url: `data:${String(source.media_type)};base64,${String(source.data)}` } };
  if (source.type === 'url') return { type: 'image_url', image_url: { url: String(source.url) } };
  return undefined;
}

function documentParts(b: Extract<ModelContentBlock, { type: 'document' }>): Part[] {
  const s = b.source;
  const head = b.title ? `Document: ${b.title}${b.context ? ` (${b.context})` : ''}\n` : '';
  if (s.type === 'text') return [{ type: 'text', text: `${head}${String(s.data)}` }];
  if (s.type === 'base64') {
    return [{ type: 'file', file: { filename: b.title ?? 'document.pdf', file_data: `data:${String(s.media_type)};base64,${String(s.data)}` } }];
  }
  if (s.type === 'url') return [{ type: 'text', text: `${head}[document at ${String(s.url)}]` }];
  return [{ type: 'text', text: `${head}[a document of type ${String(s.type)} was attached; this provider cannot read it]` }];
}

/** Content parts of a user turn (tool results are handled separately). */
function userParts(blocks: ModelContentBlock[]): Part[] {
  const parts: Part[] = [];
  for (const b of blocks) {
    if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(imagePart(b.source) ?? { type: 'text', text: `[an image of source type ${String(b.source.type)} was attached; this provider cannot read it]` });
    else if (b.type === 'document') parts.push(...documentParts(b));
  }
  return parts;
}

/** A lone text goes as a plain string, which every compatible server accepts; more keep their boundaries as parts. */
function content(parts: Part[]): string | Part[] {
  return parts.length === 1 && parts[0].type === 'text' ? String(parts[0].text) : parts;
}

function toolResultText(b: Extract<ModelContentBlock, { type: 'tool_result' }>): { text: string; images: Part[] } {
  const texts: string[] = [];
  const images: Part[] = [];
  for (const c of b.content) {
    if (c.type === 'text') texts.push(String(c.text));
    else if (c.type === 'image') {
      const part = imagePart((c.source ?? {}) as Record<string, unknown>);
      if (part) images.push(part);
      texts.push(part ? '[image: attached in the next user message]' : '[image the provider cannot read]');
    } else if (c.type === 'document') texts.push(...documentParts(c as never).map((p) => (p.type === 'text' ? String(p.text) : '[document]')));
  }
  const text = texts.join('\n');
  // Chat Completions has no error flag on tool messages: say it in the content.
  return { text: b.is_error ? `[the tool reported an error]\n${text}` : text, images };
}

export function toOpenAIMessages(req: ModelRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (req.system.length) out.push({ role: 'system', content: req.system.map((s) => s.text).join('\n\n') });
  for (const m of req.messages) {
    if (m.role === 'system') {
      // A mid-conversation system turn (Chat Completions takes system messages anywhere).
      out.push({ role: 'system', content: m.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('\n') });
      continue;
    }
    if (m.role === 'assistant') {
      const text = m.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('');
      const calls = m.content.filter((b) => b.type === 'tool_use').map((b) => {
        const u = b as Extract<ModelContentBlock, { type: 'tool_use' }>;
        return { id: u.id, type: 'function', function: { name: u.name, arguments: JSON.stringify(u.input) } };
      });
      const msg: ChatMessage = { role: 'assistant', content: text || null };
      if (calls.length) msg.tool_calls = calls;
      out.push(msg);
      continue;
    }
    const images: Part[] = [];
    for (const b of m.content) {
      if (b.type !== 'tool_result') continue;
      const r = toolResultText(b);
      images.push(...r.images);
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: r.text });
    }
    const parts = [...(images.length ? [{ type: 'text', text: 'Images returned by the tool calls above:' }, ...images] : []), ...userParts(m.content)];
    if (parts.length) out.push({ role: 'user', content: content(parts) });
  }
  return out;
}

export function toOpenAIParams(req: ModelRequest, opts: OpenAIParamOptions): Record<string, unknown> {
  const params: Record<string, unknown> = {
    model: req.model.id,
    messages: toOpenAIMessages(req),
    stream: true,
    // Usage arrives in a last chunk only when asked for.
    stream_options: { include_usage: true },
    [opts.maxTokensParam]: req.maxTokens,
  };
  if (req.tools.length) {
    params.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } }));
  }
  if (req.toolChoice) params.tool_choice = { type: 'function', function: { name: req.toolChoice.name } };
  // The router removes effort for models without the thinking capability.
  if (req.model.effort) params.reasoning_effort = req.model.effort;
  return params;
}
