// How session events look in a terminal: compact one-line summaries of tool calls and results,
// the text of agent messages, and the usage/cost footer. Pure functions over wire events.
import { money } from './table.ts';

type Ev = Record<string, any>;

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The argument a person recognizes a call by (bash's command, a file path, a pattern), else the input as JSON. */
export function toolArgument(input: unknown): string {
  if (!input || typeof input !== 'object') return JSON.stringify(input ?? {});
  const i = input as Record<string, unknown>;
  for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query']) if (typeof i[key] === 'string') return i[key] as string;
  return JSON.stringify(i);
}

/** `bash(ls -la)`, `github/create_issue({...})`, `lookup({"q":"x"})`. */
export function toolCallLabel(e: Ev): string {
  const name = e.type === 'agent.mcp_tool_use' ? `${e.mcp_server_name}/${e.name}` : String(e.name);
  return `${name}(${oneLine(toolArgument(e.input), 80)})`;
}

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b: Ev) => (b?.type === 'text' ? String(b.text ?? '') : b?.type === 'redacted' ? '[redacted]' : '')).join('');
}

/** `ok: first line (+3 lines)` or `error: …`. */
export function toolResultLine(e: Ev): string {
  const text = textOf(e.content);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const first = lines.length ? oneLine(lines[0], 100) : '(no output)';
  const more = lines.length > 1 ? ` (+${lines.length - 1} lines)` : '';
  return `${e.is_error ? 'error' : 'ok'}: ${first}${more}`;
}

export function sessionErrorLine(e: Ev): string {
  const err = e.error ?? {};
  const retry = err.retry_status?.type ? ` [${err.retry_status.type}]` : '';
  return `session error: ${err.type ?? 'unknown_error'}: ${err.message ?? ''}${retry}`;
}

export function usageLine(session: Ev): string {
  const u = session.usage ?? {};
  const cacheRead = u.cache_read_input_tokens ? `, ${u.cache_read_input_tokens} cache read` : '';
  return `usage: ${u.input_tokens ?? 0} input, ${u.output_tokens ?? 0} output tokens${cacheRead} · cost ${u.list_cost ? money(u.list_cost) : 'n/a'}`;
}
