// Self-hosted work items (§4.3), free of I/O: the lease state machine (poll hand-out, ack,
// heartbeat with its optimistic precondition, stop, lease expiry), the wire object, the `secret`
// payload the SDK worker decodes, credential formats, and who may call what (the principal).
import { createHash, randomBytes } from 'node:crypto';
import { ApiError, conflict, type ErrorEnvelope } from '../protocol/errors.ts';
import type { WorkRow, WorkState } from '../ports/store.ts';
import { isoAt } from '../ports/clock.ts';

export type { WorkRow, WorkState };

/** Who is calling: resolved once per request from its bearer credential. */
/**
 * Who made a request. `workspaceId` is the workspace the request acts in: for an API key, the
 * workspace it is bound to or the one its `anthropic-workspace-id` header selects (default: the
 * default workspace); for an environment key or session token, its environment's or session's.
 */
export type Principal =
  | {
    kind: 'api_key'; workspaceId: string; keyId: string;
    /** A role of src/domain/roles.ts. */
    role: string;
    /** The workspace the key is bound to; null = an organization key. */
    keyWorkspaceId: string | null;
  }
  | { kind: 'environment_key'; workspaceId: string; environmentId: string; keyId: string }
  | { kind: 'session_token'; workspaceId: string; sessionId: string; workId: string; environmentId: string };

export const ENVIRONMENT_KEY_PREFIX = 'sk-ant-oat01-';
export const SESSION_TOKEN_PREFIX = 'sk-ant-req-';
/** The literal `expected_last_heartbeat` that claims a lease nobody has heartbeated yet. */
export const NO_HEARTBEAT = 'NO_HEARTBEAT';

export const newEnvironmentKey = () => `${ENVIRONMENT_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
export const newSessionToken = () => `${SESSION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** Credentials are stored only as SHA-256 hex (the same scheme as API keys). */
export function hashCredential(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The wire `secret`: base64url JSON `{sessions_token, api_base_url}` (`BetaWorkSecret`). */
export function encodeWorkSecret(sessionsToken: string, apiBaseUrl: string | undefined): string {
  const payload: Record<string, string> = { sessions_token: sessionsToken };
  if (apiBaseUrl) payload.api_base_url = apiBaseUrl;
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

export function decodeWorkSecret(secret: string): { sessions_token: string; api_base_url?: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(secret, 'base64url').toString('utf8'));
    return typeof parsed?.sessions_token === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface NewWork {
  id: string;
  environmentId: string;
  data: { type: 'session' | 'healthcheck'; id: string };
  ttlSeconds: number;
  nowMs: number;
}

export function newWorkRow(w: NewWork): WorkRow {
  return {
    work: {
      type: 'work', id: w.id, environment_id: w.environmentId, data: { ...w.data }, state: 'queued', metadata: {},
      secret: null, created_at: isoAt(w.nowMs), acknowledged_at: null, started_at: null, latest_heartbeat_at: null,
      stop_requested_at: null, stopped_at: null,
    },
    polledAt: null, leaseExpiresAt: null, ttlSeconds: w.ttlSeconds, tokenHash: null,
  };
}

const patchWork = (row: WorkRow, fields: Partial<WorkRow['work']>, rest: Partial<Omit<WorkRow, 'work'>> = {}): WorkRow =>
  ({ ...row, ...rest, work: { ...row.work, ...fields } as WorkRow['work'] });

/**
 * The item as of `nowMs`. A lapsed lease is applied here, so every reader agrees without a sweeper:
 * a `starting`/`active` item whose holder stopped heartbeating is back in the queue (its lease
 * history cleared; the holder's token keeps working until the item is handed out again, so its next
 * heartbeat gets the 412 that tells it the lease is lost), and a `stopping` one has stopped.
 */
export function settle(row: WorkRow, nowMs: number): WorkRow {
  const expired = row.leaseExpiresAt !== null && row.leaseExpiresAt < nowMs;
  if (!expired) return row;
  const state = row.work.state;
  if (state === 'starting' || state === 'active') {
    return patchWork(row, { state: 'queued', acknowledged_at: null, started_at: null, latest_heartbeat_at: null },
      { polledAt: null, leaseExpiresAt: null });
  }
  if (state === 'stopping') {
    return patchWork(row, { state: 'stopped', stopped_at: isoAt(row.leaseExpiresAt!) }, { leaseExpiresAt: null, tokenHash: null });
  }
  return row;
}

/** Whether a poll may hand the (settled) item out: queued and not handed to a poller in the last `reclaimOlderThanMs`. */
export function claimable(row: WorkRow, nowMs: number, reclaimOlderThanMs: number): boolean {
  return row.work.state === 'queued' && (row.polledAt === null || row.polledAt <= nowMs - reclaimOlderThanMs);
}

/** A poll hands the item out: it stays `queued` (pending) until acked, with a fresh session token. */
export function handOut(row: WorkRow, nowMs: number, tokenHash: string): WorkRow {
  return { ...row, polledAt: nowMs, tokenHash };
}

/** `queued → starting`, leaving the queue; the lease runs from here until the first heartbeat renews it. */
export function acknowledge(row: WorkRow, nowMs: number): WorkRow {
  const state = row.work.state;
  if (state === 'stopped' || state === 'stopping') throw conflict(`work ${row.work.id} is ${state}`);
  if (state !== 'queued') throw conflict(`work ${row.work.id} was already acknowledged (state ${state})`);
  return patchWork(row, { state: 'starting', acknowledged_at: isoAt(nowMs) },
    { polledAt: null, leaseExpiresAt: nowMs + row.ttlSeconds * 1000 });
}

export interface HeartbeatResponse {
  type: 'work_heartbeat';
  last_heartbeat: string;
  lease_extended: boolean;
  state: WorkState;
  ttl_seconds: number;
}

/** 412 `heartbeat_precondition_failed`, carrying the lease as the server holds it (`BetaWorkLeaseState`). */
export class HeartbeatPreconditionFailed extends ApiError {
  readonly currentState: { last_heartbeat: string | null; lease_extended: false; state: WorkState; ttl_seconds: number };

  constructor(message: string, row: WorkRow) {
    super(412, 'invalid_request_error', message, { errorCode: 'heartbeat_precondition_failed', shouldRetry: false });
    this.currentState = { last_heartbeat: row.work.latest_heartbeat_at, lease_extended: false, state: row.work.state, ttl_seconds: row.ttlSeconds };
  }

  toEnvelope(requestId: string): ErrorEnvelope {
    const envelope = super.toEnvelope(requestId);
    (envelope.error as { details?: unknown }).details = { error_code: 'heartbeat_precondition_failed', current_state: this.currentState };
    return envelope;
  }
}

/**
 * A heartbeat renews the lease for `ttlSeconds` (and moves `starting → active`). The precondition
 * (`expected`: `NO_HEARTBEAT` for a lease never heartbeated, else the last `last_heartbeat` echoed
 * exactly) guards against two holders; it is not checked once the item is stopping or stopped. A
 * queued item has no lease to renew: its holder lost it.
 */
export function heartbeat(row: WorkRow, nowMs: number, expected: string | undefined, ttlSeconds: number): { row: WorkRow; response: HeartbeatResponse } {
  const state = row.work.state;
  const respond = (r: WorkRow, extended: boolean) => ({
    row: r,
    response: { type: 'work_heartbeat' as const, last_heartbeat: r.work.latest_heartbeat_at ?? '', lease_extended: extended, state: r.work.state, ttl_seconds: r.ttlSeconds },
  });
  if (state === 'stopped') return respond(row, false);
  if (state === 'queued') {
    throw new HeartbeatPreconditionFailed(`work ${row.work.id} holds no lease (it is queued again; another worker may claim it)`, row);
  }
  if (state !== 'stopping' && expected !== undefined) {
    const stored = row.work.latest_heartbeat_at;
    const matches = expected === NO_HEARTBEAT ? stored === null : stored === expected;
    if (!matches) {
      throw new HeartbeatPreconditionFailed(
        `expected_last_heartbeat ${JSON.stringify(expected)} does not match the stored heartbeat ${JSON.stringify(stored ?? NO_HEARTBEAT)}; another worker may hold the lease`, row);
    }
  }
  const now = isoAt(nowMs);
  const next = patchWork(row,
    { state: state === 'stopping' ? 'stopping' : 'active', started_at: row.work.started_at ?? now, latest_heartbeat_at: now },
    { ttlSeconds, leaseExpiresAt: nowMs + ttlSeconds * 1000 });
  return respond(next, true);
}

/**
 * Graceful stop asks the holder to wind down (`stopping`); force (or an item nobody holds) stops at
 * once and revokes its session token. Stopping a stopped item is a 409 the SDK ignores.
 */
export function stop(row: WorkRow, nowMs: number, force: boolean): WorkRow {
  const state = row.work.state;
  if (state === 'stopped') throw conflict(`work ${row.work.id} is already stopped`);
  const now = isoAt(nowMs);
  const requested = row.work.stop_requested_at ?? now;
  if (force || state === 'queued') {
    return patchWork(row, { state: 'stopped', stop_requested_at: requested, stopped_at: now }, { polledAt: null, leaseExpiresAt: null, tokenHash: null });
  }
  if (state === 'stopping') return row;
  return patchWork(row, { state: 'stopping', stop_requested_at: requested });
}

/** The wire object; `secret` only on the poll response that hands the item out. */
export function presentWork(row: WorkRow, secret: string | null = null): Record<string, unknown> {
  return { ...row.work, secret };
}

export interface EnvironmentKeyObject {
  type: 'environment_key';
  id: string;
  environment_id: string;
  created_at: string;
}
