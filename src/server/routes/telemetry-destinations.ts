// HTTP routes of telemetry destinations (`client.beta.organization.telemetryDestinations`, issue
// 11): create, retrieve, update, list, delete, test, and the workspace list (`.workspaces`).
// Header values are write-only: responses carry `header_names` only. Paths are string literals so the
// generated route tests (test/conformance/workspace-kit.ts `registeredRoutes()`) see them.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { invalidRequest, notFound } from '../../protocol/errors.ts';
import { hasPrefix } from '../../protocol/ids.ts';
import { destinationCreateSchema, destinationUpdateSchema } from '../../protocol/telemetry-schemas.ts';
import { TestTooSoon } from '../../harness/telemetry-destination-service.ts';
import { decodeCursor, encodeCursor } from '../../protocol/cursor.ts';
import { pageBody, pageParams, parseWith, queryArray, queryInt, queryOf, queryString } from '../http.ts';

type IdParams = { Params: { id: string } };
type WsParams = { Params: { id: string; workspaceId: string } };

const WORKSPACE_ID = /^wrkspc_[A-Za-z0-9_]{1,200}$/;

function destinationId(id: string): string {
  if (!hasPrefix(id, 'tdst')) throw notFound(`no telemetry destination with id ${id}`);
  return id;
}

function workspaceId(id: string): string {
  if (!WORKSPACE_ID.test(id)) throw invalidRequest(`workspace_id: "${id.slice(0, 64)}" is not a workspace id (wrkspc_…)`);
  return id;
}

export function registerTelemetryDestinationRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.telemetryDestinations;

  app.post('/v1/organizations/telemetry_destinations', async (req) => svc.create(parseWith(destinationCreateSchema, req.body)));

  app.get('/v1/organizations/telemetry_destinations', async (req) => {
    const q = queryOf(req);
    const workspaceIds = queryArray(q, 'workspace_ids')?.map(workspaceId);
    const page = pageParams(q, { order: 'desc' });
    return pageBody(await svc.list({ ...page, workspaceIds }), page.order);
  });

  app.get<IdParams>('/v1/organizations/telemetry_destinations/:id', async (req) => svc.get(destinationId(req.params.id)));

  app.post<IdParams>('/v1/organizations/telemetry_destinations/:id', async (req) => {
    const id = destinationId(req.params.id);
    return svc.update(id, parseWith(destinationUpdateSchema, req.body));
  });

  app.delete<IdParams>('/v1/organizations/telemetry_destinations/:id', async (req) => svc.delete(destinationId(req.params.id)));

  app.post<IdParams>('/v1/organizations/telemetry_destinations/:id/test', async (req, reply) => {
    try {
      return await svc.test(destinationId(req.params.id));
    } catch (err) {
      if (err instanceof TestTooSoon) reply.header('retry-after', String(err.retryAfterSeconds));
      throw err;
    }
  });

  app.get<IdParams>('/v1/organizations/telemetry_destinations/:id/workspaces', async (req) => {
    const q = queryOf(req);
    const limit = queryInt(q, 'limit', { min: 1, max: 100 }) ?? 20;
    const raw = queryString(q, 'page');
    const start = raw ? decodeCursor(raw).after : 0;
    const all = await svc.listWorkspaces(destinationId(req.params.id));
    const data = all.slice(start, start + limit);
    const next = start + limit < all.length ? encodeCursor({ after: start + limit, order: 'asc', dir: 'next' }) : null;
    return { data, next_page: next };
  });

  app.post<WsParams>('/v1/organizations/telemetry_destinations/:id/workspaces/:workspaceId', async (req) =>
    svc.addWorkspace(destinationId(req.params.id), workspaceId(req.params.workspaceId)));

  app.delete<WsParams>('/v1/organizations/telemetry_destinations/:id/workspaces/:workspaceId', async (req) =>
    svc.removeWorkspace(destinationId(req.params.id), workspaceId(req.params.workspaceId)));
}
