// Filesystem access for the tools, done entirely through `runtime.exec` so the sandbox's own
// permissions apply (a write to a read-only bind fails with the kernel's error, not ours).
import { ToolFailure, INTERRUPTED_MESSAGE } from './builtin-tool.ts';
import type { ExecResult, SandboxRuntime } from './runtime.ts';

/** Time allowed for one filesystem helper process (stat, cat, ...). */
export const FS_TIMEOUT_MS = 60_000;

export type PathInfo =
  | { kind: 'missing' }
  | { kind: 'file'; size: number }
  | { kind: 'directory' }
  /** FIFOs, sockets, devices: reading them could block forever or never end. */
  | { kind: 'other'; description: string };

/**
 * Runs a helper program; a timeout or an abort becomes a `ToolFailure`, an exception from the
 * runtime (broken sandbox) propagates unchanged.
 */
export async function run(
  rt: SandboxRuntime,
  argv: string[],
  signal: AbortSignal,
  opts: { stdin?: Buffer | string; cwd?: string; timeoutMs?: number; maxOutputBytes?: number } = {},
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? FS_TIMEOUT_MS;
  const res = await rt.exec(argv, {
    stdin: opts.stdin,
    cwd: opts.cwd ?? rt.workspace,
    timeoutMs,
    maxOutputBytes: opts.maxOutputBytes ?? 1024 * 1024,
    signal,
  });
  if (signal.aborted) throw new ToolFailure(INTERRUPTED_MESSAGE);
  if (res.timedOut) throw new ToolFailure(`${argv[0]} timed out after ${timeoutMs} ms and was killed`);
  return res;
}

/**
 * The reason part of a coreutils/bash error line: `cat: /x: Permission denied` → `Permission denied`.
 * Falls back to the whole (trimmed) message.
 */
export function errnoReason(stderr: Buffer | string): string {
  const lines = stderr.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines.at(-1) ?? '';
  const idx = last.lastIndexOf(': ');
  return idx === -1 ? last || 'unknown error' : last.slice(idx + 2);
}

const MISSING = /No such file or directory|Not a directory/;

/** Stats `path` following symlinks. Missing paths are a value, other failures a `ToolFailure`. */
export async function statPath(rt: SandboxRuntime, path: string, signal: AbortSignal): Promise<PathInfo> {
  const res = await run(rt, ['stat', '-L', '--printf', '%F\n%s\n', '--', path], signal, { cwd: '/' });
  if (res.exitCode !== 0) {
    const reason = errnoReason(res.stderr);
    if (MISSING.test(reason)) return { kind: 'missing' };
    throw new ToolFailure(`Cannot access ${path}: ${reason}`);
  }
  const [type = '', size = '0'] = res.stdout.toString('utf8').split('\n');
  if (type === 'directory') return { kind: 'directory' };
  if (type === 'regular file' || type === 'regular empty file') return { kind: 'file', size: Number(size) };
  return { kind: 'other', description: type };
}

/**
 * Reads up to `maxBytes` of a file. `truncated` says the file holds more.
 * `cwd: '/'` because the workspace itself might be what is missing or unreadable.
 */
export async function readBytes(
  rt: SandboxRuntime,
  path: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ data: Buffer; truncated: boolean }> {
  const res = await run(rt, ['head', '-c', String(maxBytes + 1), '--', path], signal, { cwd: '/', maxOutputBytes: maxBytes + 1 });
  if (res.exitCode !== 0) throw new ToolFailure(`Cannot read ${path}: ${errnoReason(res.stderr)}`);
  const truncated = res.truncated || res.stdout.length > maxBytes;
  return { data: truncated ? res.stdout.subarray(0, maxBytes) : res.stdout, truncated };
}

/**
 * Writes `data` to `path` in place (keeps the inode, mode and symlinks), creating parent
 * directories when `createParents`. Returns whether the file existed before.
 */
export async function writeBytes(
  rt: SandboxRuntime,
  path: string,
  data: Buffer | string,
  signal: AbortSignal,
  createParents: boolean,
): Promise<{ existed: boolean }> {
  const script = [
    'p=$1',
    'if [ -e "$p" ]; then echo existed; else echo new; fi',
    createParents ? 'mkdir -p -- "$(dirname -- "$p")" || exit 1' : ':',
    'cat > "$p"',
  ].join('\n');
  const res = await run(rt, ['bash', '-c', script, 'write', path], signal, { cwd: '/', stdin: data });
  if (res.exitCode !== 0) throw new ToolFailure(`Cannot write ${path}: ${errnoReason(res.stderr)}`);
  return { existed: res.stdout.toString('utf8').startsWith('existed') };
}
