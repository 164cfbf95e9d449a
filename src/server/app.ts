// Builds the Fastify app: request ids, auth, JSON parsing, the error envelope, and the route modules.
// It receives every dependency from the composition root (main.ts) and performs no I/O of its own.
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ApiError, type ErrorType } from '../protocol/errors.ts';
import { newId } from '../protocol/ids.ts';
import { presentedKey } from './auth.ts';
import { authorize } from './scopes.ts';
import { AuthThrottle } from './auth-throttle.ts';
import type {} from './principal.ts'; // the `req.principal` declaration
import type { AppDeps } from './deps.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerEnvironmentRoutes } from './routes/environments.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerFileRoutes } from './routes/files.ts';
import { registerSessionResourceRoutes } from './routes/session-resources.ts';
import { registerWorkRoutes } from './routes/work.ts';
import { registerEnvironmentKeyRoutes } from './routes/environment-keys.ts';
import { registerVaultRoutes } from './routes/vaults.ts';

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
}

/** The error envelope for responses written outside Fastify's reply (client errors on the socket). */
function rawEnvelope(status: number, type: ErrorType, message: string): { id: string; body: string } {
  const id = newId('req');
  return { id, body: JSON.stringify(new ApiError(status, type, message).toEnvelope(id)) };
}

/** What kind of credential was presented, for the failed-authentication log line (never the key). */
function credentialKind(key: string): string {
  if (key.startsWith('sk-ant-oat01-')) return 'environment_key';
  if (key.startsWith('sk-ant-req-')) return 'session_token';
  return 'api_key';
}

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    genReqId: () => newId('req'),
    // The SDK appends `?beta=true` in some versions; strip nothing, just tolerate it.
    routerOptions: { ignoreTrailingSlash: true },
    // The router's own rejections (bad percent-encoding, an id over 100 characters) go through
    // authentication and the error envelope like every other response.
    frameworkErrors: (err, req, reply) => {
      void frameworkError(err, req, reply);
    },
    // Requests Node's HTTP parser refuses never reach Fastify; they still get the envelope and an id.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, type, message]: [number, ErrorType, string] = err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request_too_large', 'request headers exceed the size limit']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'timeout_error', 'the request was not received in time']
          : [400, 'invalid_request_error', 'malformed HTTP request'];
      const { id, body } = rawEnvelope(status, type, message);
      if (socket.writable) {
        socket.write(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n`
          + `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nrequest-id: ${id}\r\nconnection: close\r\n\r\n${body}`);
      }
      socket.destroy(err);
    },
  });

  const throttle = new AuthThrottle({ limit: opts.authFailLimit ?? 20, windowMs: opts.authFailWindowMs ?? 60_000, now: () => deps.clock.now() });

  /**
   * Resolves the request's credential into `req.principal`. A locked-out address is refused before
   * its key is looked at; an unknown credential counts against its address and is logged without it.
   */
  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const wait = throttle.retryAfterSeconds(req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new ApiError(429, 'rate_limit_error', `too many failed authentications from this address; retry after ${wait} s`);
    }
    const key = presentedKey(req.headers);
    if (!key) throw new ApiError(401, 'authentication_error', 'missing API key: send Authorization: Bearer <key> or x-api-key');
    try {
      // API key, environment key or work session token; each reaches only the routes scopes.ts allows.
      req.principal = await deps.work.authenticate(key);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const lockedOut = throttle.fail(req.ip);
        req.log.warn({ ip: req.ip, credential: credentialKind(key), lockedOut }, 'authentication failed');
      }
      throw err;
    }
  }

  async function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.header('request-id', req.id);
    let e: ApiError;
    try {
      await authenticate(req, reply);
      authorize(req.principal, { method: req.method, url: undefined, params: {} });
      e = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new ApiError(414, 'invalid_request_error', 'a path segment (an id) is longer than 100 characters')
        : new ApiError(400, 'invalid_request_error', 'the request path is not valid percent-encoded UTF-8');
    } catch (authErr) {
      e = authErr instanceof ApiError ? authErr : new ApiError(500, 'api_error', 'internal server error');
    }
    reply.status(e.status).send(e.toEnvelope(String(req.id)));
  }

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
  app.addHook('onRequest', async (req, reply) => {
    reply.header('request-id', req.id);
    if (req.url === '/health' || req.url.startsWith('/health?')) return;
    await authenticate(req, reply);
    authorize(req.principal, { method: req.method, url: req.routeOptions.url, params: (req.params ?? {}) as Record<string, string> });
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
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

  app.get('/health', async () => ({ status: 'ok' }));
  registerAgentRoutes(app, deps);
  registerEnvironmentRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerFileRoutes(app, deps);
  registerSessionResourceRoutes(app, deps);
  registerWorkRoutes(app, deps);
  registerEnvironmentKeyRoutes(app, deps);
  registerVaultRoutes(app, deps);
  return app;
}
