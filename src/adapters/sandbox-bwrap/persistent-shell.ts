// One long-lived `bash --noprofile --norc` per session, driven over stdin. Each command is sent as
// one quoted `eval` argument (so heredocs, missing trailing newlines and syntax errors cannot
// desynchronise the protocol), with stdin from /dev/null and stderr merged into stdout; a
// per-command random sentinel printed afterwards marks the end of its output and carries `$?`.
// A timeout or abort kills the shell's whole process tree; the next call starts a fresh shell.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ShellResult } from '../../tools/runtime.ts';
import { CappedSink, signalNumber } from './process-capture.ts';

export interface LaunchedShell {
  /** `bash --noprofile --norc` (possibly inside a sandbox) with stdin/stdout/stderr piped. */
  child: ChildProcess;
  /** Kills the shell and every process it started; resolves once they are gone. */
  kill(): Promise<void>;
}

export interface PersistentShellOptions {
  launch: () => LaunchedShell;
  /** Awaited before each launch (the spawn pacer), so a burst of launches does not stall the loop. */
  beforeLaunch?: () => Promise<void>;
  /** How long a fresh shell may take to answer its first sentinel. */
  startTimeoutMs?: number;
  /** Called when the shell could not start, or died on its own while no command was running. */
  onBroken?: (error: Error) => void;
}

export interface ShellRunOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal;
}

/** The shell could not be started (the sandbox is broken, not the command). */
export class ShellStartError extends Error {
  readonly code = 'sandbox_shell_start_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Single-quotes a string for bash (works across newlines). */
export function bashQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Splits a stream into the output before `\n<sentinel> ` and the status after it. */
export class SentinelScanner {
  private readonly marker: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  private status: Buffer | undefined;

  constructor(sentinel: string) {
    this.marker = Buffer.from(`\n${sentinel} `);
  }

  /** Emits output bytes; returns the exit status once the sentinel line is complete. */
  feed(chunk: Buffer, emit: (b: Buffer) => void): number | undefined {
    if (this.status) {
      this.status = Buffer.concat([this.status, chunk]);
      return this.parse();
    }
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const idx = buf.indexOf(this.marker);
    if (idx >= 0) {
      if (idx > 0) emit(buf.subarray(0, idx));
      this.pending = Buffer.alloc(0);
      this.status = Buffer.from(buf.subarray(idx + this.marker.length));
      return this.parse();
    }
    const keep = Math.min(buf.length, this.marker.length - 1);
    if (buf.length > keep) emit(buf.subarray(0, buf.length - keep));
    this.pending = Buffer.from(buf.subarray(buf.length - keep));
    return undefined;
  }

  /** Output held back while matching a possible sentinel prefix (the shell died mid-command). */
  flush(emit: (b: Buffer) => void): void {
    if (!this.status && this.pending.length) emit(this.pending);
    this.pending = Buffer.alloc(0);
  }

  private parse(): number | undefined {
    const status = this.status as Buffer;
    const nl = status.indexOf(0x0a);
    if (nl < 0 && status.length < 16) return undefined;
    const code = Number.parseInt(status.subarray(0, nl < 0 ? 16 : nl).toString('latin1'), 10);
    return Number.isFinite(code) ? code : 1;
  }
}

interface Running {
  onData(chunk: Buffer): void;
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

interface Live {
  shell: LaunchedShell;
  ready: Promise<void>;
  /** Set when we are killing it, so its exit is not reported as a crash. */
  killing?: Promise<void>;
  exited: boolean;
  stderrTail: string;
  /** The command (or handshake) currently waiting for its sentinel. */
  running?: Running;
}

export class PersistentShell {
  private readonly opts: PersistentShellOptions;
  private live: Live | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: PersistentShellOptions) {
    this.opts = opts;
  }

  /** Runs one command; rejects only with ShellStartError (or after close()). */
  run(command: string, opts: ShellRunOptions): Promise<ShellResult> {
    const result = this.queue.then(() => this.runNow(command, opts));
    this.queue = result.catch(() => {});
    return result;
  }

  /** Kills the current shell and its children, then starts a fresh one. */
  async restart(): Promise<void> {
    await this.stop();
    const started = this.queue.then(() => this.ensure());
    this.queue = started.catch(() => {});
    await started;
  }

  /** Kills the shell for good. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  /** Host pid of the running shell's outermost process, if one runs. */
  get pid(): number | undefined {
    return this.live && !this.live.exited ? this.live.shell.child.pid : undefined;
  }

  /** Whether a shell process is currently running. */
  get started(): boolean {
    return this.live !== undefined && !this.live.exited;
  }

  private async stop(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.live = undefined;
    live.killing ??= live.shell.kill();
    await live.killing;
  }

  private async ensure(): Promise<void> {
    if (this.closed) throw new ShellStartError('the sandbox was released');
    if (this.live && !this.live.exited) return this.live.ready;
    // Calls are serialised by `queue`, so nothing else launches while this one waits for its turn.
    await this.opts.beforeLaunch?.();
    if (this.closed) throw new ShellStartError('the sandbox was released');
    const live = this.spawn();
    this.live = live;
    return live.ready.catch(async (err: Error) => {
      if (this.live === live) this.live = undefined;
      live.killing ??= live.shell.kill();
      await live.killing;
      this.opts.onBroken?.(err);
      throw err;
    });
  }

  private spawn(): Live {
    let shell: LaunchedShell;
    try {
      shell = this.opts.launch();
    } catch (err) {
      const error = new ShellStartError(`could not start the shell: ${(err as Error).message}`, { cause: err });
      return { shell: { child: undefined as never, kill: async () => {} }, ready: Promise.reject(error), exited: true, stderrTail: '' };
    }
    const live: Live = { shell, ready: Promise.resolve(), exited: false, stderrTail: '' };
    const { child } = shell;
    child.stdin?.on('error', () => {}); // the exit handler reports a dead shell
    child.stdout?.on('data', (chunk: Buffer) => {
      live.running?.onData(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      live.stderrTail = (live.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.once('error', (err) => onExit(null, null, err));
    child.once('exit', (code, signal) => onExit(code, signal));
    const onExit = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
      if (live.exited) return;
      live.exited = true;
      // Give the pipes a moment to deliver what was written before the exit.
      setTimeout(() => {
        const running = live.running;
        if (this.live === live) this.live = undefined;
        if (running) running.onExit(code, signal);
        else if (!live.killing && !this.closed && readyDone) {
          this.opts.onBroken?.(new ShellStartError(`the shell exited unexpectedly (${signal ?? `status ${code}`}) ${err?.message ?? live.stderrTail.trim()}`.trim()));
        }
      }, 20);
    };
    let readyDone = false;
    live.ready = this.handshake(live).finally(() => {
      readyDone = true;
    });
    return live;
  }

  private async handshake(live: Live): Promise<void> {
    const result = await this.exchange(live, null, {
      timeoutMs: this.opts.startTimeoutMs ?? 10_000,
      maxOutputBytes: 4096,
      signal: new AbortController().signal,
    });
    if (result.exitCode !== 0 || live.exited) {
      const why = result.timedOut ? 'did not answer in time' : `exited (status ${result.exitCode})`;
      throw new ShellStartError(`the sandbox shell ${why}: ${(live.stderrTail || result.output).trim() || 'no output'}`);
    }
  }

  private async runNow(command: string, opts: ShellRunOptions): Promise<ShellResult> {
    if (opts.signal.aborted) return { output: '', exitCode: null, timedOut: false, droppedBytes: 0 };
    await this.ensure();
    const live = this.live;
    if (!live) throw new ShellStartError('the shell is not running');
    return this.exchange(live, command, opts);
  }

  /** Sends one command (null: the start-up handshake) and collects its output and status. */
  private exchange(live: Live, command: string | null, opts: ShellRunOptions): Promise<ShellResult> {
    const sentinel = `__hangar_${randomBytes(12).toString('hex')}__`;
    const scanner = new SentinelScanner(sentinel);
    const sink = new CappedSink(opts.maxOutputBytes);
    const emit = (b: Buffer) => sink.push(b);
    const end = `printf '\\n%s %s\\n' '${sentinel}' "$?" >&9`;
    const line = command === null
      ? `exec 9>&1; ${end}\n`
      : `eval -- ${bashQuote(command)} </dev/null 2>&1; ${end}\n`;

    return new Promise<ShellResult>((resolve) => {
      let done = false;
      let timedOut = false;
      const finish = (exitCode: number | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        if (live.running === running) live.running = undefined;
        resolve({ output: sink.buffer().toString('utf8'), exitCode, timedOut, droppedBytes: sink.dropped });
      };
      const killAndFinish = async () => {
        if (this.live === live) this.live = undefined;
        live.killing ??= live.shell.kill();
        await live.killing;
        scanner.flush(emit);
        finish(null);
      };
      const onAbort = () => void killAndFinish();
      const timer = setTimeout(() => {
        timedOut = true;
        void killAndFinish();
      }, Math.max(1, opts.timeoutMs));
      opts.signal.addEventListener('abort', onAbort, { once: true });
      if (opts.signal.aborted) {
        // Aborted while the shell was starting: nothing has been sent yet; the shell stays usable.
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        done = true;
        resolve({ output: '', exitCode: null, timedOut: false, droppedBytes: 0 });
        return;
      }

      const running: Running = {
        onData: (chunk) => {
          const status = scanner.feed(chunk, emit);
          if (status !== undefined) finish(status);
        },
        onExit: (code, signal) => {
          scanner.flush(emit);
          finish(live.killing ? null : code ?? (signal ? 128 + signalNumber(signal) : null));
        },
      };
      live.running = running;
      if (live.exited) {
        running.onExit(live.shell.child?.exitCode ?? null, live.shell.child?.signalCode ?? null);
        return;
      }
      live.shell.child.stdin?.write(line);
    });
  }
}
