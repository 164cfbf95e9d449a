// UNSAFE: NO ISOLATION. A SandboxRuntime that runs the agent's commands directly on the host, as
// the user running Hangar, with the host workspace directory as cwd. Nothing stops a command from
// reading or changing anything that user can: credentials, other sessions' workspaces, the Hangar
// database. It exists for operators without bubblewrap who explicitly opt in (trusted agents on a
// throwaway machine). The only protections are a scrubbed environment (no Hangar secrets) and
// process-group kills on timeout/abort.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecOptions, ExecResult, SandboxRuntime, ShellResult } from '../../tools/runtime.ts';
import { PersistentShell, type LaunchedShell } from '../sandbox-bwrap/persistent-shell.ts';
import { exited, killGroup, supervise } from '../sandbox-bwrap/process-capture.ts';

export interface UnsafeLocalRuntimeOptions {
  /** Host directory used as the workspace (cwd of every command, and $HOME). */
  workspaceDir: string;
  /** Host directory handed back as the outputs directory. */
  outputsDir: string;
  /** PATH for commands (the host's environment is never passed through). */
  path?: string;
}

export class UnsafeLocalRuntime implements SandboxRuntime {
  readonly workspace: string;
  readonly outputsDir: string;
  private readonly env: Record<string, string>;
  private readonly shellProc: PersistentShell;
  private readonly groups = new Set<number>();
  private closed = false;
  private broken = false;

  constructor(opts: UnsafeLocalRuntimeOptions) {
    this.workspace = opts.workspaceDir;
    this.outputsDir = opts.outputsDir;
    mkdirSync(this.workspace, { recursive: true });
    mkdirSync(this.outputsDir, { recursive: true });
    // SHLVL=1: a top-level bash with a socket stdin would source ~/.bashrc (here: the workspace's).
    this.env = { PATH: opts.path ?? '/usr/local/bin:/usr/bin:/bin', HOME: this.workspace, LANG: 'C.UTF-8', TERM: 'dumb', SHLVL: '1' };
    this.shellProc = new PersistentShell({
      launch: () => this.launchShell(),
      onBroken: () => {
        this.broken = true;
      },
    });
  }

  get alive(): boolean {
    return !this.closed && !this.broken;
  }

  async exec(argv: string[], opts: ExecOptions): Promise<ExecResult> {
    if (this.closed) throw new Error('the sandbox was released');
    if (opts.signal.aborted) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, timedOut: false, truncated: false };
    const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd ?? this.workspace, env: this.env, detached: true, stdio: 'pipe' });
    const pgid = child.pid;
    if (pgid) this.groups.add(pgid);
    const result = await supervise(child, {
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxOutputBytes,
      signal: opts.signal,
      killTree: async () => {
        killGroup(pgid);
        await exited(child);
        await groupGone(pgid);
      },
    });
    if (pgid) this.groups.delete(pgid);
    const { stdout, stderr, exitCode, timedOut, truncated } = result;
    return { stdout, stderr, exitCode, timedOut, truncated };
  }

  shell(command: string, opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult> {
    if (this.closed) return Promise.reject(new Error('the sandbox was released'));
    return this.shellProc.run(command, opts);
  }

  restartShell(): Promise<void> {
    return this.shellProc.restart();
  }

  /** Kills the shell, running execs and their process groups. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.shellProc.close();
    await Promise.all([...this.groups].map(async (pgid) => {
      killGroup(pgid);
      await groupGone(pgid);
    }));
  }

  private launchShell(): LaunchedShell {
    // Its own process group: a non-interactive bash keeps background jobs in it, so one group
    // kill takes the command's whole tree (a program that calls setsid() escapes: no isolation).
    const child = spawn('bash', ['--noprofile', '--norc'], { cwd: this.workspace, env: this.env, detached: true, stdio: 'pipe' });
    const pgid = child.pid;
    if (pgid) this.groups.add(pgid);
    child.once('exit', () => {
      if (pgid) this.groups.delete(pgid);
    });
    return {
      child,
      kill: async () => {
        killGroup(pgid);
        await exited(child);
        await groupGone(pgid);
      },
    };
  }
}

/** Waits (up to 2 s) until no live process is left in the group (zombies do not count). */
async function groupGone(pgid: number | undefined): Promise<void> {
  if (!pgid) return;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    if (!groupHasLiveProcess(pgid)) return;
    killGroup(pgid);
    await sleep(10);
  }
}

function groupHasLiveProcess(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    try {
      process.kill(-pgid, 0); // no /proc: zombies count as alive here
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}
