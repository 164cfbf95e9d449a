// `github_repository` session resources: turns create params into resource objects with the token
// sealed in a hidden session field (never in the resource, a response, an event or a log line),
// rotates the token, and clones pending repositories into a session's workspace on the host before
// a tool call needs them. A clone is attempted once per token version in this process (rotation
// bumps the resource's `updated_at`, so the next tool call retries with the new token) and again
// whenever a fresh sandbox is provisioned; a failure becomes a `session.error` (`retrying`) and the
// session goes on without the repository. Success is remembered on disk beside the workspace, so a
// repository is never cloned twice into a workspace the agent has since changed.
// Safety: the host never runs git inside the workspace (its .git/config is the agent's to edit,
// and options like core.fsmonitor run code); it clones into a root-private scratch directory and
// renames the result into place, after checking that no component of the mount path is a symlink,
// with no sandbox process running (the caller releases the sandbox first).
import { chown, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newId } from '../protocol/ids.ts';
import { assertMountPathFree, validateMountPath } from '../domain/files.ts';
import {
  REPOSITORY_TOKENS_FIELD, isRepositoryResource, repositoryName, repositoryTokenContext, repositoryUrlProblem,
  repositoryWorkspacePath, type RepositoryResource,
} from '../domain/repositories.ts';
import { invalidRequest } from '../protocol/errors.ts';
import type { RepositoryCheckout, RepositoryCloner, RepositoryError } from '../ports/repository.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import type { Store } from '../ports/store.ts';

export interface RepositoryParam {
  type: 'github_repository';
  url: string;
  authorization_token?: string;
  checkout?: RepositoryCheckout | null;
  mount_path?: string | null;
}

export interface RepositoryLogger {
  warn(obj: object, msg: string): void;
}

export class RepositoryService {
  private readonly box: SecretBox;
  private readonly store: Store;
  private readonly cloner: RepositoryCloner;
  private readonly logger: RepositoryLogger;
  /** Failed attempts in this process, by `<session>/<resource>`: the `updated_at` they used. */
  private readonly failed = new Map<string, string>();

  constructor(deps: { box: SecretBox; store: Store; cloner: RepositoryCloner; logger: RepositoryLogger }) {
    this.box = deps.box;
    this.store = deps.store;
    this.cloner = deps.cloner;
    this.logger = deps.logger;
  }

  /**
   * The resource object for a create param (400 for a bad URL or mount path; `taken` are the mount
   * paths already used, and gets this one added), and its sealed token when one was given.
   */
  async resolve(p: RepositoryParam, taken: string[], now: string): Promise<{ resource: RepositoryResource; sealedToken?: string }> {
    const problem = repositoryUrlProblem(p.url);
    if (problem) throw invalidRequest(problem);
    const mountPath = p.mount_path == null ? `/workspace/${repositoryName(p.url)}` : validateMountPath(p.mount_path);
    repositoryWorkspacePath(mountPath);
    assertMountPathFree(mountPath, taken);
    taken.push(mountPath);
    const id = newId('sesrsc');
    const resource: RepositoryResource = {
      id, type: 'github_repository', url: p.url, mount_path: mountPath, checkout: p.checkout ?? null, created_at: now, updated_at: now,
    };
    return { resource, sealedToken: p.authorization_token ? await this.seal(id, p.authorization_token) : undefined };
  }

  seal(resourceId: string, token: string): Promise<string> {
    return this.box.seal(token, repositoryTokenContext(resourceId));
  }

  /** Repository resources of the session that still need a clone attempt now. */
  async pending(sessionId: string, resources: readonly unknown[], stateDir: string, opts: { provisioning: boolean }): Promise<RepositoryResource[]> {
    const out: RepositoryResource[] = [];
    for (const r of resources) {
      if (!isRepositoryResource(r)) continue;
      if (await exists(join(stateDir, `${r.id}.cloned`))) continue;
      const failedAt = this.failed.get(`${sessionId}/${r.id}`);
      // Retried with a new token at once; with the same one only when a fresh sandbox starts.
      if (failedAt === r.updated_at && !opts.provisioning) continue;
      out.push(r);
    }
    return out;
  }

  /**
   * Clones each repository into `workspaceDir` (no sandbox process may be running there). Returns
   * the errors to report; what succeeded is remembered in `stateDir` (root-private, outside the
   * workspace) and never cloned again.
   */
  async clone(sessionId: string, repos: RepositoryResource[], dirs: { workspaceDir: string; stateDir: string }, signal?: AbortSignal): Promise<RepositoryError[]> {
    if (!repos.length) return [];
    await mkdir(dirs.stateDir, { recursive: true, mode: 0o700 });
    const row = await this.store.sessions.get(sessionId);
    const sealed = (row?.session[REPOSITORY_TOKENS_FIELD] ?? {}) as Record<string, string>;
    const ws = await lstat(dirs.workspaceDir);
    const owner = { uid: ws.uid, gid: ws.gid };
    const errors: RepositoryError[] = [];
    for (const repo of repos) {
      const key = `${sessionId}/${repo.id}`;
      const fail = (message: string): RepositoryError => ({ type: 'repository_clone_error', message, repository_url: repo.url, retry_status: { type: 'retrying' } });
      let error: RepositoryError | undefined;
      try {
        const token = sealed[repo.id] ? await this.box.open(sealed[repo.id], repositoryTokenContext(repo.id)) : undefined;
        const attempt = join(dirs.stateDir, `${repo.id}.attempt`);
        const rel = repositoryWorkspacePath(repo.mount_path);
        if (await exists(attempt) && await isRealDir(join(dirs.workspaceDir, rel))) {
          // A crash between our rename into place and the success marker: the clone is there, and
          // no sandbox process ran since (clones run before one starts), so it is ours.
        } else {
          const targetDir = await prepareTarget(dirs.workspaceDir, rel, owner);
          if (typeof targetDir !== 'string') error = fail(`cannot clone ${repo.url} to ${repo.mount_path}: ${targetDir.problem}`);
          else {
            await writeFile(attempt, `${repo.updated_at}\n`, { mode: 0o600 });
            const result = await this.cloner.clone({ url: repo.url, token, checkout: repo.checkout, targetDir, scratchDir: dirs.stateDir, owner, signal });
            if (!result.ok) {
              error = result.error;
              await rm(attempt, { force: true });
            }
          }
        }
      } catch (err) {
        this.logger.warn({ err: String(err), sessionId, resourceId: repo.id }, 'repository clone failed');
        error = fail(`cloning ${repo.url} failed on the server`);
      }
      if (error) {
        this.failed.set(key, repo.updated_at);
        errors.push(error);
        continue;
      }
      this.failed.delete(key);
      await writeFile(join(dirs.stateDir, `${repo.id}.cloned`), `${repo.updated_at}\n`, { mode: 0o600 });
      await rm(join(dirs.stateDir, `${repo.id}.attempt`), { force: true });
    }
    return errors;
  }

  /** Forgets in-process state of a session (deleted). */
  forget(sessionId: string): void {
    for (const key of this.failed.keys()) if (key.startsWith(`${sessionId}/`)) this.failed.delete(key);
  }
}

/**
 * Creates the parents of `rel` inside the workspace (as real directories owned by `owner`) and
 * returns the host path the clone goes to, or the problem when a component is a symlink or not a
 * directory, or the target already exists.
 */
async function prepareTarget(workspace: string, rel: string, owner: { uid: number; gid: number }): Promise<string | { problem: string }> {
  const parts = rel.split('/');
  let dir = workspace;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (!st) {
      await mkdir(dir, { mode: 0o755 });
      await chown(dir, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      return { problem: `${dir.slice(workspace.length) || '/'} in the workspace is not a directory` };
    }
  }
  const target = join(dir, parts[parts.length - 1]);
  if (await lstat(target).then(() => true, () => false)) return { problem: 'the mount path already exists in the workspace' };
  return target;
}

/** A directory (not a symlink to one) with a `.git` directory inside, as a finished clone leaves it. */
async function isRealDir(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  const git = await lstat(join(path, '.git')).catch(() => undefined);
  return !!st?.isDirectory() && !!git?.isDirectory();
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}
