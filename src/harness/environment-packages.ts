// Environment `config.packages`: each distinct package list is built once into a layer (a job in
// the store under a lease, see PackageLayerRepo), in the background, when an environment with it
// is created or updated. The environment object shows the build (`build`: status, timestamps,
// error, log tail). A session's first tool call waits for its environment's layer and gets it
// mounted read-only; a failed build refuses new sessions with a 400 naming the error, and a
// sandbox that was waiting fails its call with the same reason. Layers live under
// `<layersDir>/<key>`, built in a private scratch directory and renamed into place when complete,
// so a crash mid-build leaves no half layer (the lease expires and another attempt starts).
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidRequest } from '../protocol/errors.ts';
import { PACKAGE_MANAGERS, type EnvironmentObject, type Packages } from '../domain/environments.ts';
import { canonicalPackages, hasPackages, layerKey } from '../domain/package-specs.ts';
import { LayerBuildError, type PackageLayerBuilder } from '../ports/package-layer.ts';
import type { PackageLayerRow, Store } from '../ports/store.ts';
import type { SandboxPackageLayer } from '../ports/sandbox.ts';
import { isoAt, type Clock } from '../ports/clock.ts';

export interface PackagesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The `build` field of an environment object (null when the environment installs no packages). */
export interface EnvironmentBuild {
  type: 'package_build';
  status: PackageLayerRow['status'];
  layer_key: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: { type: 'package_build_failed'; message: string } | null;
  log_tail: string | null;
}

export interface EnvironmentPackagesOptions {
  /** Where layers are kept: `<layersDir>/<key>` (ready), `<layersDir>/.build-*` (in progress). */
  layersDir: string;
  /** Build lease; renewed every third of it while the build runs (default 60 s). */
  leaseMs?: number;
  /** How often waiting callers re-read a build another process runs (default 500 ms). */
  pollMs?: number;
  /** Characters of the build log kept as `log_tail` (default 4000). */
  logTailChars?: number;
  /** Why sessions here cannot use layers at all (e.g. HANGAR_SANDBOX=unsafe-local mounts nothing), or undefined. */
  unusableReason?: string;
}

const LOG_TAIL = 4000;

export class EnvironmentPackages {
  private readonly store: Store;
  private readonly builder: PackageLayerBuilder;
  private readonly clock: Clock;
  private readonly logger: PackagesLogger;
  private readonly owner: string;
  private readonly o: Required<EnvironmentPackagesOptions>;
  /** Builds this process runs, by layer key. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new AbortController();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(deps: { store: Store; builder: PackageLayerBuilder; clock: Clock; logger: PackagesLogger; owner: string }, opts: EnvironmentPackagesOptions) {
    this.store = deps.store;
    this.builder = deps.builder;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.owner = deps.owner;
    this.o = { leaseMs: 60_000, pollMs: 500, logTailChars: LOG_TAIL, unusableReason: '', ...opts };
  }

  /** 400 for packages of a manager this server cannot install (checked before anything is stored). */
  assertInstallable(config: EnvironmentObject['config']): void {
    if (config.type !== 'cloud' || !hasPackages(config.packages)) return;
    if (this.o.unusableReason) throw invalidRequest(`config.packages: ${this.o.unusableReason}`);
    const unavailable = this.builder.unavailableReason();
    if (unavailable) throw invalidRequest(`config.packages: packages cannot be installed by this server: ${unavailable}`);
    const problems = PACKAGE_MANAGERS.filter((m) => config.packages[m].length > 0)
      .map((m) => [m, this.builder.managerProblem(m)] as const)
      .filter((p): p is readonly [typeof p[0], string] => p[1] !== undefined)
      .map(([m, why]) => `config.packages.${m}: ${why}`);
    if (problems.length) throw invalidRequest(problems.join('; '));
  }

  /** After a create or update: makes sure the environment's layer is built (a failed build of the same list is retried). */
  async request(env: EnvironmentObject): Promise<void> {
    const packages = packagesOf(env);
    if (!packages) return;
    const key = layerKey(packages);
    await this.store.packageLayers.request(key, canonicalPackages(packages), isoAt(this.clock.now()), { retryFailed: true });
    this.kick(key);
  }

  /** The environment as clients see it: with its `build` (null without packages). */
  async present<T extends EnvironmentObject>(env: T): Promise<T & { build: EnvironmentBuild | null }> {
    const packages = packagesOf(env);
    if (!packages) return { ...env, build: null };
    const key = layerKey(packages);
    const row = await this.store.packageLayers.get(key);
    if (!row) return { ...env, build: { type: 'package_build', status: 'pending', layer_key: key, created_at: env.updated_at, started_at: null, finished_at: null, error: null, log_tail: null } };
    return { ...env, build: buildOf(row) };
  }

  /** 400 when sessions cannot start in the environment because its packages failed to build. */
  async assertUsable(env: EnvironmentObject): Promise<void> {
    const packages = packagesOf(env);
    if (!packages) return;
    if (this.o.unusableReason) throw invalidRequest(`environment ${env.id} installs packages, which sessions on this server cannot use: ${this.o.unusableReason}`);
    const key = layerKey(packages);
    const row = await this.store.packageLayers.get(key);
    if (row?.status === 'failed') throw invalidRequest(failedMessage(env.id, row));
    if (!row) await this.request(env); // an environment from before layers were built
  }

  /**
   * The layer to mount for a sandbox of the environment (undefined without packages). Waits while
   * it builds (starting the build if nobody runs it); rejects with the reason when it failed.
   */
  async layerFor(environmentId: string, signal: AbortSignal): Promise<SandboxPackageLayer | undefined> {
    const env = (await this.store.environments.get(environmentId)) as unknown as EnvironmentObject | undefined;
    const packages = env ? packagesOf(env) : undefined;
    if (!env || !packages) return undefined;
    const key = layerKey(packages);
    for (;;) {
      signal.throwIfAborted();
      let row = await this.store.packageLayers.get(key);
      if (!row) row = await this.store.packageLayers.request(key, canonicalPackages(packages), isoAt(this.clock.now()), { retryFailed: false });
      if (row.status === 'ready') return { hostPath: this.layerDir(key) };
      if (row.status === 'failed') throw new Error(failedMessage(env.id, row));
      this.kick(key);
      const mine = this.running.get(key);
      await (mine ? Promise.race([mine, abortable(signal)]) : sleep(this.o.pollMs, signal));
    }
  }

  /** The layer when it is ready now (`ready: false` while it builds or after a failure); never waits. */
  async currentLayer(environmentId: string): Promise<{ ready: boolean; layer?: SandboxPackageLayer }> {
    const env = (await this.store.environments.get(environmentId)) as unknown as EnvironmentObject | undefined;
    const packages = env ? packagesOf(env) : undefined;
    if (!env || !packages) return { ready: true };
    const key = layerKey(packages);
    const row = await this.store.packageLayers.get(key);
    return row?.status === 'ready' ? { ready: true, layer: { hostPath: this.layerDir(key) } } : { ready: false };
  }

  /** Resumes builds left pending or abandoned (lease expired) by a crash, now and periodically. */
  start(): void {
    const sweep = () => void this.sweep().catch((err) => this.logger.warn({ err: String(err) }, 'package layer sweep failed'));
    sweep();
    this.sweeper = setInterval(sweep, Math.max(1_000, this.o.leaseMs));
    this.sweeper.unref();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.aborts.abort(new Error('the server is stopping'));
    await Promise.allSettled([...this.running.values()]);
  }

  private async sweep(): Promise<void> {
    for (const key of await this.store.packageLayers.unclaimed(this.clock.now(), 16)) this.kick(key);
  }

  private layerDir(key: string): string {
    return join(this.o.layersDir, key);
  }

  /** Starts the build of `key` in the background unless this process runs it already. */
  private kick(key: string): void {
    if (this.running.has(key) || this.aborts.signal.aborted) return;
    const run = this.build(key)
      .catch((err) => this.logger.warn({ err: String(err), layerKey: key }, 'package layer build crashed'))
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  private async build(key: string): Promise<void> {
    const nowMs = this.clock.now();
    if (!(await this.store.packageLayers.claim(key, this.owner, nowMs, this.o.leaseMs, isoAt(nowMs)))) return;
    const row = (await this.store.packageLayers.get(key))!;
    const renew = setInterval(() => {
      void this.store.packageLayers.renew(key, this.owner, this.clock.now(), this.o.leaseMs).catch(() => false);
    }, Math.max(100, Math.floor(this.o.leaseMs / 3)));
    await mkdir(this.o.layersDir, { recursive: true, mode: 0o700 });
    const scratch = await mkdtemp(join(this.o.layersDir, `.build-${key}-`));
    const layerDir = join(scratch, 'layer');
    const workDir = join(scratch, 'work');
    const started = Date.now();
    this.logger.info({ layerKey: key, packages: row.packages }, 'package layer build started');
    let result: { status: 'ready' | 'failed'; error: string | null };
    try {
      await mkdir(workDir, { recursive: true });
      await this.builder.build({ key, packages: canonicalPackages({ type: 'packages', ...emptyLists(), ...row.packages } as Packages), layerDir, workDir }, this.aborts.signal);
      await rm(this.layerDir(key), { recursive: true, force: true });
      await rename(layerDir, this.layerDir(key));
      result = { status: 'ready', error: null };
    } catch (err) {
      if (this.aborts.signal.aborted) {
        // Stopping: the lease lapses and the next process builds it again.
        clearInterval(renew);
        await rm(scratch, { recursive: true, force: true }).catch(() => {});
        return;
      }
      result = { status: 'failed', error: err instanceof LayerBuildError ? err.message : `the build failed on the server: ${(err as Error).message}` };
    } finally {
      clearInterval(renew);
    }
    const logTail = await readTail(join(workDir, 'build.log'), this.o.logTailChars);
    await rm(scratch, { recursive: true, force: true }).catch(() => {});
    const finished = await this.store.packageLayers.finish(key, this.owner, { ...result, logTail, now: isoAt(this.clock.now()) });
    this.logger.info({ layerKey: key, status: result.status, error: result.error, durationMs: Date.now() - started, recorded: finished }, 'package layer build finished');
  }
}

function emptyLists(): Record<string, string[]> {
  return Object.fromEntries(PACKAGE_MANAGERS.map((m) => [m, []]));
}

/** The environment's package lists when it installs any (cloud environments only). */
function packagesOf(env: EnvironmentObject): Packages | undefined {
  return env.config.type === 'cloud' && hasPackages(env.config.packages) ? env.config.packages : undefined;
}

function buildOf(row: PackageLayerRow): EnvironmentBuild {
  return {
    type: 'package_build', status: row.status, layer_key: row.key, created_at: row.createdAt, started_at: row.startedAt,
    finished_at: row.finishedAt, error: row.error === null ? null : { type: 'package_build_failed', message: row.error }, log_tail: row.logTail,
  };
}

function failedMessage(envId: string, row: PackageLayerRow): string {
  return `environment ${envId} cannot start sessions: its packages failed to build (${row.error ?? 'unknown error'}); fix config.packages and update the environment to build again`;
}

async function readTail(file: string, chars: number): Promise<string | null> {
  try {
    const st = await stat(file);
    const text = await readFile(file, 'utf8');
    return st.size === 0 ? null : text.slice(-chars);
  } catch {
    return null;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function abortable(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
