// `GET /metrics`: the Prometheus text exposition of the `hangar_*` series. Readable with an API key
// (the normal authentication) or with HANGAR_METRICS_KEY, which opens this route and nothing else.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../../ports/metrics.ts';
import { hashKey, presentedKey } from '../auth.ts';

export const METRICS_PATH = '/metrics';

/** True when the request is `GET /metrics` with the metrics key (compared by hash, in constant time). */
export function presentsMetricsKey(req: FastifyRequest, metricsKey: string | undefined): boolean {
  if (!metricsKey || req.url.split('?')[0] !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const key = presentedKey(req.headers);
  if (!key) return false;
  return timingSafeEqual(Buffer.from(hashKey(key), 'hex'), Buffer.from(hashKey(metricsKey), 'hex'));
}

export function registerMetricsRoutes(app: FastifyInstance, metrics: Metrics | undefined): void {
  app.get(METRICS_PATH, async (_req, reply) => {
    if (!metrics?.scrape) {
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return '';
    }
    const { contentType, body } = await metrics.scrape();
    reply.type(contentType);
    return body;
  });
}
