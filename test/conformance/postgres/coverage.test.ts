// Every conformance suite also runs on PostgreSQL (a twin file in this folder), except the few
// that check something only the SQLite store has, each listed here with the reason. A new suite
// without a twin or a listed reason fails this test.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SQLITE_ONLY: Record<string, string> = {
  'api-fuzz.test.ts': 'reads the SQLite file directly to prove a refused request changed nothing',
  'resource-limits.test.ts': 'checks the SQLite statement cache and the file modes of hangar.db and its WAL',
  'secret-leak.test.ts': 'scans hangar.db, its WAL and shared memory for secrets; PostgreSQL keeps its data outside the data directory',
  'long-session.test.ts': 'runs 2,000 turns (about 70 s); the log views it exercises are store-independent, and the log revision they check is covered on both stores by the store suite (test/kit/store-suite.ts)',
  'long-waits.test.ts': 'restarts real server processes (test/kit/child-server.ts), which start on the SQLite file of the data directory',
};

describe('conformance on PostgreSQL', () => {
  it('has a PostgreSQL twin for every conformance suite not listed as SQLite-only', () => {
    const suites = readdirSync(join(import.meta.dirname, '..')).filter((f) => f.endsWith('.test.ts'));
    const twins = new Set(readdirSync(import.meta.dirname).filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts'));
    expect(suites.length).toBeGreaterThan(20);
    expect(suites.filter((f) => !twins.has(f) && !(f in SQLITE_ONLY))).toEqual([]);
    expect([...twins].filter((f) => !suites.includes(f) || f in SQLITE_ONLY)).toEqual([]);
  });
});
