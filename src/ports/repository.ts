// The repository port: clones a `github_repository` session resource on the host, outside every
// sandbox, with the resource's token. The token reaches only the cloning process; the clone it
// leaves has the plain URL in its config. Failures are `repository_*_error` session error bodies.
export const REPOSITORY_PORT_VERSION = 'v1';

export type RepositoryCheckout = { type: 'branch'; name: string } | { type: 'commit'; sha: string };

export type RepositoryErrorType =
  | 'repository_authentication_error'
  | 'repository_forbidden_error'
  | 'repository_not_found_error'
  | 'repository_checkout_error'
  | 'repository_clone_error';

/** A `session.error` body (always `retrying`: the session goes on without the repository). */
export interface RepositoryError {
  type: RepositoryErrorType;
  message: string;
  repository_url: string;
  retry_status: { type: 'retrying' };
  [extra: string]: unknown;
}

export interface CloneRequest {
  url: string;
  token?: string;
  checkout?: RepositoryCheckout | null;
  /** Host directory the repository ends up in; must not exist yet (the clone is refused if it does). */
  targetDir: string;
  /** A root-private directory for the clone in progress (renamed into place when complete). */
  scratchDir: string;
  /** Owner of the cloned tree (the sandbox's host uid when Hangar runs as root). */
  owner?: { uid: number; gid: number } | null;
  signal?: AbortSignal;
}

export type CloneResult = { ok: true } | { ok: false; error: RepositoryError };

export interface RepositoryCloner {
  /**
   * Clones `url` at `checkout` into `targetDir`. Never throws for a repository problem (bad
   * address, refused token, missing ref, network): it resolves `{ok:false}` with the error body,
   * and leaves nothing at `targetDir`. Error messages never contain the token.
   */
  clone(req: CloneRequest): Promise<CloneResult>;
}
