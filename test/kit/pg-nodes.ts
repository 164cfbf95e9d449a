// Test kit: several real Hangar node processes (`src/server/main.ts`, as `npm start` runs it) on
// one fresh PostgreSQL database — the same HANGAR_DATABASE_URL and HANGAR_MASTER_KEY, each with its
// own HANGAR_NODE_ID, port and data directory (as on separate hosts). Used by test/nodes/ and
// bench/postgres-nodes.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startChildServer, type ChildServer } from './child-server.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface NodeClusterOptions {
  /** A PostgreSQL server (HANGAR_TEST_DATABASE_URL); a fresh database is created on it. */
  serverUrl: string;
  upstreamUrl: string;
  nodes: number;
  /** Extra HANGAR_* variables for every node. */
  env?: Record<string, string>;
}

export interface NodeCluster {
  db: TestDatabase;
  apiKey: string;
  /** The running node processes, by index (node i has HANGAR_NODE_ID `node-<i+1>`). */
  nodes: ChildServer[];
  /** Starts node `i` again (after a kill) on its port, id and data directory. */
  restart(i: number): Promise<ChildServer>;
  /** A query on the cluster's database (admin connection, for inspecting leases and listeners). */
  sql(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function startNodeCluster(opts: NodeClusterOptions): Promise<NodeCluster> {
  const db = await createTestDatabase(opts.serverUrl);
  const apiKey = `sk-nodes-${randomBytes(16).toString('hex')}`;
  const masterKey = randomBytes(32).toString('base64');
  const root = mkdtempSync(join(tmpdir(), 'hangar-nodes-'));
  const nodes: ChildServer[] = [];
  const ports: number[] = [];
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const start = (i: number) => startChildServer({
    dataDir: join(root, `node-${i + 1}`), apiKey, upstreamUrl: opts.upstreamUrl, port: ports[i],
    env: { HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: masterKey, HANGAR_NODE_ID: `node-${i + 1}`, ...opts.env },
  });
  try {
    // One after another: the first migrates and stores the API key, the others find both.
    for (let i = 0; i < opts.nodes; i++) {
      const node = await start(i);
      ports[i] = node.port;
      nodes[i] = node;
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await admin.end();
    await db.drop();
    throw err;
  }
  return {
    db, apiKey, nodes,
    async restart(i) {
      await nodes[i].kill('SIGKILL');
      nodes[i] = await start(i);
      return nodes[i];
    },
    async sql(text, params = []) {
      return (await admin.query(text, params)).rows as Array<Record<string, unknown>>;
    },
    async close() {
      await Promise.all(nodes.map((n) => n.stop()));
      await admin.end().catch(() => {});
      await db.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
