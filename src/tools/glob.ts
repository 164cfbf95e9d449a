// The `glob` tool: lists files whose path matches a glob pattern, newest first.
import { posix } from 'node:path';
import { defineTool, textOutcome, ToolFailure } from './builtin-tool.ts';
import { resolvePath } from './paths.ts';
import { run, statPath } from './sandbox-fs.ts';

export const GLOB_MAX_RESULTS = 500;
export const GLOB_TIMEOUT_MS = 60_000;

/*
 * Semantics (ripgrep's `--files -g`, i.e. .gitignore-style globs):
 * - `*` does not cross `/`, `**` does; a pattern without `/` matches the file name at any depth
 *   (`*.ts` finds every .ts file), a pattern with `/` is anchored at the search directory
 *   (`src/*.ts`). An absolute pattern such as `/workspace/src/*.ts` is split into the search
 *   directory and a pattern anchored there.
 * - Hidden files are included; `.git/` and files ignored by .gitignore/.ignore are not (as
 *   ripgrep does), which keeps node_modules-style trees out of listings.
 * - Results are absolute paths sorted by modification time, newest first (recent files are
 *   usually the relevant ones); at most 500, with a note giving the total.
 * - No match is a normal result saying so.
 */
export const globTool = defineTool({
  name: 'glob',
  description:
    'Find files by glob pattern (e.g. "**/*.ts", "src/**/test_*.py", "*.md"). A pattern without "/" matches file ' +
    'names at any depth; "**" matches across directories. Searches the workspace unless path names another ' +
    'directory. Includes hidden files, skips .git and files ignored by .gitignore. Returns absolute paths, most ' +
    `recently modified first, at most ${GLOB_MAX_RESULTS}.`,
  input_schema: {
    type: 'object',
    properties: {
      pattern: { type: 'string', description: 'Glob pattern to match file paths against.' },
      path: { type: 'string', description: 'Directory to search in (default: the workspace).' },
    },
    required: ['pattern'],
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    let pattern = input.pattern as string;
    if (pattern.trim() === '') throw new ToolFailure("'pattern' must not be empty");
    if (pattern.includes('\0')) throw new ToolFailure("'pattern' must not contain NUL bytes");
    let dir = input.path == null ? rt.workspace : resolvePath(input.path as string, rt.workspace, 'path');
    if (pattern.startsWith('/')) {
      const split = splitAbsolute(pattern);
      dir = split.dir;
      pattern = split.rest;
    }
    pattern = pattern.replace(/^(\.\/)+/, '');

    const info = await statPath(rt, dir, signal);
    if (info.kind === 'missing') throw new ToolFailure(`Directory does not exist: ${dir}`);
    if (info.kind !== 'directory') throw new ToolFailure(`${dir} is not a directory; path must name a directory to search in`);

    // rg's own --sortr sorts siblings during the walk, not globally, so mtimes are fetched with
    // stat and sorted here. NUL-separated: file names may contain newlines.
    const script =
      "set -o pipefail; rg --files --hidden -0 -g \"$1\" -g '!.git' | xargs -0 -r stat --printf '%.9Y\\t%n\\0' --";
    const res = await run(rt, ['bash', '-c', script, 'glob', pattern], signal, {
      cwd: dir,
      timeoutMs: GLOB_TIMEOUT_MS,
      maxOutputBytes: 8 * 1024 * 1024,
    });
    const records = res.stdout.toString('utf8').split('\0').filter((r) => r !== '');
    if (res.truncated) records.pop(); // the last record may be cut
    if (records.length === 0 && res.exitCode !== 0 && res.exitCode !== 1) {
      throw new ToolFailure(`glob failed: ${res.stderr.toString('utf8').trim() || `exit code ${res.exitCode}`}`);
    }
    if (records.length === 0) return textOutcome(`No files found matching "${input.pattern as string}" in ${dir}`);
    const files = records
      .map((r) => {
        const tab = r.indexOf('\t');
        return { mtime: Number(r.slice(0, tab)), path: r.slice(tab + 1) };
      })
      .sort((a, b) => b.mtime - a.mtime || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((e) => e.path);
    const shown = files.slice(0, GLOB_MAX_RESULTS).map((f) => posix.join(dir, f));
    const total = res.truncated ? `more than ${files.length}` : String(files.length);
    const note =
      files.length > GLOB_MAX_RESULTS || res.truncated
        ? `\n\n[Showing the ${GLOB_MAX_RESULTS} most recently modified of ${total} matching files. Use a narrower pattern or path.]`
        : '';
    return textOutcome(shown.join('\n') + note);
  },
});

/** `/a/b/*.ts` → dir `/a/b`, rest `/*.ts`: the directory is the longest leading part without glob characters. */
function splitAbsolute(pattern: string): { dir: string; rest: string } {
  const parts = pattern.split('/');
  let i = 1;
  while (i < parts.length - 1 && !/[*?[\]{}!]/.test(parts[i])) i++;
  const dir = posix.normalize(`/${parts.slice(1, i).join('/')}`);
  // A leading `/` anchors the rest at the search directory, so `/workspace/*.ts` stays top-level.
  return { dir, rest: `/${parts.slice(i).join('/')}` };
}
