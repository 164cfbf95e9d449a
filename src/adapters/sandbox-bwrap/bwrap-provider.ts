// The bubblewrap sandbox provider: checks once that bubblewrap works here (and which cgroup limits
// really hold), and per session creates the cgroups, prepares the workspace for the unprivileged
// sandbox user, starts the egress proxy when the session has network access, and hands back a
// Sandbox whose built-in tools run through a BwrapRuntime. Provisioning is asynchronous and at most
// `maxConcurrentProvisions` run at once (the rest wait in line), so a burst of first tool calls
// never stalls the event loop. Release kills every process of the sandbox and removes what
// provisioning created; the workspace stays on disk.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressProxyHandle, StartEgressProxy } from '../../ports/egress.ts';
import type { Sandbox, SandboxProvider, SandboxSpec } from '../../ports/sandbox.ts';
import { RuntimeSandbox } from '../../tools/runtime-sandbox.ts';
import { BwrapRuntime, type HostUser } from './bwrap-runtime.ts';
import { createSessionCgroup, detectCgroups, missingControllers, SessionCgroup, type CgroupLimits, type CgroupMode, type LimitName } from './cgroups.ts';
import { prepareMountPoints } from './mount-points.ts';
import { prepareSandboxHost, type SandboxHost } from './sandbox-host.ts';
import { DEFAULT_STAGE_DIR } from './stage.ts';

/** The slice of a (pino-compatible) logger the provider uses. */
export interface SandboxLogger {
  warn(obj: object, msg: string): void;
}

export const DEFAULT_LIMITS: CgroupLimits = { memoryBytes: 2 * 1024 ** 3, pids: 512, cpus: 1 };
/**
 * The host uid/gid sandboxes run as when Hangar runs as root: a dedicated id no account uses
 * (outside the ranges Debian, Ubuntu and systemd hand out: regular users from 1000, systemd's
 * dynamic users 61184-65519, container ranges 524288-1879048191). Checked against /etc/passwd and
 * /etc/group at start-up.
 */
export const DEFAULT_SANDBOX_HOST_ID = 2_000_000_000;
export const DEFAULT_MAX_CONCURRENT_PROVISIONS = 8;

export interface BwrapSandboxProviderOptions {
  /** Provider state: generated /etc files and per-sandbox egress sockets (`<stateDir>/<sessionId>/`). */
  stateDir: string;
  /** Starts the filtering proxy for sessions with network access; without it such sessions fail to provision. */
  startEgressProxy?: StartEgressProxy;
  /** Defaults for limits a spec leaves unset (2 GiB, 512 pids, 1 cpu). */
  limits?: Partial<CgroupLimits>;
  /**
   * Host uid/gid bubblewrap runs as. Default: DEFAULT_SANDBOX_HOST_ID when Hangar runs as root (so
   * nothing in a sandbox is root, or anyone, on the host, even through a kernel bug), the invoking
   * user otherwise. Setting it while not root is refused (only root can switch to it). `null`
   * keeps root's identity (the sandbox user then maps to host root; tests only).
   */
  hostUser?: HostUser | null;
  /** Where the account check reads accounts (default /etc/passwd, /etc/group). */
  passwdFile?: string;
  groupFile?: string;
  /** Directory the per-process stage tmpfs is mounted on (default /run/hangar-sandbox-stage). */
  stageDir?: string;
  /** How many sandboxes may be provisioning at once; the others wait (default 8). */
  maxConcurrentProvisions?: number;
  /** Run the start-up enforcement probe of cgroup limits (default true; off for fake cgroup trees). */
  probeLimits?: boolean;
  /** A delegated cgroup v2 directory to create sandbox groups under (default: autodetect). */
  cgroupParent?: string;
  /** Turns a runtime into the Sandbox port (default: RuntimeSandbox over the built-in tools). */
  createSandbox?: (runtime: BwrapRuntime, lifecycle: { release: () => Promise<void>; isAlive: () => boolean; adopt: (t: AdoptTarget) => Promise<void> }) => Sandbox;
  logger?: SandboxLogger;
  bwrapPath?: string;
  setprivPath?: string;
  shellStartTimeoutMs?: number;
}

/** A runtime and how to tear it down, for callers that want the runtime itself (tests, workers). */
export interface ProvisionedRuntime {
  runtime: BwrapRuntime;
  cgroup: SessionCgroup | undefined;
  release(): Promise<void>;
}

const MAX_SOCKET_PATH = 100; // sun_path is 108 bytes; keep a margin

export class BwrapSandboxProvider implements SandboxProvider {
  private readonly opts: BwrapSandboxProviderOptions;
  private readonly hostUser: HostUser | null;
  private readonly limits: CgroupLimits;
  private readonly root: boolean;
  private unavailable: { reason: string | undefined } | undefined;
  private host: SandboxHost | undefined;
  private cgroupMode: CgroupMode | undefined;
  private socatMissing: boolean | undefined;
  private warnings: string[] | undefined;
  private readonly slots: Array<() => void> = [];
  /** Releases under way, by session: a new sandbox of that session waits for its predecessor's. */
  private readonly releasing = new Map<string, Promise<void>>();
  private provisioning = 0;

  constructor(opts: BwrapSandboxProviderOptions) {
    this.opts = opts;
    this.root = typeof process.getuid === 'function' && process.getuid() === 0;
    this.hostUser = opts.hostUser !== undefined ? opts.hostUser : this.root ? { uid: DEFAULT_SANDBOX_HOST_ID, gid: DEFAULT_SANDBOX_HOST_ID } : null;
    this.limits = { ...DEFAULT_LIMITS, ...definedOnly(opts.limits ?? {}) };
  }

  /** The host uid/gid sandboxed processes run as (null: the user running Hangar). */
  get sandboxUser(): HostUser | null {
    return this.hostUser;
  }

  /** How limits are enforced here (detected once). */
  get cgroups(): CgroupMode {
    this.cgroupMode ??= detectCgroups({ parent: this.opts.cgroupParent });
    return this.cgroupMode;
  }

  unavailableReason(): string | undefined {
    this.unavailable ??= { reason: this.probe() };
    return this.unavailable.reason;
  }

  /**
   * One line per sandbox limit (memory, pids, cpu) that is NOT enforced here, saying why; empty
   * when all are. Detected once (controller present and writable, then a tiny real probe of the
   * memory and pids limits); the start-up summary logs each line once and /readyz shows them.
   */
  limitWarnings(): string[] {
    if (!this.warnings) {
      // A missing controller is the better reason: the probe would only find its limit unenforced.
      const missing = { ...(this.opts.probeLimits === false ? {} : this.probeEnforcement()), ...missingControllers(this.cgroups) };
      const byName = new Map<LimitName, string>();
      for (const name of ['memory', 'pids', 'cpu'] as const) if (missing[name]) byName.set(name, missing[name]);
      this.warnings = [...byName].map(([name, why]) => `sandbox ${name} limit is NOT enforced: ${why}`);
    }
    return [...this.warnings];
  }

  async provision(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox> {
    const { runtime, release } = await this.provisionRuntime(spec, signal);
    const lifecycle = { release, isAlive: () => runtime.alive, adopt: (target: AdoptTarget) => adoptRuntime(runtime, target) };
    return this.opts.createSandbox ? this.opts.createSandbox(runtime, lifecycle) : new RuntimeSandbox(runtime, lifecycle);
  }

  /** Everything `provision` does, returning the runtime itself; waits for a free provisioning slot. */
  async provisionRuntime(spec: SandboxSpec, signal: AbortSignal): Promise<ProvisionedRuntime> {
    const reason = this.unavailableReason();
    if (reason) throw new Error(reason);
    signal.throwIfAborted();
    await this.acquireSlot(signal);
    try {
      return await this.provisionNow(spec, signal);
    } finally {
      this.releaseSlot();
    }
  }

  private async acquireSlot(signal: AbortSignal): Promise<void> {
    const max = Math.max(1, this.opts.maxConcurrentProvisions ?? DEFAULT_MAX_CONCURRENT_PROVISIONS);
    if (this.provisioning < max) {
      this.provisioning++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(); // the slot is handed over: `provisioning` stays as it is
      };
      const onAbort = () => {
        const i = this.slots.indexOf(grant);
        if (i >= 0) this.slots.splice(i, 1);
        reject(signal.reason);
      };
      this.slots.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaseSlot(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.provisioning--;
  }

  private async provisionNow(spec: SandboxSpec, signal: AbortSignal): Promise<ProvisionedRuntime> {
    const host = this.prepareHost();
    await this.prepareDirs(spec);
    // A release of this session's previous sandbox may still be tearing down its cgroup, which has
    // the same name as the one about to be made: let it finish, or it removes the new one.
    await this.releasing.get(spec.sessionId);

    const cleanups: Array<() => Promise<void> | void> = [];
    const undo = async () => {
      for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {});
    };
    try {
      const limits: CgroupLimits = { ...this.limits, ...definedOnly(spec.limits) };
      const cgroup = await createSessionCgroup(this.cgroups, spec.sessionId, limits);
      if (cgroup) cleanups.push(() => cgroup.remove());

      let egressSocket: string | undefined;
      if (spec.network.type === 'proxy') {
        const proxy = await this.startProxy(spec);
        egressSocket = proxy.socketPath;
        cleanups.push(() => proxy.close());
      }
      const runtime = new BwrapRuntime(spec, {
        host,
        hostUser: this.hostUser,
        stageDir: this.stageDir,
        cgroup,
        egressSocket,
        bwrapPath: this.opts.bwrapPath,
        setprivPath: this.opts.setprivPath,
        shellStartTimeoutMs: this.opts.shellStartTimeoutMs,
      });
      cleanups.push(() => runtime.close());
      signal.throwIfAborted();

      // Start the persistent shell now: it proves the sandbox works (failing here, with bubblewrap's
      // own message, rather than at the first tool call) and most first calls are bash anyway.
      const smoke = await runtime.shell('true', { timeoutMs: 15_000, maxOutputBytes: 4096, signal });
      if (smoke.exitCode !== 0) {
        throw new Error(`the sandbox does not start: ${smoke.output.trim() || `status ${smoke.exitCode}`}`);
      }
      let released: Promise<void> | undefined;
      return {
        runtime,
        cgroup,
        release: () => {
          if (!released) {
            const done = undo();
            released = done;
            this.releasing.set(spec.sessionId, done);
            void done.finally(() => {
              if (this.releasing.get(spec.sessionId) === done) this.releasing.delete(spec.sessionId);
            });
          }
          return released;
        },
      };
    } catch (err) {
      await undo();
      throw err;
    }
  }

  private probe(): string | undefined {
    const bwrap = this.opts.bwrapPath ?? 'bwrap';
    const version = spawnSync(bwrap, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (version.error) return `bubblewrap (${bwrap}) is not installed; install it with: apt-get install bubblewrap`;
    if (this.hostUser && this.opts.hostUser && !this.root) {
      return `a sandbox uid (${this.hostUser.uid}) is configured but Hangar does not run as root, so it cannot switch to it; ` +
        'unset HANGAR_SANDBOX_UID/HANGAR_SANDBOX_GID (sandboxes then run as the user running Hangar)';
    }
    if (this.hostUser) {
      const taken = this.accountClash(this.hostUser);
      if (taken) return taken;
      const setpriv = spawnSync(this.opts.setprivPath ?? 'setpriv', ['--version'], { encoding: 'utf8', timeout: 10_000 });
      if (setpriv.error) return 'setpriv is missing (needed to run sandboxes as an unprivileged user); install it with: apt-get install util-linux';
      try {
        mkdirSync(this.stageDir, { recursive: true, mode: 0o755 });
      } catch (err) {
        return `cannot create the sandbox stage directory ${this.stageDir} (${(err as Error).message}); make it creatable by root`;
      }
    }
    this.socatMissing = socatMissing(); // reported per networked provision, not here: offline sandboxes work without it
    const host = this.prepareHost();
    const probeDir = join(this.opts.stateDir, 'probe');
    mkdirSync(join(probeDir, 'workspace'), { recursive: true });
    mkdirSync(join(probeDir, 'outputs'), { recursive: true });
    if (this.hostUser) {
      chownSync(join(probeDir, 'workspace'), this.hostUser.uid, this.hostUser.gid);
      chownSync(join(probeDir, 'outputs'), this.hostUser.uid, this.hostUser.gid);
    }
    const runtime = new BwrapRuntime(
      { sessionId: 'probe', workspaceDir: join(probeDir, 'workspace'), outputsDir: join(probeDir, 'outputs'), mounts: [], network: { type: 'none' }, limits: {} },
      { host, hostUser: this.hostUser, stageDir: this.stageDir, bwrapPath: this.opts.bwrapPath, setprivPath: this.opts.setprivPath },
    );
    const cmd = runtime.commandLine(['true']).argv;
    const run = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 15_000, cwd: '/' });
    if (run.status !== 0) {
      // One line: it is shown as is on /readyz and in the start-up block.
      const why = (run.stderr || run.error?.message || `status ${run.status}`).trim().replace(/\s*\n\s*/g, '; ');
      return `bubblewrap cannot create a sandbox here (${why}); ` +
        'it needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)' +
        (this.hostUser ? ' and, as root, unshare --mount' : '');
    }
    return undefined;
  }

  private get stageDir(): string {
    return this.opts.stageDir ?? (existsSync('/run') ? DEFAULT_STAGE_DIR : join(tmpdir(), 'hangar-sandbox-stage'));
  }

  /** Refuses a sandbox uid/gid that belongs to an account: its files and processes would be that user's. */
  private accountClash(user: HostUser): string | undefined {
    const owner = (file: string, id: number) => {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
      return text.split('\n').find((line) => line.split(':')[2] === String(id))?.split(':')[0];
    };
    const account = owner(this.opts.passwdFile ?? '/etc/passwd', user.uid);
    if (account !== undefined) {
      return `the sandbox uid ${user.uid} belongs to the account "${account}" (${this.opts.passwdFile ?? '/etc/passwd'}); ` +
        `set HANGAR_SANDBOX_UID to a uid no account uses (default ${DEFAULT_SANDBOX_HOST_ID})`;
    }
    const group = owner(this.opts.groupFile ?? '/etc/group', user.gid);
    if (group !== undefined) {
      return `the sandbox gid ${user.gid} belongs to the group "${group}" (${this.opts.groupFile ?? '/etc/group'}); ` +
        `set HANGAR_SANDBOX_GID to a gid no group uses (default ${DEFAULT_SANDBOX_HOST_ID})`;
    }
    return undefined;
  }

  /**
   * Runs two tiny processes in a throwaway group with small limits: `dd` with a buffer larger than
   * the memory limit, and a shell starting more processes than the pids limit. A limit whose
   * probe was not stopped is reported (some kernels, e.g. gVisor, accept the files and enforce nothing).
   */
  private probeEnforcement(): Partial<Record<LimitName, string>> {
    const mode = this.cgroups;
    if (mode.version === 'none') return {};
    const out: Partial<Record<LimitName, string>> = {};
    const name = `probe-${process.pid}-${Date.now().toString(36)}`;
    const group = new SessionCgroup(mode, name);
    try {
      group.createSync({ memoryBytes: 16 * 1024 * 1024, pids: 8, cpus: 1 });
      const inGroup = (script: string) => spawnSync('/bin/bash', ['--norc', '--noprofile', '-c',
        `for f in "$@"; do echo $$ > "$f" || exit 125; done; ${script}`, 'hangar-limit-probe', ...group.procsFiles],
      { encoding: 'utf8', timeout: 10_000 });
      const mem = inGroup('exec dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null');
      if (mem.status === 0) out.memory = 'a probe allocated 64 MiB under a 16 MiB cgroup memory limit (the kernel accepts the limit but does not enforce it)';
      const pids = inGroup('exec /bin/sh -c \'i=0; while [ $i -lt 24 ]; do sleep 0.3 & i=$((i+1)); done; wait\' 2>/dev/null');
      if (pids.status === 0) out.pids = 'a probe started 24 processes under a cgroup pids limit of 8 (the kernel accepts the limit but does not enforce it)';
      if (mem.status === 125 || pids.status === 125) {
        out.memory ??= 'the probe could not enter its cgroup';
        out.pids ??= 'the probe could not enter its cgroup';
      }
    } catch (err) {
      const why = `the limit probe failed: ${(err as Error).message}`;
      return { memory: why, pids: why, cpu: why };
    } finally {
      removeProbeGroup(group);
    }
    return out;
  }

  private prepareHost(): SandboxHost {
    if (!this.host) {
      mkdirSync(this.opts.stateDir, { recursive: true, mode: 0o755 });
      this.host = prepareSandboxHost(this.opts.stateDir);
    }
    return this.host;
  }

  /**
   * The workspace and outputs must belong to the unprivileged sandbox user (bubblewrap reaches
   * them through the stage, so the directories above them may stay private to root). Mount points
   * inside the workspace are checked here too, so a planted symlink fails provisioning clearly.
   */
  private async prepareDirs(spec: SandboxSpec): Promise<void> {
    for (const dir of [spec.workspaceDir, spec.outputsDir]) {
      await mkdir(dir, { recursive: true });
      if (this.hostUser) {
        const st = await lstat(dir);
        if (st.uid !== this.hostUser.uid || st.gid !== this.hostUser.gid) await chownTree(dir, this.hostUser);
        await chmod(dir, 0o700); // the sandbox uid owns it; nobody else needs in
      }
    }
    prepareMountPoints(spec.workspaceDir, spec.mounts, this.hostUser);
  }

  private async startProxy(spec: SandboxSpec): Promise<EgressProxyHandle> {
    if (spec.network.type !== 'proxy') throw new Error('unreachable');
    if (!this.opts.startEgressProxy) throw new Error('this server has no egress proxy configured, so sandboxes with network access cannot start');
    // Checked once, at start-up (probe), not inside a burst of provisions: a synchronous spawn stalls every session.
    this.socatMissing ??= socatMissing();
    if (this.socatMissing) throw new Error('socat is not installed (needed for sandbox network access); install it with: apt-get install socat');
    let dir = join(this.opts.stateDir, spec.sessionId);
    if (join(dir, 'egress.sock').length > MAX_SOCKET_PATH) {
      dir = join(tmpdir(), `hangar-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
    }
    // Searchable, not listable: bubblewrap reaches the socket through the stage (which binds this
    // directory), the directories above may stay private.
    await mkdir(dir, { recursive: true, mode: 0o711 });
    await chmod(dir, 0o711);
    const handle = await this.opts.startEgressProxy({ allowedHosts: spec.network.allowedHosts }, join(dir, 'egress.sock'));
    // The proxy listens as us with mode 0600; the sandbox connects as the unprivileged user.
    if (this.hostUser) await chown(handle.socketPath, this.hostUser.uid, this.hostUser.gid);
    return {
      socketPath: handle.socketPath,
      close: async () => {
        await handle.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

type AdoptTarget = { sessionId: string; workspaceDir: string; outputsDir: string };

/**
 * Moves a pooled sandbox's (empty) workspace and outputs to the session's paths. A rename keeps
 * the running shell's bind mounts (they hold the directories, not their paths); processes started
 * later bind the new paths. Refuses a target that already exists: a session with files of its own
 * never gets a pooled sandbox.
 */
async function adoptRuntime(runtime: BwrapRuntime, target: AdoptTarget): Promise<void> {
  for (const dir of [target.workspaceDir, target.outputsDir]) {
    if (existsSync(dir)) throw new Error(`cannot adopt a pooled sandbox: ${dir} already exists`);
  }
  await rename(runtime.spec.workspaceDir, target.workspaceDir);
  await rename(runtime.spec.outputsDir, target.outputsDir);
  runtime.spec = { ...runtime.spec, workspaceDir: target.workspaceDir, outputsDir: target.outputsDir };
}

/**
 * Kills what the probes left in their group (the pids probe's sleeps outlive its shell) and
 * removes it, synchronously: this runs once at start-up, and an async removal would leak the
 * group when the process exits soon after (a CLI, a test).
 */
function removeProbeGroup(group: SessionCgroup): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 100; i++) {
    const pids = group.pids();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    Atomics.wait(nap, 0, 0, 10); // a 10 ms synchronous pause while the kernel reaps them
  }
  group.removeNow();
}

function socatMissing(): boolean {
  return spawnSync('socat', ['-V'], { encoding: 'utf8', timeout: 10_000 }).error !== undefined;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** chown -R that never follows a symlink (the tree is written by sandboxed code). */
async function chownTree(root: string, user: HostUser): Promise<void> {
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path);
    if (st.uid !== user.uid || st.gid !== user.gid) await lchown(path, user.uid, user.gid);
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
