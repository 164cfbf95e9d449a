// The API key columns and their mapping to ApiKeyRow, shared by the SQLite and PostgreSQL stores
// (same columns on both).
import type { ApiKeyRow, ApiKeySource, ApiKeyStatus } from '../../ports/store.ts';

type Row = Record<string, unknown>;

export const API_KEY_COLUMNS = 'id, name, hint, source, created_at, revoked_at, status, workspace_id, role, expires_at, last_used_at, created_by';

export function apiKeyRow(r: Row): ApiKeyRow {
  const opt = (v: unknown) => (v as string | null | undefined) ?? null;
  return {
    id: String(r.id), name: opt(r.name), hint: opt(r.hint),
    source: r.source as ApiKeySource, createdAt: String(r.created_at), revokedAt: opt(r.revoked_at),
    status: r.status as ApiKeyStatus, workspaceId: opt(r.workspace_id), role: String(r.role), expiresAt: opt(r.expires_at),
    lastUsedAt: opt(r.last_used_at), createdBy: opt(r.created_by),
  };
}
