// Which credential may call which route. API keys may call everything except the worker-facing
// work routes that the API reserves for environment keys and session tokens (§4.3); an environment
// key reaches only its own environment's work queue; a session token only its own work item and
// its own session (retrieve, events list/stream, and sending the results of the tools its worker
// runs: see authorizeEvents). Anything else is a 403.
import type { Principal } from '../domain/work.ts';
import { forbidden } from '../protocol/errors.ts';

/** The matched route: method, pattern (Fastify syntax, undefined when no route matched) and params. */
export interface RouteRef {
  method: string;
  url: string | undefined;
  params: Record<string, string | undefined>;
}

type Kind = Principal['kind'];

const WORK = '/v1/environments/:id/work';
const SESSION = '/v1/sessions/:id';

/** Routes open to more than API keys (or closed to them). Every other route is API-key only. */
const AUDIENCE: Record<string, readonly Kind[]> = {
  [`GET ${WORK}/poll`]: ['environment_key'],
  [`GET ${WORK}`]: ['environment_key'],
  [`POST ${WORK}/:workId/ack`]: ['environment_key', 'session_token'],
  [`POST ${WORK}/:workId/heartbeat`]: ['environment_key', 'session_token'],
  [`POST ${WORK}/:workId/stop`]: ['api_key', 'environment_key', 'session_token'],
  [`GET ${SESSION}`]: ['api_key', 'session_token'],
  [`GET ${SESSION}/events`]: ['api_key', 'session_token'],
  [`POST ${SESSION}/events`]: ['api_key', 'session_token'],
  [`GET ${SESSION}/events/stream`]: ['api_key', 'session_token'],
};

const API_KEY_ONLY: readonly Kind[] = ['api_key'];

const CREDENTIAL: Record<Kind, string> = {
  api_key: 'an API key',
  environment_key: 'an environment key',
  session_token: 'a work item session token',
};

/** Throws 403 `permission_error` unless `p` may call `route`. */
export function authorize(p: Principal, route: RouteRef): void {
  const method = route.method === 'HEAD' ? 'GET' : route.method;
  const audience = route.url === undefined ? API_KEY_ONLY : (AUDIENCE[`${method} ${route.url}`] ?? API_KEY_ONLY);
  if (!audience.includes(p.kind)) {
    throw forbidden(`${CREDENTIAL[p.kind]} cannot call ${method} ${route.url ?? 'this path'}; it accepts ${audience.map((k) => CREDENTIAL[k]).join(' or ')}`);
  }
  if (p.kind === 'environment_key' && route.params.id !== p.environmentId) {
    throw forbidden(`this environment key belongs to environment ${p.environmentId}`);
  }
  if (p.kind === 'session_token') {
    const own = route.url!.startsWith(SESSION)
      ? route.params.id === p.sessionId
      : route.params.id === p.environmentId && route.params.workId === p.workId;
    if (!own) throw forbidden(`this session token grants access only to work ${p.workId} and session ${p.sessionId}`);
  }
}

/**
 * What a worker posts with its session token: the results of the tools it ran (the SDK's
 * SessionToolRunner sends `user.tool_result` for built-in tools and `user.custom_tool_result` for
 * custom ones). Messages, tool confirmations, interrupts and outcome definitions are the user's.
 */
const WORKER_EVENT_TYPES: ReadonlySet<string> = new Set(['user.tool_result', 'user.custom_tool_result']);

/** Throws 403 `permission_error` when `p` may not send events of these types. */
export function authorizeEvents(p: Principal, types: readonly string[]): void {
  if (p.kind !== 'session_token') return;
  const denied = types.find((t) => !WORKER_EVENT_TYPES.has(t));
  if (denied !== undefined) {
    throw forbidden(`a work item session token may send only user.tool_result and user.custom_tool_result events; "${denied}" needs an API key`);
  }
}
