// Resolves the `file_path`/`path` a model passes into an absolute, normalized sandbox path.
// No containment check here on purpose: the sandbox decides what is reachable, and absolute
// paths outside the workspace (e.g. /mnt/session/outputs, /tmp) are legitimate.
import { posix } from 'node:path';
import { ToolFailure } from './builtin-tool.ts';

/**
 * Relative paths resolve against `workspace` (not the bash tool's current directory, which can
 * change between calls); the result is normalized (`.`/`..` collapsed, trailing slash dropped) and
 * always absolute, so it can never be mistaken for a command-line option.
 * Throws `ToolFailure` for an empty path or one containing a NUL byte.
 */
export function resolvePath(raw: string, workspace: string, field = 'file_path'): string {
  if (raw.trim() === '') throw new ToolFailure(`'${field}' must not be empty`);
  if (raw.includes('\0')) throw new ToolFailure(`'${field}' must not contain NUL bytes`);
  const resolved = posix.resolve(workspace, raw);
  return resolved.length > 1 && resolved.endsWith('/') ? resolved.slice(0, -1) : resolved;
}
