// Builds the Fastify app: request ids, auth, JSON parsing, the error envelope, and the route modules.
// It receives every dependency from the composition root (main.ts) and performs no I/O of its own.
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiError, type ErrorType } from '../protocol/errors.ts';
import { StoreUnavailableError } from '../ports/store.ts';
import { newId } from '../protocol/ids.ts';
import { authorize } from './scopes.ts';
import { authorizeRole } from './route-permissions.ts';
import { assertInWorkspace } from './workspace-scope.ts';
import { requestAuthenticator } from './request-auth.ts';
import { clientErrorHandler, routerErrorHandler } from './router-errors.ts';
import type {} from './principal.ts'; // the `req.principal` declaration
import type { AppDeps } from './deps.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerEnvironmentRoutes } from './routes/environments.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerThreadRoutes } from './routes/threads.ts';
import { registerFileRoutes } from './routes/files.ts';
import { registerSessionResourceRoutes } from './routes/session-resources.ts';
import { registerWorkRoutes } from './routes/work.ts';
import { registerEnvironmentKeyRoutes } from './routes/environment-keys.ts';
import { registerVaultRoutes } from './routes/vaults.ts';
import { registerHealthRoutes, PUBLIC_PATHS } from './routes/health.ts';
import { registerModelRoutes } from './routes/models.ts';
import { registerOrganizationRoutes } from './routes/organization.ts';
import { registerSpendLimitRoutes } from './routes/spend-limits.ts';
import { registerAuditEventRoutes } from './routes/audit-events.ts';
import { registerTelemetryDestinationRoutes } from './routes/telemetry-destinations.ts';
import { registerAuditLog } from './audit-log.ts';
import { registerRequestLog } from './request-log.ts';
import { registerIdempotency } from './idempotency.ts';
import { METRICS_PATH, presentsMetricsKey, registerMetricsRoutes } from './routes/metrics.ts';
import { registerRequestTracing } from './http-tracing.ts';
import { isConsolePath, registerConsoleRoutes } from './routes/console.ts';

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export interface AppOptions {
  /** Largest accepted request body, in bytes (session create allows 32 MB). */
  bodyLimit: number;
  logger: Logger;
  /** Failed authentications allowed per source address and window before it is locked out (0 = off). */
  authFailLimit?: number;
  authFailWindowMs?: number;
  /** The built console (console/dist) served at /console; none = /console answers "not built". */
  consoleDir?: string;
}

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    genReqId: () => newId('req'),
    // The SDK appends `?beta=true` in some versions; strip nothing, just tolerate it.
    routerOptions: { ignoreTrailingSlash: true },
    // Requests that never reach a route still get authentication, the envelope and a request id.
    frameworkErrors: routerErrorHandler((req, reply) => authenticate(req, reply)),
    clientErrorHandler,
  });

  const authenticate = requestAuthenticator(deps, { limit: opts.authFailLimit ?? 20, windowMs: opts.authFailWindowMs ?? 60_000 });

  // An empty body on a JSON POST (e.g. archive) is "no body", not malformed JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(400, 'invalid_request_error', 'request body is not valid JSON'), undefined);
    }
  });

  app.decorateRequest('principal', null as never);
  if (deps.tracer) registerRequestTracing(app, deps.tracer, new Set([...PUBLIC_PATHS, METRICS_PATH]));
  registerRequestLog(app);
  registerAuditLog(app, deps);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('request-id', req.id);
    const path = req.url.split('?')[0];
    // The console's static files hold no data; the console itself signs in with an API key.
    if (PUBLIC_PATHS.has(path) || isConsolePath(path) || presentsMetricsKey(req, deps.metricsKey)) return;
    await authenticate(req, reply);
    const route = { method: req.method, url: req.routeOptions.url, params: (req.params ?? {}) as Record<string, string> };
    authorize(req.principal, route);
    // The SDK reads this into `_workspace_id` of every response object.
    reply.header('anthropic-workspace-id', req.principal.workspaceId);
    authorizeRole(req.principal, route);
    await assertInWorkspace(deps.store, req.principal.workspaceId, route);
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
    } else if (err instanceof StoreUnavailableError) {
      // The database is down or not answering: fail fast with a retryable 503, never hang or 500.
      req.log.warn({ err: err.message }, 'store unavailable');
      reply.header('retry-after', '1');
      apiError = new ApiError(503, 'api_error', `the database is unavailable; retry shortly (${err.message})`);
    } else {
      const status = (err as FastifyError).statusCode;
      if (status && status >= 400 && status < 500) {
        const mapped = status === 415 ? 400 : status;
        const message = status === 413 ? `request body exceeds the ${opts.bodyLimit} byte limit`
          : status === 415 ? `content-type "${String(req.headers['content-type'] ?? '').slice(0, 100)}" is not supported; send application/json (multipart/form-data for POST /v1/files)`
            : err.message;
        apiError = new ApiError(mapped, TYPE_BY_STATUS[mapped] ?? 'invalid_request_error', message);
      } else {
        req.log.error({ err }, 'unhandled error');
        apiError = new ApiError(500, 'api_error', 'internal server error');
      }
    }
    if (apiError.shouldRetry === false) reply.header('x-should-retry', 'false');
    reply.status(apiError.status).send(apiError.toEnvelope(String(req.id)));
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, 'not_found_error', `no route for ${req.method} ${req.url.split('?')[0]}`);
    reply.status(404).send(e.toEnvelope(String(req.id)));
  });

  // Multipart bodies are streamed part by part; per-route limits (upload size) are set where parsed.
  await app.register(multipart);

  registerIdempotency(app, deps);
  registerHealthRoutes(app, deps.readiness);
  registerAgentRoutes(app, deps);
  registerEnvironmentRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerThreadRoutes(app, deps);
  registerFileRoutes(app, deps);
  registerSessionResourceRoutes(app, deps);
  registerWorkRoutes(app, deps);
  registerEnvironmentKeyRoutes(app, deps);
  registerVaultRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerOrganizationRoutes(app, deps);
  registerSpendLimitRoutes(app, deps);
  registerAuditEventRoutes(app, deps);
  registerTelemetryDestinationRoutes(app, deps);
  registerMetricsRoutes(app, deps.metrics);
  await registerConsoleRoutes(app, opts.consoleDir);
  return app;
}
