// The seam between the HTTP layer and workspaces: which workspace a request acts in, and who made
// it (for the audit log). The workspaces work adds `workspaceId` (and the key's id) to the
// authenticated principal; until a principal carries them, requests act in the default workspace.
import type { FastifyRequest } from 'fastify';
import { DEFAULT_WORKSPACE_ID } from '../domain/workspace.ts';
import type {} from './principal.ts'; // the `req.principal` declaration
import type { ApiKeyRepo } from '../ports/store.ts';
import { hashKey, presentedKey } from './auth.ts';

/** The workspace the caller acts in. Use only this to learn it. */
export function requestWorkspaceId(req: FastifyRequest): string {
  return (req.principal as { workspaceId?: string }).workspaceId ?? DEFAULT_WORKSPACE_ID;
}

/** Who made a request, for the audit log and spend reports: a key id, never the key. */
export interface RequestActor {
  /** The API key's or environment key's id; for a work session token, its work item. Null when unknown. */
  keyId: string | null;
  kind: string;
  role: string | null;
}

const ACTOR = Symbol('hangar.actor');

/**
 * The caller as an actor. A principal that carries its key id (and role) is used as is; a bare API
 * key principal is resolved by the hash of the presented key (once per request).
 */
export async function requestActor(req: FastifyRequest, apiKeys: Pick<ApiKeyRepo, 'findByHash'>): Promise<RequestActor> {
  const cached = (req as unknown as Record<symbol, RequestActor | undefined>)[ACTOR];
  if (cached) return cached;
  const p = req.principal as unknown as { kind: string; keyId?: string; role?: string; workId?: string } | null;
  let keyId: string | null = p?.keyId ?? (p?.kind === 'session_token' ? p.workId ?? null : null);
  if (!keyId && p?.kind === 'api_key') {
    const key = presentedKey(req.headers);
    keyId = key ? (await apiKeys.findByHash(hashKey(key)))?.id ?? null : null;
  }
  const actor = { keyId, kind: p?.kind ?? 'anonymous', role: p?.role ?? (p?.kind === 'api_key' ? 'admin' : null) };
  (req as unknown as Record<symbol, RequestActor>)[ACTOR] = actor;
  return actor;
}
