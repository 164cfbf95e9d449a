// Cost of spend-limit enforcement per model request (issue 11): every priced request's span-start
// commit reserves its worst case (ledger rows of the workspace and the organization read, the
// admission check, two upserts) and its answer commit settles it. Measured on the store port: the
// same session commits with and without the ledger work, interleaved, on SQLite (a file in a temp
// dir) and, when HANGAR_BENCH_DATABASE_URL names a PostgreSQL database, on PostgreSQL; plus the
// worst-case estimate of a request (now made for every priced request, not only budgeted ones).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteStore } from '../src/adapters/store-sqlite/sqlite-store.ts';
import { PgStore } from '../src/adapters/store-postgres/pg-store.ts';
import type { Store } from '../src/ports/store.ts';
import { estimatePromptTokens } from '../src/harness/model-step.ts';
import { ms, summarize } from './lib.ts';

export interface SpendBenchOptions { requests: number; warmup: number }

const NOW = new Date().toISOString();

async function measure(store: Store, label: string, opts: SpendBenchOptions): Promise<void> {
  const ws = `wrkspc_bench${Date.now().toString(36)}`;
  await store.spend.putLimit({
    limit: { type: 'spend_limit', id: `spl_bench${Date.now().toString(36)}`, amount: '100000000000', currency: 'USD', is_enabled: true, period: 'monthly', scope: { type: 'workspace', workspace_id: ws }, created_at: NOW, updated_at: NOW },
    scopeKey: `workspace:${ws}`,
  });
  const id = `sesn_bench${Date.now().toString(36)}`;
  await store.sessions.insert({ session: { type: 'session', id, status: 'running', agent: { id: 'agent_x', version: 1 }, created_at: NOW, _workspace_id: ws }, runningSince: 0, retryCount: 0 }, []);
  let n = 0;
  const event = (type: string) => ({ id: `sevt_${Date.now().toString(36)}${(++n).toString(36)}`, type, processed_at: NOW });
  // A model request without ledger work: span start, then the answer (its usage in a plain field).
  const plain = async () => {
    await store.sessions.commit(id, () => ({ now: NOW, events: [event('span.model_request_start')], patch: { fields: { updated_at: NOW } } }));
    await store.sessions.commit(id, (row) => ({ now: NOW, events: [event('span.model_request_end')], patch: { fields: { usage: { n: Number((row.session.usage as { n?: number } | undefined)?.n ?? 0) + 1 } } } }));
  };
  // The same request reserving its worst case, then settling it to its cost.
  const reserved = async () => {
    const rid = `r${n}`;
    await store.sessions.commit(id, (row) => ({ now: NOW, events: [event('span.model_request_start')], patch: { fields: { _reserved: { ...(row.session._reserved as object ?? {}), [rid]: 120_000 } } } }));
    await store.sessions.commit(id, (row) => {
      const left = { ...(row.session._reserved as Record<string, number>) };
      delete left[rid];
      return { now: NOW, events: [event('span.model_request_end')], patch: { fields: { _reserved: left, _cost_micros: Number(row.session._cost_micros ?? 0) + 300 } } };
    });
  };
  const samples = { plain: [] as number[], reserved: [] as number[] };
  for (let i = 0; i < opts.warmup + opts.requests; i++) {
    for (const [mode, run] of [['plain', plain], ['reserved', reserved]] as const) {
      const t0 = performance.now();
      await run();
      if (i >= opts.warmup) samples[mode].push(performance.now() - t0);
    }
  }
  const p = summarize(samples.plain);
  const r = summarize(samples.reserved);
  console.log(`spend (${label}): model request's two commits, no ledger (n=${p.n}): p50 ${ms(p.p50)}, p99 ${ms(p.p99)}`);
  console.log(`spend (${label}): with reserve + settle against a workspace limit (n=${r.n}): p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`);
  console.log(`spend (${label}): reservation cost per model request: p50 ${ms(r.p50 - p.p50)}, mean ${ms(r.mean - p.mean)}`);
}

export async function benchSpend(opts: SpendBenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-spend-'));
  const sqlite = new SqliteStore(join(dir, 'hangar.db'));
  try {
    await measure(sqlite, 'SQLite', opts);
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const url = process.env.HANGAR_BENCH_DATABASE_URL;
  if (url) {
    const pg = await PgStore.open(url, { maxConnections: 4 });
    try {
      await measure(pg, 'PostgreSQL', opts);
    } finally {
      await pg.close();
    }
  } else {
    console.log('spend (PostgreSQL): skipped; set HANGAR_BENCH_DATABASE_URL to a scratch database to measure it');
  }
  // The worst-case estimate of a 40-message request (~60 KB of JSON).
  const request = { model: 'claude-sonnet-4-6', max_tokens: 8192, messages: Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: 'x'.repeat(1500) }] })) };
  const est: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    estimatePromptTokens(request);
    if (i >= 200) est.push(performance.now() - t0);
  }
  const e = summarize(est);
  console.log(`spend: worst-case estimate of a ${Math.round(JSON.stringify(request).length / 1024)} KB request (n=${e.n}): p50 ${ms(e.p50)}, p99 ${ms(e.p99)}`);
}
