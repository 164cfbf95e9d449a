// Builds package layers inside a bubblewrap sandbox of their own: the same isolation as a session
// sandbox (unprivileged dedicated uid, no capabilities, read-only system), network only through the
// egress proxy (public hosts only), and only two writable host trees: the scratch directory and the
// layer being built. Afterwards the layer is handed to root and stripped of setuid/setgid and
// group/other write bits, so no sandbox uid owns anything it is later shown read-only.
import { cp, copyFile, lchown, lstat, chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_MANAGERS } from '../../domain/environments.ts';
import { LayerBuildError, type LayerBuildRequest, type PackageLayerBuilder } from '../../ports/package-layer.ts';
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
      network: { type: 'proxy', allowedHosts: null },
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

