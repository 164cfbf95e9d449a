// HTTP routes of the self-hosted work queue (§4.3): poll (long-poll, 204 when no work), ack,
// heartbeat, stop, list, retrieve, metadata update and stats. Who may call each is in scopes.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.ts';
import { invalidRequest } from '../../protocol/errors.ts';
import { metadataPatchSchema } from '../../protocol/common-schemas.ts';
import { pageBody, pageParams, parseWith, queryInt, queryOf, queryString } from '../http.ts';

type Query = ReturnType<typeof queryOf>;

type EnvParams = { Params: { id: string } };
type WorkParams = { Params: { id: string; workId: string } };

const updateSchema = z.object({ metadata: metadataPatchSchema });
const stopSchema = z.object({ force: z.boolean().optional() });
const MAX_WORKER_ID = 256;

/** Where this server was reached, for the `api_base_url` workers use for the item's calls. */
function baseUrlOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

/** `null` params reach the wire as `key=` (the SDK's types allow null): read an empty value as absent. */
function present(q: Query, key: string): Query {
  return q[key] === '' ? { ...q, [key]: undefined } : q;
}

function workerIdOf(req: FastifyRequest): string | undefined {
  const v = req.headers['anthropic-worker-id'];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > MAX_WORKER_ID) throw invalidRequest(`Anthropic-Worker-ID: expected one value of at most ${MAX_WORKER_ID} characters`);
  return v;
}

export function registerWorkRoutes(app: FastifyInstance, deps: AppDeps): void {
  const queue = deps.work;

  app.get<EnvParams>('/v1/environments/:id/work/poll', async (req, reply) => {
    const q = queryOf(req);
    const blockMs = queryInt(present(q, 'block_ms'), 'block_ms', { min: 1, max: 999 });
    const reclaimOlderThanMs = queryInt(present(q, 'reclaim_older_than_ms'), 'reclaim_older_than_ms', { min: 0, max: 86_400_000 });
    // A poller that hangs up stops waiting; an item claimed in that instant is reclaimed later.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    try {
      const work = await queue.poll(req.params.id, { blockMs, reclaimOlderThanMs, workerId: workerIdOf(req), apiBaseUrl: baseUrlOf(req) }, gone.signal);
      if (!work) return reply.code(204).send();
      return work;
    } finally {
      reply.raw.off('close', onClose);
    }
  });

  app.get<EnvParams>('/v1/environments/:id/work/stats', async (req) => queue.stats(req.params.id));

  app.get<EnvParams>('/v1/environments/:id/work', async (req) => {
    const page = pageParams(queryOf(req), { order: 'desc' });
    return pageBody(await queue.list(req.params.id, page), page.order);
  });

  app.get<WorkParams>('/v1/environments/:id/work/:workId', async (req) => queue.get(req.params.id, req.params.workId));

  app.post<WorkParams>('/v1/environments/:id/work/:workId', async (req) =>
    queue.updateMetadata(req.params.id, req.params.workId, parseWith(updateSchema, req.body).metadata));

  app.post<WorkParams>('/v1/environments/:id/work/:workId/ack', async (req) => queue.ack(req.params.id, req.params.workId));

  app.post<WorkParams>('/v1/environments/:id/work/:workId/heartbeat', async (req) => {
    const q = queryOf(req);
    return queue.heartbeat(req.params.id, req.params.workId, {
      desiredTtlSeconds: queryInt(present(q, 'desired_ttl_seconds'), 'desired_ttl_seconds', { min: 1 }),
      expectedLastHeartbeat: queryString(present(q, 'expected_last_heartbeat'), 'expected_last_heartbeat'),
    });
  });

  app.post<WorkParams>('/v1/environments/:id/work/:workId/stop', async (req) => {
    const { force } = parseWith(stopSchema, req.body ?? {});
    return queue.stop(req.params.id, req.params.workId, force ?? false, req.principal);
  });
}
