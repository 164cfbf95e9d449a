// Environment keys for self-hosted environments (Hangar's extension; the hosted API issues them
// from its console): create (the key is in that response only), list (no key material), revoke.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { pageBody, pageParams, queryOf } from '../http.ts';

type EnvParams = { Params: { id: string } };

export function registerEnvironmentKeyRoutes(app: FastifyInstance, deps: AppDeps): void {
  const queue = deps.work;

  app.post<EnvParams>('/v1/environments/:id/keys', async (req) => queue.createKey(req.params.id));

  app.get<EnvParams>('/v1/environments/:id/keys', async (req) => {
    const page = pageParams(queryOf(req), { order: 'desc' });
    return pageBody(await queue.listKeys(req.params.id, page), page.order);
  });

  app.delete<{ Params: { id: string; keyId: string } }>('/v1/environments/:id/keys/:keyId', async (req) =>
    queue.deleteKey(req.params.id, req.params.keyId));
}
