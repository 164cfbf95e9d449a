// SQLite repo of idempotency keys: a claim is taken in one BEGIN IMMEDIATE transaction, so two
// concurrent requests with the same key (in this process or another) never both proceed.
import type { IdempotencyKey, IdempotencyRecord, IdempotencyRepo, IdempotentResponse } from '../../ports/store.ts';
import type { SqliteAccess } from './sqlite-work-repo.ts';
import { IDEMPOTENCY_WHERE as WHERE_KEY, idempotencyParams as keyParams, idempotencyRecord as toRecord } from '../store-common/store-rows.ts';

export class SqliteIdempotencyRepo implements IdempotencyRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async claim(
    id: IdempotencyKey, claim: { fingerprint: string; claimId: string; nowMs: number },
    opts: { expiredBefore: number; staleBefore: number },
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    return this.s.tx(() => {
      const row = this.s.get(`SELECT * FROM idempotency_keys WHERE ${WHERE_KEY}`, ...keyParams(id));
      if (row) {
        const record = toRecord(row);
        const dead = record.createdAt <= opts.expiredBefore || (record.response === null && record.createdAt <= opts.staleBefore);
        if (!dead) return { claimed: false as const, record };
        this.s.run(`DELETE FROM idempotency_keys WHERE ${WHERE_KEY}`, ...keyParams(id));
      }
      this.s.run(
        'INSERT INTO idempotency_keys (scope, method, path, key, fingerprint, claim_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ...keyParams(id), claim.fingerprint, claim.claimId, claim.nowMs);
      return { claimed: true as const };
    });
  }

  async complete(id: IdempotencyKey, claimId: string, response: IdempotentResponse): Promise<void> {
    this.s.run(
      `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE ${WHERE_KEY} AND claim_id = ? AND status IS NULL`,
      response.status, response.contentType, response.body, ...keyParams(id), claimId);
  }

  async release(id: IdempotencyKey, claimId: string): Promise<void> {
    this.s.run(`DELETE FROM idempotency_keys WHERE ${WHERE_KEY} AND claim_id = ? AND status IS NULL`, ...keyParams(id), claimId);
  }

  async sweep(expiredBefore: number, limit: number): Promise<number> {
    // SQLite is usually built without DELETE … LIMIT; a rowid subquery bounds the work instead.
    return this.s.run(
      'DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at <= ? LIMIT ?)',
      expiredBefore, limit);
  }
}
