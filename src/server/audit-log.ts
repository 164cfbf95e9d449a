// Appends an audit record for every state-changing API call (src/domain/audit.ts), once its result
// is known and before the response leaves: the caller's key id and role, the route and resource,
// the workspace, the status. Nothing of the request or response body is kept but a created id.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEvent, AuditRepo } from '../ports/store.ts';
import type { Clock } from '../ports/clock.ts';
import { isoAt } from '../ports/clock.ts';
import { newId } from '../protocol/ids.ts';
import { auditedResource, createdIdOf, isAudited } from '../domain/audit.ts';
import { requestActor, requestWorkspaceId } from './request-workspace.ts';

/** Requests whose change appended its own audit record in the change's transaction. */
const recordedInline = new WeakSet<FastifyRequest>();

/**
 * An audit record of this request for a route that appends it in the same transaction as its change
 * (spend limits); call `markAudited` once that transaction committed, so the hook does not repeat it.
 */
export function inlineAuditEvent(
  req: FastifyRequest, deps: { clock: Clock },
): (resource: { type: string; id: string | null }) => AuditEvent {
  const actor = requestActor(req);
  const route = req.routeOptions.url ?? req.url.split('?')[0];
  return (resource) => ({
    type: 'audit_event', id: newId('audevt'), created_at: isoAt(deps.clock.now()),
    actor: { type: actor.kind, key_id: actor.keyId, role: actor.role },
    method: req.method, route, resource, parent: null, workspace_id: requestWorkspaceId(req), status: 200, request_id: String(req.id),
  });
}

export function markAudited(req: FastifyRequest): void {
  recordedInline.add(req);
}

export function registerAuditLog(app: FastifyInstance, deps: { store: { audit: AuditRepo }; clock: Clock }): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const route = req.routeOptions.url;
    // Unauthenticated requests (no principal) changed nothing and name nobody: not recorded.
    if (!isAudited(req.method, route) || !req.principal || recordedInline.has(req)) return payload;
    try {
      const actor = requestActor(req);
      const created = req.method === 'POST' && reply.statusCode < 300 ? createdIdOf(payload) : undefined;
      const { resource, parent } = auditedResource(route, (req.params ?? {}) as Record<string, string | undefined>, created);
      await deps.store.audit.append({
        type: 'audit_event', id: newId('audevt'), created_at: isoAt(deps.clock.now()),
        actor: { type: actor.kind, key_id: actor.keyId, role: actor.role },
        method: req.method, route, resource, parent, workspace_id: requestWorkspaceId(req), status: reply.statusCode, request_id: String(req.id),
      });
    } catch (err) {
      // The call itself is done; losing its record is logged loudly rather than failing the response.
      req.log.error({ err, route }, 'appending the audit record failed');
    }
    return payload;
  });
}
