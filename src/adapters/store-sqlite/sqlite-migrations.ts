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
];
