// The node signal adapters: the in-process hub and LISTEN/NOTIFY on a real PostgreSQL. A hint
// reaches the other nodes (never its sender), ids only; the PostgreSQL listener survives
// pg_terminate_backend by reconnecting, re-LISTENing and raising `resync`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { MemoryNodeSignal, MemoryNodeSignalHub } from '../../src/adapters/node-signal-memory/memory-node-signal.ts';
import { PgNodeSignal, pack, parseHint } from '../../src/adapters/node-signal-pg/pg-node-signal.ts';
import type { NodeHint } from '../../src/ports/node-signal.ts';
import { createTestDatabase, type TestDatabase } from '../kit/postgres.ts';

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MemoryNodeSignal', () => {
  it('delivers a hint to the other members of its hub, never back to the sender', async () => {
    const hub = new MemoryNodeSignalHub();
    const a = new MemoryNodeSignal(hub);
    const b = new MemoryNodeSignal(hub);
    const lone = new MemoryNodeSignal();
    const got = { a: [] as NodeHint[], b: [] as NodeHint[], lone: [] as NodeHint[] };
    a.subscribe((h) => got.a.push(h));
    b.subscribe((h) => got.b.push(h));
    lone.subscribe((h) => got.lone.push(h));
    a.send({ kind: 'wake', sessionId: 'sesn_1' });
    await until(() => got.b.length === 1);
    expect(got.b).toEqual([{ kind: 'wake', sessionId: 'sesn_1' }]);
    expect(got.a).toEqual([]);
    expect(got.lone).toEqual([]);
    await b.close();
    a.send({ kind: 'work', environmentId: 'env_1' });
    await new Promise((r) => setTimeout(r, 10));
    expect(got.b).toHaveLength(1);
  });
});

describe('hint encoding', () => {
  it('parses every hint kind and ignores malformed lines', () => {
    expect(parseHint('e sesn_1 42')).toEqual({ kind: 'events', sessionId: 'sesn_1', seq: 42 });
    expect(parseHint('w sesn_1')).toEqual({ kind: 'wake', sessionId: 'sesn_1' });
    expect(parseHint('i sesn_1')).toEqual({ kind: 'wake', sessionId: 'sesn_1', interrupt: true });
    expect(parseHint('i sesn_1 sthr_a,sthr_b')).toEqual({ kind: 'wake', sessionId: 'sesn_1', interrupt: ['sthr_a', 'sthr_b'] });
    expect(parseHint('q env_1')).toEqual({ kind: 'work', environmentId: 'env_1' });
    expect(parseHint('d sesn_1')).toEqual({ kind: 'deleted', sessionId: 'sesn_1' });
    expect(parseHint('r')).toEqual({ kind: 'resync' });
    expect(parseHint('e sesn_1 x')).toBeUndefined();
    expect(parseHint('z sesn_1')).toBeUndefined();
    expect(parseHint('w')).toBeUndefined();
  });

  it('packs many hints into payloads under the NOTIFY limit, each naming its origin', () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => `e sesn_${'x'.repeat(26)}${i} ${i}`);
    const payloads = pack('origin-1', lines);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) {
      expect(Buffer.byteLength(p)).toBeLessThan(8000);
      expect(p.split('\n')[0]).toBe('origin-1');
    }
    expect(payloads.flatMap((p) => p.split('\n').slice(1))).toEqual(lines);
  });
});

describe('PgNodeSignal on PostgreSQL', () => {
  let db: TestDatabase | undefined;
  const url = process.env.HANGAR_TEST_DATABASE_URL;

  beforeAll(async () => {
    if (url) db = await createTestDatabase(url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it.skipIf(!url)('carries hints to the other node after they are sent, coalescing a session\'s seqs', async () => {
    const a = new PgNodeSignal({ url: db!.url, applicationName: 'hangar-signal-a' });
    const b = new PgNodeSignal({ url: db!.url, applicationName: 'hangar-signal-b' });
    await a.start();
    await b.start();
    try {
      const atA: NodeHint[] = [];
      const atB: NodeHint[] = [];
      a.subscribe((h) => atA.push(h));
      b.subscribe((h) => atB.push(h));
      a.send({ kind: 'events', sessionId: 'sesn_1', seq: 3 });
      a.send({ kind: 'events', sessionId: 'sesn_1', seq: 7 });
      a.send({ kind: 'events', sessionId: 'sesn_1', seq: 5 });
      a.send({ kind: 'wake', sessionId: 'sesn_2' });
      a.send({ kind: 'work', environmentId: 'env_1' });
      a.send({ kind: 'deleted', sessionId: 'sesn_3' });
      a.send({ kind: 'wake', sessionId: 'sesn_4', interrupt: true });
      a.send({ kind: 'wake', sessionId: 'sesn_5', interrupt: ['sthr_1'] });
      await until(() => atB.length >= 6);
      await new Promise((r) => setTimeout(r, 50));
      expect(atB).toEqual(expect.arrayContaining([
        { kind: 'events', sessionId: 'sesn_1', seq: 7 },
        { kind: 'wake', sessionId: 'sesn_2' },
        { kind: 'work', environmentId: 'env_1' },
        { kind: 'deleted', sessionId: 'sesn_3' },
        { kind: 'wake', sessionId: 'sesn_4', interrupt: true },
        { kind: 'wake', sessionId: 'sesn_5', interrupt: ['sthr_1'] },
      ]));
      expect(atB).toHaveLength(6);
      expect(atA).toEqual([]); // its own notifications come back to A's connection and are dropped
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(!url)('reconnects after pg_terminate_backend, re-LISTENs, raises resync and sends what was raised meanwhile', async () => {
    const problems: string[] = [];
    const a = new PgNodeSignal({ url: db!.url, applicationName: 'hangar-signal-a2' });
    const b = new PgNodeSignal({ url: db!.url, applicationName: 'hangar-signal-b2', onProblem: (m) => problems.push(m) });
    await a.start();
    await b.start();
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    try {
      const atA: NodeHint[] = [];
      const atB: NodeHint[] = [];
      a.subscribe((h) => atA.push(h));
      b.subscribe((h) => atB.push(h));
      const killed = await admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'hangar-signal-b2'");
      expect(killed.rows).toEqual([{ ok: true }]);
      // Raised while B's connection is down: queued, sent once it is back.
      b.send({ kind: 'wake', sessionId: 'sesn_during' });
      await until(() => atB.some((h) => h.kind === 'resync'));
      expect(b.counters.reconnects).toBe(1);
      expect(problems.some((m) => m.includes('dropped'))).toBe(true);
      await until(() => atA.some((h) => h.kind === 'wake'));
      expect(atA).toEqual([{ kind: 'wake', sessionId: 'sesn_during' }]);
      // Listening again: A's hints reach B.
      a.send({ kind: 'events', sessionId: 'sesn_after', seq: 1 });
      await until(() => atB.some((h) => h.kind === 'events'));
      expect(atB.filter((h) => h.kind !== 'resync')).toEqual([{ kind: 'events', sessionId: 'sesn_after', seq: 1 }]);
    } finally {
      await admin.end();
      await a.close();
      await b.close();
    }
  });

  it.skipIf(!url)('a first connection that fails is retried, and resync is raised once it gets through', async () => {
    // A database that does not exist yet: the first attempt fails, the retry finds it created.
    const name = `hangar_sig_${Date.now().toString(36)}`;
    const target = new URL(db!.url);
    target.pathname = `/${name}`;
    const problems: string[] = [];
    const s = new PgNodeSignal({ url: target.toString(), reconnectMinMs: 20, reconnectMaxMs: 50, onProblem: (m) => problems.push(m) });
    const got: NodeHint[] = [];
    s.subscribe((h) => got.push(h));
    await s.start();
    expect(s.connected).toBe(false);
    expect(problems[0]).toMatch(/could not be opened/);
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      await until(() => s.connected);
      expect(got).toEqual([{ kind: 'resync' }]);
    } finally {
      await s.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
