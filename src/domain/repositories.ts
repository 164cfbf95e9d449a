// `github_repository` session resources (docs/API-SPEC.md §4.4, §4.6): the wire object, the URL
// rules (a 400 at session create), the default mount path, and where a mount path may point.
import { invalidRequest } from '../protocol/errors.ts';
import type { RepositoryCheckout } from '../ports/repository.ts';

/** A `github_repository` resource as the API returns it (the token is write-only, never here). */
export interface RepositoryResource {
  id: string;
  type: 'github_repository';
  url: string;
  mount_path: string;
  checkout: RepositoryCheckout | null;
  created_at: string;
  updated_at: string;
}

/** Hidden session field holding each repository resource's sealed token, by resource id. */
export const REPOSITORY_TOKENS_FIELD = '_repository_tokens';

/** The secret-box context a repository token is sealed under (bound to its resource id). */
export const repositoryTokenContext = (resourceId: string) => `github_repository:${resourceId}:authorization_token`;

/** The directory name a repository gets by default: the URL's last path segment without `.git`. */
export function repositoryName(url: string): string {
  const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
  const name = last.replace(/\.git$/i, '');
  return /^[A-Za-z0-9._-]+$/.test(name) && name !== '.' && name !== '..' ? name : 'repository';
}

/** Why a repository URL is not acceptable (for a 400), or undefined when it is. */
export function repositoryUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'url: must be an absolute http(s) URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `url: only http and https repository URLs are supported, not ${u.protocol.replace(/:$/, '')}`;
  if (u.username || u.password) return 'url: must not contain credentials; pass the token as authorization_token';
  if (u.search || u.hash) return 'url: must not have a query or fragment';
  if (u.pathname.split('/').filter(Boolean).length === 0) return 'url: must name a repository';
  return undefined;
}

export const WORKSPACE_ROOT = '/workspace';

/**
 * Repositories are cloned into the session's workspace, so their mount path must lie strictly
 * under /workspace (400 otherwise). Returns the path relative to the workspace.
 */
export function repositoryWorkspacePath(mountPath: string): string {
  if (!mountPath.startsWith(`${WORKSPACE_ROOT}/`) || mountPath.length === WORKSPACE_ROOT.length + 1) {
    throw invalidRequest(`mount_path: github_repository resources are cloned into the workspace, so mount_path must lie under ${WORKSPACE_ROOT}/ (got ${mountPath})`);
  }
  return mountPath.slice(WORKSPACE_ROOT.length + 1);
}

export function isRepositoryResource(r: unknown): r is RepositoryResource {
  return typeof r === 'object' && r !== null && (r as { type?: unknown }).type === 'github_repository';
}
