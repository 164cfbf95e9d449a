// The `grep` tool: regular-expression search over file contents with ripgrep.
import { defineTool, textOutcome, ToolFailure } from './builtin-tool.ts';
import { resolvePath } from './paths.ts';
import { run, statPath } from './sandbox-fs.ts';
import { DEFAULT_MAX_CHARS, takeLines, truncateMiddle } from '../domain/truncate.ts';

export const GREP_TIMEOUT_MS = 60_000;
/** Longer matching lines are shown as a preview (ripgrep `--max-columns-preview`). */
export const GREP_MAX_COLUMNS = 500;

/*
 * Semantics:
 * - Rust regex syntax (ripgrep), case-sensitive; `(?i)` makes a pattern case-insensitive.
 * - Searches `path` (a directory, recursively, or a single file; default the workspace). Hidden
 *   files are searched; `.git/`, .gitignore'd and binary files are skipped, as ripgrep does.
 * - Output is `path:line:text` with absolute paths, sorted by path so results are stable; it stops
 *   at whole lines within 30,000 characters with a note giving the total number of matching lines.
 * - No match is a normal result saying so; an invalid regex is an error carrying ripgrep's message.
 *   Unreadable files do not hide the matches found elsewhere: they are listed after them.
 */
export const grepTool = defineTool({
  name: 'grep',
  description:
    'Search file contents with a regular expression (ripgrep / Rust regex syntax, case-sensitive; prefix the ' +
    'pattern with (?i) to ignore case). Searches the workspace recursively unless path names another directory ' +
    'or a single file. Skips .git, .gitignore\'d and binary files. Returns matching lines as path:line:text.',
  input_schema: {
    type: 'object',
    properties: {
      pattern: { type: 'string', description: 'Regular expression to search for.' },
      path: { type: 'string', description: 'File or directory to search (default: the workspace).' },
    },
    required: ['pattern'],
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    const pattern = input.pattern as string;
    if (pattern === '') throw new ToolFailure("'pattern' must not be empty");
    if (pattern.includes('\0')) throw new ToolFailure("'pattern' must not contain NUL bytes");
    const target = input.path == null ? rt.workspace : resolvePath(input.path as string, rt.workspace, 'path');
    const info = await statPath(rt, target, signal);
    if (info.kind === 'missing') throw new ToolFailure(`Path does not exist: ${target}`);

    const res = await run(
      rt,
      [
        'rg', '--line-number', '--with-filename', '--no-heading', '--color', 'never', '--hidden', '-g', '!.git',
        '--max-columns', String(GREP_MAX_COLUMNS), '--max-columns-preview', '--sort', 'path',
        '--regexp', pattern, '--', target,
      ],
      signal,
      { cwd: '/', timeoutMs: GREP_TIMEOUT_MS, maxOutputBytes: 4 * 1024 * 1024 },
    );
    const stderr = res.stderr.toString('utf8').trim();
    const lines = res.stdout.toString('utf8').split('\n').filter((l) => l !== '');
    if (res.truncated) lines.pop(); // the last line may be cut
    if (lines.length === 0) {
      if (res.exitCode === 1) return textOutcome(`No matches found for pattern "${pattern}" in ${target}`);
      throw new ToolFailure(`grep failed: ${truncateMiddle(stderr || `rg exited with code ${res.exitCode}`, 4_000)}`);
    }
    const { kept, omitted } = takeLines(lines, DEFAULT_MAX_CHARS);
    let text = kept.join('\n');
    if (omitted > 0 || res.truncated) {
      const total = res.truncated ? `more than ${lines.length}` : String(lines.length);
      text += `\n\n[Showing ${kept.length} of ${total} matching lines. Use a more specific pattern or path to see the rest.]`;
    }
    if (res.exitCode === 2 && stderr !== '') text += `\n\n[Some files could not be searched:\n${truncateMiddle(stderr, 2_000)}]`;
    return textOutcome(text);
  },
});
