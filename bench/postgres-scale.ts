// `npm run bench -- postgres-scale`: turns per second with 1 node vs 3 nodes on one PostgreSQL
// (HANGAR_TEST_DATABASE_URL, else a throwaway cluster from test/kit/pg-cluster.sh). Real node
// processes (test/kit/pg-nodes.ts) against the scripted fake upstream; N concurrent sessions each
// run one turn at a time (send → session.status_idle on its own stream, on the node it was sent to),
// spread round-robin over the nodes. Per configuration it prints turns/s in a steady-state window,
// the CPU each node process and the PostgreSQL backends used, the backend count, and what the
// database saw per turn (commits, rows written, NOTIFYs received by one extra listener).
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import pg from 'pg';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startNodeCluster, type NodeCluster } from '../test/kit/pg-nodes.ts';
import { postgresServerUrl } from '../test/kit/postgres.ts';
import { EventTap, MODEL, ms, pool, summarize, userMessage } from './lib.ts';

export interface PostgresScaleOptions {
  sessions: number;
  /** Node counts to compare, in order (the first is the baseline of the ratio). */
  nodeCounts: number[];
  /** Seconds of turns before the measured window (JIT, prepared statements, keep-alive sockets). */
  warmupSeconds: number;
  /** Seconds of the measured window. */
  seconds: number;
  /** Also print the queries seen waiting on a lock. */
  debug?: boolean;
}

const TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process in seconds, or undefined when it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS; // fields 14 and 15 of stat(5)
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine (all processes, all cores) from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - (cpu[4] ?? 0), total }; // idle and iowait are not busy
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

interface DbCounters { commits: number; inserted: number; updated: number; backends: number; backendPids: number[] }

/** CPU seconds of each PostgreSQL backend process of the database. */
const backendCpu = (db: DbCounters) => new Map(db.backendPids.map((p) => [p, cpuSeconds(p) ?? 0]));

type Sql = NodeCluster['sql'];

/** `cluster.sql` one query at a time (it is one connection; the samplers and snapshots overlap). */
function serialSql(cluster: NodeCluster): Sql {
  let last: Promise<unknown> = Promise.resolve();
  return (text, params) => {
    const next = last.catch(() => {}).then(() => cluster.sql(text, params));
    last = next;
    return next;
  };
}

async function dbCounters(sql: Sql): Promise<DbCounters> {
  const [s] = await sql('SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = current_database()');
  const rows = await sql('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  return {
    commits: Number(s.xact_commit), inserted: Number(s.tup_inserted), updated: Number(s.tup_updated),
    backends: rows.length, backendPids: rows.map((r) => Number(r.pid)),
  };
}

interface Result { nodes: number; turnsPerSecond: number }

async function runConfiguration(server: string, upstreamUrl: string, nodes: number, opts: PostgresScaleOptions): Promise<Result> {
  const cluster = await startNodeCluster({ serverUrl: server, upstreamUrl, nodes, env: { HANGAR_SANDBOX: 'unsafe-local' } });
  const sql = serialSql(cluster);
  // One extra listener counts what the nodes NOTIFY (every listener receives each notification).
  const listener = new pg.Client({ connectionString: cluster.db.url });
  await listener.connect();
  let notifies = 0;
  let allNotifies = 0;
  let allNotifyBytes = 0;
  let notifyBytes = 0;
  let counting = false;
  listener.on('notification', (n) => {
    allNotifies++;
    allNotifyBytes += Buffer.byteLength(n.payload ?? '');
    if (!counting) return;
    notifies++;
    notifyBytes += Buffer.byteLength(n.payload ?? '');
  });
  await listener.query('LISTEN hangar_nodes');
  const taps: EventTap[] = [];
  try {
    const first = cluster.nodes[0].client;
    const agent = await first.beta.agents.create({ name: `bench-${randomBytes(3).toString('hex')}`, model: MODEL });
    const env = await first.beta.environments.create({ name: `bench-${randomBytes(3).toString('hex')}` });
    // Session i lives on node i % nodes: created, streamed and sent to there (a load balancer with
    // session affinity); the node that receives the input drives the turn.
    const sessions: Array<{ id: string; node: number; tap: EventTap }> = [];
    await pool(Array.from({ length: opts.sessions }), 20, async (_, i) => {
      const node = i % nodes;
      const client = cluster.nodes[node].client;
      const id = (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
      const tap = await EventTap.open(client, id);
      taps.push(tap);
      sessions.push({ id, node, tap });
    });

    // Whole-run database counters: baseline once setup's statistics are flushed (PostgreSQL flushes
    // a backend's counters at most once a second), final after the nodes exited (exit flushes).
    await new Promise((r) => setTimeout(r, 1500));
    const baseline = await dbCounters(sql);
    allNotifies = 0;
    allNotifyBytes = 0;
    let allTurns = 0;
    const t0 = performance.now();
    const windowStart = t0 + opts.warmupSeconds * 1000;
    const windowEnd = windowStart + opts.seconds * 1000;
    const doneAt: number[] = [];
    const latencies: number[] = [];
    const failures: string[] = [];
    let before: { cpu: number[]; db: DbCounters; pgCpu: Map<number, number>; self: NodeJS.CpuUsage; machine: { busy: number; total: number } } | undefined;
    const snapshot = async () => {
      const db = await dbCounters(sql);
      return {
        cpu: cluster.nodes.map((n) => cpuSeconds(n.pid) ?? NaN), db,
        pgCpu: backendCpu(db), self: process.cpuUsage(), machine: machineJiffies(),
      };
    };
    let maxBackends = 0;
    // What the backends are doing, sampled in the window: where a limit that is not CPU shows.
    const waits = new Map<string, number>();
    let samples = 0;
    const blocked = new Map<string, number>();
    const sampler = setInterval(() => {
      void dbCounters(sql).then((c) => { maxBackends = Math.max(maxBackends, c.backends); }, () => {});
      if (!counting) return;
      samples++;
      void sql(`SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1, 2`).then((rows) => {
        for (const r of rows) {
          const key = r.state === 'active' ? `active ${String(r.w)}` : String(r.state);
          waits.set(key, (waits.get(key) ?? 0) + Number(r.n));
        }
      }, () => {});
      if (opts.debug) {
        void sql(`SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS q, count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' GROUP BY 1`).then((rows) => {
          for (const r of rows) blocked.set(String(r.q), (blocked.get(String(r.q)) ?? 0) + Number(r.n));
        }, () => {});
      }
    }, 200);
    let after: typeof before;
    const startWindow = setTimeout(() => {
      void snapshot().then((s) => { before = s; counting = true; });
    }, windowStart - performance.now());
    const endWindow = setTimeout(() => {
      counting = false;
      void snapshot().then((s) => { after = s; });
    }, windowEnd - performance.now());
    try {
      await Promise.all(sessions.map(async (s) => {
        const client = cluster.nodes[s.node].client;
        let turn = 0;
        while (performance.now() < windowEnd) {
          const idle = s.tap.next('session.status_idle', 60_000);
          const sent = performance.now();
          try {
            await client.beta.sessions.events.send(s.id, userMessage(`turn ${turn++}`));
            const at = await idle;
            allTurns++;
            if (at >= windowStart && at < windowEnd) {
              doneAt.push(at);
              latencies.push(at - sent);
            }
          } catch (err) {
            idle.catch(() => {});
            failures.push(`${s.id}: ${(err as Error).message}`);
            return;
          }
        }
      }));
    } finally {
      clearInterval(sampler);
      clearTimeout(startWindow);
      clearTimeout(endWindow);
    }
    // Sessions overrun the window by at most one turn; the counters are taken at its two ends.
    for (let i = 0; i < 100 && !after; i++) await new Promise((r) => setTimeout(r, 50));
    if (!before || !after) throw new Error('the measured window has no counters');
    const elapsed = opts.seconds;
    const windowTurns = doneAt.length;
    const tps = windowTurns / opts.seconds;
    const nodeCpu = after.cpu.map((c, i) => c - before!.cpu[i]);
    const b = before;
    const selfCpu = (after.self.user + after.self.system - before.self.user - before.self.system) / 1e6;
    const l = summarize(latencies);
    for (const t of taps.splice(0)) t.close();
    await Promise.all(cluster.nodes.map((n) => n.stop()));
    await new Promise((r) => setTimeout(r, 500));
    const final = await dbCounters(sql);
    const perTurn = (x: number) => (x / allTurns).toFixed(1);
    console.log(`postgres scale: ${nodes} node${nodes > 1 ? 's' : ''}, ${opts.sessions} sessions one turn at a time: ${tps.toFixed(0)} turns/s ` +
      `(${windowTurns} turns in ${opts.seconds} s), turn p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`);
    console.log(`  CPU per node over ${elapsed.toFixed(1)} s: ${nodeCpu.map((c) => `${(c / elapsed * 100).toFixed(0)}%`).join(', ')}; ` +
      `PostgreSQL backends of this database ${(sum([...after.pgCpu].map(([p, c]) => c - (b.pgCpu.get(p) ?? 0))) / elapsed * 100).toFixed(0)}%; ` +
      `bench client + fake upstream ${(selfCpu / elapsed * 100).toFixed(0)}%; whole machine ` +
      `${((after.machine.busy - b.machine.busy) / Math.max(1, after.machine.total - b.machine.total) * 100).toFixed(0)}% busy of ${cpus().length} cores (other users included)`);
    console.log(`  PostgreSQL backends on the database: ${after.db.backends} (max sampled ${maxBackends}, one is the bench's own listener); ` +
      `${notifies} notifications in the window (${(notifies / elapsed).toFixed(0)}/s, ${(notifyBytes / elapsed / 1024).toFixed(0)} KiB/s to each listener)`);
    console.log(`  backends by state (mean over ${samples} samples): ${[...waits].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, n]) => `${k} ${(n / Math.max(1, samples)).toFixed(1)}`).join(', ')}`);
    for (const [q, n] of [...blocked].sort((x, y) => y[1] - x[1]).slice(0, 8)) console.log(`  waiting on a lock (${n}): ${q}`);
    console.log(`  per turn over the whole run (${allTurns} turns): ${perTurn(final.commits - baseline.commits)} transactions (autocommit statements included), ` +
      `${perTurn(final.inserted - baseline.inserted)} rows inserted, ${perTurn(final.updated - baseline.updated)} rows updated, ` +
      `${perTurn(allNotifies)} notifications to each listener (${perTurn(allNotifyBytes)} payload bytes)`);
    if (failures.length) console.log(`  failures (${failures.length}): ${failures.slice(0, 5).join('; ')}`);
    return { nodes, turnsPerSecond: tps };
  } finally {
    for (const t of taps) t.close();
    await listener.end().catch(() => {});
    await cluster.close();
  }
}

export async function benchPostgresScale(opts: PostgresScaleOptions): Promise<void> {
  const server = await postgresServerUrl();
  if (!server) {
    console.log('postgres-scale: skipped (no HANGAR_TEST_DATABASE_URL and no initdb to start a throwaway cluster)');
    return;
  }
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'a short answer' }] }));
  // The fake records every request; drop them as the run goes (it would otherwise hold them all).
  const drain = setInterval(() => { up.requests.length = 0; }, 1000);
  try {
    const results: Result[] = [];
    for (const n of opts.nodeCounts) results.push(await runConfiguration(server, up.url, n, opts));
    const base = results[0];
    for (const r of results.slice(1)) {
      console.log(`postgres scale: ${r.nodes} nodes / ${base.nodes} node${base.nodes > 1 ? 's' : ''} = ${(r.turnsPerSecond / base.turnsPerSecond).toFixed(2)}× turns/s`);
    }
  } finally {
    clearInterval(drain);
    await up.close();
  }
}
