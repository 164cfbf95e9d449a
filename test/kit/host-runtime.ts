// TEST ONLY — NO ISOLATION. A `SandboxRuntime` that runs commands directly on the host, in a
// temporary directory, so the built-in tools' logic can be tested without bubblewrap. Nothing
// stops a command from touching the rest of the host: never use this outside tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecOptions, ExecResult, SandboxRuntime, ShellResult } from '../../src/tools/runtime.ts';

interface ShellProc {
  proc: ChildProcess;
  exited: Promise<number | null>;
  onData?: (chunk: Buffer) => void;
  onExit?: (code: number | null) => void;
}

export class HostRuntime implements SandboxRuntime {
  readonly root: string;
  readonly workspace: string;
  readonly outputsDir: string;
  readonly #env: NodeJS.ProcessEnv;
  #shell: ShellProc | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'hangar-host-runtime-'));
    this.workspace = join(this.root, 'workspace');
    this.outputsDir = join(this.root, 'outputs');
    mkdirSync(this.workspace);
    mkdirSync(this.outputsDir);
    this.#env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: this.workspace, LANG: 'C.UTF-8', TERM: 'dumb' };
  }

  exec(argv: string[], opts: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve) => {
      const out = new Capture(opts.maxOutputBytes);
      const err = new Capture(opts.maxOutputBytes);
      let timedOut = false;
      let killed = false;
      let settled = false;
      const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd ?? this.workspace, env: this.#env, detached: true, stdio: 'pipe' });
      const kill = () => {
        killed = true;
        killGroup(child);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, opts.timeoutMs);
      opts.signal.addEventListener('abort', kill, { once: true });
      if (opts.signal.aborted) kill();
      const finish = (result: ExecResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', kill);
        resolve(result);
      };
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e) => {
        // Mirrors what a sandboxed exec reports for a missing program: exit 127 and a message.
        finish({ stdout: Buffer.alloc(0), stderr: Buffer.from(`${argv[0]}: ${e.message}\n`), exitCode: 127, timedOut: false, truncated: false });
      });
      child.on('close', (code) => {
        finish({
          stdout: out.data(),
          stderr: err.data(),
          exitCode: killed ? null : code,
          timedOut,
          truncated: out.dropped > 0 || err.dropped > 0,
        });
      });
      child.stdin!.on('error', () => {}); // EPIPE when the program does not read its input
      child.stdin!.end(opts.stdin ?? '');
    });
  }

  shell(command: string, opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult> {
    const next = this.#queue.then(() => this.#runInShell(command, opts));
    this.#queue = next.catch(() => {});
    return next;
  }

  async restartShell(): Promise<void> {
    await this.#killShell();
  }

  /** Kills the shell and deletes the temporary directory. */
  async dispose(): Promise<void> {
    await this.#killShell();
    rmSync(this.root, { recursive: true, force: true });
  }

  #startShell(): ShellProc {
    const proc = spawn('bash', ['--noprofile', '--norc'], { cwd: this.workspace, env: this.#env, detached: true, stdio: 'pipe' });
    // 'exit' can precede the last output; wait for 'close' too, but not forever (a background job
    // may hold the pipe open).
    const exited = new Promise<number | null>((r) =>
      proc.on('exit', (code) => {
        const t = setTimeout(() => r(code), 200);
        proc.once('close', () => {
          clearTimeout(t);
          r(code);
        });
      }),
    );
    const sh: ShellProc = { proc, exited };
    proc.stdout!.on('data', (c: Buffer) => sh.onData?.(c));
    proc.stderr!.on('data', (c: Buffer) => sh.onData?.(c));
    proc.stdin!.on('error', () => {});
    void sh.exited.then((code) => {
      if (this.#shell === sh) this.#shell = undefined;
      sh.onExit?.(code);
    });
    proc.stdin!.write('exec 2>&1\n');
    return sh;
  }

  async #killShell(): Promise<void> {
    const sh = this.#shell;
    this.#shell = undefined;
    if (!sh) return;
    killGroup(sh.proc);
    await sh.exited;
  }

  #runInShell(command: string, opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult> {
    const sh = (this.#shell ??= this.#startShell());
    const nonce = randomBytes(8).toString('hex');
    const marker = new RegExp(`\\n__HANGAR_DONE_${nonce}_(\\d+)__\\n`);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let tail = Buffer.alloc(0);
      let timedOut = false;
      let settled = false;
      const finish = (end: number, exitCode: number | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', abort);
        sh.onData = undefined;
        sh.onExit = undefined;
        const all = Buffer.concat(chunks).subarray(0, end);
        const kept = all.subarray(0, opts.maxOutputBytes);
        resolve({ output: kept.toString('utf8'), exitCode, timedOut, droppedBytes: all.length - kept.length });
      };
      const abort = () => void this.#killShell();
      const timer = setTimeout(() => {
        timedOut = true;
        void this.#killShell();
      }, opts.timeoutMs);
      opts.signal.addEventListener('abort', abort, { once: true });
      sh.onExit = (code) => finish(total, timedOut || opts.signal.aborted ? null : code);
      sh.onData = (chunk) => {
        chunks.push(chunk);
        total += chunk.length;
        const window = Buffer.concat([tail, chunk]);
        const m = marker.exec(window.toString('latin1'));
        if (m) return finish(total - window.length + m.index, Number(m[1]));
        tail = window.subarray(Math.max(0, window.length - 128));
      };
      if (opts.signal.aborted) return abort();
      const b64 = Buffer.from(command, 'utf8').toString('base64');
      // eval keeps cd/export in this shell; a syntax error fails the eval instead of wedging the
      // parser; stdin is /dev/null so a command cannot swallow the next one.
      sh.proc.stdin!.write(
        `__hangar_cmd=$(printf '%s' '${b64}' | base64 -d)\neval "$__hangar_cmd" < /dev/null\nprintf '\\n__HANGAR_DONE_%s_%d__\\n' ${nonce} "$?"\n`,
      );
    });
  }
}

class Capture {
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  dropped = 0;
  constructor(max: number) {
    this.#max = max;
  }
  push(chunk: Buffer): void {
    const room = this.#max - this.#kept;
    if (room > 0) this.#chunks.push(chunk.subarray(0, room));
    this.#kept += Math.min(room > 0 ? room : 0, chunk.length);
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }
  data(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
