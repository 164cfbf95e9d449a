// Mount points of session resources that lie inside the agent-writable workspace. bubblewrap
// creates a missing mount point by path, following symlinks; a symlink the agent planted in
// /workspace would make it create files wherever the link points, on the host, as the sandbox
// user. So before each sandboxed process starts, Hangar creates every such mount point itself,
// one component at a time relative to a descriptor of the directory above it (`/proc/self/fd/N/x`
// with O_NOFOLLOW: an openat emulation, since Node has no openat), and refuses a path that goes
// through a symlink or a non-directory. bubblewrap then finds the mount point in place and creates
// nothing.
import { closeSync, constants, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import type { SandboxMount } from '../../ports/sandbox.ts';
import { WORKSPACE } from '../../tools/runtime.ts';

/** A resource's mount path goes through something the agent controls (a symlink, a file). */
export class UnsafeMountPathError extends Error {
  readonly code = 'unsafe_mount_path';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;

/** The mounts whose sandbox path lies strictly inside /workspace, with the path relative to it. */
export function workspaceMounts(mounts: readonly SandboxMount[]): Array<{ mount: SandboxMount; parts: string[] }> {
  return mounts
    .filter((m) => m.sandboxPath.startsWith(`${WORKSPACE}/`))
    .map((mount) => ({ mount, parts: posix.relative(WORKSPACE, mount.sandboxPath).split('/') }));
}

/**
 * Creates (or checks) the mount point of each workspace mount under `workspaceDir` without ever
 * following a symlink; new directories and files belong to `owner`. Throws UnsafeMountPathError.
 */
export function prepareMountPoints(workspaceDir: string, mounts: readonly SandboxMount[], owner: { uid: number; gid: number } | null): void {
  for (const { mount, parts } of workspaceMounts(mounts)) {
    if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new UnsafeMountPathError(`invalid mount path ${mount.sandboxPath}`);
    let fd = openSync(workspaceDir, DIR_FLAGS);
    try {
      for (let i = 0; i < parts.length - 1; i++) {
        const path = at(fd, parts[i]);
        try {
          mkdirSync(path, 0o755);
          if (owner) chownAt(fd, parts[i], owner);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        let next: number;
        try {
          next = openSync(path, DIR_FLAGS);
        } catch (err) {
          throw unsafe(mount, parts.slice(0, i + 1), err, path);
        }
        closeSync(fd);
        fd = next;
      }
      const leaf = parts[parts.length - 1];
      let file: number;
      try {
        file = openSync(at(fd, leaf), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
        if (owner) fchownSync(file, owner.uid, owner.gid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          file = openSync(at(fd, leaf), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        } catch (inner) {
          throw unsafe(mount, parts, inner, at(fd, leaf));
        }
        const st = fstatSync(file);
        closeSync(file);
        if (!st.isFile()) throw unsafe(mount, parts, new Error('not a regular file'));
        continue;
      }
      closeSync(file);
    } finally {
      closeSync(fd);
    }
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function chownAt(dirFd: number, name: string, owner: { uid: number; gid: number }): void {
  const fd = openSync(at(dirFd, name), DIR_FLAGS);
  try {
    fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

function unsafe(mount: SandboxMount, parts: string[], cause: unknown, path?: string): UnsafeMountPathError {
  const where = posix.join(WORKSPACE, ...parts);
  const code = (cause as NodeJS.ErrnoException).code;
  // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR; tell the two apart for the message only.
  const isLink = code === 'ELOOP' || (path !== undefined && isSymlink(path));
  const what = isLink ? 'is a symlink' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be used (${(cause as Error).message})`;
  return new UnsafeMountPathError(
    `the file resource mount path ${mount.sandboxPath} cannot be mounted: ${where} ${what} in the workspace; ` +
    'the sandbox cannot start until the session resource is removed or given another mount_path',
  );
}
