// `Idempotency-Key` on POST requests: the first successful (2xx) response to a key is stored for
// 24 h and replayed, byte for byte with `idempotent-replayed: true`, to every repeat of the same
// request by the same caller; a repeat with another body is a 409, and a repeat that arrives while
// the first is still running is a retryable 409. Failed requests store nothing, so a fixed retry may
// reuse the key. JSON bodies are fingerprinted here; multipart uploads are fingerprinted by their
// route once the parts are read (see `idempotentReplay`), because the multipart boundary differs
// between retries of the same upload.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotencyKey, IdempotentResponse, Store } from '../ports/store.ts';
import type { Clock } from '../ports/clock.ts';
import { ApiError, conflict, invalidRequest } from '../protocol/errors.ts';
import { hashKey, presentedKey } from './auth.ts';
import type {} from './principal.ts'; // the `req.principal` declaration
import { DEFAULT_WORKSPACE_ID } from '../domain/workspace.ts';

/** How long a key's first response is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** An unfinished claim this old belongs to a request that died with its server; the key is free again. */
export const IN_FLIGHT_STALE_MS = 5 * 60 * 1000;
const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 500;
const VALID_KEY = /^[\x20-\x7e]{1,255}$/;
/**
 * Routes whose response carries a fresh secret: storing it for replay would keep a bearer
 * credential in plaintext beside its hash, so a key there is refused rather than ignored.
 */
const SECRET_RESPONSES = new Set(['/v1/environments/:id/keys']);

interface Pending {
  id: IdempotencyKey;
  /** Set while this request holds the key's claim. */
  claimId?: string;
  begin(parts: unknown[]): Promise<IdempotentResponse | undefined>;
}

const pending = new WeakMap<FastifyRequest, Pending>();

/**
 * Hash of what makes two requests the same: the query string (e.g. a heartbeat's parameters) and
 * `parts` (the media type and parsed body, or what a route read from a multipart body).
 */
export function requestFingerprint(url: string, parts: unknown[]): string {
  const q = url.indexOf('?');
  return createHash('sha256').update(JSON.stringify([q < 0 ? '' : url.slice(q + 1), ...parts])).digest('hex');
}

/** The scope of requests made with API key `key`. */
export const apiKeyScope = (key: string) => `api_key:${hashKey(`idempotency:${key}`)}`;

/** Who is asking: a caller's keys never collide with another caller's. */
function scopeOf(req: FastifyRequest): string {
  const p = req.principal;
  if (p.kind === 'environment_key') return `environment_key:${p.keyId}`;
  if (p.kind === 'session_token') return `work:${p.workId}`;
  // A salted hash of the presented key identifies the caller (a rotated key starts afresh). An
  // organization key acting in another workspace is another caller there: the same Idempotency-Key
  // in two workspaces is two requests. The default workspace keeps the plain scope, so records
  // stored before workspaces existed still match.
  const scope = apiKeyScope(presentedKey(req.headers) ?? '');
  return p.workspaceId === DEFAULT_WORKSPACE_ID ? scope : `${scope}@${p.workspaceId}`;
}

function sendReplay(reply: FastifyReply, response: IdempotentResponse): FastifyReply {
  return reply.code(response.status).header('content-type', response.contentType).header('idempotent-replayed', 'true').send(response.body);
}

export function registerIdempotency(app: FastifyInstance, deps: { store: Store; clock: Clock }): void {
  const repo = deps.store.idempotency;
  let lastSweep = 0;

  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || !req.principal) return;
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!VALID_KEY.test(key)) throw invalidRequest('Idempotency-Key must be 1 to 255 printable ASCII characters');
    if (SECRET_RESPONSES.has(req.routeOptions.url ?? '')) {
      throw invalidRequest(`Idempotency-Key is not supported on POST ${req.routeOptions.url}: its response holds the new secret, which Hangar does not store; send the request without the header`);
    }
    const id: IdempotencyKey = { scope: scopeOf(req), method: req.method, path: req.url.split('?')[0], key };
    const state: Pending = {
      id,
      begin: async (parts) => {
        const fp = requestFingerprint(req.url, parts);
        const now = deps.clock.now();
        if (now - lastSweep >= SWEEP_EVERY_MS) {
          lastSweep = now;
          await repo.sweep(now - IDEMPOTENCY_TTL_MS, SWEEP_BATCH);
        }
        const claimId = randomUUID();
        const r = await repo.claim(id, { fingerprint: fp, claimId, nowMs: now }, {
          expiredBefore: now - IDEMPOTENCY_TTL_MS, staleBefore: now - IN_FLIGHT_STALE_MS,
        });
        if (r.claimed) {
          state.claimId = claimId;
          return undefined;
        }
        if (r.record.fingerprint !== fp) {
          throw conflict('this Idempotency-Key was already used with a different request (another body); send a new key for a new request', 'idempotency_key_reused');
        }
        if (r.record.response === null) {
          // The SDK retries a 409 marked retryable, by which time the first request has usually finished.
          reply.header('x-should-retry', 'true').header('retry-after', '1');
          throw new ApiError(409, 'invalid_request_error', 'a request with this Idempotency-Key is still in progress; retry it shortly', { errorCode: 'idempotency_request_in_progress' });
        }
        return r.record.response;
      },
    };
    pending.set(req, state);
    if (req.isMultipart()) return; // the route fingerprints the parts it reads (idempotentReplay)
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const replay = await state.begin([mediaType, req.body ?? null]);
    if (replay) return sendReplay(reply, replay);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const state = pending.get(req);
    const claimId = state?.claimId;
    if (!state || !claimId) return payload;
    state.claimId = undefined;
    const ok = reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string';
    try {
      if (ok) {
        const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
        await repo.complete(state.id, claimId, { status: reply.statusCode, contentType, body: payload });
      } else {
        await repo.release(state.id, claimId);
      }
    } catch (err) {
      // The response still goes out; the claim lapses after IN_FLIGHT_STALE_MS.
      req.log.error({ err }, 'could not record the idempotency key');
    }
    return payload;
  });
}

/**
 * For routes that read their body themselves (multipart uploads): call with what identifies the
 * body that was read (content hash, names, fields), just before creating anything. True when a stored response was replayed instead (the
 * route must then create nothing and return `reply`); throws the 409s described above.
 */
export async function idempotentReplay(req: FastifyRequest, reply: FastifyReply, parts: unknown[]): Promise<boolean> {
  const state = pending.get(req);
  if (!state) return false;
  const replay = await state.begin(parts);
  if (!replay) return false;
  sendReplay(reply, replay);
  return true;
}
