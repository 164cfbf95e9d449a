// Builds bubblewrap's argv for one confined process. Pure (no I/O), so every security-relevant
// flag is unit-tested: the mandatory isolation flags, the read-only system view, the workspace as
// the only writable tree, and the network mode.
import { posix } from 'node:path';
import type { SandboxMount } from '../../ports/sandbox.ts';
import { OUTPUTS_DIR, WORKSPACE } from '../../tools/runtime.ts';

export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
/** Where the egress proxy's unix socket appears inside a networked sandbox. */
export const EGRESS_SOCKET = '/run/hangar-egress.sock';
/** The loopback port the in-sandbox forwarder listens on; HTTP(S)_PROXY points at it. */
export const PROXY_PORT = 3128;
export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';
/** Where an environment's package layer appears inside a sandbox (read-only). */
export const PACKAGE_LAYER_DIR = '/opt/hangar/packages';

/** Flags every bwrap invocation carries, in this order, whatever the spec says. */
export const MANDATORY_FLAGS: readonly string[] = [
  '--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID),
  '--cap-drop', 'ALL',
  '--unshare-all',
  '--die-with-parent',
  '--new-session',
  '--clearenv',
];

/** A top-level system path: a directory bound read-only, or a merged-/usr symlink recreated. */
export type SystemEntry = { kind: 'dir'; path: string } | { kind: 'symlink'; path: string; target: string };

export interface FileBind {
  hostPath: string;
  sandboxPath: string;
}

export type BwrapNetwork = { type: 'none' } | { type: 'proxy'; socketPath: string };

export interface BwrapArgsInput {
  /** /usr and the merged-/usr links (/bin, /lib, /lib64, /sbin) as they exist on the host. */
  system: SystemEntry[];
  /** The only /etc entries the sandbox sees (allowlisted host files and generated passwd/group/hosts). */
  etc: FileBind[];
  workspaceDir: string;
  outputsDir: string;
  mounts: SandboxMount[];
  network: BwrapNetwork;
  /** The environment's package layer (host path, staged when staging), and whether it is writable (builds only). */
  packageLayer?: { hostPath: string; writable?: boolean };
  /** Working directory inside the sandbox (default /workspace). */
  cwd?: string;
  /** Descriptor bwrap writes its JSON status to (child started, exit code). */
  statusFd?: number;
}

/** The multiarch directory name Debian uses for this machine's libraries. */
function multiarch(): string {
  return process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
}

/**
 * The search paths that make a package layer's contents usable in place (it is bound beside the
 * host's system tree, not over it): each manager installs under its own directory of the layer.
 */
export function packageLayerEnv(root = PACKAGE_LAYER_DIR): Array<[string, string]> {
  const apt = `${root}/apt`;
  const bins = [`${root}/npm/bin`, `${root}/pip/bin`, `${root}/cargo/bin`, `${root}/gem/bin`, `${root}/go/bin`,
    `${apt}/usr/local/bin`, `${apt}/usr/bin`, `${apt}/bin`, `${apt}/usr/sbin`];
  return [
    ['PATH', `${bins.join(':')}:${SANDBOX_PATH}`],
    ['LD_LIBRARY_PATH', [`${apt}/usr/lib/${multiarch()}`, `${apt}/lib/${multiarch()}`, `${apt}/usr/lib`].join(':')],
    ['PYTHONPATH', `${root}/pip`],
    ['NODE_PATH', `${root}/npm/lib/node_modules`],
    ['GEM_PATH', `${root}/gem`],
    ['HANGAR_PACKAGES', root],
  ];
}

/** The environment inside: nothing from the host, plus the proxy variables when networked. */
export function sandboxEnv(network: BwrapNetwork, withLayer = false): Array<[string, string]> {
  const layer = withLayer ? packageLayerEnv() : [];
  const env: Array<[string, string]> = [
    ['PATH', layer.find(([k]) => k === 'PATH')?.[1] ?? SANDBOX_PATH],
    ...layer.filter(([k]) => k !== 'PATH'),
    ['HOME', WORKSPACE],
    ['LANG', 'C.UTF-8'],
    ['TERM', 'dumb'],
    ['USER', 'agent'],
    // A top-level `bash -c` whose stdin is a socket (ours are) would source ~/.bashrc, here a file
    // the agent controls in /workspace; SHLVL=1 makes every bash a nested one that does not.
    ['SHLVL', '1'],
  ];
  if (network.type === 'proxy') {
    const url = `http://127.0.0.1:${PROXY_PORT}`;
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) env.push([name, url]);
    env.push(['NO_PROXY', ''], ['no_proxy', '']);
  }
  return env;
}

/** Rejects sandbox paths that are relative, contain `..`, or would shadow the sandbox's own skeleton. */
export function checkSandboxPath(path: string): void {
  if (!path.startsWith('/') || posix.normalize(path) !== path || path.split('/').includes('..')) {
    throw new Error(`invalid sandbox path ${JSON.stringify(path)}: must be absolute and normalized`);
  }
  const reserved = ['/', '/proc', '/dev', '/usr', '/etc', '/tmp', '/run', WORKSPACE, OUTPUTS_DIR, EGRESS_SOCKET, PACKAGE_LAYER_DIR];
  if (reserved.includes(path.replace(/\/+$/, '') || '/')) throw new Error(`sandbox path ${path} is reserved`);
}

export function buildBwrapArgs(input: BwrapArgsInput): string[] {
  const args: string[] = [...MANDATORY_FLAGS];
  // No nested user namespaces: they are the usual door to kernel bugs, and nothing needs them.
  args.push('--disable-userns');
  for (const [name, value] of sandboxEnv(input.network, input.packageLayer !== undefined)) args.push('--setenv', name, value);
  args.push('--hostname', 'sandbox');

  for (const entry of input.system) {
    if (entry.kind === 'dir') args.push('--ro-bind', entry.path, entry.path);
    else args.push('--symlink', entry.target, entry.path);
  }
  for (const file of input.etc) {
    checkEtcPath(file.sandboxPath);
    args.push('--ro-bind', file.hostPath, file.sandboxPath);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');

  args.push('--bind', input.workspaceDir, WORKSPACE);
  args.push('--bind', input.outputsDir, OUTPUTS_DIR);
  for (const mount of input.mounts) {
    checkSandboxPath(mount.sandboxPath);
    args.push('--ro-bind', mount.hostPath, mount.sandboxPath);
  }
  if (input.network.type === 'proxy') args.push('--bind', input.network.socketPath, EGRESS_SOCKET);
  if (input.packageLayer) args.push(input.packageLayer.writable ? '--bind' : '--ro-bind', input.packageLayer.hostPath, PACKAGE_LAYER_DIR);

  // The skeleton root bwrap builds is a tmpfs the sandbox user owns; freeze it so the binds above
  // (workspace, outputs, /tmp) stay the only writable trees.
  args.push('--remount-ro', '/');
  const cwd = input.cwd ?? WORKSPACE;
  if (!cwd.startsWith('/')) throw new Error(`working directory must be absolute: ${cwd}`);
  args.push('--chdir', cwd);
  if (input.statusFd !== undefined) args.push('--json-status-fd', String(input.statusFd));
  return args;
}

function checkEtcPath(path: string): void {
  if (!path.startsWith('/etc/') || posix.normalize(path) !== path) throw new Error(`invalid /etc bind ${path}`);
  if (/^\/etc\/(g?shadow|sudoers|ssh)(\b|-|\/|$)/.test(path)) throw new Error(`refusing to expose ${path} in a sandbox`);
}

/**
 * The command bwrap runs. Networked sandboxes first start the loopback forwarder to the egress
 * socket and wait until it listens, so the first request through HTTP_PROXY cannot race it.
 */
export function sandboxCommand(argv: string[], network: BwrapNetwork): string[] {
  if (argv.length === 0) throw new Error('empty argv');
  if (network.type === 'none') return argv;
  const port = PROXY_PORT.toString(16).toUpperCase().padStart(4, '0');
  const script = [
    `socat TCP-LISTEN:${PROXY_PORT},fork,reuseaddr,bind=127.0.0.1 UNIX-CONNECT:${EGRESS_SOCKET} </dev/null >/dev/null 2>&1 &`,
    // Polled with shell builtins only (no grep per round): the forwarder is up within a few ms.
    `listening() { while read -r _ local _ st _; do [ "$local" = 0100007F:${port} ] && [ "$st" = 0A ] && return 0; done </proc/net/tcp; return 1; }`,
    `i=0; while ! listening; do`,
    `  i=$((i+1)); if [ $i -gt 2500 ]; then echo 'hangar: the egress forwarder did not start' >&2; break; fi; sleep 0.002;`,
    'done',
    'exec "$@"',
  ].join('\n');
  return ['/bin/sh', '-c', script, 'hangar-init', ...argv];
}
