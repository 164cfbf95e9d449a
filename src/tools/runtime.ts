// What built-in tools need from a sandbox: run a program, and a persistent shell. A runtime
// confines everything it runs (bubblewrap locally, a worker's own sandbox remotely), so the tools
// themselves never touch the host filesystem.

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Null when the process was killed (timeout or abort). */
  exitCode: number | null;
  timedOut: boolean;
  /** True when output beyond `maxOutputBytes` was discarded. */
  truncated: boolean;
}

export interface ExecOptions {
  /** Bytes written to the program's stdin, then closed. */
  stdin?: Buffer | string;
  /** Working directory inside the sandbox (default /workspace). */
  cwd?: string;
  timeoutMs: number;
  /** Output kept per stream; the rest is counted and dropped. */
  maxOutputBytes: number;
  signal: AbortSignal;
}

export interface ShellResult {
  /** Combined stdout+stderr of the command, in order. */
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  /** Bytes of output that were dropped beyond the cap. */
  droppedBytes: number;
}

export interface SandboxRuntime {
  /** The writable working tree as paths inside this runtime see it (/workspace under bubblewrap). */
  readonly workspace: string;
  /** Where files the agent wants to hand back are written (/mnt/session/outputs under bubblewrap). */
  readonly outputsDir: string;
  /** Runs `argv` (argv[0] resolved on the sandbox PATH) as a fresh confined process. */
  exec(argv: string[], opts: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a command in the session's persistent shell (cwd and exports carry across calls).
   * A timeout or abort kills the command's whole process tree and restarts the shell.
   */
  shell(command: string, opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult>;
  /** Kills the persistent shell (and its children) and starts a fresh one. */
  restartShell(): Promise<void>;
}

/** Paths inside every sandbox. */
export const WORKSPACE = '/workspace';
export const OUTPUTS_DIR = '/mnt/session/outputs';
export const UPLOADS_DIR = '/mnt/session/uploads';
