// SQLite vs PostgreSQL on one node (`npm run bench -- postgres`): per-turn platform overhead (the
// method of turn-overhead.ts: POST user.message → agent.message on an open stream, minus the model
// call), session create and list latency through the SDK, and the session-log commit path on the
// store port (one commit of 1, 10 or 100 events: latency and events/s). PostgreSQL is
// HANGAR_TEST_DATABASE_URL, or a throwaway local cluster started by the test kit (fsync off: the
// figures are the platform's, not the disk's; SQLite runs in WAL mode with synchronous=NORMAL).
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { EventTap, ms, sessionFactory, startRig, summarize, timedTurn, warmUp, type BenchRig } from './lib.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../test/kit/postgres.ts';
import type { StoredEvent } from '../src/ports/store.ts';

export interface PostgresStoreOptions {
  turns: number;
  warmup: number;
  creates: number;
  lists: number;
  /** Commits per batch size in the log-commit figure. */
  commits: number;
  batches: number[];
}

interface Figures {
  overhead: ReturnType<typeof summarize>;
  create: ReturnType<typeof summarize>;
  list: ReturnType<typeof summarize>;
  commit: Array<{ batch: number; latency: ReturnType<typeof summarize>; eventsPerSecond: number }>;
}

async function measure(rig: BenchRig, opts: PostgresStoreOptions): Promise<Figures> {
  const { client, model } = rig;
  const newSession = await sessionFactory(client);

  await warmUp(client, await newSession(), opts.warmup);

  const sessionId = await newSession();
  const tap = await EventTap.open(client, sessionId);
  const overhead: number[] = [];
  try {
    for (let i = 0; i < opts.turns; i++) overhead.push((await timedTurn(client, model, tap, sessionId, `turn ${i}`)).overhead);
  } finally {
    tap.close();
  }

  const create: number[] = [];
  for (let i = 0; i < opts.creates; i++) {
    const t0 = performance.now();
    await newSession();
    create.push(performance.now() - t0);
  }
  const list: number[] = [];
  for (let i = 0; i < opts.lists; i++) {
    const t0 = performance.now();
    await client.beta.sessions.list({ limit: 20 });
    list.push(performance.now() - t0);
  }

  // The log's commit path on the store port, as the harness uses it: one transaction per commit.
  const store = rig.h.hangar.store;
  const commit: Figures['commit'] = [];
  for (const batch of opts.batches) {
    const target = await newSession();
    const latency: number[] = [];
    const t0 = performance.now();
    for (let c = 0; c < opts.commits; c++) {
      const events: Array<StoredEvent['event']> = Array.from({ length: batch }, (_, k) => ({
        id: `sevt_bench${randomBytes(8).toString('hex')}`, type: 'agent.message', processed_at: new Date().toISOString(),
        content: [{ type: 'text', text: `event ${c}.${k} of a benchmark commit` }],
      }));
      const s = performance.now();
      await store.sessions.commit(target, () => ({ now: new Date().toISOString(), events }));
      latency.push(performance.now() - s);
    }
    const seconds = (performance.now() - t0) / 1000;
    commit.push({ batch, latency: summarize(latency), eventsPerSecond: (batch * opts.commits) / seconds });
  }
  return { overhead: summarize(overhead), create: summarize(create), list: summarize(list), commit };
}

export async function benchPostgresStore(opts: PostgresStoreOptions): Promise<void> {
  const server = await postgresServerUrl();
  if (!server) {
    console.log('postgres: skipped (no HANGAR_TEST_DATABASE_URL and no local initdb to start a cluster)');
    return;
  }
  const results: Record<string, Figures> = {};
  for (const kind of ['sqlite', 'postgres'] as const) {
    let db: TestDatabase | undefined;
    const env: Record<string, string> = {};
    if (kind === 'postgres') {
      db = await createTestDatabase(server);
      Object.assign(env, { HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: randomBytes(32).toString('base64') });
    }
    const rig = await startRig({ env });
    try {
      results[kind] = await measure(rig, opts);
    } finally {
      await rig.close();
      await db?.drop();
    }
  }
  const row = (label: string, f: (x: Figures) => string) => console.log(`  ${label.padEnd(44)} ${f(results.sqlite).padEnd(34)} ${f(results.postgres)}`);
  const pct = (s: ReturnType<typeof summarize>) => `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`;
  console.log(`store: SQLite vs PostgreSQL, one node (${opts.turns} turns, ${opts.creates} creates, ${opts.lists} lists, ${opts.commits} commits per batch size)`);
  console.log(`  ${''.padEnd(44)} ${'SQLite'.padEnd(34)} PostgreSQL`);
  row('turn overhead (minus the model call)', (x) => pct(x.overhead));
  row('session create (SDK round trip)', (x) => pct(x.create));
  row('session list, limit 20 (SDK round trip)', (x) => pct(x.list));
  for (let i = 0; i < opts.batches.length; i++) {
    const b = opts.batches[i];
    row(`log commit of ${b} event${b === 1 ? '' : 's'} (store port)`, (x) => pct(x.commit[i].latency));
    row(`  events/s, sequential commits of ${b}`, (x) => `${Math.round(x.commit[i].eventsPerSecond).toLocaleString('en-US')}`);
  }
}
