// The store port: durable state of every resource and the append-only session log.
// Adapters (SQLite now, PostgreSQL later) implement it; the harness and routes only see this.
// Objects are stored as their wire JSON (schema-versioned by the migration that created them);
// columns exist only for what is filtered, ordered or leased on.

import type { SortOrder } from '../protocol/cursor.ts';

export type Json = Record<string, unknown>;

/** One page of a keyset-paginated list. `next` is the sort key to continue after, or null at the end. */
export interface Page<T> {
  data: T[];
  next: number | null;
}

export interface PageQuery {
  limit: number;
  order: SortOrder;
  /** Continue strictly after this sort key (in `order`). */
  after?: number;
}

export interface AgentRow {
  id: string;
  /** Latest version's wire object (`archived_at` merged in). */
  agent: Json;
  version: number;
  archivedAt: string | null;
}

/** Resource kinds that belong to a workspace directly (children belong through their parent). */
export type WorkspaceResourceKind = 'agent' | 'environment' | 'session' | 'vault' | 'file';

/** A workspace as stored: its wire object (`type: 'workspace'`, id, name, archived_at, ...). */
export interface WorkspaceRepo {
  insert(ws: Json & { id: string; created_at: string }): Promise<void>;
  /** Undefined when unknown. The default workspace always exists (migration). */
  get(id: string): Promise<Json | undefined>;
  /** Replaces the stored object (`archived_at` included). */
  update(ws: Json & { id: string }): Promise<void>;
  /** Keyset-paginated in creation order; `ids` restricts to those ids (unknown ones are absent). */
  list(q: PageQuery & { includeArchived: boolean; ids?: string[] }): Promise<Page<Json>>;
  /** The workspace a resource belongs to; undefined when the resource does not exist. */
  ownerOf(kind: WorkspaceResourceKind, id: string): Promise<string | undefined>;
}

export interface AgentRepo {
  /** `workspaceId` defaults to the default workspace. */
  insert(agent: Json & { id: string; version: number; created_at: string }, workspaceId?: string): Promise<void>;
  /** Latest version, or the given version; undefined when the agent or version does not exist. */
  get(id: string, version?: number): Promise<Json | undefined>;
  /**
   * Store a new version. Returns false (and stores nothing) when the latest stored version is no
   * longer `previousVersion` — a concurrent update won the race.
   */
  addVersion(agent: Json & { id: string; version: number }, previousVersion: number): Promise<boolean>;
  archive(id: string, at: string): Promise<void>;
  /** `workspaceId` given: only that workspace's agents. */
  list(q: PageQuery & { createdGte?: string; createdLte?: string; includeArchived: boolean; workspaceId?: string }): Promise<Page<Json>>;
  listVersions(id: string, q: PageQuery): Promise<Page<Json>>;
}

export interface EnvironmentRepo {
  /** Throws `UniqueViolation` when the name is taken in the workspace (default: the default workspace). */
  insert(env: Json & { id: string; name: string; created_at: string }, workspaceId?: string): Promise<void>;
  get(id: string): Promise<Json | undefined>;
  /** Replaces the stored object; throws `UniqueViolation` on a name clash. */
  update(env: Json & { id: string; name: string }): Promise<void>;
  delete(id: string): Promise<boolean>;
  list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }): Promise<Page<Json>>;
}

/**
 * Thrown by any store method when the database cannot be reached or does not answer in time (server
 * down or restarting, network cut, connection or statement timeout). Nothing of the call was written,
 * or — when the connection broke during COMMIT — the whole transaction was or was not. Retryable: the
 * adapter reconnects by itself once the database answers again. The server answers it with 503.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown by repos when a unique constraint (e.g. environment name) is violated. */
export class UniqueViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A fenced commit (`CommitOptions.leaseOwner`) found the session's lease held by someone else (or
 * by nobody): another node took the session over. Nothing was written.
 */
export class LeaseLost extends Error {
  readonly code = 'lease_lost';
  constructor(sessionId: string, owner: string) {
    super(`the lease on session ${sessionId} is no longer held by ${owner}`);
    this.name = new.target.name;
  }
}

export interface CommitOptions {
  /**
   * Fence: commit only while this owner holds the session's lease (checked on the locked row, so
   * a harness loop that lost its lease can never write after the node that took over).
   */
  leaseOwner?: string;
}

export type SessionStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

/** Session counts per status from `status, n` rows, every status present (0 when none). */
export function statusCounts(rows: Array<Record<string, unknown>>): Record<SessionStatus, number> {
  const out: Record<SessionStatus, number> = { idle: 0, running: 0, rescheduling: 0, terminated: 0 };
  for (const r of rows) out[String(r.status) as SessionStatus] = Number(r.n);
  return out;
}

/** A session as stored: the wire object plus the bookkeeping the harness needs. */
export interface SessionRow {
  session: Json & { id: string; status: SessionStatus };
  /** Set while the session is running: when the current active period started (ms epoch). */
  runningSince: number | null;
  /** Model-request retries spent on the current step (reset on success). */
  retryCount: number;
  /** The workspace the session belongs to (set on reads; on insert, omitted = the default workspace). */
  workspaceId?: string;
  /**
   * The log's revision as read with this row: bumped by every commit that appends events or marks
   * some processed (an adapter sets it on every row it returns; writers ignore it). Equal revisions
   * mean the same log, so a reader holding state derived at one revision knows it is current without
   * reading the log. Undefined: the adapter does not keep one (derive from the log every time).
   */
  logRevision?: number;
}

export interface SessionListQuery extends PageQuery {
  agentId?: string;
  agentVersion?: number;
  statuses?: SessionStatus[];
  createdGt?: string;
  createdGte?: string;
  createdLt?: string;
  createdLte?: string;
  includeArchived: boolean;
  workspaceId?: string;
}

/** A persisted session event. `event` is the wire object (id, type, processed_at, ...). */
export interface StoredEvent {
  seq: number;
  event: Json & { id: string; type: string; processed_at: string | null };
  /** For queued user events: the log position at which they were processed (context order). */
  processedSeq: number | null;
}

export interface EventQuery extends PageQuery {
  types?: string[];
  createdGt?: string;
  createdGte?: string;
  createdLt?: string;
  createdLte?: string;
}

/** What one atomic commit writes. */
export interface CommitPlan {
  now: string;
  events?: Array<StoredEvent['event']>;
  markProcessed?: string[];
  patch?: SessionPatch;
}

/** Changes applied to the session row in the same transaction as an append. */
export interface SessionPatch {
  /** Ask the sweeper to drive this session even if it is idle (input arrived; cleared when planned). */
  pendingWake?: boolean;
  status?: SessionStatus;
  runningSince?: number | null;
  retryCount?: number;
  /** Shallow-merged into the wire object (usage, stats, title, metadata, updated_at, ...). */
  fields?: Json;
}

export interface SessionRepo {
  insert(row: SessionRow, initialEvents: Array<StoredEvent['event']>): Promise<StoredEvent[]>;
  get(id: string): Promise<SessionRow | undefined>;
  list(q: SessionListQuery): Promise<Page<{ seq: number; row: SessionRow }>>;
  /** Deletes the session and its whole log. */
  delete(id: string): Promise<boolean>;

  /**
   * Atomically (one transaction): read the session row (and, lazily, its log), let `decide` plan a
   * change, then append the planned events in order, mark `markProcessed` event ids as processed
   * (processed_at = `now`, processedSeq = the last log position before this append) and apply the
   * patch. `decide` may throw to abort with nothing written. Undefined when the session is missing.
   * With `opts.leaseOwner`, throws `LeaseLost` (before `decide` runs) unless that owner holds the lease.
   */
  commit<P extends CommitPlan>(
    sessionId: string,
    decide: (row: SessionRow, log: () => StoredEvent[]) => P,
    opts?: CommitOptions,
  ): Promise<{ stored: StoredEvent[]; row: SessionRow; plan: P } | undefined>;

  events(sessionId: string, q: EventQuery): Promise<Page<StoredEvent>>;
  /** The whole log in order, for the harness. */
  log(sessionId: string): Promise<StoredEvent[]>;
  findEvent(sessionId: string, eventId: string): Promise<StoredEvent | undefined>;

  /**
   * Take or renew the harness lease. True when `owner` now holds it until now + ttlMs. Owners are
   * `<nodeId>#<bootId>` (src/domain/lease-owner.ts): a lease held by another boot of the same node
   * is taken at once, live or not (that boot is gone); owners without `#` match only themselves.
   */
  acquireLease(sessionId: string, owner: string, ttlMs: number, nowMs: number): Promise<boolean>;
  releaseLease(sessionId: string, owner: string): Promise<void>;
  /**
   * Sessions that should be driven (running/rescheduling or a pending wake) whose lease is missing
   * or expired — or, given `reclaimFor`, held by an earlier boot of that owner's node.
   */
  orphaned(nowMs: number, limit: number, reclaimFor?: string): Promise<string[]>;
  /** How many sessions (archived ones included) are in each status; every status is present, 0 when none. */
  countByStatus(): Promise<Record<SessionStatus, number>>;
}

/**
 * Where an API key came from: `env` is the bootstrap key (HANGAR_API_KEY; a changed value revokes
 * it), `generated` the key printed on a first start without one, `cli` made by `hangar keys create`,
 * `legacy` stored before keys had a source (revoked when HANGAR_API_KEY names another key).
 */
export type ApiKeySource = 'env' | 'generated' | 'cli' | 'legacy' | 'api';

/** `inactive` keys may be reactivated; `archived` is permanent. Expiry is read from `expiresAt`. */
export type ApiKeyStatus = 'active' | 'inactive' | 'archived';

/** An API key as listed: never the key or its hash, only a hint of its last characters. */
export interface ApiKeyRow {
  id: string;
  name: string | null;
  hint: string | null;
  source: ApiKeySource;
  createdAt: string;
  revokedAt: string | null;
  status: ApiKeyStatus;
  /** The workspace the key is bound to; null = an organization key (acts in any workspace). */
  workspaceId: string | null;
  /** A role name of src/domain/roles.ts (`admin` for every key made before roles existed). */
  role: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** Id of the key that created this one, when created through the API. */
  createdBy: string | null;
}

/** What a new key carries besides its id, hash and creation time. */
export interface ApiKeyMeta {
  name?: string;
  hint?: string;
  source?: ApiKeySource;
  workspaceId?: string | null;
  role?: string;
  expiresAt?: string | null;
  createdBy?: string | null;
}

export interface ApiKeyRepo {
  /** Active (unrevoked) keys. */
  count(): Promise<number>;
  insert(id: string, hash: string, createdAt: string, meta?: ApiKeyMeta): Promise<void>;
  get(id: string): Promise<ApiKeyRow | undefined>;
  /** Whether an active key has this hash. */
  existsHash(hash: string): Promise<boolean>;
  /** The key with this hash, revoked or not. */
  findByHash(hash: string): Promise<ApiKeyRow | undefined>;
  /** Every key, oldest first, revoked ones included. */
  list(): Promise<ApiKeyRow[]>;
  /** Revokes at once; false when no active key has this id. */
  revoke(id: string, at: string): Promise<boolean>;
  setSource(id: string, source: ApiKeySource): Promise<void>;
  /** Sets name and/or status (`inactive`/`archived` also set `revokedAt`, `active` clears it). False when unknown. */
  update(id: string, patch: { name?: string; status?: ApiKeyStatus }, at: string): Promise<boolean>;
  /** Replaces the key's hash and hint (rotation): the old secret stops working at once. False when not active. */
  rotate(id: string, hash: string, hint: string): Promise<boolean>;
  /** Records a use (callers throttle how often). */
  touch(id: string, at: string): Promise<void>;
}

/** A stored file: its wire metadata plus what is filtered on or needed to dedupe. */
export interface FileRow {
  /** The wire object (`type: 'file'`, id, filename, mime_type, size_bytes, created_at, ...). */
  file: Json & { id: string; created_at: string };
  /** Session id for files an agent wrote to its outputs directory, else null. */
  scopeId: string | null;
  /** RFC 3339 instant after which the file is gone; null = never. */
  expiresAt: string | null;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /**
   * The workspace (set on reads). On insert, a file scoped to a session takes the session's
   * workspace; otherwise omitted = the default workspace.
   */
  workspaceId?: string;
}

export interface FileListQuery extends PageQuery {
  scopeId?: string;
  /** Only these ids (the caller bounds the count); unknown ids are simply absent. */
  ids?: string[];
  /** When set, files whose `expiresAt` is at or before this instant are left out. */
  liveAt?: string;
  workspaceId?: string;
}

/** What a session-outputs capture last saw at one relative path (for idempotent re-capture). */
export interface OutputCapture {
  sessionId: string;
  /** Path relative to the outputs directory, `/`-separated. */
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  sha256: string;
  /** The file created from this content (it may have been deleted since). */
  fileId: string;
}

export interface FileRepo {
  /**
   * Inserts the file and, in the same transaction, records (upserts) `capture` when given and
   * deletes the row of the file it `replaces` (a previous version of the same output).
   */
  insert(row: FileRow, capture?: OutputCapture, replaces?: string): Promise<void>;
  get(id: string): Promise<FileRow | undefined>;
  /** Keyset-paginated in insertion order (`order` desc = newest first). */
  list(q: FileListQuery): Promise<Page<FileRow>>;
  delete(id: string): Promise<boolean>;
  /** Total `size_bytes` of the files scoped to `scopeId` (a session's captured outputs). */
  scopeBytes(scopeId: string): Promise<number>;
  /** Ids of files expired at `now` (oldest expiry first), for lazy cleanup. */
  expired(now: string, limit: number): Promise<string[]>;
  capture(sessionId: string, path: string): Promise<OutputCapture | undefined>;
  /** Upserts by (sessionId, path). */
  putCapture(capture: OutputCapture): Promise<void>;
  deleteCaptures(sessionId: string): Promise<void>;
}

/** A stored credential: its wire object (never secret material) plus the sealed secrets. */
export interface CredentialRow {
  credential: Json & { id: string; vault_id: string; created_at: string; archived_at: string | null };
  /** Unique among the vault's active credentials (`mcp:<url>` or `env:<name>`). */
  key: string;
  /** Secret-box output holding the secrets; null once archived (purged). */
  sealed: string | null;
  /** Id of the master key that sealed `sealed` (for rotation); null with `sealed`. */
  sealedKeyId: string | null;
}

export interface CredentialListQuery extends PageQuery {
  includeArchived: boolean;
}

/** Vaults, their credentials and the master-key check value. */
export interface VaultRepo {
  insert(vault: Json & { id: string; created_at: string }, workspaceId?: string): Promise<void>;
  get(id: string): Promise<Json | undefined>;
  /** Replaces the stored object (`archived_at` included). */
  update(vault: Json & { id: string }): Promise<void>;
  /**
   * In one transaction: stores the archived vault object and archives each of its active
   * credentials with `archiveCredential(credential)` as the new object, purging their sealed
   * secrets. Returns how many credentials were archived.
   */
  archiveCascade(vault: Json & { id: string }, archiveCredential: (credential: CredentialRow['credential']) => Json): Promise<number>;
  /** Deletes the vault and every credential in it (sealed secrets included). False when unknown. */
  delete(id: string): Promise<boolean>;
  list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }): Promise<Page<Json>>;

  /**
   * Inserts the credential unless its vault already holds `maxActive` active credentials
   * (returns 'limit', stores nothing). Throws `UniqueViolation` when an active credential of the
   * vault has the same key. Count and insert are one transaction.
   */
  insertCredential(row: CredentialRow, maxActive: number): Promise<'inserted' | 'limit'>;
  getCredential(id: string): Promise<CredentialRow | undefined>;
  /**
   * Replaces the object and sealed secrets (the key never changes). With `ifSealed` given, writes
   * only when the stored sealed value still equals it (compare-and-swap) and returns whether it did.
   */
  updateCredential(row: CredentialRow, ifSealed?: string | null): Promise<boolean>;
  /** Deletes one credential and its sealed secrets. False when unknown. */
  deleteCredential(id: string): Promise<boolean>;
  listCredentials(vaultId: string, q: CredentialListQuery): Promise<Page<CredentialRow>>;
  /** Active credentials with this key in any of these vaults (any order; callers rank by vault). */
  findActiveCredentials(vaultIds: string[], key: string): Promise<CredentialRow[]>;
  /** Up to `limit` credentials whose secrets are sealed under a key other than `keyId` (rotation). */
  sealedUnderOtherKeys(keyId: string, limit: number): Promise<CredentialRow[]>;

  /** The sealed master-key check value written at first start, if any. */
  keyCheck(): Promise<string | undefined>;
  putKeyCheck(sealed: string, keyId: string, at: string): Promise<void>;
}

export type WorkState = 'queued' | 'starting' | 'active' | 'stopping' | 'stopped';

/** A self-hosted work item as stored: its wire object (`secret` always null) plus lease bookkeeping. */
export interface WorkRow {
  work: Json & {
    id: string; environment_id: string; state: WorkState; data: { type: string; id: string }; metadata: Record<string, string>;
    created_at: string; acknowledged_at: string | null; started_at: string | null; latest_heartbeat_at: string | null;
    stop_requested_at: string | null; stopped_at: string | null;
  };
  /** When a poll last handed the item out while still unacknowledged (ms epoch), else null. */
  polledAt: number | null;
  /** When the current lease lapses (ms epoch); null while nobody holds one. */
  leaseExpiresAt: number | null;
  ttlSeconds: number;
  /** SHA-256 of the item's current session token; null before the first hand-out and once stopped. */
  tokenHash: string | null;
}

export interface WorkRepo {
  insert(row: WorkRow): Promise<void>;
  get(id: string): Promise<WorkRow | undefined>;
  findByTokenHash(hash: string): Promise<WorkRow | undefined>;
  /**
   * Atomic read-modify-write of one item (one transaction): `decide` sees the stored row and returns
   * the row to store (or none to write nothing) and a result. It may throw to abort with nothing
   * written. Undefined when the item does not exist.
   */
  update<R>(id: string, decide: (row: WorkRow) => { row?: WorkRow; result: R }): Promise<{ result: R } | undefined>;
  /**
   * Atomically hands out one item of the environment: among rows that are `queued` (never handed
   * out, or handed out at or before `handedOutBefore`) or `starting`/`active` with a lease lapsed
   * before `nowMs`, oldest first, the first for which `decide` returns a row is written and
   * returned. Two callers never get the same row from one hand-out.
   */
  claim(environmentId: string, q: { nowMs: number; handedOutBefore: number }, decide: (row: WorkRow) => WorkRow | undefined): Promise<WorkRow | undefined>;
  /** Atomically inserts the session item `row` unless that session already has an item that is queued, starting or active. */
  insertUnlessLive(row: WorkRow): Promise<boolean>;
  /** Keyset-paginated by insertion order. */
  list(environmentId: string, q: PageQuery): Promise<Page<WorkRow>>;
  /** Queue figures as of `nowMs`: items waiting (lapsed leases included), handed out but unacknowledged, oldest of both. */
  queueStats(environmentId: string, nowMs: number): Promise<{ waiting: number; handedOut: number; oldestCreatedAt: string | null }>;
  /** The `waiting` figure of `queueStats` summed over every environment (the metrics' queue depth). */
  waitingTotal(nowMs: number): Promise<number>;
  /** The earliest instants at which an item may become claimable: oldest unacknowledged hand-out, earliest lease end. */
  dueTimes(environmentId: string): Promise<{ oldestHandOut: number | null; earliestLeaseEnd: number | null }>;
  /** Records that `workerId` polled the environment; forgets workers not seen since `forgetBefore`. */
  notePoller(environmentId: string, workerId: string, nowMs: number, forgetBefore: number): Promise<void>;
  /** Distinct workers seen since `sinceMs`, or null when none is remembered at all. */
  pollers(environmentId: string, sinceMs: number): Promise<number | null>;
}

/** An environment key as stored: its wire object (never the key) and the key's hash. */
export interface EnvironmentKeyRow {
  key: Json & { id: string; environment_id: string; created_at: string };
  hash: string;
}

export interface EnvironmentKeyRepo {
  insert(row: EnvironmentKeyRow): Promise<void>;
  findByHash(hash: string): Promise<EnvironmentKeyRow | undefined>;
  list(environmentId: string, q: PageQuery): Promise<Page<EnvironmentKeyRow['key']>>;
  /** False when no such key exists for that environment. */
  delete(environmentId: string, id: string): Promise<boolean>;
}

/** Identifies one idempotent request: who sent it, to which method and path, with which key. */
export interface IdempotencyKey {
  /** The caller (a hash of the API key, or the environment key / work item id), so callers never collide. */
  scope: string;
  method: string;
  /** Request path without the query string. */
  path: string;
  key: string;
}

/** The first successful response to a request with an idempotency key, replayed to its repeats. */
export interface IdempotentResponse {
  status: number;
  contentType: string;
  body: string;
}

/** What is stored under a key: an in-flight claim (`response` null) or the finished response. */
export interface IdempotencyRecord {
  /** Hash of the request (content type and body): a repeat with another hash is a different request. */
  fingerprint: string;
  /** Random id of the claim, so only its owner completes or releases it. */
  claimId: string;
  response: IdempotentResponse | null;
  /** When the claim was taken (ms epoch). */
  createdAt: number;
}

export interface IdempotencyRepo {
  /**
   * Atomically takes the key for a new request unless a live record holds it: records created at or
   * before `expiredBefore` are dead, and so are in-flight claims created at or before `staleBefore`
   * (their request crashed). Returns the live record instead of claiming when there is one.
   */
  claim(
    id: IdempotencyKey, claim: { fingerprint: string; claimId: string; nowMs: number },
    opts: { expiredBefore: number; staleBefore: number },
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }>;
  /** Stores the response on the claim `claimId` (no-op when the claim is no longer held). */
  complete(id: IdempotencyKey, claimId: string, response: IdempotentResponse): Promise<void>;
  /** Drops an in-flight claim `claimId` (the request failed; the key may be used again). */
  release(id: IdempotencyKey, claimId: string): Promise<void>;
  /** Deletes up to `limit` records created at or before `expiredBefore`; returns how many. */
  sweep(expiredBefore: number, limit: number): Promise<number>;
}

/** Build state of one package layer (a distinct package list), shared by every environment naming it. */
export type PackageLayerStatus = 'pending' | 'building' | 'ready' | 'failed';

export interface PackageLayerRow {
  key: string;
  /** Canonical package lists, by manager. */
  packages: Record<string, string[]>;
  status: PackageLayerStatus;
  /** Why the build failed (shown to users), null otherwise. */
  error: string | null;
  /** The last lines of the build log (no secrets: builds get none). */
  logTail: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
}

/**
 * Package layer builds as jobs in the store: a row per layer key whose build is claimed with a
 * lease (an expired lease lets another process take the build over), so each distinct package
 * list is built once across processes and restarts.
 */
export interface PackageLayerRepo {
  get(key: string): Promise<PackageLayerRow | undefined>;
  /**
   * Records that `key` is wanted: inserts a `pending` row unless one exists; with `retryFailed` a
   * `failed` row becomes `pending` again (its error cleared). Returns the row as it now is.
   */
  request(key: string, packages: Record<string, string[]>, now: string, opts: { retryFailed: boolean }): Promise<PackageLayerRow>;
  /** Takes the build (pending, or building with a lease expired at `nowMs`) for `owner`; false if someone else holds it or it is done. */
  claim(key: string, owner: string, nowMs: number, leaseMs: number, now: string): Promise<boolean>;
  /** Extends `owner`'s lease; false when the build is no longer theirs. */
  renew(key: string, owner: string, nowMs: number, leaseMs: number): Promise<boolean>;
  /** Ends `owner`'s build as ready or failed; false (nothing written) when it is no longer theirs. */
  finish(key: string, owner: string, result: { status: 'ready' | 'failed'; error: string | null; logTail: string | null; now: string }): Promise<boolean>;
  /** Keys waiting for a builder at `nowMs` (pending, or building with an expired lease), oldest first. */
  unclaimed(nowMs: number, limit: number): Promise<string[]>;
}

/** One spend ledger row: spend in its current month and what requests in flight reserved. */
export interface SpendLedgerRow {
  /** `organization` or `workspace:<id>`. */
  scope: string;
  /** Month `spentMicros` counts (`YYYY-MM`); an older month means nothing was spent this month yet. */
  month: string;
  spentMicros: number;
  reservedMicros: number;
}

/** A spend limit's wire object (`BetaSpendLimit`). */
export interface SpendLimitObject {
  type: 'spend_limit';
  id: string;
  amount: string | null;
  currency: 'USD';
  is_enabled: true;
  period: 'monthly';
  scope: { type: 'organization' } | { type: 'workspace'; workspace_id: string };
  created_at: string;
  updated_at: string;
}

/** A configured limit as stored: its wire object plus the ledger key it caps. */
export interface SpendLimitRow {
  limit: SpendLimitObject;
  scopeKey: string;
}

/**
 * Spend limits and their ledger (src/domain/spend.ts). The ledger is written by session commits
 * themselves (`SessionRepo.commit` applies `spendDelta` of every commit to the session's scopes, and
 * runs `admit` on new reservations, in the same transaction); this repo manages limits, reads the
 * ledger and tracks the sessions waiting for room.
 */
export interface SpendRepo {
  /**
   * Upsert keyed on (scope, period): returns the stored limit (an existing one keeps its id and
   * created_at). `audit` builds the change's audit record from the stored limit; it is appended in
   * the same transaction.
   */
  putLimit(row: SpendLimitRow, audit?: (stored: SpendLimitRow) => AuditEvent): Promise<SpendLimitRow>;
  getLimit(id: string): Promise<SpendLimitRow | undefined>;
  /** `audit` is appended in the same transaction when the limit existed. */
  deleteLimit(id: string, audit?: AuditEvent): Promise<boolean>;
  /** Newest first, keyset-paginated; `scopeTypes` / `workspaceId` filter. */
  listLimits(q: PageQuery & { scopeTypes?: string[]; workspaceId?: string }): Promise<Page<SpendLimitRow>>;
  /** Limits capping any of these ledger keys. */
  limitsFor(scopes: string[]): Promise<SpendLimitRow[]>;
  /** Ledger rows of these keys (missing keys are absent: nothing spent or reserved yet). */
  ledger(scopes: string[]): Promise<SpendLedgerRow[]>;
  /** Records (upserts) that a session waits on these ledger keys. */
  putWait(sessionId: string, scopes: string[], month: string): Promise<void>;
  deleteWait(sessionId: string): Promise<void>;
  /** Sessions waiting on this key (any key when undefined). */
  waiting(scope?: string): Promise<string[]>;
}

/** One audit record (its wire object, `type: 'audit_event'`). */
export interface AuditEvent {
  type: 'audit_event';
  id: string;
  created_at: string;
  actor: { type: string; key_id: string | null; role: string | null };
  method: string;
  route: string;
  resource: { type: string; id: string | null };
  parent: { type: string; id: string | null } | null;
  workspace_id: string;
  status: number;
  request_id: string;
}

export interface AuditQuery extends PageQuery {
  createdGte?: string;
  createdLte?: string;
  createdGt?: string;
  createdLt?: string;
  actorId?: string;
  resourceType?: string;
  resourceId?: string;
  workspaceId?: string;
}

/** The append-only audit log: records are never changed or deleted through the port. */
export interface AuditRepo {
  append(event: AuditEvent): Promise<void>;
  /** Keyset-paginated in append order (`desc` = newest first), filtered. */
  list(q: AuditQuery): Promise<Page<AuditEvent>>;
}

/** A telemetry destination as stored: its wire object (never a header value) and the sealed headers. */
export interface TelemetryDestinationRow {
  destination: Json & { id: string; created_at: string; updated_at: string };
  /** Secret-box output holding the headers (name → value) as JSON; null when there are none. */
  sealed: string | null;
  sealedKeyId: string | null;
  /** Bumped by every write: an update names the revision it read (compare-and-swap). */
  revision: number;
}

export interface TelemetryDestinationRepo {
  insert(row: TelemetryDestinationRow): Promise<void>;
  get(id: string): Promise<TelemetryDestinationRow | undefined>;
  /** Writes `row` (revision + 1) only when the stored revision is still `row.revision`; false otherwise. */
  update(row: TelemetryDestinationRow): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Newest first, keyset-paginated. */
  list(q: PageQuery): Promise<Page<TelemetryDestinationRow>>;
  /** Every destination (the exporter's routing table; installations hold a handful). */
  all(): Promise<TelemetryDestinationRow[]>;
}

export interface Store {
  workspaces: WorkspaceRepo;
  telemetryDestinations: TelemetryDestinationRepo;
  audit: AuditRepo;
  spend: SpendRepo;
  agents: AgentRepo;
  environments: EnvironmentRepo;
  sessions: SessionRepo;
  apiKeys: ApiKeyRepo;
  files: FileRepo;
  vaults: VaultRepo;
  work: WorkRepo;
  environmentKeys: EnvironmentKeyRepo;
  idempotency: IdempotencyRepo;
  packageLayers: PackageLayerRepo;
  close(): Promise<void>;
}
