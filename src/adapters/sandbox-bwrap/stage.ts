// Staging: how an unprivileged bubblewrap reaches bind sources it could not reach by path. When
// Hangar runs as root, bubblewrap runs as a dedicated unprivileged host uid, and bubblewrap resolves
// every bind source by path as that uid (even `--bind-fd`: 0.8 turns the descriptor back into a path
// with realpath), so a data directory under /root (mode 0700) would be unreachable. Instead, each
// sandboxed process starts in a private mount namespace of its own (`unshare --mount`, still as
// root), where a small tmpfs at a fixed, world-searchable stage directory gets a bind of exactly the
// sources this sandbox needs; only then does it drop to the sandbox uid and exec bubblewrap, which
// binds from the stage. The host's mounts are untouched (the namespace is private and dies with the
// process), the data directory can stay private to root, and the sandbox uid can reach nothing of
// another session even while bubblewrap sets up.
import { posix } from 'node:path';

/** Exit status of the stage script when a mount failed (the sandbox is broken, not the command). */
export const STAGE_FAILED = 124;

/** Where the stage tmpfs is mounted inside each private namespace (any existing directory will do). */
export const DEFAULT_STAGE_DIR = '/run/hangar-sandbox-stage';

export interface StageEntry {
  kind: 'dir' | 'file';
  host: string;
  staged: string;
}

export interface StagePlan {
  dir: string;
  entries: StageEntry[];
  /** The staged path of a host path that is, or lies inside, a staged entry (host paths otherwise). */
  map(hostPath: string): string;
}

/** Plans the stage for one sandbox: one entry per distinct host source, named by position. */
export function planStage(dir: string, sources: Array<{ kind: 'dir' | 'file'; host: string }>): StagePlan {
  const entries: StageEntry[] = [];
  for (const source of sources) {
    if (entries.some((e) => e.host === source.host)) continue;
    entries.push({ ...source, staged: posix.join(dir, `s${entries.length}`) });
  }
  return {
    dir,
    entries,
    map(hostPath) {
      for (const e of entries) {
        if (hostPath === e.host) return e.staged;
        if (e.kind === 'dir' && hostPath.startsWith(`${e.host}/`)) return e.staged + hostPath.slice(e.host.length);
      }
      return hostPath;
    },
  };
}

/**
 * Runs as root inside the fresh private mount namespace, with two execs whatever the number of
 * sources (each exec costs milliseconds): mounts the stage tmpfs, writes an fstab of the binds into
 * it and creates the file mount points (shell builtins), then binds everything with one
 * `mount --all --fstab` (directories created by X-mount.mkdir), then execs the rest (setpriv … bwrap …).
 * Arguments: stage dir, fstab text, file mount points…, `--`, command….
 */
const STAGE_SCRIPT = [
  'stage=$1 fstab=$2; shift 2',
  `mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev hangar-stage "$stage" || exit ${STAGE_FAILED}`,
  `printf '%s\\n' "$fstab" > "$stage/.fstab" || exit ${STAGE_FAILED}`,
  `while [ "$1" != -- ]; do : > "$1" || exit ${STAGE_FAILED}; shift; done; shift`,
  `mount --all --fstab "$stage/.fstab" || exit ${STAGE_FAILED}`,
  'exec "$@"',
].join('\n');

/** fstab fields escape whitespace, backslash and anything unusual as \ooo octal (libmount unmangles it). */
export function fstabField(path: string): string {
  return [...Buffer.from(path, 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9/_.,:+@=-]/.test(c) ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }).join('');
}

/** The fstab that binds every entry of the plan onto its staged path. */
export function stageFstab(plan: StagePlan): string {
  return plan.entries
    .map((e) => `${fstabField(e.host)} ${fstabField(e.staged)} none ${e.kind === 'dir' ? 'bind,X-mount.mkdir' : 'bind'} 0 0`)
    .join('\n');
}

/** The host argv that stages `plan` and then runs `cmd` in the same private namespace. */
export function stageCommand(plan: StagePlan, cmd: string[], paths: { unshare?: string; bash?: string } = {}): string[] {
  const files = plan.entries.filter((e) => e.kind === 'file').map((e) => e.staged);
  return [
    paths.unshare ?? 'unshare', '--mount', '--propagation', 'private', '--',
    paths.bash ?? '/bin/bash', '--norc', '--noprofile', '-c', STAGE_SCRIPT, 'hangar-stage', plan.dir, stageFstab(plan), ...files, '--', ...cmd,
  ];
}
