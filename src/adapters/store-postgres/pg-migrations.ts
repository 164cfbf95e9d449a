// Numbered schema migrations for the PostgreSQL store. Append new ones; never edit an applied one.
// Version 1 is the SQLite schema of migrations 1-6 in one step (same tables, columns and meaning),
// plus two bookkeeping columns on sessions for the per-node log cache (`log_rev`, bumped by every
// write to a session's log, and `log_head`, its last event seq). Instants stay RFC 3339 text and
// ms-epoch integers exactly as on SQLite, so `hangar db migrate-to-postgres` copies values as-is.
export const PG_MIGRATIONS: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE api_keys (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL, created_at TEXT NOT NULL,
        name TEXT, hint TEXT, source TEXT NOT NULL DEFAULT 'legacy', revoked_at TEXT);
      CREATE TABLE agents (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, version INTEGER NOT NULL,
        created_at TEXT NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE agent_versions (
        agent_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (agent_id, version));
      CREATE TABLE environments (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
        archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE sessions (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, status TEXT NOT NULL,
        agent_id TEXT NOT NULL, agent_version INTEGER NOT NULL, created_at TEXT NOT NULL, archived_at TEXT,
        running_since BIGINT, retry_count INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT, lease_expires_at BIGINT, pending_wake INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL,
        log_rev BIGINT NOT NULL DEFAULT 0, log_head BIGINT NOT NULL DEFAULT 0);
      CREATE INDEX sessions_wake ON sessions (status, lease_expires_at);
      CREATE INDEX sessions_pending_wake ON sessions (seq) WHERE pending_wake = 1;
      CREATE TABLE events (
        seq BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL, id TEXT UNIQUE NOT NULL,
        type TEXT NOT NULL, created_at TEXT NOT NULL, processed_at TEXT, processed_seq BIGINT, data TEXT NOT NULL);
      CREATE INDEX events_by_session ON events (session_id, seq);

      CREATE TABLE files (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, scope_id TEXT, expires_at TEXT,
        sha256 TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX files_by_scope ON files (scope_id, seq);
      CREATE INDEX files_by_expiry ON files (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE output_captures (
        session_id TEXT NOT NULL, path TEXT NOT NULL, size_bytes BIGINT NOT NULL, mtime_ms DOUBLE PRECISION NOT NULL,
        sha256 TEXT NOT NULL, file_id TEXT NOT NULL, PRIMARY KEY (session_id, path));

      CREATE TABLE environment_keys (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, environment_id TEXT NOT NULL,
        hash TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
      CREATE INDEX environment_keys_by_env ON environment_keys (environment_id, seq);
      CREATE TABLE work_items (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, environment_id TEXT NOT NULL,
        session_id TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, polled_at BIGINT, lease_expires_at BIGINT,
        ttl_seconds INTEGER NOT NULL, token_hash TEXT UNIQUE, data TEXT NOT NULL);
      CREATE INDEX work_items_queue ON work_items (environment_id, state, seq);
      CREATE INDEX work_items_by_session ON work_items (session_id, state);
      CREATE TABLE work_pollers (
        environment_id TEXT NOT NULL, worker_id TEXT NOT NULL, last_seen_at BIGINT NOT NULL,
        PRIMARY KEY (environment_id, worker_id));

      CREATE TABLE vaults (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE vault_credentials (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, vault_id TEXT NOT NULL, key TEXT NOT NULL,
        archived_at TEXT, sealed TEXT, sealed_key_id TEXT, data TEXT NOT NULL);
      CREATE INDEX vault_credentials_by_vault ON vault_credentials (vault_id, seq);
      CREATE UNIQUE INDEX vault_credentials_active_key ON vault_credentials (vault_id, key) WHERE archived_at IS NULL;
      CREATE INDEX vault_credentials_by_sealing_key ON vault_credentials (sealed_key_id) WHERE sealed IS NOT NULL;
      CREATE TABLE key_check (
        id INTEGER PRIMARY KEY CHECK (id = 1), sealed TEXT NOT NULL, key_id TEXT NOT NULL, updated_at TEXT NOT NULL);

      CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
        fingerprint TEXT NOT NULL, claim_id TEXT NOT NULL, created_at BIGINT NOT NULL,
        status INTEGER, content_type TEXT, body TEXT, PRIMARY KEY (scope, method, path, key));
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    `,
  },
  {
    // Spend limits (issue 11), as SQLite migration 8: limits keyed on (scope, period), each scope's
    // ledger (spend in its current month, reservations in flight) and the sessions waiting for room;
    // the append-only audit log; telemetry destinations (headers sealed with the secret box).
    version: 3,
    sql: `
      CREATE TABLE spend_limits (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, scope_key TEXT NOT NULL, scope_type TEXT NOT NULL,
        workspace_id TEXT, period TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (scope_key, period));
      CREATE TABLE spend_ledger (
        scope TEXT PRIMARY KEY, month TEXT NOT NULL, spent_micros BIGINT NOT NULL DEFAULT 0, reserved_micros BIGINT NOT NULL DEFAULT 0);
      CREATE TABLE spend_waits (session_id TEXT PRIMARY KEY, scopes TEXT NOT NULL, month TEXT NOT NULL);
      CREATE TABLE audit_events (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, created_at TEXT NOT NULL, actor_id TEXT, resource_type TEXT NOT NULL,
        resource_id TEXT, workspace_id TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX audit_events_by_time ON audit_events (created_at);
      CREATE TABLE telemetry_destinations (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, revision INTEGER NOT NULL, sealed TEXT, sealed_key_id TEXT, data TEXT NOT NULL);
    `,
  },
];

/** The tables `hangar db migrate-to-postgres` copies, parents before children (no foreign keys, but a reader expects that order). */
export const PORTABLE_TABLES = [
  'api_keys', 'agents', 'agent_versions', 'environments', 'sessions', 'events', 'files', 'output_captures',
  'environment_keys', 'work_items', 'work_pollers', 'vaults', 'vault_credentials', 'key_check', 'idempotency_keys',
  // Issue 11 (SQLite migration 8 / PostgreSQL 3).
  'spend_limits', 'spend_ledger', 'spend_waits', 'audit_events', 'telemetry_destinations',
] as const;
