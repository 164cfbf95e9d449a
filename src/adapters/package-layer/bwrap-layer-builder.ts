// Builds package layers inside a bubblewrap sandbox of their own: the same isolation as a session
// sandbox (unprivileged dedicated uid, no capabilities, read-only system), network only through the
// egress proxy (public hosts only), and only two writable host trees: the scratch directory and the
// layer being built. Afterwards the layer is handed to root and stripped of setuid/setgid and
// group/other write bits, so no sandbox uid owns anything it is later shown read-only.
import { cp, copyFile, lchown, lstat, chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_MANAGERS } from '../../domain/environments.ts';
import { LayerBuildError, type LayerBuildRequest, type PackageLayerBuilder, type PackageManager } from '../../ports/package-layer.ts';
import type { BwrapSandboxProvider } from '../sandbox-bwrap/bwrap-provider.ts';
import { BUILD_HOME, installScript, registryEnv, type PackageRegistries } from './install-scripts.ts';

export interface BwrapLayerBuilderOptions {
  /** Provisions the build sandbox (its egress proxy starter decides what the build may reach). */
  provider: BwrapSandboxProvider;
  registries?: PackageRegistries;
  /** Longest one manager's install may take (default 15 min). */
  stepTimeoutMs?: number;
  /** Where the host's apt configuration and dpkg status are read (defaults: /etc/apt, /var/lib/dpkg/status). */
  aptEtcDir?: string;
  dpkgStatusFile?: string;
  /** Where tools are looked for (default: the directories sandboxes see them in). */
  toolDirs?: string[];
}

/** The tools each manager's install script needs, as sandboxes see them (under /usr). */
const TOOLS: Record<PackageManager, { tools: string[]; install: string }> = {
  apt: { tools: ['apt-get', 'dpkg-deb'], install: 'apt' },
  cargo: { tools: ['cargo'], install: 'cargo' },
  gem: { tools: ['gem'], install: 'ruby' },
  go: { tools: ['go'], install: 'golang-go' },
  npm: { tools: ['npm', 'node'], install: 'npm' },
  pip: { tools: ['python3', 'pip3'], install: 'python3-pip' },
};

const DEFAULT_TOOL_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/lib/go/bin'];

/** Registry hosts each manager talks to by default (the build's egress is limited to these). */
const DEFAULT_REGISTRY_HOSTS: Record<PackageManager, string[]> = {
  apt: [],
  cargo: ['index.crates.io', 'static.crates.io', 'crates.io'],
  gem: ['rubygems.org', 'index.rubygems.org'],
  go: ['proxy.golang.org', 'sum.golang.org'],
  npm: ['registry.npmjs.org'],
  pip: ['pypi.org', 'files.pythonhosted.org'],
};

const hostOf = (url: string | undefined): string[] => {
  if (!url) return [];
  try {
    return [new URL(url.replace(/^sparse\+/, '')).hostname];
  } catch {
    return [];
  }
};

/** Hosts of the apt sources (one-line `deb URL …` lists and deb822 `URIs:` fields). */
export function aptSourceHosts(etcDir: string): string[] {
  const texts: string[] = [];
  const read = (p: string) => {
    try {
      texts.push(readFileSync(p, 'utf8'));
    } catch {
      // unreadable or missing: no hosts from it
    }
  };
  read(join(etcDir, 'sources.list'));
  try {
    for (const n of readdirSync(join(etcDir, 'sources.list.d'))) if (/\.(list|sources)$/.test(n)) read(join(etcDir, 'sources.list.d', n));
  } catch {
    // no directory
  }
  const hosts = new Set<string>();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const l = line.trim();
      const urls = /^deb(-src)?\s/.test(l) ? l.split(/\s+/).filter((w) => /^https?:\/\//.test(w)) : /^URIs:/i.test(l) ? l.slice(5).trim().split(/\s+/) : [];
      for (const u of urls) for (const h of hostOf(u)) hosts.add(h);
    }
  }
  return [...hosts];
}

/** The hosts a build of these managers may reach: the configured registries, else the defaults. */
export function registryHosts(managers: PackageManager[], registries: PackageRegistries, aptHosts: string[]): string[] {
  const configured: Record<PackageManager, string | undefined> = {
    apt: undefined, cargo: registries.cargoIndexUrl, gem: registries.gemSource, go: registries.goProxy, npm: registries.npmRegistry, pip: registries.pipIndexUrl,
  };
  const hosts = new Set<string>();
  for (const m of managers) {
    const own = m === 'apt' ? aptHosts : hostOf(configured[m]);
    for (const h of own.length ? own : DEFAULT_REGISTRY_HOSTS[m]) hosts.add(h);
    // pip's simple index links to files on the index host; PyPI's live on files.pythonhosted.org.
  }
  return [...hosts];
}

const ERROR_MARK = 'hangar-build-error: ';

export class BwrapLayerBuilder implements PackageLayerBuilder {
  private readonly o: BwrapLayerBuilderOptions;

  constructor(opts: BwrapLayerBuilderOptions) {
    this.o = opts;
  }

  unavailableReason(): string | undefined {
    return this.o.provider.unavailableReason();
  }

  managerProblem(manager: PackageManager): string | undefined {
    const dirs = this.o.toolDirs ?? DEFAULT_TOOL_DIRS;
    const missing = TOOLS[manager].tools.filter((t) => !dirs.some((d) => existsSync(join(d, t))));
    if (!missing.length) return undefined;
    return `${manager} packages cannot be installed by this server: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed where sandboxes can run ${missing.length > 1 ? 'them' : 'it'} (${dirs.join(', ')}); install it system-wide (e.g. apt-get install ${TOOLS[manager].install}) and restart Hangar`;
  }

  async build(req: LayerBuildRequest, signal: AbortSignal): Promise<void> {
    const reason = this.unavailableReason();
    if (reason) throw new LayerBuildError(`packages cannot be installed: the sandbox is unavailable (${reason})`);
    const user = this.o.provider.sandboxUser;
    const outputs = join(req.workDir, '.outputs');
    await mkdir(outputs, { recursive: true });
    await mkdir(req.layerDir, { recursive: true });
    for (const m of PACKAGE_MANAGERS) if (req.packages[m].length) await mkdir(join(req.layerDir, m), { recursive: true });
    if (req.packages.apt.length) await this.prepareAptState(join(req.workDir, 'apt'));
    if (user) await chownTree(req.layerDir, user.uid, user.gid);
    const log = join(req.workDir, 'build.log');
    const { runtime, release } = await this.o.provider.provisionRuntime({
      sessionId: `layer-${req.key.slice(0, 16)}`,
      workspaceDir: req.workDir,
      outputsDir: outputs,
      mounts: [],
      // Only the registries: install scripts (npm lifecycle scripts, setup.py) reach nothing else.
      network: { type: 'proxy', allowedHosts: registryHosts(PACKAGE_MANAGERS.filter((m) => req.packages[m].length > 0), this.o.registries ?? {}, aptSourceHosts(this.o.aptEtcDir ?? '/etc/apt')) },
      limits: {},
      packageLayer: { hostPath: req.layerDir, writable: true },
    }, signal);
    try {
      for (const m of PACKAGE_MANAGERS) {
        const specs = req.packages[m];
        if (!specs.length) continue;
        const timeoutMs = this.o.stepTimeoutMs ?? 15 * 60_000;
        const r = await runtime.exec(
          ['/usr/bin/env', ...registryEnv(this.o.registries ?? {}), '/bin/bash', '--norc', '--noprofile', '-c', installScript(m), `hangar-build-${m}`, ...specs],
          { timeoutMs, maxOutputBytes: 64 * 1024, signal, cwd: BUILD_HOME },
        );
        signal.throwIfAborted();
        if (r.timedOut) throw new LayerBuildError(`${m} install timed out after ${Math.round(timeoutMs / 1000)} s`);
        if (r.exitCode !== 0) {
          const text = await readFile(log, 'utf8').catch(() => '');
          const marked = text.split('\n').reverse().find((l) => l.startsWith(ERROR_MARK));
          const why = marked?.slice(ERROR_MARK.length).trim() || `${m} install exited with status ${r.exitCode}${r.stderr.length ? `: ${r.stderr.toString('utf8').trim().slice(-500)}` : ''}`;
          throw new LayerBuildError(why);
        }
      }
    } finally {
      await release();
    }
    await sealTree(req.layerDir);
  }

  /**
   * A private apt state for the unprivileged build: the host's sources, keyrings and apt.conf.d
   * (copied, so the sandbox sees no other /etc file), its dpkg status (so only what the host lacks
   * is fetched) and empty lists and caches; APT_CONFIG points apt at it.
   */
  private async prepareAptState(dir: string): Promise<void> {
    const etc = this.o.aptEtcDir ?? '/etc/apt';
    await mkdir(join(dir, 'state', 'lists', 'partial'), { recursive: true });
    await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
    await mkdir(join(dir, 'etc'), { recursive: true });
    for (const name of ['sources.list', 'sources.list.d', 'trusted.gpg', 'trusted.gpg.d', 'apt.conf.d', 'preferences', 'preferences.d', 'keyrings']) {
      const from = join(etc, name);
      if (existsSync(from)) await cp(from, join(dir, 'etc', name), { recursive: true, dereference: true });
    }
    await copyFile(this.o.dpkgStatusFile ?? '/var/lib/dpkg/status', join(dir, 'status'));
    const d = `${BUILD_HOME}/apt`;
    await writeFile(join(dir, 'apt.conf'), [
      `Dir::Etc "${d}/etc";`,
      `Dir::State "${d}/state";`,
      `Dir::State::status "${d}/status";`,
      `Dir::Cache "${d}/cache";`,
      'Debug::NoLocking "true";',
      'APT::Sandbox::User "";',
      'Acquire::Languages "none";',
      '',
    ].join('\n'));
  }
}

async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(root);
  await lchown(root, uid, gid);
  if (st.isDirectory()) for (const name of await readdir(root)) await chownTree(join(root, name), uid, gid);
}

/** Root-owned, no setuid/setgid/sticky bits, no group/other write: the layer is read-only data from now on. */
async function sealTree(root: string): Promise<void> {
  const st = await lstat(root);
  await lchown(root, 0, 0).catch(() => {}); // not root: the layer stays ours, still read-only in sandboxes
  if (st.isSymbolicLink()) return;
  await chmod(root, (st.mode & 0o777 & ~0o022) | (st.isDirectory() ? 0o555 : st.mode & 0o100 ? 0o555 : 0o444));
  if (st.isDirectory()) for (const name of await readdir(root)) await sealTree(join(root, name));
}

