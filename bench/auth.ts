// Authentication + workspace scoping cost per request (issue 11, target ≤ 0.1 ms p50/p99): the
// pipeline every API request runs before its handler — credential lookup by hash (with expiry and
// the minute-grained last-use stamp), workspace selection from the `anthropic-workspace-id` header,
// the credential's route audience (scopes.ts), the role's permission (route-permissions.ts), and the
// guard that the addressed resource is in the request's workspace. Measured in-process on a file
// SQLite store with 1,000 keys and 1,000 agents in 10 workspaces (and on PostgreSQL when
// HANGAR_BENCH_DATABASE_URL is set), so the figure is the pipeline, not HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../src/adapters/store-sqlite/sqlite-store.ts';
import { PgStore } from '../src/adapters/store-postgres/pg-store.ts';
import { WorkQueue } from '../src/harness/work-queue.ts';
import { systemClock } from '../src/ports/clock.ts';
import type { Store } from '../src/ports/store.ts';
import { hashKey } from '../src/server/auth.ts';
import { authorize } from '../src/server/scopes.ts';
import { authorizeRole } from '../src/server/route-permissions.ts';
import { assertInWorkspace, selectWorkspace } from '../src/server/workspace-scope.ts';
import { ms, summarize } from './lib.ts';

export interface AuthBenchOptions {
  requests: number;
  warmup: number;
}

const KEYS = 1000;
const WORKSPACES = 10;
const AGENTS = 1000;

async function seed(store: Store): Promise<{ bound: string; org: string; agent: string; workspace: string }> {
  const fixtures = { bound: 'sk-hangar-bench-1', org: 'sk-hangar-bench-0', agent: 'agent_bench1', workspace: 'wrkspc_bench1' };
  if (await store.workspaces.get('wrkspc_bench0')) return fixtures; // a database seeded by an earlier run
  const now = new Date().toISOString();
  for (let w = 0; w < WORKSPACES; w++) {
    await store.workspaces.insert({ type: 'workspace', id: `wrkspc_bench${w}`, name: `bench ${w}`, created_at: now, archived_at: null });
  }
  for (let i = 0; i < KEYS; i++) {
    await store.apiKeys.insert(`key_bench${i}`, hashKey(`sk-hangar-bench-${i}`), now, {
      name: `k${i}`, source: 'api', workspaceId: i === 0 ? null : `wrkspc_bench${i % WORKSPACES}`, role: i % 2 ? 'developer' : 'admin',
    });
  }
  for (let i = 0; i < AGENTS; i++) {
    await store.agents.insert({ type: 'agent', id: `agent_bench${i}`, version: 1, created_at: now }, `wrkspc_bench${i % WORKSPACES}`);
  }
  // key 1 is bound to wrkspc_bench1; agent 1 lives there too.
  return fixtures;
}

async function measure(store: Store, label: string, o: AuthBenchOptions): Promise<void> {
  const f = await seed(store);
  const work = new WorkQueue({ store, clock: systemClock });
  const route = { method: 'GET', url: '/v1/agents/:id', params: { id: f.agent } };
  const cases: Array<{ name: string; key: string; headers: Record<string, string> }> = [
    { name: 'bound key, no header', key: f.bound, headers: {} },
    { name: 'organization key + anthropic-workspace-id', key: f.org, headers: { 'anthropic-workspace-id': f.workspace } },
  ];
  for (const c of cases) {
    const once = async () => {
      const p = await selectWorkspace(await work.authenticate(c.key), c.headers, route.method, store);
      authorize(p, route);
      authorizeRole(p, route);
      await assertInWorkspace(store, p.workspaceId, route);
    };
    for (let i = 0; i < o.warmup; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < o.requests; i++) {
      const t0 = performance.now();
      await once();
      samples.push(performance.now() - t0);
    }
    const s = summarize(samples);
    console.log(`  ${label}, ${c.name}: p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, mean ${ms(s.mean)}, max ${ms(s.max)} over ${s.n} requests (target ≤ 0.10 ms)`);
  }
}

export async function benchAuth(o: AuthBenchOptions): Promise<void> {
  console.log(`auth + workspace scoping per request (${KEYS} keys, ${WORKSPACES} workspaces, ${AGENTS} agents; GET /v1/agents/:id pipeline):`);
  const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-auth-'));
  const sqlite = new SqliteStore(join(dir, 'hangar.db'));
  try {
    await measure(sqlite, 'SQLite', o);
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const pgUrl = process.env.HANGAR_BENCH_DATABASE_URL;
  if (pgUrl) {
    const pg = await PgStore.open(pgUrl);
    try {
      await measure(pg, 'PostgreSQL', o);
    } finally {
      await pg.close();
    }
  }
}
