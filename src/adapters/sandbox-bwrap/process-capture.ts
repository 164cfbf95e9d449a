// Supervises one spawned process for a sandbox runtime: feeds stdin, keeps at most N bytes per
// output stream (counting the rest), and on timeout or abort kills the whole process tree through
// the runtime's own kill function (bubblewrap: the sandbox's pid namespace; unsafe-local: the
// process group) before it resolves.
import type { ChildProcess } from 'node:child_process';
import type { ExecResult } from '../../tools/runtime.ts';

/** Keeps the first `max` bytes pushed into it; counts the rest. */
export class CappedSink {
  readonly max: number;
  dropped = 0;
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(max: number) {
    this.max = Math.max(0, Math.floor(max));
  }

  push(chunk: Buffer): void {
    const room = this.max - this.kept;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
      return;
    }
    if (room > 0) {
      this.chunks.push(chunk.subarray(0, room));
      this.kept += room;
    }
    this.dropped += chunk.length - Math.max(0, room);
  }

  buffer(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

export interface SuperviseOptions {
  stdin?: Buffer | string;
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal;
  /** Kills the process and everything it started; resolves once they are gone. */
  killTree: () => Promise<void>;
}

export interface Supervised extends ExecResult {
  aborted: boolean;
  /** Signal that ended the process, when it did not exit on its own. */
  exitSignal: NodeJS.Signals | null;
}

/** Runs `child` (spawned with stdio pipes) to completion. Never rejects. */
export function supervise(child: ChildProcess, opts: SuperviseOptions): Promise<Supervised> {
  const stdout = new CappedSink(opts.maxOutputBytes);
  const stderr = new CappedSink(opts.maxOutputBytes);
  child.stdout?.on('data', (b: Buffer) => stdout.push(b));
  child.stderr?.on('data', (b: Buffer) => stderr.push(b));
  child.stdin?.on('error', () => {}); // EPIPE when the program does not read its input
  if (child.stdin) {
    if (opts.stdin !== undefined && opts.stdin.length > 0) child.stdin.end(opts.stdin);
    else child.stdin.end();
  }

  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let killing: Promise<void> | undefined;
    const kill = () => {
      killing ??= opts.killTree().catch(() => {});
      return killing;
    };
    const onAbort = () => {
      aborted = true;
      void kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      void kill();
    }, Math.max(1, opts.timeoutMs));
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });

    let settled = false;
    const finish = async (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (killing) await killing;
      if (spawnError) stderr.push(Buffer.from(`${spawnError.message}\n`));
      const killed = timedOut || aborted;
      resolve({
        stdout: stdout.buffer(),
        stderr: stderr.buffer(),
        // A program that could not be spawned is reported like a shell reports it.
        exitCode: killed ? null : spawnError ? 127 : code ?? (signal ? 128 + signalNumber(signal) : null),
        timedOut,
        truncated: stdout.dropped > 0 || stderr.dropped > 0,
        aborted,
        exitSignal: signal,
      });
    };
    child.once('error', (err) => void finish(null, null, err));
    // 'close' waits for the output pipes too, so nothing written before exit is lost.
    child.once('close', (code, signal) => void finish(code, signal));
    // A background process that inherited the pipes may keep them open after the program exited
    // (only possible without a pid namespace); stop waiting for it shortly after the exit.
    child.once('exit', (code, signal) => {
      setTimeout(() => {
        if (settled) return;
        child.stdout?.destroy();
        child.stderr?.destroy();
        void finish(code, signal);
      }, 250).unref();
    });
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export function signalNumber(signal: NodeJS.Signals): number {
  return SIGNALS[signal] ?? 0;
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/** SIGKILLs a process group and its leader, ignoring ones already gone. */
export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
