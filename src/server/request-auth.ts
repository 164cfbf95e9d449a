// The authentication step of every request but /health: throttle check, credential lookup, and the
// failed-attempt log line. Used by the app's onRequest hook and by the router's own error answers,
// so a rejected path is authenticated like any other request.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../protocol/errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { WorkQueue } from '../harness/work-queue.ts';
import type { Store } from '../ports/store.ts';
import { selectWorkspace } from './workspace-scope.ts';
import { presentedKey } from './auth.ts';
import { AuthThrottle } from './auth-throttle.ts';
import type {} from './principal.ts'; // the `req.principal` declaration

export type Authenticate = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What kind of credential was presented, for the failed-authentication log line (never the key). */
function credentialKind(key: string): string {
  if (key.startsWith('sk-ant-oat01-')) return 'environment_key';
  if (key.startsWith('sk-ant-req-')) return 'session_token';
  return 'api_key';
}

/**
 * Resolves the request's credential into `req.principal`. A locked-out address is refused (429 with
 * `retry-after`) before its key is looked at; an unknown credential counts against its address and
 * is logged without it. A request with no credential at all is a 401 that does not count.
 */
export function requestAuthenticator(deps: { work: WorkQueue; clock: Clock; store: Store }, opts: { limit: number; windowMs: number }): Authenticate {
  const throttle = new AuthThrottle({ limit: opts.limit, windowMs: opts.windowMs, now: () => deps.clock.now() });
  return async (req, reply) => {
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
    req.principal = await selectWorkspace(req.principal, req.headers, req.method, deps.store);
  };
}
