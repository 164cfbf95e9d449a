// Session routes (docs/API-SPEC.md §4.4): create, retrieve, update, list (bidirectional cursor), archive, delete.
import { requestWorkspaceId } from '../request-workspace.ts';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { createSessionSchema, updateSessionSchema } from '../../protocol/session-schemas.ts';
import { invalidRequest } from '../../protocol/errors.ts';
import { decodeCursor, encodeCursor, type SortOrder } from '../../protocol/cursor.ts';
import type { SessionStatus } from '../../ports/store.ts';
import { sessionRefsInWorkspace } from '../workspace-refs.ts';
import { parseWith, queryArray, queryBool, queryInt, queryOf, queryOrder, queryString, queryTimestamp } from '../http.ts';

const STATUSES = new Set<SessionStatus>(['idle', 'running', 'rescheduling', 'terminated']);

export function registerSessionRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.sessions;

  app.post('/v1/sessions', async (req) => {
    const params = parseWith(createSessionSchema, req.body);
    await sessionRefsInWorkspace(deps.store, req.principal.workspaceId, params);
    const row = await svc.create(params, req.principal.workspaceId);
    const agent = row.session.agent as { id?: string } | undefined;
    req.log.info({ sessionId: row.session.id, agentId: agent?.id, environmentId: row.session.environment_id }, 'session created');
    // Created with initial events, the session starts its first turn at once (no commit logs it).
    if (row.session.status === 'running') req.log.info({ sessionId: row.session.id }, 'turn started');
    return svc.present(row);
  });

  app.get<{ Params: { id: string } }>('/v1/sessions/:id', async (req) => svc.present(await svc.get(req.params.id)));

  app.post<{ Params: { id: string } }>('/v1/sessions/:id', async (req) =>
    svc.present(await svc.update(req.params.id, parseWith(updateSessionSchema, req.body))));

  app.post<{ Params: { id: string } }>('/v1/sessions/:id/archive', async (req) => svc.present(await svc.archive(req.params.id)));

  app.delete<{ Params: { id: string } }>('/v1/sessions/:id', async (req) => {
    await svc.delete(req.params.id);
    return { id: req.params.id, type: 'session_deleted' };
  });

  app.get('/v1/sessions', async (req) => {
    const q = queryOf(req);
    const order = queryOrder(q, 'desc');
    const limit = queryInt(q, 'limit', { min: 1, max: 100 }) ?? 20;
    const statuses = queryArray(q, 'statuses');
    for (const s of statuses ?? []) if (!STATUSES.has(s as SessionStatus)) throw invalidRequest(`statuses: unknown status "${s}"`);
    const raw = queryString(q, 'page');
    const cursor = raw ? decodeCursor(raw) : undefined;
    if (cursor && cursor.order !== order) throw invalidRequest('page: this cursor was issued for a different order');
    const backwards = cursor?.dir === 'prev';
    const reverse: SortOrder = order === 'asc' ? 'desc' : 'asc';
    const page = await deps.store.sessions.list({
      limit, order: backwards ? reverse : order, after: cursor?.after, workspaceId: req.principal.workspaceId,
      agentId: queryString(q, 'agent_id'),
      agentVersion: queryInt(q, 'agent_version', { min: 1 }),
      statuses: statuses as SessionStatus[] | undefined,
      createdGt: queryTimestamp(q, 'created_at[gt]'),
      createdGte: queryTimestamp(q, 'created_at[gte]'),
      createdLt: queryTimestamp(q, 'created_at[lt]'),
      createdLte: queryTimestamp(q, 'created_at[lte]'),
      includeArchived: queryBool(q, 'include_archived') ?? false,
    });
    const items = backwards ? [...page.data].reverse() : page.data;
    const first = items[0];
    const last = items[items.length - 1];
    const moreBefore = backwards ? page.next !== null : cursor !== undefined;
    const moreAfter = backwards ? true : page.next !== null;
    return {
      data: items.map((i) => svc.present(i.row)),
      next_page: last && moreAfter ? encodeCursor({ after: last.seq, order, dir: 'next' }) : null,
      prev_page: first && moreBefore ? encodeCursor({ after: first.seq, order, dir: 'prev' }) : null,
    };
  });
}
