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
    // Workspaces (issue 11), as SQLite migration 7: the workspaces table and the default workspace,
    // workspace_id on every top-level resource, environment names unique per workspace, and API key
    // workspace binding, role, status, expiry, last use and creator.
    version: 2,
    sql: `
      CREATE TABLE workspaces (
        seq BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      INSERT INTO workspaces (id, data) VALUES ('wrkspc_default', json_build_object(
        'type', 'workspace', 'id', 'wrkspc_default', 'name', 'Default', 'created_at', '1970-01-01T00:00:00.000Z',
        'archived_at', NULL, 'display_color', '#6C5BB9', 'tags', json_build_object(), 'external_key_id', NULL,
        'user_profile_id', NULL, 'compartment_id', 'wrkspc_default',
        'data_residency', json_build_object('workspace_geo', 'us', 'allowed_inference_geos', 'unrestricted', 'default_inference_geo', 'global'))::text);
      ALTER TABLE agents ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE sessions ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE files ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE vaults ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE environments ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE environments DROP CONSTRAINT environments_name_key;
      ALTER TABLE environments ADD CONSTRAINT environments_workspace_name_key UNIQUE (workspace_id, name);
      CREATE INDEX agents_by_workspace ON agents (workspace_id, seq);
      CREATE INDEX sessions_by_workspace ON sessions (workspace_id, seq);
      CREATE INDEX files_by_workspace ON files (workspace_id, seq);
      CREATE INDEX vaults_by_workspace ON vaults (workspace_id, seq);
      ALTER TABLE api_keys ADD COLUMN workspace_id TEXT;
      ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
      ALTER TABLE api_keys ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
      ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
      ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
      ALTER TABLE api_keys ADD COLUMN created_by TEXT;
      UPDATE api_keys SET status = 'inactive' WHERE revoked_at IS NOT NULL;
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
  {
    // Long sessions (issue 14): a sparse \`types[]\` page of a long session is a range scan of this
    // index instead of a walk of every event of the session.
    version: 5,
    sql: 'CREATE INDEX events_by_session_type ON events (session_id, type, seq);',
  },
  {
    // Package layer builds (issue 15), as SQLite migration 11.
    version: 6,
    sql: `
      CREATE TABLE package_layers (
        key TEXT PRIMARY KEY, packages TEXT NOT NULL, status TEXT NOT NULL, error TEXT, log_tail TEXT,
        created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, lease_owner TEXT, lease_expires_at BIGINT);
      CREATE INDEX package_layers_waiting ON package_layers (status, created_at);
    `,
  },
];

/** The tables `hangar db migrate-to-postgres` copies, parents before children (no foreign keys, but a reader expects that order). */
export const PORTABLE_TABLES = [
  'workspaces', 'api_keys', 'agents', 'agent_versions', 'environments', 'sessions', 'events', 'files', 'output_captures',
  'environment_keys', 'work_items', 'work_pollers', 'vaults', 'vault_credentials', 'key_check', 'idempotency_keys', 'package_layers',
  // Issue 11 (SQLite migration 8 / PostgreSQL 3).
  'spend_limits', 'spend_ledger', 'spend_waits', 'audit_events', 'telemetry_destinations',
] as const;
