// PostgreSQL repo of idempotency keys. A claim inserts with ON CONFLICT DO NOTHING (a concurrent
// insert of the same key, on any node, makes the second wait and then see the first) and otherwise
// locks the existing row to decide whether it is dead and may be taken over.
import type { IdempotencyKey, IdempotencyRecord, IdempotencyRepo, IdempotentResponse } from '../../ports/store.ts';
import type { PgDb } from './pg-db.ts';
import { IDEMPOTENCY_WHERE as WHERE_KEY, idempotencyParams as keyParams, idempotencyRecord as toRecord } from '../store-common/store-rows.ts';

export class PgIdempotencyRepo implements IdempotencyRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async claim(
    id: IdempotencyKey, claim: { fingerprint: string; claimId: string; nowMs: number },
    opts: { expiredBefore: number; staleBefore: number },
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    // A row that vanished between the failed insert and the lock (released or swept meanwhile)
    // leaves the key free for the next round's insert.
    for (let round = 0; round < 3; round++) {
      const out = await this.s.tx(async (q) => {
        const inserted = await q.run(
          `INSERT INTO idempotency_keys (scope, method, path, key, fingerprint, claim_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          ...keyParams(id), claim.fingerprint, claim.claimId, claim.nowMs);
        if (inserted > 0) return { claimed: true as const };
        const row = await q.get(`SELECT * FROM idempotency_keys WHERE ${WHERE_KEY} FOR UPDATE`, ...keyParams(id));
        if (!row) return undefined;
        const record = toRecord(row);
        const dead = record.createdAt <= opts.expiredBefore || (record.response === null && record.createdAt <= opts.staleBefore);
        if (!dead) return { claimed: false as const, record };
        await q.run(
          `UPDATE idempotency_keys SET fingerprint = ?, claim_id = ?, created_at = ?, status = NULL, content_type = NULL, body = NULL WHERE ${WHERE_KEY}`,
          claim.fingerprint, claim.claimId, claim.nowMs, ...keyParams(id));
        return { claimed: true as const };
      });
      if (out) return out;
    }
    throw new Error('the idempotency key was claimed and released repeatedly while this request tried to take it; retry the request');
  }

  async complete(id: IdempotencyKey, claimId: string, response: IdempotentResponse): Promise<void> {
    await this.s.run(
      `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE ${WHERE_KEY} AND claim_id = ? AND status IS NULL`,
      response.status, response.contentType, response.body, ...keyParams(id), claimId);
  }

  async release(id: IdempotencyKey, claimId: string): Promise<void> {
    await this.s.run(`DELETE FROM idempotency_keys WHERE ${WHERE_KEY} AND claim_id = ? AND status IS NULL`, ...keyParams(id), claimId);
  }

  async sweep(expiredBefore: number, limit: number): Promise<number> {
    return this.s.run(
      'DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at <= ? LIMIT ?)',
      expiredBefore, limit);
  }
}
