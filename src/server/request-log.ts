// One log line per HTTP request: method, route pattern (never the raw URL, whose query may carry
// secrets), status, duration and request id (the `reqId` Fastify binds to `req.log`). Bodies and headers are never logged. Health probes, scrapes and
// empty work polls repeat every few seconds, so they go to `debug` to keep the `info` log readable.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const QUIET_ROUTES = new Set(['/health', '/healthz', '/readyz', '/metrics']);
const POLL_ROUTE = /\/work\/poll$/;

export function requestLogLevel(route: string, status: number): 'info' | 'debug' {
  if (QUIET_ROUTES.has(route) && status < 400) return 'debug';
  if (POLL_ROUTE.test(route) && status === 204) return 'debug';
  return 'info';
}

export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    // An unmatched URL is logged by its path only (the query is dropped for the same reason).
    const route = req.routeOptions.url ?? req.url.split('?')[0];
    const status = reply.statusCode;
    req.log[requestLogLevel(route, status)]({
      method: req.method,
      route,
      status,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    }, 'request');
  });
}
