// The audit log (issue 11): one append-only record of every state-changing API call — who (the
// key's id and role, never the key), what (method, route, the resource and its parent), in which
// workspace, when, and the result status. Never a request body, header or response body: the only
// thing read from a response is a created resource's `id`.
import type { AuditEvent } from '../ports/store.ts';

export type { AuditEvent };

/** Collection path segments → the resource type their items are. */
const RESOURCE_TYPES: Record<string, string> = {
  agents: 'agent',
  environments: 'environment',
  keys: 'environment_key',
  work: 'work',
  files: 'file',
  sessions: 'session',
  resources: 'session_resource',
  threads: 'session_thread',
  events: 'session_event',
  vaults: 'vault',
  credentials: 'vault_credential',
  spend_limits: 'spend_limit',
  telemetry_destinations: 'telemetry_destination',
  workspaces: 'workspace',
  api_keys: 'api_key',
  skills: 'skill',
  versions: 'version',
  memory_stores: 'memory_store',
  memories: 'memory',
  deployments: 'deployment',
  webhooks: 'webhook',
};

export const AUDIT_RESOURCE_TYPES: readonly string[] = [...new Set(Object.values(RESOURCE_TYPES))].sort();

/** Calls that change no resource and would flood the log: lease renewals of self-hosted workers. */
const NOT_AUDITED = new Set(['POST /v1/environments/:id/work/:workId/heartbeat']);

export function isAudited(method: string, route: string | undefined): route is string {
  if (!route || method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return !NOT_AUDITED.has(`${method} ${route}`);
}

export interface ResourceRef {
  type: string;
  id: string | null;
}

/**
 * The resource a call acted on, from its route pattern: the last `collection/:param` pair (its
 * parent is the pair before), or for a create (`POST` to a collection) the id the response carries.
 */
export function auditedResource(route: string, params: Record<string, string | undefined>, createdId: string | undefined): { resource: ResourceRef; parent: ResourceRef | null } {
  const parts = route.split('/').filter(Boolean);
  const pairs: ResourceRef[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const type = RESOURCE_TYPES[parts[i]];
    if (type && parts[i + 1].startsWith(':')) pairs.push({ type, id: params[parts[i + 1].slice(1)] ?? null });
  }
  const last = parts[parts.length - 1];
  if (last && RESOURCE_TYPES[last] && createdId) {
    return { resource: { type: RESOURCE_TYPES[last], id: createdId }, parent: pairs.at(-1) ?? null };
  }
  if (pairs.length) return { resource: pairs[pairs.length - 1], parent: pairs.at(-2) ?? null };
  return { resource: { type: RESOURCE_TYPES[last] ?? last ?? 'unknown', id: createdId ?? null }, parent: null };
}

/** The id of a created resource in a JSON response body, if it has one (nothing else is read). */
export function createdIdOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return undefined;
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
