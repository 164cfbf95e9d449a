// Row mappers shared by the SQL store adapters (SQLite and PostgreSQL keep the same tables and
// columns): a database row in, the store port's row type out. Each adapter keeps its own SQL.
import type {
  ApiKeyRow, ApiKeySource, ApiKeyStatus, CredentialRow, FileRow, IdempotencyKey, IdempotencyRecord, Json, PackageLayerRow, PackageLayerStatus,
  SpendLedgerRow, SpendLimitRow, WorkRow, WorkState,
} from '../../ports/store.ts';

export type Row = Record<string, unknown>;

/** A nullable number column (SQLite integers, PostgreSQL bigint strings). */
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const text = (v: unknown): string | null => (v as string | null | undefined) ?? null;

/** The wire object in `data` with the `archived_at` column merged in. */
export const withArchive = (data: unknown, archivedAt: unknown): Json => ({ ...JSON.parse(String(data)), archived_at: text(archivedAt) });

export const API_KEY_COLUMNS = 'id, name, hint, source, created_at, revoked_at, status, workspace_id, role, expires_at, last_used_at, created_by';

export function apiKeyRow(r: Row): ApiKeyRow {
  return {
    id: String(r.id), name: text(r.name), hint: text(r.hint),
    source: r.source as ApiKeySource, createdAt: String(r.created_at), revokedAt: text(r.revoked_at),
    status: r.status as ApiKeyStatus, workspaceId: text(r.workspace_id), role: String(r.role), expiresAt: text(r.expires_at),
    lastUsedAt: text(r.last_used_at), createdBy: text(r.created_by),
  };
}

export function fileRow(r: Row): FileRow {
  return { file: JSON.parse(String(r.data)), scopeId: text(r.scope_id), expiresAt: text(r.expires_at), sha256: String(r.sha256), workspaceId: String(r.workspace_id) };
}

export function credentialRow(r: Row): CredentialRow {
  const credential = JSON.parse(String(r.data));
  credential.archived_at = text(r.archived_at);
  return { credential, key: String(r.key), sealed: text(r.sealed), sealedKeyId: text(r.sealed_key_id) };
}

export function workRow(r: Row): WorkRow {
  const work = JSON.parse(String(r.data));
  work.state = r.state as WorkState;
  return {
    work, polledAt: num(r.polled_at), leaseExpiresAt: num(r.lease_expires_at), ttlSeconds: Number(r.ttl_seconds), tokenHash: text(r.token_hash),
  };
}

/**
 * Work items waiting for a worker at `?` (ms epoch): never handed out, or with a lapsed lease. The
 * `waiting` figure of `queueStats` and `waitingTotal`.
 */
export const WORK_WAITING = "(state = 'queued' AND polled_at IS NULL) OR (state IN ('starting', 'active') AND lease_expires_at < ?)";

/** The idempotency_keys row of one key: the WHERE clause and its parameters. */
export const IDEMPOTENCY_WHERE = 'scope = ? AND method = ? AND path = ? AND key = ?';
export const idempotencyParams = (id: IdempotencyKey) => [id.scope, id.method, id.path, id.key] as const;

export function idempotencyRecord(r: Row): IdempotencyRecord {
  return {
    fingerprint: String(r.fingerprint),
    claimId: String(r.claim_id),
    createdAt: Number(r.created_at),
    response: r.status === null || r.status === undefined
      ? null
      : { status: Number(r.status), contentType: String(r.content_type), body: String(r.body) },
  };
}

export function packageLayerRow(r: Row): PackageLayerRow {
  return {
    key: String(r.key),
    packages: JSON.parse(String(r.packages)) as Record<string, string[]>,
    status: String(r.status) as PackageLayerStatus,
    error: text(r.error),
    logTail: text(r.log_tail),
    createdAt: String(r.created_at),
    startedAt: text(r.started_at),
    finishedAt: text(r.finished_at),
    leaseOwner: text(r.lease_owner),
    leaseExpiresAt: num(r.lease_expires_at),
  };
}

export const spendLimitRow = (r: Row): SpendLimitRow => ({ limit: JSON.parse(String(r.data)), scopeKey: String(r.scope_key) });

export const spendLedgerRow = (r: Row): SpendLedgerRow => ({
  scope: String(r.scope), month: String(r.month), spentMicros: Number(r.spent_micros), reservedMicros: Number(r.reserved_micros),
});
