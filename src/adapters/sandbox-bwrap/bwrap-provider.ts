// The bubblewrap sandbox provider: checks once that bubblewrap works here, and per session creates
// the cgroups, prepares the workspace for the unprivileged sandbox user, starts the egress proxy
// when the session has network access, and hands back a Sandbox whose built-in tools run through a
// BwrapRuntime. Release kills every process of the sandbox and removes what provisioning created;
// the workspace stays on disk.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressProxyHandle, StartEgressProxy } from '../../ports/egress.ts';
import type { Sandbox, SandboxProvider, SandboxSpec } from '../../ports/sandbox.ts';
import { RuntimeSandbox } from '../../tools/runtime-sandbox.ts';
import { buildBwrapArgs } from './bwrap-args.ts';
import { BwrapRuntime, type HostUser } from './bwrap-runtime.ts';
import { createSessionCgroup, detectCgroups, type CgroupLimits, type CgroupMode, type SessionCgroup } from './cgroups.ts';
import { prepareSandboxHost, unreachableFor, type SandboxHost } from './sandbox-host.ts';

/** The slice of a (pino-compatible) logger the provider uses. */
export interface SandboxLogger {
  warn(obj: object, msg: string): void;
}

export const DEFAULT_LIMITS: CgroupLimits = { memoryBytes: 2 * 1024 ** 3, pids: 512, cpus: 1 };

export interface BwrapSandboxProviderOptions {
  /** Provider state: generated /etc files and per-sandbox egress sockets (`<stateDir>/<sessionId>/`). */
  stateDir: string;
  /** Starts the filtering proxy for sessions with network access; without it such sessions fail to provision. */
  startEgressProxy?: StartEgressProxy;
  /** Defaults for limits a spec leaves unset (2 GiB, 512 pids, 1 cpu). */
  limits?: Partial<CgroupLimits>;
  /**
   * Host account bubblewrap runs as. Default: uid/gid 1000 when Hangar runs as root (so nothing in
   * a sandbox is root on the host, even through a kernel bug), the invoking user otherwise.
   * `null` keeps root's identity (the sandbox user then maps to host root; not recommended).
   */
  hostUser?: HostUser | null;
  /** A delegated cgroup v2 directory to create sandbox groups under (default: autodetect). */
  cgroupParent?: string;
  /** Turns a runtime into the Sandbox port (default: RuntimeSandbox over the built-in tools). */
  createSandbox?: (runtime: BwrapRuntime, lifecycle: { release: () => Promise<void>; isAlive: () => boolean }) => Sandbox;
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
  private unavailable: { reason: string | undefined } | undefined;
  private host: SandboxHost | undefined;
  private cgroupMode: CgroupMode | undefined;
  private socatMissing: boolean | undefined;

  constructor(opts: BwrapSandboxProviderOptions) {
    this.opts = opts;
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    this.hostUser = opts.hostUser !== undefined ? opts.hostUser : root ? { uid: 1000, gid: 1000 } : null;
    this.limits = { ...DEFAULT_LIMITS, ...definedOnly(opts.limits ?? {}) };
  }

  /** How limits are enforced here (detected once). */
  get cgroups(): CgroupMode {
    if (!this.cgroupMode) {
      this.cgroupMode = detectCgroups({ parent: this.opts.cgroupParent });
      if (this.cgroupMode.version === 'none') {
        this.opts.logger?.warn({ reason: this.cgroupMode.reason }, 'sandbox memory, pids and cpu limits are NOT enforced: no usable cgroups');
      }
    }
    return this.cgroupMode;
  }

  unavailableReason(): string | undefined {
    this.unavailable ??= { reason: this.probe() };
    return this.unavailable.reason;
  }

  async provision(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox> {
    const { runtime, release } = await this.provisionRuntime(spec, signal);
    const lifecycle = { release, isAlive: () => runtime.alive };
    return this.opts.createSandbox ? this.opts.createSandbox(runtime, lifecycle) : new RuntimeSandbox(runtime, lifecycle);
  }

  /** Everything `provision` does, returning the runtime itself. */
  async provisionRuntime(spec: SandboxSpec, signal: AbortSignal): Promise<ProvisionedRuntime> {
    const reason = this.unavailableReason();
    if (reason) throw new Error(reason);
    signal.throwIfAborted();
    const host = this.prepareHost();
    this.prepareDirs(spec);

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
        release: () => (released ??= undo()),
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
    if (this.hostUser) {
      const setpriv = spawnSync(this.opts.setprivPath ?? 'setpriv', ['--version'], { encoding: 'utf8', timeout: 10_000 });
      if (setpriv.error) return 'setpriv is missing (needed to run sandboxes as an unprivileged user); install it with: apt-get install util-linux';
    }
    const host = this.prepareHost();
    const probeDir = join(this.opts.stateDir, 'probe');
    mkdirSync(probeDir, { recursive: true });
    if (this.hostUser) {
      const blocked = unreachableFor(probeDir, this.hostUser.uid, this.hostUser.gid);
      if (blocked) return `the sandbox user (uid ${this.hostUser.uid}) cannot reach ${this.opts.stateDir}: ${blocked} is not searchable by it`;
      chownSync(probeDir, this.hostUser.uid, this.hostUser.gid);
    }
    const probeArgs = buildBwrapArgs({ system: host.system, etc: host.etc, workspaceDir: probeDir, outputsDir: probeDir, mounts: [], network: { type: 'none' } });
    let cmd = [bwrap, ...probeArgs, '--', 'true'];
    if (this.hostUser) {
      cmd = [this.opts.setprivPath ?? 'setpriv', `--reuid=${this.hostUser.uid}`, `--regid=${this.hostUser.gid}`, '--clear-groups', '--no-new-privs', '--', ...cmd];
    }
    const run = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 15_000, cwd: '/' });
    if (run.status !== 0) {
      return `bubblewrap cannot create a sandbox here (${(run.stderr || run.error?.message || `status ${run.status}`).trim()}); ` +
        'it needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)';
    }
    return undefined;
  }

  private prepareHost(): SandboxHost {
    if (!this.host) {
      mkdirSync(this.opts.stateDir, { recursive: true, mode: 0o755 });
      this.host = prepareSandboxHost(this.opts.stateDir);
    }
    return this.host;
  }

  /** The workspace and outputs must belong to the unprivileged sandbox user, and be reachable by it. */
  private prepareDirs(spec: SandboxSpec): void {
    for (const dir of [spec.workspaceDir, spec.outputsDir]) {
      mkdirSync(dir, { recursive: true });
      if (this.hostUser) {
        const st = statSync(dir);
        if (st.uid !== this.hostUser.uid || st.gid !== this.hostUser.gid) chownTree(dir, this.hostUser);
      }
    }
    if (!this.hostUser) return;
    const sources = [spec.workspaceDir, spec.outputsDir, ...spec.mounts.map((m) => m.hostPath), this.opts.stateDir];
    for (const path of sources) {
      const blocked = unreachableFor(path, this.hostUser.uid, this.hostUser.gid);
      if (blocked) {
        throw new Error(`the sandbox user (uid ${this.hostUser.uid}) cannot reach ${path}: ${blocked} is not searchable by it; ` +
          'put the data directory somewhere world-searchable (e.g. /var/lib/hangar) or give that directory o+x');
      }
    }
  }

  private async startProxy(spec: SandboxSpec): Promise<EgressProxyHandle> {
    if (spec.network.type !== 'proxy') throw new Error('unreachable');
    if (!this.opts.startEgressProxy) throw new Error('this server has no egress proxy configured, so sandboxes with network access cannot start');
    // Checked once per process: a synchronous spawn on every provision would stall every session.
    this.socatMissing ??= spawnSync('socat', ['-V'], { encoding: 'utf8', timeout: 10_000 }).error !== undefined;
    if (this.socatMissing) throw new Error('socat is not installed (needed for sandbox network access); install it with: apt-get install socat');
    let dir = join(this.opts.stateDir, spec.sessionId);
    if (join(dir, 'egress.sock').length > MAX_SOCKET_PATH) {
      dir = join(tmpdir(), `hangar-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (this.hostUser) chownSync(dir, this.hostUser.uid, this.hostUser.gid);
    const handle = await this.opts.startEgressProxy({ allowedHosts: spec.network.allowedHosts }, join(dir, 'egress.sock'));
    // The proxy listens as us with mode 0600; the sandbox connects as the unprivileged user.
    if (this.hostUser) chownSync(handle.socketPath, this.hostUser.uid, this.hostUser.gid);
    return {
      socketPath: handle.socketPath,
      close: async () => {
        await handle.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** chown -R that never follows a symlink (the tree is written by sandboxed code). */
function chownTree(root: string, user: HostUser): void {
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.uid !== user.uid || st.gid !== user.gid) lchownSync(path, user.uid, user.gid);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  if (existsSync(root)) walk(root);
}
