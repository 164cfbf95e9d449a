// The `edit` tool: exact string replacement in an existing text file.
import { defineTool, textOutcome, ToolFailure } from './builtin-tool.ts';
import { resolvePath } from './paths.ts';
import { readBytes, statPath, writeBytes } from './sandbox-fs.ts';

/** Larger files are not edited in one piece (the whole file passes through the server). */
export const EDIT_MAX_BYTES = 10 * 1024 * 1024;
const SNIPPET_CONTEXT_LINES = 3;
const SNIPPET_MAX_LINES = 30;

/*
 * Semantics:
 * - `old_string` must occur exactly once (non-overlapping count) unless `replace_all: true`; the
 *   error for several matches gives the count and their line numbers.
 * - Everything outside the replaced ranges stays byte-identical: the file must be valid UTF-8
 *   (a byte order mark is kept), and replacement text is inserted literally (no `$&` patterns).
 * - If the file uses CRLF line endings and `old_string` (written with LF) is not found as is, it is
 *   matched with CRLF instead, and `new_string` gets CRLF too, so the file stays consistent.
 * - "Not found" errors hint at the likely cause: line-number prefixes copied from `read` output,
 *   or whitespace/indentation differences (with the line of the near match).
 * - The reply shows the edited region with line numbers so the model can check the result.
 */
export const editTool = defineTool({
  name: 'edit',
  description:
    'Replace text in an existing file. old_string must match the file content exactly, including whitespace and ' +
    'indentation (do not include the line-number prefixes shown by read), and must occur exactly once unless ' +
    'replace_all is true; include enough surrounding context to make it unique. new_string replaces it literally. ' +
    'Relative paths are resolved against the workspace directory. Use write to create new files.',
  input_schema: {
    type: 'object',
    properties: {
      file_path: { type: 'string', description: 'Path of the file to edit (absolute, or relative to the workspace).' },
      old_string: { type: 'string', description: 'The exact text to replace.' },
      new_string: { type: 'string', description: 'The text to put in its place (must differ from old_string).' },
      replace_all: { type: 'boolean', description: 'Replace every occurrence instead of requiring exactly one (default false).' },
    },
    required: ['file_path', 'old_string', 'new_string'],
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    const path = resolvePath(input.file_path as string, rt.workspace);
    let oldString = input.old_string as string;
    let newString = input.new_string as string;
    const replaceAll = input.replace_all === true;
    if (oldString === '') throw new ToolFailure('old_string must not be empty (use write to create or overwrite a file)');
    if (oldString === newString) throw new ToolFailure('old_string and new_string are identical; there is nothing to change');

    const info = await statPath(rt, path, signal);
    if (info.kind === 'missing') throw new ToolFailure(`File does not exist: ${path} (use write to create it)`);
    if (info.kind === 'directory') throw new ToolFailure(`${path} is a directory, not a file`);
    if (info.kind === 'other') throw new ToolFailure(`${path} is not a regular file (${info.description})`);
    if (info.size > EDIT_MAX_BYTES) throw new ToolFailure(`${path} is too large to edit (${info.size} bytes; limit ${EDIT_MAX_BYTES}). Use bash (e.g. sed) instead.`);

    const { data, truncated } = await readBytes(rt, path, EDIT_MAX_BYTES, signal);
    if (truncated) throw new ToolFailure(`${path} is too large to edit (over ${EDIT_MAX_BYTES} bytes). Use bash (e.g. sed) instead.`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      throw new ToolFailure(`${path} is not valid UTF-8 text; edit would change bytes it was not asked to. Use bash instead.`);
    }

    let positions = findAll(text, oldString);
    if (positions.length === 0 && text.includes('\r\n') && oldString.includes('\n') && !oldString.includes('\r')) {
      const crlfOld = oldString.replaceAll('\n', '\r\n');
      const crlfPositions = findAll(text, crlfOld);
      if (crlfPositions.length > 0) {
        oldString = crlfOld;
        newString = newString.replace(/\r?\n/g, '\r\n');
        positions = crlfPositions;
      }
    }
    if (positions.length === 0) throw new ToolFailure(notFoundMessage(path, text, oldString));
    if (positions.length > 1 && !replaceAll) {
      const lines = positions.slice(0, 20).map((p) => lineOf(text, p));
      const more = positions.length > 20 ? ', ...' : '';
      throw new ToolFailure(
        `old_string occurs ${positions.length} times in ${path} (at lines ${lines.join(', ')}${more}). ` +
          'Include more surrounding context to match exactly one, or set replace_all: true to replace every occurrence.',
      );
    }

    // Rebuild by slicing: String.replace would interpret `$&`, `$1`, ... in new_string.
    const chunks: string[] = [];
    let from = 0;
    for (const p of positions) {
      chunks.push(text.slice(from, p), newString);
      from = p + oldString.length;
    }
    chunks.push(text.slice(from));
    const updated = chunks.join('');
    await writeBytes(rt, path, Buffer.from(updated, 'utf8'), signal, false);

    const firstLine = lineOf(updated, positions[0]);
    const count = positions.length;
    const header = `Edited ${path}: replaced ${count} occurrence${count === 1 ? '' : 's'}.`;
    return textOutcome(`${header}\n${snippet(updated, firstLine, newString)}`);
  },
});

function findAll(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) found.push(i);
  return found;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The first edited region with a few lines of context, `cat -n` style. */
function snippet(text: string, firstLine: number, newString: string): string {
  const lines = text.split('\n');
  const spanned = newString.split('\n').length;
  const from = Math.max(1, firstLine - SNIPPET_CONTEXT_LINES);
  const to = Math.min(lines.length, firstLine + spanned - 1 + SNIPPET_CONTEXT_LINES, from + SNIPPET_MAX_LINES - 1);
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    const line = lines[n - 1].replace(/\r$/, '');
    out.push(`${String(n).padStart(6)}\t${line.length > 500 ? `${line.slice(0, 500)} [...]` : line}`);
  }
  return out.join('\n');
}

function notFoundMessage(path: string, text: string, oldString: string): string {
  let msg = `old_string was not found in ${path}. It must match the file exactly, including whitespace and indentation.`;
  if (/^\s*\d+\t/m.test(oldString) && !/^\s*\d+\t/m.test(text)) {
    return `${msg} It appears to contain line-number prefixes from read output (number + tab); remove them.`;
  }
  const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
  const target = squash(oldString);
  if (target !== '') {
    const lines = text.split('\n');
    const firstOld = squash(oldString.split('\n').find((l) => l.trim() !== '') ?? '');
    for (let i = 0; i < lines.length; i++) {
      if (firstOld === '' || !squash(lines[i]).includes(firstOld)) continue;
      const window = squash(lines.slice(i, i + oldString.split('\n').length + 2).join('\n'));
      if (window.includes(target)) {
        msg += ` A match that differs only in whitespace starts at line ${i + 1}; read that region and copy it exactly.`;
        break;
      }
    }
  }
  return msg;
}
