// Numbered schema migrations for the SQLite store. Append new ones; never edit an applied one.
export const MIGRATIONS: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE api_keys (id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE agents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, version INTEGER NOT NULL,
        created_at TEXT NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE agent_versions (
        agent_id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (agent_id, version));
      CREATE TABLE environments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,
        archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE sessions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, status TEXT NOT NULL,
        agent_id TEXT NOT NULL, agent_version INTEGER NOT NULL, created_at TEXT NOT NULL, archived_at TEXT,
        running_since INTEGER, retry_count INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT, lease_expires_at INTEGER, pending_wake INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
      CREATE INDEX sessions_wake ON sessions (status, lease_expires_at);
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, id TEXT UNIQUE NOT NULL,
        type TEXT NOT NULL, created_at TEXT NOT NULL, processed_at TEXT, processed_seq INTEGER, data TEXT NOT NULL);
      CREATE INDEX events_by_session ON events (session_id, seq);
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE files (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, scope_id TEXT, expires_at TEXT,
        sha256 TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX files_by_scope ON files (scope_id, seq);
      CREATE INDEX files_by_expiry ON files (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE output_captures (
        session_id TEXT NOT NULL, path TEXT NOT NULL, size_bytes INTEGER NOT NULL, mtime_ms INTEGER NOT NULL,
        sha256 TEXT NOT NULL, file_id TEXT NOT NULL, PRIMARY KEY (session_id, path));
    `,
  },
  {
    // Self-hosted environments: environment keys (hash only), work items with their lease columns
    // (`data` is the wire object without the secret), and the worker ids recently seen polling.
    version: 3,
    sql: `
      CREATE TABLE environment_keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, environment_id TEXT NOT NULL,
        hash TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
      CREATE INDEX environment_keys_by_env ON environment_keys (environment_id, seq);
      CREATE TABLE work_items (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, environment_id TEXT NOT NULL,
        session_id TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, polled_at INTEGER, lease_expires_at INTEGER,
        ttl_seconds INTEGER NOT NULL, token_hash TEXT UNIQUE, data TEXT NOT NULL);
      CREATE INDEX work_items_queue ON work_items (environment_id, state, seq);
      CREATE INDEX work_items_by_session ON work_items (session_id, state);
      CREATE TABLE work_pollers (
        environment_id TEXT NOT NULL, worker_id TEXT NOT NULL, last_seen_at INTEGER NOT NULL,
        PRIMARY KEY (environment_id, worker_id));
    `,
  },
  {
    // Vaults and credentials. Credentials keep their wire object (no secrets) in `data` and their
    // secrets only as secret-box ciphertext in `sealed` (NULL once archived). `key` is unique among
    // a vault's active credentials. `key_check` holds the sealed master-key check value.
    version: 4,
    sql: `
      CREATE TABLE vaults (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      CREATE TABLE vault_credentials (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, vault_id TEXT NOT NULL, key TEXT NOT NULL,
        archived_at TEXT, sealed TEXT, sealed_key_id TEXT, data TEXT NOT NULL);
      CREATE INDEX vault_credentials_by_vault ON vault_credentials (vault_id, seq);
      CREATE UNIQUE INDEX vault_credentials_active_key ON vault_credentials (vault_id, key) WHERE archived_at IS NULL;
      CREATE INDEX vault_credentials_by_sealing_key ON vault_credentials (sealed_key_id) WHERE sealed IS NOT NULL;
      CREATE TABLE key_check (
        id INTEGER PRIMARY KEY CHECK (id = 1), sealed TEXT NOT NULL, key_id TEXT NOT NULL, updated_at TEXT NOT NULL);
    `,
  },
  {
    // Revocable API keys (issue 9): a name, a hint of the key's last characters, where the key came
    // from (see ApiKeySource; rows from before are `legacy`) and when it was revoked.
    version: 5,
    sql: `
      ALTER TABLE api_keys ADD COLUMN name TEXT;
      ALTER TABLE api_keys ADD COLUMN hint TEXT;
      ALTER TABLE api_keys ADD COLUMN source TEXT NOT NULL DEFAULT 'legacy';
      ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
    `,
  },
  {
    // Idempotency keys: one row per (caller, method, path, key) with the request's fingerprint and,
    // once it succeeded, its response. Rows expire after 24 h (swept by created_at).
    version: 6,
    sql: `
      CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
        fingerprint TEXT NOT NULL, claim_id TEXT NOT NULL, created_at INTEGER NOT NULL,
        status INTEGER, content_type TEXT, body TEXT, PRIMARY KEY (scope, method, path, key));
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    `,
  },
  {
    // Workspaces (issue 11): the workspaces table with the default workspace every existing row
    // belongs to; a workspace_id on every top-level resource (children belong through their parent);
    // environment names unique per workspace (a table rebuild: SQLite cannot drop a UNIQUE column
    // constraint); API keys gain a workspace binding (NULL = organization key), a role (existing keys
    // could do everything, so `admin`), a status, an optional expiry, last use and creator.
    version: 7,
    sql: `
      CREATE TABLE workspaces (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, archived_at TEXT, data TEXT NOT NULL);
      INSERT INTO workspaces (id, data) VALUES ('wrkspc_default', json_object(
        'type', 'workspace', 'id', 'wrkspc_default', 'name', 'Default', 'created_at', '1970-01-01T00:00:00.000Z',
        'archived_at', NULL, 'display_color', '#6C5BB9', 'tags', json_object(), 'external_key_id', NULL,
        'user_profile_id', NULL, 'compartment_id', 'wrkspc_default',
        'data_residency', json_object('workspace_geo', 'us', 'allowed_inference_geos', 'unrestricted', 'default_inference_geo', 'global')));
      ALTER TABLE agents ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE sessions ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE files ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      ALTER TABLE vaults ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default';
      CREATE TABLE environments_v7 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
        archived_at TEXT, data TEXT NOT NULL, workspace_id TEXT NOT NULL DEFAULT 'wrkspc_default',
        UNIQUE (workspace_id, name));
      INSERT INTO environments_v7 (seq, id, name, archived_at, data) SELECT seq, id, name, archived_at, data FROM environments;
      DROP TABLE environments;
      ALTER TABLE environments_v7 RENAME TO environments;
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
    // Spend limits (issue 11): limits keyed on (scope, period), the ledger of each scope (spend in its
    // current month, reservations in flight) and the sessions paused until a limit leaves room;
    // the append-only audit log; telemetry destinations (headers sealed with the secret box).
    version: 8,
    sql: `
      CREATE TABLE spend_limits (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, scope_key TEXT NOT NULL, scope_type TEXT NOT NULL,
        workspace_id TEXT, period TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (scope_key, period));
      CREATE TABLE spend_ledger (
        scope TEXT PRIMARY KEY, month TEXT NOT NULL, spent_micros INTEGER NOT NULL DEFAULT 0, reserved_micros INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE spend_waits (session_id TEXT PRIMARY KEY, scopes TEXT NOT NULL, month TEXT NOT NULL);
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, created_at TEXT NOT NULL, actor_id TEXT, resource_type TEXT NOT NULL,
        resource_id TEXT, workspace_id TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX audit_events_by_time ON audit_events (created_at);
      CREATE TABLE telemetry_destinations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, revision INTEGER NOT NULL, sealed TEXT, sealed_key_id TEXT, data TEXT NOT NULL);
    `,
  },
  {
    // Long sessions (issue 14): \`log_rev\`, bumped by every commit that appends to a session's log or
    // marks events processed, lets the harness's in-memory log state check it is current with the
    // session row it reads anyway; the (session_id, type, seq) index makes a sparse \`types[]\` page a
    // range scan instead of a walk of the whole session.
    version: 10,
    sql: `
      ALTER TABLE sessions ADD COLUMN log_rev INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX events_by_session_type ON events (session_id, type, seq);
    `,
  },
  {
    // Package layer builds (issue 15): one row per distinct package list (the layer key), built
    // once under a lease; the layer's files live under <data dir>/package-layers/<key>.
    version: 11,
    sql: `
      CREATE TABLE package_layers (
        key TEXT PRIMARY KEY, packages TEXT NOT NULL, status TEXT NOT NULL, error TEXT, log_tail TEXT,
        created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, lease_owner TEXT, lease_expires_at INTEGER);
      CREATE INDEX package_layers_waiting ON package_layers (status, created_at);
    `,
  },
];
