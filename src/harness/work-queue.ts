// The self-hosted work queue (§4.3): environment keys, per-work session tokens, and work items
// with leases. Sessions in `self_hosted` environments get a work item when they receive input and
// no live item exists; a worker long-polls for it, acks, heartbeats its lease, and runs the session's
// sandbox tools. All state is in the store; the only memory here is who is waiting in a long poll.
import { newId, hasPrefix } from '../protocol/ids.ts';
import { conflict, invalidRequest, notFound, unauthenticated } from '../protocol/errors.ts';
import { applyMetadataPatch, type MetadataPatch } from '../protocol/common-schemas.ts';
import type { Page, PageQuery, Store, WorkRow } from '../ports/store.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import type { Metrics } from '../ports/metrics.ts';
import { DEFAULT_WORKSPACE_ID } from '../domain/workspace.ts';
import {
  ENVIRONMENT_KEY_PREFIX, SESSION_TOKEN_PREFIX, acknowledge, claimable, encodeWorkSecret, handOut, hashCredential,
  heartbeat, newEnvironmentKey, newSessionToken, newWorkRow, presentWork, settle, stop,
  type EnvironmentKeyObject, type HeartbeatResponse, type Principal,
} from '../domain/work.ts';

export type { Principal, HeartbeatResponse };

/** How stale `last_used_at` may get before a request records a new use. */
const LAST_USED_GRAIN_MS = 60_000;

export interface WorkQueueOptions {
  /** Lease length when the worker asks for none (`desired_ttl_seconds`). */
  defaultTtlSeconds: number;
  minTtlSeconds: number;
  maxTtlSeconds: number;
  /** Un-acked hand-outs older than this go to the next poller when the poll does not say (`reclaim_older_than_ms`). */
  defaultReclaimMs: number;
  /** `workers_polling` counts worker ids seen within this window. */
  pollerWindowMs: number;
}

export const DEFAULT_WORK_QUEUE_OPTIONS: WorkQueueOptions = {
  defaultTtlSeconds: 60,
  minTtlSeconds: 1,
  maxTtlSeconds: 3600,
  defaultReclaimMs: 5000,
  pollerWindowMs: 30_000,
};

export interface PollParams {
  /** Wait up to this long for work (omit for a non-blocking poll). */
  blockMs?: number;
  reclaimOlderThanMs?: number;
  /** `Anthropic-Worker-ID`, counted in `workers_polling`. */
  workerId?: string;
  /** Where workers should send the item's calls (goes into the `secret`). */
  apiBaseUrl?: string;
}

export interface WorkQueueStats {
  type: 'work_queue_stats';
  depth: number;
  pending: number;
  oldest_queued_at: string | null;
  workers_polling: number | null;
}

type WorkObject = Record<string, unknown>;

export class WorkQueue {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly metrics: Metrics | undefined;
  private readonly opts: WorkQueueOptions;
  /** Long polls waiting per environment; `notify` wakes them. A wake-up hint only, never state. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly generation = new Map<string, number>();
  private closed = false;
  private readonly announce: ((environmentId: string) => void) | undefined;

  /** `announce`: tells the other nodes an environment has a new item (their long polls claim again). */
  constructor(deps: { store: Store; clock: Clock; metrics?: Metrics; announce?: (environmentId: string) => void }, opts: Partial<WorkQueueOptions> = {}) {
    this.announce = deps.announce;
    this.store = deps.store;
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.opts = { ...DEFAULT_WORK_QUEUE_OPTIONS, ...opts };
  }

  // ---- hooks for sessions -------------------------------------------------------------------

  /** Whether sessions in this environment run their sandbox tools on a worker. False when unknown. */
  async isSelfHosted(environmentId: string): Promise<boolean> {
    const env = hasPrefix(environmentId, 'env') ? await this.store.environments.get(environmentId) : undefined;
    return (env?.config as { type?: string } | undefined)?.type === 'self_hosted';
  }

  /**
   * A session received input (created with initial events, or events sent). In a self-hosted
   * environment this queues a `{type:'session'}` work item unless one is already queued or held
   * (a held item whose lease lapsed counts: it is back in the queue). No-op elsewhere.
   */
  async onSessionInput(sessionId: string, environmentId?: string): Promise<void> {
    let envId = environmentId;
    if (envId === undefined) {
      const row = await this.store.sessions.get(sessionId);
      if (!row || row.session.status === 'terminated') return;
      envId = String(row.session.environment_id);
    }
    if (!(await this.isSelfHosted(envId))) return;
    const row = newWorkRow({
      id: newId('work'), environmentId: envId, data: { type: 'session', id: sessionId }, ttlSeconds: this.opts.defaultTtlSeconds, nowMs: this.clock.now(),
    });
    if (await this.store.work.insertUnlessLive(row)) this.notify(envId);
  }

  // ---- credentials --------------------------------------------------------------------------

  /**
   * Resolves a bearer credential: an API key, else an environment key (`sk-ant-oat01-…`), else the
   * session token of a work item that is not stopped (`sk-ant-req-…`). 401 otherwise.
   */
  async authenticate(bearer: string): Promise<Principal> {
    const hash = hashCredential(bearer);
    const apiKey = await this.store.apiKeys.findByHash(hash);
    if (apiKey && apiKey.status === 'active') {
      const nowMs = this.clock.now();
      if (apiKey.expiresAt !== null && Date.parse(apiKey.expiresAt) <= nowMs) throw unauthenticated(`API key ${apiKey.id} expired at ${apiKey.expiresAt}`);
      // last_used_at is a minute-grained fact: one write a minute per key, not one per request.
      if (apiKey.lastUsedAt === null || nowMs - Date.parse(apiKey.lastUsedAt) >= LAST_USED_GRAIN_MS) await this.store.apiKeys.touch(apiKey.id, isoAt(nowMs));
      return {
        kind: 'api_key', keyId: apiKey.id, role: apiKey.role, keyWorkspaceId: apiKey.workspaceId,
        workspaceId: apiKey.workspaceId ?? DEFAULT_WORKSPACE_ID,
      };
    }
    if (bearer.startsWith(ENVIRONMENT_KEY_PREFIX)) {
      const key = await this.store.environmentKeys.findByHash(hash);
      const workspaceId = key && (await this.store.workspaces.ownerOf('environment', key.key.environment_id));
      if (key && workspaceId) return { kind: 'environment_key', workspaceId, environmentId: key.key.environment_id, keyId: key.key.id };
      throw unauthenticated('invalid environment key: it is unknown or was revoked');
    }
    if (bearer.startsWith(SESSION_TOKEN_PREFIX)) {
      const raw = await this.store.work.findByTokenHash(hash);
      const row = raw && settle(raw, this.clock.now());
      // Stopping clears the hash; the state check holds even for a row written before it did.
      const workspaceId = row && row.tokenHash === hash && row.work.state !== 'stopped' && row.work.data.type === 'session'
        ? await this.store.workspaces.ownerOf('session', row.work.data.id) : undefined;
      if (row && workspaceId) {
        return { kind: 'session_token', workspaceId, sessionId: row.work.data.id, workId: row.work.id, environmentId: row.work.environment_id };
      }
      throw unauthenticated('invalid session token: it is unknown, or its work item was stopped or handed to another worker');
    }
    throw unauthenticated('invalid API key');
  }

  /** Issues an environment key for a self-hosted environment; the key is in this response only. */
  async createKey(environmentId: string): Promise<EnvironmentKeyObject & { key: string }> {
    const env = await this.environment(environmentId);
    if (env.archived_at) throw invalidRequest(`environment ${environmentId} is archived`, 'environment_archived');
    if (env.config?.type !== 'self_hosted') {
      throw invalidRequest(`environment keys are issued only for self_hosted environments; ${environmentId} is "${env.config?.type}"`);
    }
    const key = newEnvironmentKey();
    const object: EnvironmentKeyObject = { type: 'environment_key', id: newId('envkey'), environment_id: environmentId, created_at: isoAt(this.clock.now()) };
    await this.store.environmentKeys.insert({ key: { ...object }, hash: hashCredential(key) });
    return { ...object, key };
  }

  async listKeys(environmentId: string, q: PageQuery): Promise<Page<Record<string, unknown>>> {
    await this.environment(environmentId);
    return this.store.environmentKeys.list(environmentId, q);
  }

  /** Revokes at once: the next request with the key is a 401. */
  async deleteKey(environmentId: string, keyId: string): Promise<{ id: string; type: 'environment_key_deleted' }> {
    await this.environment(environmentId);
    if (!(await this.store.environmentKeys.delete(environmentId, keyId))) throw notFound(`no environment key ${keyId} in environment ${environmentId}`);
    return { id: keyId, type: 'environment_key_deleted' };
  }

  // ---- the queue ----------------------------------------------------------------------------

  /**
   * Hands out the oldest claimable item with a fresh session token in its `secret` (a re-handed
   * item's previous token stops working), waiting up to `blockMs` for one. Null when none came.
   */
  async poll(environmentId: string, p: PollParams, signal?: AbortSignal): Promise<WorkObject | null> {
    await this.environment(environmentId);
    const reclaim = p.reclaimOlderThanMs ?? this.opts.defaultReclaimMs;
    const start = this.clock.now();
    if (p.workerId) await this.store.work.notePoller(environmentId, p.workerId, start, start - 60 * 60_000);
    const deadline = start + (p.blockMs ?? 0);
    for (;;) {
      const seen = this.generation.get(environmentId) ?? 0;
      const claimed = await this.claim(environmentId, reclaim, p.apiBaseUrl);
      if (claimed) return claimed;
      const now = this.clock.now();
      if (now >= deadline || signal?.aborted || this.closed) return null;
      // Besides new items, a stale hand-out or a lapsed lease makes an item claimable: wake for those too.
      const due = await this.store.work.dueTimes(environmentId);
      let wakeAt = deadline;
      if (due.oldestHandOut !== null) wakeAt = Math.min(wakeAt, due.oldestHandOut + reclaim);
      if (due.earliestLeaseEnd !== null) wakeAt = Math.min(wakeAt, due.earliestLeaseEnd + 1);
      await this.wait(environmentId, seen, Math.max(1, wakeAt - now), signal);
    }
  }

  private async claim(environmentId: string, reclaimMs: number, apiBaseUrl: string | undefined): Promise<WorkObject | null> {
    const nowMs = this.clock.now();
    const token = newSessionToken();
    const tokenHash = hashCredential(token);
    let firstPickup = false;
    const row = await this.store.work.claim(environmentId, { nowMs, handedOutBefore: nowMs - reclaimMs }, (stored) => {
      const current = settle(stored, nowMs);
      if (!claimable(current, nowMs, reclaimMs)) return undefined;
      // Pickup latency counts an item's first hand-out only (re-hand-outs and lapsed leases start later).
      firstPickup = stored.work.state === 'queued' && stored.polledAt === null;
      return handOut(current, nowMs, tokenHash);
    });
    if (row && firstPickup) this.metrics?.workPickedUp(nowMs - Date.parse(String(row.work.created_at)));
    return row ? presentWork(row, encodeWorkSecret(token, apiBaseUrl)) : null;
  }

  async ack(environmentId: string, workId: string): Promise<WorkObject> {
    return presentWork(await this.mutate(environmentId, workId, (row, nowMs) => acknowledge(row, nowMs)));
  }

  async heartbeat(environmentId: string, workId: string, p: { expectedLastHeartbeat?: string; desiredTtlSeconds?: number }): Promise<HeartbeatResponse> {
    let response: HeartbeatResponse | undefined;
    await this.mutate(environmentId, workId, (row, nowMs) => {
      const ttl = p.desiredTtlSeconds === undefined ? row.ttlSeconds
        : Math.min(this.opts.maxTtlSeconds, Math.max(this.opts.minTtlSeconds, p.desiredTtlSeconds));
      const out = heartbeat(row, nowMs, p.expectedLastHeartbeat, ttl);
      response = out.response;
      return out.row;
    });
    return response!;
  }

  /**
   * Graceful stop asks the holder to wind down; force stops now. A session token whose lease lapsed
   * (the item is queued again, not handed to it) cannot stop the item any more: 409.
   */
  async stop(environmentId: string, workId: string, force: boolean, by: Principal): Promise<WorkObject> {
    return presentWork(await this.mutate(environmentId, workId, (row, nowMs) => {
      if (by.kind === 'session_token' && row.work.state === 'queued' && row.polledAt === null) {
        throw conflict(`the lease of work ${workId} lapsed; the item is queued for another worker`);
      }
      return stop(row, nowMs, force);
    }));
  }

  async get(environmentId: string, workId: string): Promise<WorkObject> {
    const row = await this.load(environmentId, workId);
    return presentWork(settle(row, this.clock.now()));
  }

  async updateMetadata(environmentId: string, workId: string, patch: MetadataPatch): Promise<WorkObject> {
    return presentWork(await this.mutate(environmentId, workId, (row) => ({
      ...row, work: { ...row.work, metadata: applyMetadataPatch(row.work.metadata, patch, { emptyStringDeletes: false }) },
    })));
  }

  async list(environmentId: string, q: PageQuery): Promise<Page<WorkObject>> {
    await this.environment(environmentId);
    const nowMs = this.clock.now();
    const page = await this.store.work.list(environmentId, q);
    return { data: page.data.map((r) => presentWork(settle(r, nowMs))), next: page.next };
  }

  async stats(environmentId: string): Promise<WorkQueueStats> {
    await this.environment(environmentId);
    const nowMs = this.clock.now();
    const s = await this.store.work.queueStats(environmentId, nowMs);
    return {
      type: 'work_queue_stats',
      depth: s.waiting,
      pending: s.handedOut,
      oldest_queued_at: s.oldestCreatedAt,
      workers_polling: await this.store.work.pollers(environmentId, nowMs - this.opts.pollerWindowMs),
    };
  }

  /** Ends every long poll now (they answer "no work"); used at shutdown. */
  close(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  // ---- internals ----------------------------------------------------------------------------

  private async environment(environmentId: string): Promise<{ id: string; archived_at?: string | null; config?: { type?: string } }> {
    const env = hasPrefix(environmentId, 'env') ? await this.store.environments.get(environmentId) : undefined;
    if (!env) throw notFound(`no environment with id ${environmentId}`, 'environment_not_found');
    return env as { id: string; archived_at?: string | null; config?: { type?: string } };
  }

  private async load(environmentId: string, workId: string): Promise<WorkRow> {
    await this.environment(environmentId);
    const row = hasPrefix(workId, 'work') ? await this.store.work.get(workId) : undefined;
    if (!row || row.work.environment_id !== environmentId) throw notFound(`no work item ${workId} in environment ${environmentId}`);
    return row;
  }

  /** Read (settled as of now), change and write one item atomically; 404 when it is not in the environment. */
  private async mutate(environmentId: string, workId: string, change: (row: WorkRow, nowMs: number) => WorkRow): Promise<WorkRow> {
    await this.load(environmentId, workId);
    const nowMs = this.clock.now();
    const out = await this.store.work.update(workId, (stored) => {
      const next = change(settle(stored, nowMs), nowMs);
      return { row: next, result: next };
    });
    if (!out) throw notFound(`no work item ${workId} in environment ${environmentId}`);
    return out.result;
  }

  /** Another node queued an item in the environment: this node's long polls claim again. */
  wakePollers(environmentId: string): void {
    this.notifyLocal(environmentId);
  }

  /** Ends every waiting long poll's wait, so each claims again (after a node signal re-sync). */
  wakeAllPollers(): void {
    for (const environmentId of [...this.waiters.keys()]) this.notifyLocal(environmentId);
  }

  private notify(environmentId: string): void {
    this.notifyLocal(environmentId);
    this.announce?.(environmentId);
  }

  private notifyLocal(environmentId: string): void {
    this.generation.set(environmentId, (this.generation.get(environmentId) ?? 0) + 1);
    const set = this.waiters.get(environmentId);
    if (set) for (const wake of [...set]) wake();
  }

  /** Resolves after `ms`, on `notify` (at once if one happened since `seen`), on abort or on close. */
  private wait(environmentId: string, seen: number, ms: number, signal?: AbortSignal): Promise<void> {
    if ((this.generation.get(environmentId) ?? 0) !== seen || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(environmentId);
      if (!set) this.waiters.set(environmentId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(environmentId) === set) this.waiters.delete(environmentId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}
