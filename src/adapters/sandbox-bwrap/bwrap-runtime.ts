// The bubblewrap sandbox runtime: every exec and the session's persistent shell run in a fresh
// bubblewrap sandbox (own user, pid, net, mount, ipc, uts namespaces; uid 1000 inside; no
// capabilities; read-only system; /workspace the only writable tree) placed in the session's
// cgroups before it starts. Killing a sandbox's outer bwrap process takes its whole pid namespace
// with it (--die-with-parent), which is how timeouts and aborts kill a command's process tree.
// bubblewrap's own options (host paths, binds) reach it through a pipe (`--args 4`), never its
// argv: the sandbox's pid 1 is a fork of bwrap, and its /proc/1/cmdline would show them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxSpec } from '../../ports/sandbox.ts';
import { OUTPUTS_DIR, WORKSPACE, type ExecOptions, type ExecResult, type SandboxRuntime, type ShellResult } from '../../tools/runtime.ts';
import { buildBwrapArgs, sandboxCommand, type BwrapNetwork, type FileBind } from './bwrap-args.ts';
import type { SessionCgroup } from './cgroups.ts';
import { prepareMountPoints } from './mount-points.ts';
import { PersistentShell } from './persistent-shell.ts';
import { spawnTurn } from './spawn-pacer.ts';
import { DEFAULT_STAGE_DIR, planStage, stageCommand, STAGE_FAILED, type StagePlan } from './stage.ts';
import { exited, killGroup, supervise } from './process-capture.ts';
import type { SandboxHost } from './sandbox-host.ts';

/** The unprivileged host account sandboxes run as when Hangar itself runs as root. */
export interface HostUser {
  uid: number;
  gid: number;
}

export interface BwrapRuntimeOptions {
  host: SandboxHost;
  /** Host user bubblewrap runs as (via setpriv); null runs it as the invoking user. */
  hostUser: HostUser | null;
  /** With a host user: the directory the per-process stage tmpfs is mounted on (see stage.ts). */
  stageDir?: string;
  /** The session's cgroups; every sandboxed process enters them before bwrap starts. */
  cgroup?: SessionCgroup;
  /** Host path of the egress proxy's unix socket; required when the spec's network is `proxy`. */
  egressSocket?: string;
  bwrapPath?: string;
  setprivPath?: string;
  /** The host bash that runs the small pre-exec wrapper (default /bin/bash). */
  bashPath?: string;
  /** How long a fresh persistent shell may take to come up (default 10 s). */
  shellStartTimeoutMs?: number;
}

/** The sandbox itself is broken (a bind source vanished, the cgroup refused a process). */
export class SandboxBrokenError extends Error {
  readonly code = 'sandbox_broken';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Exit status of the wrapper when it could not place itself in the cgroup. */
const CGROUP_FAILED = 125;
/** Descriptors bwrap gets: 3 = its JSON status, 4 = its options (NUL-separated). */
const STATUS_FD = 3;
const ARGS_FD = 4;
/**
 * Runs before bwrap, as us: closes every descriptor above 4 (bwrap passes inherited descriptors
 * through, and Hangar may have inherited some from whatever started it), then enters the cgroups
 * named before `--`, then execs the rest. bash, because dash cannot close descriptors above 9.
 */
const SANDBOX_ENTER = [
  `for fd in /proc/$$/fd/*; do n=\${fd##*/}; if [ "$n" -gt ${ARGS_FD} ]; then eval "exec $n>&-"; fi; done`,
  `while [ "$1" != -- ]; do echo $$ > "$1" || exit ${CGROUP_FAILED}; shift; done; shift`,
  'exec "$@"',
].join('\n');
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Spawned {
  child: ChildProcess;
  /** Host pid of the sandbox's pid-1 and the command's exit code, from bwrap's status fd. */
  status: { childPid?: number; exitCode?: number };
  kill(): Promise<void>;
}

export class BwrapRuntime implements SandboxRuntime {
  readonly workspace = WORKSPACE;
  readonly outputsDir = OUTPUTS_DIR;
  /** Replaced (not mutated) when a pooled sandbox is adopted by its session. */
  spec: SandboxSpec;
  private readonly opts: BwrapRuntimeOptions;
  private readonly network: BwrapNetwork;
  private readonly shellProc: PersistentShell;
  private readonly inFlight = new Set<Spawned>();
  private closed = false;
  private brokenReason: string | undefined;

  constructor(spec: SandboxSpec, opts: BwrapRuntimeOptions) {
    this.spec = spec;
    this.opts = opts;
    if (spec.network.type === 'proxy') {
      if (!opts.egressSocket) throw new Error('a proxy network needs the egress socket path');
      this.network = { type: 'proxy', socketPath: opts.egressSocket };
    } else {
      this.network = { type: 'none' };
    }
    this.shellProc = new PersistentShell({
      launch: () => this.spawnSandboxed(['bash', '--noprofile', '--norc'], undefined),
      beforeLaunch: spawnTurn,
      startTimeoutMs: opts.shellStartTimeoutMs,
      onBroken: (err) => {
        this.brokenReason ??= err.message;
      },
    });
  }

  /** False once released, or when the shell could not start or died on its own. */
  get alive(): boolean {
    return !this.closed && this.brokenReason === undefined;
  }

  /** Why the sandbox is dead, if it is. */
  get deathReason(): string | undefined {
    return this.closed ? 'released' : this.brokenReason;
  }

  /**
   * The host argv that runs `argv` in this sandbox, and bubblewrap's options: passed on `argsFd`
   * when given (the argv then only says `--args <fd>`), inline otherwise (probes, diagnostics).
   */
  commandLine(argv: string[], cwd?: string, statusFd?: number, argsFd?: number): { argv: string[]; bwrapArgs: string[] } {
    const { host, hostUser, cgroup } = this.opts;
    const stage = hostUser ? this.stagePlan() : undefined;
    const map = (path: string) => (stage ? stage.map(path) : path);
    const args = buildBwrapArgs({
      system: host.system,
      etc: host.etc.map((f): FileBind => ({ hostPath: map(f.hostPath), sandboxPath: f.sandboxPath })),
      workspaceDir: map(this.spec.workspaceDir),
      outputsDir: map(this.spec.outputsDir),
      mounts: this.spec.mounts.map((m) => ({ hostPath: map(m.hostPath), sandboxPath: m.sandboxPath })),
      network: this.network.type === 'proxy' ? { type: 'proxy', socketPath: map(this.network.socketPath) } : this.network,
      packageLayer: this.spec.packageLayer ? { hostPath: map(this.spec.packageLayer.hostPath), writable: this.spec.packageLayer.writable } : undefined,
      cwd,
      statusFd,
    });
    const bwrap = argsFd === undefined ? args : ['--args', String(argsFd)];
    let cmd = [this.opts.bwrapPath ?? 'bwrap', ...bwrap, '--', ...sandboxCommand(argv, this.network)];
    if (hostUser && stage) {
      cmd = [this.opts.setprivPath ?? 'setpriv', `--reuid=${hostUser.uid}`, `--regid=${hostUser.gid}`, '--clear-groups', '--no-new-privs', '--', ...cmd];
      cmd = stageCommand(stage, cmd);
    }
    // Enter the cgroups before exec'ing bwrap, so no sandboxed process is ever outside them.
    // --norc: bash sources ~/.bashrc when its stdin is a socket (its rshd heuristic), and ours is.
    return {
      argv: [this.opts.bashPath ?? '/bin/bash', '--norc', '--noprofile', '-c', SANDBOX_ENTER, 'hangar-sandbox', ...(cgroup?.procsFiles ?? []), '--', ...cmd],
      bwrapArgs: args,
    };
  }

  /** Host pids of this sandbox's outer processes (the bwrap of the shell and of running execs). */
  hostPids(): number[] {
    return [this.shellProc.pid, ...[...this.inFlight].map((s) => s.child.pid)].filter((p): p is number => p !== undefined);
  }

  /** Every bind source outside the system tree, staged so the unprivileged bwrap can reach it. */
  private stagePlan(): StagePlan {
    const sources: Array<{ kind: 'dir' | 'file'; host: string }> = [
      { kind: 'dir', host: this.spec.workspaceDir },
      { kind: 'dir', host: this.spec.outputsDir },
    ];
    for (const f of this.opts.host.etc) if (!f.hostPath.startsWith('/etc/')) sources.push({ kind: 'dir', host: dirname(f.hostPath) });
    for (const m of this.spec.mounts) sources.push({ kind: 'file', host: m.hostPath });
    // The socket's own directory (it holds nothing else): one directory bind, no file mount point.
    if (this.network.type === 'proxy') sources.push({ kind: 'dir', host: dirname(this.network.socketPath) });
    if (this.spec.packageLayer) sources.push({ kind: 'dir', host: this.spec.packageLayer.hostPath });
    return planStage(this.opts.stageDir ?? DEFAULT_STAGE_DIR, sources);
  }

  async exec(argv: string[], opts: ExecOptions): Promise<ExecResult> {
    this.assertUsable();
    if (opts.signal.aborted) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, timedOut: false, truncated: false };
    await spawnTurn();
    this.assertUsable();
    if (opts.signal.aborted) return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: null, timedOut: false, truncated: false };
    const spawned = this.spawnSandboxed(argv, opts.cwd);
    const result = await supervise(spawned.child, {
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxOutputBytes,
      signal: opts.signal,
      killTree: spawned.kill,
    });
    this.inFlight.delete(spawned);
    const { stdout, stderr, timedOut, truncated } = result;
    let exitCode = result.exitCode;
    if (!result.timedOut && !result.aborted && spawned.status.exitCode === undefined) {
      // bwrap never ran the program: the sandbox is unusable, or it is the call's fault (program
      // not found, no such cwd, no pids left), reported like a shell does: 127 and bwrap's message.
      const broken = this.closed ? 'the sandbox was released' : this.brokenBecause(result.exitCode);
      if (broken) {
        this.brokenReason ??= broken;
        throw new SandboxBrokenError(`${broken}: ${stderr.toString('utf8').trim()}`);
      }
      exitCode = 127;
    }
    return { stdout, stderr, exitCode, timedOut, truncated };
  }

  async shell(command: string, opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult> {
    this.assertUsable();
    try {
      return await this.shellProc.run(command, opts);
    } catch (err) {
      throw new SandboxBrokenError(`the sandbox shell could not start: ${(err as Error).message}`, { cause: err });
    }
  }

  async restartShell(): Promise<void> {
    this.assertUsable();
    try {
      await this.shellProc.restart();
    } catch (err) {
      throw new SandboxBrokenError(`the sandbox shell could not start: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Kills the shell and every running exec. Idempotent; the workspace stays on disk. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.shellProc.close(), ...[...this.inFlight].map((s) => s.kill())]);
  }

  private assertUsable(): void {
    if (this.closed) throw new SandboxBrokenError('the sandbox was released');
  }

  private brokenBecause(exitCode: number | null): string | undefined {
    if (exitCode === CGROUP_FAILED && this.opts.cgroup) return 'the sandbox cgroup refused a new process';
    if (exitCode === STAGE_FAILED && this.opts.hostUser) return "the sandbox's bind sources could not be staged";
    const sources = [this.spec.workspaceDir, this.spec.outputsDir, ...this.spec.mounts.map((m) => m.hostPath)];
    if (this.spec.packageLayer) sources.push(this.spec.packageLayer.hostPath);
    if (this.network.type === 'proxy') sources.push(this.network.socketPath);
    const missing = sources.find((p) => !existsSync(p));
    return missing ? `the sandbox's host path ${missing} is gone` : undefined;
  }

  private spawnSandboxed(argv: string[], cwd: string | undefined): Spawned {
    // Mount points inside /workspace are made here, never by bwrap through the agent's symlinks.
    prepareMountPoints(this.spec.workspaceDir, this.spec.mounts, this.opts.hostUser);
    const { argv: cmd, bwrapArgs } = this.commandLine(argv, cwd, STATUS_FD, ARGS_FD);
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so the kill reaches the whole chain
      env: { PATH: HOST_PATH, SHLVL: '1' },
      // The host side of a sandbox names its session by its working directory (the workspace), now
      // that its command line no longer does; nothing in the chain resolves a relative path.
      cwd: this.spec.workspaceDir,
    });
    const argsPipe = child.stdio[ARGS_FD] as NodeJS.WritableStream | null;
    argsPipe?.on('error', () => {});
    argsPipe?.end(Buffer.from(bwrapArgs.map((a) => `${a}\0`).join(''), 'utf8'));
    const status: Spawned['status'] = {};
    let statusText = '';
    const statusPipe = child.stdio[STATUS_FD] as NodeJS.ReadableStream | null;
    statusPipe?.on('data', (chunk: Buffer) => {
      statusText += chunk.toString('utf8');
      let nl: number;
      while ((nl = statusText.indexOf('\n')) >= 0) {
        const line = statusText.slice(0, nl);
        statusText = statusText.slice(nl + 1);
        try {
          const doc = JSON.parse(line) as { 'child-pid'?: number; 'exit-code'?: number };
          if (typeof doc['child-pid'] === 'number') status.childPid = doc['child-pid'];
          if (typeof doc['exit-code'] === 'number') status.exitCode = doc['exit-code'];
        } catch {
          // not a status document
        }
      }
    });
    statusPipe?.on('error', () => {});
    let killing: Promise<void> | undefined;
    const spawned: Spawned = {
      child,
      status,
      kill: () => {
        killing ??= (async () => {
          // Killing the sandbox's pid 1 tears down its whole pid namespace; bwrap then reaps it and
          // exits, and we reap bwrap (killing bwrap first would orphan pid 1 to the host's init).
          const pid1 = status.childPid;
          if (!(pid1 && killChildOf(pid1, child))) killGroup(child.pid);
          const gone = await Promise.race([exited(child).then(() => true), sleep(1000).then(() => false)]);
          if (!gone) {
            killGroup(child.pid);
            await exited(child);
          }
          // With bwrap gone, its --die-with-parent takes pid 1 (and the namespace) along; wait for it.
          if (pid1) await waitGone(pid1, 2000);
        })();
        return killing;
      },
    };
    this.inFlight.add(spawned);
    child.once('exit', () => this.inFlight.delete(spawned));
    return spawned;
  }
}

/** SIGKILLs `pid` if it is still a child of `parent` (so a recycled pid is never hit). */
function killChildOf(pid: number, parent: ChildProcess): boolean {
  if (parent.exitCode !== null || parent.signalCode !== null) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== parent.pid) return false;
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` no longer exists (or is a zombie: its namespace is already torn down). */
async function waitGone(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (/\) [ZX] /.test(stat)) return;
    await sleep(5);
  }
}
