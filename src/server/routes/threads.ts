// Session thread routes (docs/API-SPEC.md §4.6): list (primary included, `statuses[]`), retrieve,
// archive (idle child threads only), and each thread's events list and SSE stream.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { ApiError, invalidRequest } from '../../protocol/errors.ts';
import { pageBody, pageParams, queryArray, queryOf } from '../http.ts';
import { openEventStream, parseDeltas } from './events.ts';
import { listThreads, archiveThread } from '../../harness/threads/thread-objects.ts';
import { primaryThreadId, threadsOf, visibleOn } from '../../harness/threads/thread-model.ts';
import type { SessionRow } from '../../ports/store.ts';

type ThreadParams = { Params: { id: string; threadId: string } };
const STATUSES = new Set(['running', 'idle', 'rescheduling', 'terminated']);

const threadNotFound = (sessionId: string, threadId: string) =>
  new ApiError(404, 'not_found_error', `thread ${threadId} not found in session ${sessionId}`, { errorCode: 'thread_not_found' });

export function registerThreadRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.sessions;
  const open = new Set<{ close(): void }>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });
  const now = () => Date.now();

  /** The thread's id when it exists in the session (404 `thread_not_found` otherwise). */
  const requireThread = (row: SessionRow, threadId: string): string => {
    if (!threadsOf(row.session)[threadId]) throw threadNotFound(row.session.id, threadId);
    return threadId;
  };

  app.get<{ Params: { id: string } }>('/v1/sessions/:id/threads', async (req) => {
    const q = queryOf(req);
    const statuses = queryArray(q, 'statuses');
    for (const s of statuses ?? []) if (!STATUSES.has(s)) throw invalidRequest(`statuses: "${s}" is not one of ${[...STATUSES].join(', ')}`);
    const page = pageParams(q, { order: 'asc' });
    const row = await svc.get(req.params.id);
    const all = listThreads(row, await deps.store.sessions.log(row.session.id), now())
      .filter((t) => !statuses?.length || statuses.includes(t.status));
    const start = page.after ?? 0;
    const end = start + page.limit;
    return pageBody({ data: all.slice(start, end), next: end < all.length ? end : null }, page.order);
  });

  app.get<ThreadParams>('/v1/sessions/:id/threads/:threadId', async (req) => {
    const row = await svc.get(req.params.id);
    const found = listThreads(row, await deps.store.sessions.log(row.session.id), now()).find((t) => t.id === req.params.threadId);
    if (!found) throw threadNotFound(row.session.id, req.params.threadId);
    return found;
  });

  app.post<ThreadParams>('/v1/sessions/:id/threads/:threadId/archive', async (req) => {
    const { id, threadId } = req.params;
    await svc.get(id);
    await deps.store.sessions.commit(id, (row) => {
      const outcome = archiveThread(row, threadId, now());
      if (!outcome.ok) throw new ApiError(outcome.status, outcome.status === 404 ? 'not_found_error' : 'invalid_request_error', outcome.message, outcome.code ? { errorCode: outcome.code } : {});
      return { now: new Date(now()).toISOString(), patch: { fields: { _threads: outcome.threads } } };
    });
    const row = await svc.get(id);
    return listThreads(row, await deps.store.sessions.log(id), now()).find((t) => t.id === threadId);
  });

  app.get<ThreadParams>('/v1/sessions/:id/threads/:threadId/events', async (req) => {
    const row = await svc.get(req.params.id);
    const threadId = requireThread(row, req.params.threadId);
    const primaryId = primaryThreadId(row.session.id);
    const page = pageParams(queryOf(req), { order: 'asc', defaultLimit: 1000, maxLimit: 1000 });
    const log = await deps.store.sessions.log(row.session.id);
    const visible = log.filter((e) => visibleOn(e.event, threadId, primaryId) && (page.after === undefined || e.seq > page.after));
    const data = visible.slice(0, page.limit);
    const next = visible.length > page.limit ? data[data.length - 1].seq : null;
    return pageBody({ data: data.map((e) => e.event), next }, page.order);
  });

  app.get<ThreadParams>('/v1/sessions/:id/threads/:threadId/stream', async (req, reply) => {
    const wanted = parseDeltas(req);
    const row = await svc.get(req.params.id);
    const threadId = requireThread(row, req.params.threadId);
    const primaryId = primaryThreadId(row.session.id);
    const isPrimary = threadId === primaryId;
    await openEventStream(req, reply, deps, open, row.session.id, wanted, (m) => {
      if (m.kind === 'preview') return isPrimary ? !m.thread : m.thread === threadId;
      // session.usage is reported on the primary stream only.
      if (m.payload.type === 'session.deleted') return true;
      return visibleOn(m.payload, threadId, primaryId);
    });
  });
}
