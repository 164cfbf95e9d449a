// The tool runner backed by sandboxes: offers the enabled sandbox tools, provisions a session's
// sandbox lazily at its first call, reuses it, replaces it when it dies, releases it after an idle
// period, captures `/mnt/session/outputs` when the session settles, and removes the workspace when
// the session is deleted. The live-sandbox map is a resource cache, not session state: after a
// restart the next call provisions again over the same on-disk workspace.
// Disk quota: when the session settles, before its first call in this process, and in the
// background after writing calls (at most every MEASURE_EVERY_MS), the disk its workspace and
// outputs occupy is measured; over `sessionDiskBytes`, calls of the tools that can write (bash,
// write, edit) fail with a tool error saying so until usage is back under the quota. A single
// call can still overshoot: this is accounting between calls, not a filesystem quota.
import { chmod, lstat, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox, SandboxMount, SandboxNetwork, SandboxLimits, SandboxPackageLayer, SandboxProvider, SandboxSpec, ToolOutcome } from '../ports/sandbox.ts';
import type { Store } from '../ports/store.ts';
import type { ModelToolDefinition } from '../ports/model.ts';
import type { ToolCall, ToolOutcome as RunOutcome, ToolRunner, ToolSession } from '../harness/tool-runner.ts';
import type { RepositoryError } from '../ports/repository.ts';
import type { RepositoryResource } from '../domain/repositories.ts';
import type { AgentSnapshot } from '../harness/context.ts';
import { builtinPolicy } from '../harness/permissions.ts';
import { SANDBOX_TOOLS, sandboxToolDefinitions } from './sandbox-tools.ts';
import { SandboxPool, type PoolShape } from './sandbox-pool.ts';

/** The slice of the file service the runner needs. */
export interface SessionFiles {
  /** Read-only mounts for the session's `file` resources (deleted or expired files are skipped). */
  sandboxMounts(resources: readonly unknown[]): Promise<SandboxMount[]>;
  captureOutputs(
    sessionId: string, hostOutputsDir: string,
    opts?: { onSkipped?: (skip: { path: string; sizeBytes: number; reason: string }) => void },
  ): Promise<unknown>;
}

/** The slice of the repository service the runner needs (see harness/repository-service.ts). */
export interface SessionRepositories {
  pending(sessionId: string, resources: readonly unknown[], stateDir: string, opts: { provisioning: boolean }): Promise<RepositoryResource[]>;
  clone(sessionId: string, repos: RepositoryResource[], dirs: { workspaceDir: string; stateDir: string }, signal?: AbortSignal): Promise<RepositoryError[]>;
  forget?(sessionId: string): void;
}

/** Tools that can add to the workspace, refused while the session is over its disk quota. */
const WRITING_TOOLS = new Set(['bash', 'write', 'edit']);
/** Most directory entries one measurement visits; past it the tree counts as over any quota. */
const MAX_MEASURED_ENTRIES = 200_000;
/** Least time between background measurements of one session during a turn. */
const MEASURE_EVERY_MS = 5_000;

export interface RunnerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SandboxToolRunnerOptions {
  provider: SandboxProvider;
  store: Store;
  files: SessionFiles;
  dataDir: string;
  logger: RunnerLogger;
  limits: SandboxLimits;
  /** Release a session's sandbox processes after this long without a call (workspace stays). */
  idleReleaseMs: number;
  /** Per-session quota on the disk used by workspace + outputs (allocated blocks); default unlimited. */
  sessionDiskBytes?: number;
  /** Clones `github_repository` resources into the workspace before the call that needs them. */
  repositories?: SessionRepositories;
  /** The environment's package layer, waited for at provisioning (rejects when its build failed). */
  packages?: {
    layerFor(environmentId: string, signal: AbortSignal): Promise<SandboxPackageLayer | undefined>;
    currentLayer(environmentId: string): Promise<{ ready: boolean; layer?: SandboxPackageLayer }>;
  };
  /** Warm sandboxes kept per environment shape for first tool calls (0 or unset: no pool). */
  poolSize?: number;
  /** Hosts `limited` environments with `allow_package_managers` may reach besides `allowed_hosts`. */
  packageRegistryHosts?: string[];
}

interface Live {
  sandbox: Promise<Sandbox>;
  /** The mounts it was provisioned with: a change of session resources re-provisions it. */
  mountsKey: string;
  lastUsed: number;
  /** Calls in flight; an entry is never released for idleness while busy. */
  busy: number;
  /** Set when the sandbox came from the warm pool: the shape to refill once its first call is done. */
  refill?: PoolShape;
}

function failure(text: string): ToolOutcome {
  return { content: [{ type: 'text', text }], isError: true };
}

export class SandboxToolRunner implements ToolRunner {
  private readonly o: SandboxToolRunnerOptions;
  private readonly live = new Map<string, Live>();
  /** Repository clones under way, by session (calls of one session wait for each other's). */
  private readonly cloning = new Map<string, Promise<RepositoryError[]>>();
  /** Sessions measured in this process: their last measured disk use in bytes. */
  private readonly diskUse = new Map<string, number>();
  /** When each session was last measured in the background, and whether a measurement is running. */
  private readonly measuring = new Map<string, { at: number; running: boolean }>();
  private readonly reaper: NodeJS.Timeout;
  /**
   * Sessions whose outputs folder this process found missing and has not provisioned since: their
   * turn ends skip the (failing) stat. Only `provision` creates the folder, and one process owns a
   * data dir (as it owns the SQLite file), so the folder cannot appear behind its back.
   */
  private readonly noOutputs = new Set<string>();

  /** Warm sandboxes for first calls (undefined: off). */
  readonly pool: SandboxPool | undefined;

  constructor(opts: SandboxToolRunnerOptions) {
    this.o = opts;
    this.pool = opts.poolSize && opts.poolSize > 0
      ? new SandboxPool({ provider: opts.provider, size: opts.poolSize, dir: join(opts.dataDir, 'sandbox-pool'), limits: opts.limits, idleMs: opts.idleReleaseMs, logger: opts.logger })
      : undefined;
    this.reaper = setInterval(() => void this.releaseIdle(), Math.max(1000, Math.min(60_000, opts.idleReleaseMs)));
    this.reaper.unref();
  }

  catalog(agent: AgentSnapshot): ModelToolDefinition[] {
    return sandboxToolDefinitions([...SANDBOX_TOOLS.keys()].filter((name) => builtinPolicy(agent, name) !== undefined));
  }

  async run(session: ToolSession, call: ToolCall, opts: { signal: AbortSignal }): Promise<RunOutcome> {
    if (!SANDBOX_TOOLS.has(call.name)) return failure(`The tool "${call.name}" is not available on this server.`);
    const reason = this.o.provider.unavailableReason();
    if (reason) return failure(`The sandbox is unavailable, so ${call.name} cannot run: ${reason}`);
    // Repositories first: they are the session's errors (`session.error`), not this call's.
    let errors: RepositoryError[] = [];
    try {
      errors = await this.syncRepositories(session, opts.signal);
    } catch (err) {
      this.o.logger.error({ err, sessionId: session.id }, 'preparing repositories failed');
    }
    const outcome = await this.runInSandbox(session, call, opts);
    return errors.length ? { ...outcome, errors } : outcome;
  }

  /**
   * Clones the session's repositories that need an attempt now. Cloning writes into the workspace,
   * so no sandbox process may run meanwhile: a live sandbox is released first (a rotation after a
   * failed clone is the only way one is pending while a sandbox lives).
   */
  private async syncRepositories(session: ToolSession, signal: AbortSignal): Promise<RepositoryError[]> {
    const repos = this.o.repositories;
    if (!repos || !session.resources.some((r) => r.type === 'github_repository')) return [];
    const previous = this.cloning.get(session.id) ?? Promise.resolve([]);
    const run = previous.catch(() => []).then(async () => {
      const dirs = this.dirs(session.id);
      const stateDir = join(dirs.root, 'repositories');
      const pending = await repos.pending(session.id, session.resources, stateDir, { provisioning: !this.live.has(session.id) });
      if (!pending.length) return [];
      await this.drop(session.id);
      await this.ensureDirs(session.id);
      return repos.clone(session.id, pending, { workspaceDir: dirs.workspace, stateDir }, signal);
    });
    this.cloning.set(session.id, run);
    try {
      return await run;
    } finally {
      if (this.cloning.get(session.id) === run) this.cloning.delete(session.id);
    }
  }

  private async runInSandbox(session: ToolSession, call: ToolCall, opts: { signal: AbortSignal }): Promise<ToolOutcome> {
    if (WRITING_TOOLS.has(call.name)) {
      const over = await this.overQuota(session.id, { remeasure: true });
      if (over) return failure(over);
    }
    let sandbox: Sandbox;
    try {
      sandbox = await this.sandboxFor(session, opts.signal);
    } catch (err) {
      this.o.logger.error({ err, sessionId: session.id }, 'sandbox provisioning failed');
      return failure(`The sandbox could not be started: ${(err as Error).message}`);
    }
    const entry = this.live.get(session.id);
    if (entry) entry.busy++;
    try {
      const outcome = await sandbox.execute(call.name, call.input, opts.signal);
      if (WRITING_TOOLS.has(call.name)) this.measureSoon(session.id);
      return outcome;
    } catch (err) {
      // The sandbox itself broke: a tool error now, a fresh sandbox at the next call.
      this.o.logger.warn({ err, sessionId: session.id, tool: call.name }, 'sandbox failed; it will be replaced');
      await this.drop(session.id);
      return failure(`The sandbox failed while running ${call.name} (${(err as Error).message}); a fresh sandbox will be provisioned for the next call. Files in /workspace are kept.`);
    } finally {
      if (entry) {
        entry.busy--;
        entry.lastUsed = Date.now();
        if (entry.refill) {
          this.pool?.fill(entry.refill);
          entry.refill = undefined;
        }
      }
    }
  }

  async settle(session: ToolSession): Promise<void> {
    if (this.noOutputs.has(session.id)) return;
    const outputs = this.dirs(session.id).outputs;
    if (!(await exists(outputs))) {
      // Never provisioned: nothing to capture. Not remembered while a sandbox is being provisioned,
      // whose mkdir may have landed just after this stat.
      if (!this.live.has(session.id)) this.noOutputs.add(session.id);
      return;
    }
    await this.o.files.captureOutputs(session.id, outputs, {
      onSkipped: (skip) => this.o.logger.warn({ sessionId: session.id, ...skip }, 'session output not captured'),
    });
    await this.measure(session.id);
  }

  /**
   * The tool error to return when the session is over its disk quota, else undefined. A session
   * not measured yet in this process is measured first; with `remeasure`, one already over is
   * measured again (files may have been removed since).
   */
  async overQuota(sessionId: string, opts: { remeasure?: boolean } = {}): Promise<string | undefined> {
    const quota = this.o.sessionDiskBytes;
    if (quota === undefined) return undefined;
    let used = this.diskUse.get(sessionId);
    if (used === undefined || (used > quota && opts.remeasure)) used = await this.measure(sessionId);
    if (used <= quota) return undefined;
    const mb = (n: number) => (Number.isFinite(n) ? `${Math.ceil(n / (1024 * 1024))} MB` : `more than ${MAX_MEASURED_ENTRIES} files`);
    return `The session's files use ${mb(used)} of disk, over its ${mb(quota)} quota, so bash, write and edit are refused ` +
      'until usage is under the quota; read, glob and grep still work. Raise HANGAR_SESSION_DISK_MB or start a new session.';
  }

  /** Measures in the background unless a measurement is running or ran in the last MEASURE_EVERY_MS. */
  private measureSoon(sessionId: string): void {
    if (this.o.sessionDiskBytes === undefined) return;
    const last = this.measuring.get(sessionId);
    if (last && (last.running || Date.now() - last.at < MEASURE_EVERY_MS)) return;
    const state = { at: Date.now(), running: true };
    this.measuring.set(sessionId, state);
    void this.measure(sessionId)
      .catch((err) => this.o.logger.warn({ err, sessionId }, 'measuring the session disk use failed'))
      .finally(() => {
        state.running = false;
        state.at = Date.now();
      });
  }

  /** Measures and remembers the disk the session's workspace and outputs occupy (allocated blocks). */
  private async measure(sessionId: string): Promise<number> {
    if (this.o.sessionDiskBytes === undefined) return 0;
    const used = await diskUsage(this.dirs(sessionId).root);
    this.diskUse.set(sessionId, used);
    return used;
  }

  async release(sessionId: string): Promise<void> {
    await this.drop(sessionId);
  }

  async forget(sessionId: string): Promise<void> {
    await this.drop(sessionId);
    this.diskUse.delete(sessionId);
    this.measuring.delete(sessionId);
    this.noOutputs.delete(sessionId);
    this.o.repositories?.forget?.(sessionId);
    await rm(join(this.o.dataDir, 'sandboxes', sessionId), { recursive: true, force: true });
  }

  /**
   * A session was created: make sure a warm sandbox of its environment's shape is waiting for its
   * first call (only once the environment's packages are built; never waits for them).
   */
  async prewarm(session: { environment_id: string }): Promise<void> {
    if (!this.pool || this.o.provider.unavailableReason()) return;
    const current = this.o.packages ? await this.o.packages.currentLayer(session.environment_id) : { ready: true };
    if (!current.ready) return;
    this.pool.fill({ network: await this.network(session.environment_id), ...(current.layer ? { packageLayer: current.layer } : {}) });
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    await this.pool?.close();
    await Promise.allSettled([...this.live.keys()].map((id) => this.drop(id)));
  }

  /** Whether a sandbox process is currently held for the session (for tests and metrics). */
  holds(sessionId: string): boolean {
    return this.live.has(sessionId);
  }

  private dirs(sessionId: string) {
    const root = join(this.o.dataDir, 'sandboxes', sessionId);
    return { root, workspace: join(root, 'workspace'), outputs: join(root, 'outputs') };
  }

  private async sandboxFor(session: ToolSession, signal: AbortSignal): Promise<Sandbox> {
    const mounts = await this.o.files.sandboxMounts(session.resources);
    const mountsKey = JSON.stringify(mounts);
    const current = this.live.get(session.id);
    if (current) {
      const sandbox = await current.sandbox.catch(() => undefined);
      if (sandbox?.alive && current.mountsKey === mountsKey) return sandbox;
      this.live.delete(session.id);
      await sandbox?.release().catch(() => {});
    }
    const entry: Live = { sandbox: Promise.resolve(undefined as unknown as Sandbox), mountsKey, lastUsed: Date.now(), busy: 0 };
    const sandbox = this.adoptOrProvision(session, mounts, signal, entry);
    entry.sandbox = sandbox;
    this.live.set(session.id, entry);
    try {
      return await sandbox;
    } catch (err) {
      this.live.delete(session.id);
      throw err;
    }
  }

  /**
   * A warm sandbox when one fits (pool on, no file mounts, and a session whose workspace does not
   * exist yet, so nothing of its own is lost by taking a fresh one), else a new one.
   */
  private async adoptOrProvision(session: ToolSession, mounts: SandboxMount[], signal: AbortSignal, entry: Live): Promise<Sandbox> {
    const shape = await this.shapeFor(session.environment_id, signal);
    const dirs = this.dirs(session.id);
    if (this.pool && mounts.length === 0 && !(await exists(dirs.workspace)) && !(await exists(dirs.outputs))) {
      const warm = this.pool.take(shape);
      if (warm) {
        try {
          this.noOutputs.delete(session.id);
          for (const dir of [join(this.o.dataDir, 'sandboxes'), dirs.root]) await mkdir(dir, { recursive: true, mode: 0o700 });
          await warm.sandbox.adopt!({ sessionId: session.id, workspaceDir: dirs.workspace, outputsDir: dirs.outputs });
          entry.refill = shape;
          void rm(warm.root, { recursive: true, force: true }).catch(() => {});
          return warm.sandbox;
        } catch (err) {
          this.o.logger.warn({ err, sessionId: session.id }, 'adopting a warm sandbox failed; provisioning a fresh one');
          await warm.sandbox.release().catch(() => {});
          await rm(warm.root, { recursive: true, force: true }).catch(() => {});
          this.pool.fill(shape);
        }
      }
    }
    return this.provision(session, mounts, shape, signal);
  }

  /** The environment's sandbox shape: egress and package layer (waits while the layer builds). */
  private async shapeFor(environmentId: string, signal: AbortSignal): Promise<PoolShape> {
    const [packageLayer, network] = await Promise.all([this.o.packages?.layerFor(environmentId, signal), this.network(environmentId)]);
    return { network, ...(packageLayer ? { packageLayer } : {}) };
  }

  /** Creates the session's directories, private to the server. */
  private async ensureDirs(sessionId: string): Promise<void> {
    const dirs = this.dirs(sessionId);
    // Private to the server: the sandbox provider reaches the workspace without path access (see
    // the bubblewrap adapter's stage), and no sandbox user can walk into another session's tree.
    for (const dir of [join(this.o.dataDir, 'sandboxes'), dirs.root]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700); // also trees made by versions that needed them world-searchable
    }
    await mkdir(dirs.workspace, { recursive: true, mode: 0o700 });
    await mkdir(dirs.outputs, { recursive: true, mode: 0o700 });
  }

  private async provision(session: ToolSession, mounts: SandboxMount[], shape: PoolShape, signal: AbortSignal): Promise<Sandbox> {
    const dirs = this.dirs(session.id);
    this.noOutputs.delete(session.id); // before the mkdir, so a settle racing it stats again
    await this.ensureDirs(session.id);
    const spec: SandboxSpec = {
      sessionId: session.id,
      workspaceDir: dirs.workspace,
      outputsDir: dirs.outputs,
      mounts,
      network: shape.network,
      limits: this.o.limits,
      ...(shape.packageLayer ? { packageLayer: shape.packageLayer } : {}),
    };
    return this.o.provider.provision(spec, signal);
  }

  /** Environment networking → sandbox egress. Sandboxes never get a network interface of their own. */
  private async network(environmentId: string): Promise<SandboxNetwork> {
    const env = await this.o.store.environments.get(environmentId);
    const networking = (env?.config as { networking?: { type: string; allowed_hosts?: string[]; allow_package_managers?: boolean } } | undefined)?.networking;
    if (!networking) return { type: 'none' };
    if (networking.type === 'limited') {
      const registries = networking.allow_package_managers ? (this.o.packageRegistryHosts ?? []) : [];
      const hosts = [...new Set([...(networking.allowed_hosts ?? []), ...registries])];
      return hosts.length ? { type: 'proxy', allowedHosts: hosts } : { type: 'none' };
    }
    return { type: 'proxy', allowedHosts: null };
  }

  private async drop(sessionId: string): Promise<void> {
    const entry = this.live.get(sessionId);
    if (!entry) return;
    this.live.delete(sessionId);
    const sandbox = await entry.sandbox.catch(() => undefined);
    await sandbox?.release().catch((err) => this.o.logger.warn({ err, sessionId }, 'sandbox release failed'));
  }

  private async releaseIdle(): Promise<void> {
    await this.pool?.drainIdle().catch(() => {});
    const cutoff = Date.now() - this.o.idleReleaseMs;
    for (const [id, entry] of this.live) if (entry.busy === 0 && entry.lastUsed < cutoff) await this.drop(id);
  }
}

/**
 * Bytes allocated on disk under `root` (st_blocks × 512, so sparse files count what they really
 * use), never following symlinks; a missing tree is 0 and a tree past `MAX_MEASURED_ENTRIES`
 * entries counts as infinitely large.
 */
export async function diskUsage(root: string): Promise<number> {
  let total = 0;
  let entries = 0;
  const stack = [root];
  while (stack.length) {
    const path = stack.pop()!;
    let st;
    try {
      st = await lstat(path);
    } catch {
      continue; // removed meanwhile
    }
    if (++entries > MAX_MEASURED_ENTRIES) return Number.POSITIVE_INFINITY;
    total += st.blocks * 512;
    if (!st.isDirectory()) continue;
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      continue;
    }
    for (const name of names) stack.push(join(path, name));
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
