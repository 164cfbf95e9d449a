// Session event routes (docs/API-SPEC.md §4.5, §7): send, list (PageCursor), and the SSE stream.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { primaryThreadId, visibleOn } from '../../harness/threads/thread-model.ts';
import type { AppDeps } from '../deps.ts';
import { sendEventsSchema, DELTA_TYPES } from '../../protocol/event-schemas.ts';
import { invalidRequest } from '../../protocol/errors.ts';
import type { BusMessage } from '../../ports/event-bus.ts';
import { pageBody, pageParams, parseWith, queryArray, queryOf, queryOrder, queryTimestamp } from '../http.ts';
import { openSse } from '../sse.ts';
import { authorizeEvents } from '../scopes.ts';
import { rubricFilesInWorkspace } from '../workspace-refs.ts';

const DELTA_SET = new Set<string>(DELTA_TYPES);

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.sessions;
  // Open streams end when the server closes, instead of holding its shutdown open.
  const open = new Set<{ close(): void }>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  app.post<{ Params: { id: string } }>('/v1/sessions/:id/events', async (req) => {
    const body = parseWith(sendEventsSchema, req.body);
    authorizeEvents(req.principal, body.events.map((e) => e.type));
    await rubricFilesInWorkspace(deps.store, req.principal.workspaceId, body.events);
    return { data: await svc.send(req.params.id, body.events) };
  });

  app.get<{ Params: { id: string } }>('/v1/sessions/:id/events', async (req) => {
    const q = queryOf(req);
    const types = queryArray(q, 'types'); // at most 100 values (400 before any lookup)
    const row = await svc.get(req.params.id);
    const order = queryOrder(q, 'asc');
    const page = await deps.store.sessions.events(row.session.id, {
      ...pageParams(q, { order, defaultLimit: 1000, maxLimit: 1000 }),
      types,
      createdGt: queryTimestamp(q, 'created_at[gt]'),
      createdGte: queryTimestamp(q, 'created_at[gte]'),
      createdLt: queryTimestamp(q, 'created_at[lt]'),
      createdLte: queryTimestamp(q, 'created_at[lte]'),
    });
    // A team session's stream is the primary thread's condensed view (child traces are on their threads).
    const primaryId = primaryThreadId(row.session.id);
    const data = page.data.map((e) => e.event).filter((e) => visibleOn(e, primaryId, primaryId));
    return pageBody({ data, next: page.next }, order);
  });

  app.get<{ Params: { id: string } }>('/v1/sessions/:id/events/stream', async (req, reply) => {
    const wanted = parseDeltas(req);
    const row = await svc.get(req.params.id);
    const primaryId = primaryThreadId(row.session.id);
    await openEventStream(req, reply, deps, open, row.session.id, wanted, (m) => (m.kind === 'preview' ? !m.thread : visibleOn(m.payload, primaryId, primaryId)));
  });
}

/** Validates `event_deltas[]` (before any lookup). */
export function parseDeltas(req: FastifyRequest): Set<string> {
  const deltas = queryArray(queryOf(req), 'event_deltas') ?? [];
  if (deltas.length > 100) throw invalidRequest('event_deltas: at most 100 values');
  for (const d of deltas) if (!DELTA_SET.has(d)) throw invalidRequest(`event_deltas: "${d}" is not one of ${DELTA_TYPES.join(', ')}`);
  return new Set(deltas);
}

/**
 * Serves a session's feed as SSE from its current head on (the log by seq, whichever node commits,
 * plus this node's previews), passing only messages `accept` lets through.
 */
export async function openEventStream(req: FastifyRequest, reply: FastifyReply, deps: AppDeps, open: Set<{ close(): void }>, sessionId: string, wanted: Set<string>, accept: (m: BusMessage) => boolean): Promise<void> {
  {
    const previewed = new Set<string>();
    // Fixed before the headers go out: whatever a client sends once it sees them is after it.
    const from = await deps.feed.head(sessionId);

    reply.hijack();
    let unsubscribe = () => {};
    const sse = openSse(reply.raw, {
      pingIntervalMs: deps.pingIntervalMs,
      requestId: String(req.id),
      onClose: () => {
        unsubscribe();
        open.delete(sse);
        deps.metrics?.sseClosed();
      },
    });
    open.add(sse);
    deps.metrics?.sseOpened();
    const onMessage = (m: BusMessage) => {
      if (!accept(m)) return;
      const p = m.payload;
      if (m.kind === 'preview') {
        if (p.type === 'event_start') {
          const ev = p.event as { type: string; id: string };
          if (!wanted.has(ev.type) || previewed.has(ev.id)) return;
          previewed.add(ev.id);
        } else if (!previewed.has(String(p.event_id))) {
          return;
        }
        sse.send(p.type, p);
        return;
      }
      previewed.delete(p.id as string);
      sse.send(p.type, p);
      if (p.type === 'session.deleted' || p.type === 'session.status_terminated') sse.close();
    };
    unsubscribe = deps.feed.subscribe(sessionId, from, onMessage);
  }
}
