// `GET /v1/audit_events`: the audit log, newest first with PageCursor paging like the other lists,
// filtered by time range, actor (key id), resource type or id, and workspace; `?format=jsonl`
// exports every matching record as JSON lines, oldest first.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { AuditQuery } from '../../ports/store.ts';
import { invalidRequest } from '../../protocol/errors.ts';
import { AUDIT_RESOURCE_TYPES } from '../../domain/audit.ts';
import { pageBody, pageParams, queryOf, queryOrder, queryString, queryTimestamp } from '../http.ts';

const ID = /^[A-Za-z0-9_]{1,200}$/;
const EXPORT_PAGE = 500;

type Query = Record<string, string | string[] | undefined>;

function idParam(q: Query, key: string, pattern = ID): string | undefined {
  const v = queryString(q, key);
  if (v !== undefined && !pattern.test(v)) throw invalidRequest(`${key}: not a valid id`);
  return v;
}

function filters(q: Query): Omit<AuditQuery, 'limit' | 'order' | 'after'> {
  const resourceType = queryString(q, 'resource_type');
  if (resourceType !== undefined && !AUDIT_RESOURCE_TYPES.includes(resourceType)) {
    throw invalidRequest(`resource_type: "${resourceType.slice(0, 64)}" is not one of ${AUDIT_RESOURCE_TYPES.join(', ')}`);
  }
  const f = {
    createdGte: queryTimestamp(q, 'created_at[gte]'), createdLte: queryTimestamp(q, 'created_at[lte]'),
    createdGt: queryTimestamp(q, 'created_at[gt]'), createdLt: queryTimestamp(q, 'created_at[lt]'),
    actorId: idParam(q, 'actor_id'), resourceType, resourceId: idParam(q, 'resource_id'),
    workspaceId: idParam(q, 'workspace_id', /^wrkspc_[A-Za-z0-9_]{1,200}$/),
  };
  const from = f.createdGte ?? f.createdGt;
  const to = f.createdLte ?? f.createdLt;
  if (from && to && from > to) throw invalidRequest('created_at: the range ends before it starts');
  return f;
}

export function registerAuditEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;

  app.get('/v1/audit_events', async (req, reply) => {
    const q = queryOf(req);
    const format = queryString(q, 'format') ?? 'json';
    if (format !== 'json' && format !== 'jsonl') throw invalidRequest('format: expected "json" or "jsonl"');
    const f = filters(q);
    if (format === 'json') {
      const page = pageParams(q, { order: queryOrder(q, 'desc') });
      return pageBody(await store.audit.list({ ...f, ...page }), page.order);
    }
    if (q.limit !== undefined || q.page !== undefined) throw invalidRequest('format=jsonl exports every matching record; limit and page do not apply');
    async function* lines() {
      let after: number | undefined;
      for (;;) {
        const page = await store.audit.list({ ...f, limit: EXPORT_PAGE, order: 'asc', after });
        if (page.data.length) yield page.data.map((e) => `${JSON.stringify(e)}\n`).join('');
        if (page.next === null) return;
        after = page.next;
      }
    }
    reply.header('content-type', 'application/x-ndjson; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="audit-events.jsonl"');
    return reply.send(Readable.from(lines()));
  });
}
