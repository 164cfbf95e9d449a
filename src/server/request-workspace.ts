// The seam between the HTTP layer and workspaces: which workspace a request acts in, and who made
// it (for the audit log and spend reports). Both come from the authenticated principal, which the
// auth hook resolves once (src/server/request-auth.ts): its workspace, key id and role.
import type { FastifyRequest } from 'fastify';
import type { Principal } from './principal.ts';

/** The workspace the caller acts in. Use only this to learn it. */
export function requestWorkspaceId(req: FastifyRequest): string {
  return req.principal.workspaceId;
}

/** Who made a request, for the audit log and spend reports: a key id, never the key. */
export interface RequestActor {
  /** The API key's or environment key's id; for a work session token, its work item. Null when unauthenticated. */
  keyId: string | null;
  kind: Principal['kind'] | 'anonymous';
  /** The API key's role (src/domain/roles.ts); null for environment keys and session tokens. */
  role: string | null;
}

/** The caller as an actor, from what its principal carries (no lookup). */
export function requestActor(req: FastifyRequest): RequestActor {
  const p = req.principal as Principal | undefined;
  if (!p) return { keyId: null, kind: 'anonymous', role: null };
  switch (p.kind) {
    case 'api_key': return { keyId: p.keyId, kind: p.kind, role: p.role };
    case 'environment_key': return { keyId: p.keyId, kind: p.kind, role: null };
    case 'session_token': return { keyId: p.workId, kind: p.kind, role: null };
  }
}
