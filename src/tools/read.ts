// The `read` tool: text files with line numbers, images and PDFs as content blocks.
import { defineTool, textOutcome, ToolFailure } from './builtin-tool.ts';
import { resolvePath } from './paths.ts';
import { readBytes, run, statPath, errnoReason } from './sandbox-fs.ts';
import type { SandboxRuntime } from './runtime.ts';

/** Lines shown when no `view_range` is given. */
export const READ_DEFAULT_LINES = 2000;
/** Longer lines are cut (minified code, data files). */
export const READ_MAX_LINE_CHARS = 2000;
/**
 * Characters per result. Larger than the generic 30,000 cap because files are read in order to be
 * edited and a model needs whole regions; the cut is at a line boundary with a hint how to go on.
 */
export const READ_MAX_CHARS = 100_000;
/** Files up to this size are read whole and sliced here; larger text files are sliced by awk. */
export const READ_FULL_BYTES = 10 * 1024 * 1024;
/** The Messages API rejects images whose base64 exceeds 5 MiB, so this is the raw-size cap. */
export const READ_MAX_IMAGE_BYTES = Math.floor((5 * 1024 * 1024 * 3) / 4);
export const READ_MAX_PDF_BYTES = 10 * 1024 * 1024;
/** Bytes inspected for a NUL to call a file binary (what git and grep do). */
const SNIFF_BYTES = 8192;

type Kind = { type: 'image'; mediaType: string } | { type: 'pdf' } | { type: 'binary' } | { type: 'text' };

/*
 * Semantics:
 * - Text: `cat -n` style (`%6d<TAB>line`), 1-based. Without `view_range` the first 2000 lines are
 *   shown; `view_range [start, end]` is inclusive, `end = -1` means to the end of the file, an end
 *   past EOF is clamped. start < 1, end < start (other than -1) or start past EOF is an error.
 *   Whatever the range, a result stops at ~100,000 characters at a line boundary and ends with a
 *   note naming the next `view_range` to ask for.
 * - Images (png, jpeg, gif, webp by magic bytes, not extension) → one `image` block; PDF → one
 *   `document` block; over their size caps → error. Other files with a NUL in the first 8 KiB →
 *   "binary file" error. Invalid UTF-8 in text shows as U+FFFD.
 * - Directories, missing files and special files (FIFOs, devices) are errors that say what to do.
 */
export const readTool = defineTool({
  name: 'read',
  description:
    'Read a file. Text files are returned with line numbers (cat -n format: line number, tab, content); ' +
    `by default the first ${READ_DEFAULT_LINES} lines, or the lines in view_range [start, end] (1-based, inclusive; ` +
    'end -1 reads to the end of the file). Lines longer than 2000 characters are cut. Images (PNG, JPEG, GIF, ' +
    'WebP) are returned as images and PDFs as documents. Relative paths are resolved against the workspace directory. ' +
    'Use glob to list directories.',
  input_schema: {
    type: 'object',
    properties: {
      file_path: { type: 'string', description: 'Path of the file to read (absolute, or relative to the workspace).' },
      view_range: {
        type: 'array',
        items: { type: 'integer' },
        minItems: 2,
        maxItems: 2,
        description: 'Optional [start_line, end_line], 1-based and inclusive; end_line -1 means to the end of the file.',
      },
    },
    required: ['file_path'],
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    const path = resolvePath(input.file_path as string, rt.workspace);
    const range = parseRange(input.view_range as number[] | undefined | null);

    const info = await statPath(rt, path, signal);
    if (info.kind === 'missing') throw new ToolFailure(`File does not exist: ${path}`);
    if (info.kind === 'directory') {
      throw new ToolFailure(`${path} is a directory, not a file. Use glob (e.g. pattern "*" with path "${path}") or bash ls to list it.`);
    }
    if (info.kind === 'other') throw new ToolFailure(`${path} is not a regular file (${info.description}); read only reads regular files.`);
    if (info.size === 0) return textOutcome(`(${path} is an empty file)`);

    const whole = info.size <= READ_FULL_BYTES;
    const { data } = await readBytes(rt, path, whole ? READ_FULL_BYTES : SNIFF_BYTES, signal);
    const kind = sniff(data);
    if (kind.type === 'image') {
      if (info.size > READ_MAX_IMAGE_BYTES) throw new ToolFailure(tooLarge(path, 'Image', info.size, READ_MAX_IMAGE_BYTES));
      return { content: [{ type: 'image', source: { type: 'base64', media_type: kind.mediaType, data: data.toString('base64') } }], isError: false };
    }
    if (kind.type === 'pdf') {
      if (info.size > READ_MAX_PDF_BYTES) throw new ToolFailure(tooLarge(path, 'PDF', info.size, READ_MAX_PDF_BYTES));
      return {
        content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.toString('base64') } }],
        isError: false,
      };
    }
    if (kind.type === 'binary') {
      throw new ToolFailure(`Cannot read binary file ${path} (${info.size} bytes). Inspect it with bash (e.g. file, xxd, od) instead.`);
    }
    const slice = whole ? sliceText(data.toString('utf8'), range) : await sliceLargeText(rt, path, range, signal);
    return textOutcome(format(slice, range));
  },
});

interface Range {
  start: number;
  /** -1 = end of file; undefined = the default window. */
  end: number | undefined;
}

interface Slice {
  /** Lines from `start`, each possibly cut, in file order. */
  lines: Array<{ text: string; fullLength?: number }>;
  start: number;
  totalLines: number;
  /** The window was larger than what the character budget allowed. */
  budgetHit: boolean;
  unit: 'characters' | 'bytes';
}

function parseRange(raw: number[] | undefined | null): Range {
  if (!raw) return { start: 1, end: undefined };
  const [start, end] = raw as [number, number];
  if (start < 1) throw new ToolFailure(`Invalid view_range [${start}, ${end}]: start must be at least 1 (lines are 1-based)`);
  if (end !== -1 && end < start) {
    throw new ToolFailure(`Invalid view_range [${start}, ${end}]: end must be -1 (end of file) or at least start`);
  }
  return { start, end };
}

function lastWanted(range: Range): number {
  if (range.end === undefined) return range.start + READ_DEFAULT_LINES - 1;
  return range.end === -1 ? Number.POSITIVE_INFINITY : range.end;
}

function sliceText(text: string, range: Range): Slice {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  checkStart(range, all.length);
  const last = Math.min(lastWanted(range), all.length);
  const lines: Slice['lines'] = [];
  let used = 0;
  let budgetHit = false;
  for (let n = range.start; n <= last; n++) {
    const line = all[n - 1];
    const shown = line.length > READ_MAX_LINE_CHARS ? line.slice(0, READ_MAX_LINE_CHARS) : line;
    if (used + shown.length + 8 > READ_MAX_CHARS && lines.length > 0) {
      budgetHit = true;
      break;
    }
    lines.push(line.length > READ_MAX_LINE_CHARS ? { text: shown, fullLength: line.length } : { text: line });
    used += shown.length + 8;
  }
  return { lines, start: range.start, totalLines: all.length, budgetHit, unit: 'characters' };
}

/**
 * Files too big to pull whole into the server: awk streams them inside the sandbox, emitting only
 * the wanted lines (`L<line>`, or `T<length><TAB><prefix>` when cut) and the line count (`N<n>`).
 */
async function sliceLargeText(rt: SandboxRuntime, path: string, range: Range, signal: AbortSignal): Promise<Slice> {
  const last = lastWanted(range);
  const budget = READ_MAX_CHARS * 4;
  const program =
    'NR>=s && (e<0 || NR<=e) && used<b { if (length($0)>w) { printf "T%d\\t%s\\n", length($0), substr($0,1,w); used+=w } ' +
    'else { print "L" $0; used+=length($0) }; used+=8 } END { print "N" NR }';
  const res = await run(
    rt,
    ['awk', '-v', `s=${range.start}`, '-v', `e=${Number.isFinite(last) ? last : -1}`, '-v', `w=${READ_MAX_LINE_CHARS}`, '-v', `b=${budget}`, program, path],
    signal,
    { cwd: '/', maxOutputBytes: budget + 64 * 1024, timeoutMs: 120_000 },
  );
  if (res.exitCode !== 0) throw new ToolFailure(`Cannot read ${path}: ${errnoReason(res.stderr)}`);
  const out = res.stdout.toString('utf8').split('\n');
  if (out.at(-1) === '') out.pop();
  const countLine = out.pop() ?? '';
  if (!countLine.startsWith('N')) throw new ToolFailure(`Cannot read ${path}: unexpected output from awk`);
  const totalLines = Number(countLine.slice(1));
  checkStart(range, totalLines);
  const lines: Slice['lines'] = [];
  let used = 0;
  let budgetHit = false;
  for (const raw of out) {
    let entry: Slice['lines'][number];
    if (raw.startsWith('T')) {
      const tab = raw.indexOf('\t');
      entry = { text: raw.slice(tab + 1), fullLength: Number(raw.slice(1, tab)) };
    } else {
      entry = { text: raw.slice(1) };
    }
    if (used + entry.text.length + 8 > READ_MAX_CHARS && lines.length > 0) {
      budgetHit = true;
      break;
    }
    lines.push(entry);
    used += entry.text.length + 8;
  }
  const shownEnd = range.start + lines.length - 1;
  if (!budgetHit && shownEnd < Math.min(last, totalLines)) budgetHit = true;
  return { lines, start: range.start, totalLines, budgetHit, unit: 'bytes' };
}

function checkStart(range: Range, totalLines: number): void {
  if (range.start > totalLines) {
    throw new ToolFailure(`Invalid view_range: start line ${range.start} is beyond the end of the file (${totalLines} line${totalLines === 1 ? '' : 's'})`);
  }
}

function format(slice: Slice, range: Range): string {
  const body = slice.lines
    .map((l, i) => {
      const cut = l.fullLength === undefined ? '' : ` [... line truncated: ${l.fullLength} ${slice.unit} in total]`;
      return `${String(slice.start + i).padStart(6)}\t${l.text}${cut}`;
    })
    .join('\n');
  const shownEnd = slice.start + slice.lines.length - 1;
  const notes: string[] = [];
  if (shownEnd < slice.totalLines && (slice.budgetHit || range.end === undefined)) {
    const next = shownEnd + 1;
    const nextEnd = Math.min(slice.totalLines, next + READ_DEFAULT_LINES - 1);
    const why = slice.budgetHit ? ' (output size limit reached)' : '';
    notes.push(`[Showing lines ${slice.start}-${shownEnd} of ${slice.totalLines}${why}. Use view_range [${next}, ${nextEnd}] to read more.]`);
  } else if (range.end !== undefined && range.end !== -1 && range.end > slice.totalLines) {
    notes.push(`[The file has ${slice.totalLines} lines; showing lines ${slice.start}-${shownEnd}.]`);
  }
  return notes.length > 0 ? `${body}\n\n${notes.join('\n')}` : body;
}

function sniff(data: Buffer): Kind {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => data[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { type: 'image', mediaType: 'image/png' };
  if (starts([0xff, 0xd8, 0xff])) return { type: 'image', mediaType: 'image/jpeg' };
  const ascii = data.subarray(0, 12).toString('latin1');
  if (ascii.startsWith('GIF87a') || ascii.startsWith('GIF89a')) return { type: 'image', mediaType: 'image/gif' };
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return { type: 'image', mediaType: 'image/webp' };
  if (ascii.startsWith('%PDF-')) return { type: 'pdf' };
  if (data.subarray(0, SNIFF_BYTES).includes(0)) return { type: 'binary' };
  return { type: 'text' };
}

function tooLarge(path: string, what: string, size: number, cap: number): string {
  return `${what} ${path} is too large to return (${size} bytes; the limit is ${cap} bytes). Shrink or split it with bash first.`;
}
