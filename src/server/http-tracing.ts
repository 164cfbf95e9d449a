// A server span per API request (`<METHOD> <route>`, HTTP semantic conventions), parented by an
// incoming W3C `traceparent`. The rest of the request runs inside it, so a turn the request starts
// links to it. Probes and /metrics are not traced. Only registered when tracing is on.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WORKSPACE_ATTRIBUTE, type TraceSpan, type Tracer } from '../ports/tracer.ts';
import { requestWorkspaceId } from './request-workspace.ts';

const spans = new WeakMap<FastifyRequest, TraceSpan>();

function finish(req: FastifyRequest, reply: FastifyReply): void {
  const span = spans.get(req);
  if (!span) return;
  spans.delete(req);
  const status = reply.raw.statusCode;
  span.set({ 'http.response.status_code': status });
  // The caller's workspace: its telemetry destinations get the request's span too.
  if (req.principal) span.set({ [WORKSPACE_ATTRIBUTE]: requestWorkspaceId(req) });
  if (status >= 500) span.fail(String(status));
  span.end();
}

export function registerRequestTracing(app: FastifyInstance, tracer: Tracer, untraced: ReadonlySet<string>): void {
  if (!tracer.enabled && !tracer.mayEnable) return;
  app.addHook('onRequest', (req, reply, done) => {
    if (!tracer.enabled || untraced.has(req.url.split('?')[0])) {
      done();
      return;
    }
    const route = req.routeOptions.url;
    const span = tracer.start(route ? `${req.method} ${route}` : req.method, {
      kind: 'server',
      remoteParent: req.headers,
      attributes: { 'http.request.method': req.method, 'http.route': route, 'url.scheme': 'http', 'hangar.request_id': String(req.id) },
    });
    spans.set(req, span);
    // Event streams are hijacked and skip onResponse: the socket closing ends their span.
    reply.raw.once('close', () => finish(req, reply));
    void span.run(async () => done());
  });
  app.addHook('onResponse', async (req, reply) => finish(req, reply));
}
