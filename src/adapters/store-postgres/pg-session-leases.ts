// Harness leases on PostgreSQL: who drives a session, until when. Each call is one UPDATE or
// SELECT, atomic on its own, so exactly one node holds a session's lease at a time. Kept apart
// from the session log so multi-node lease policies (boot ids, take-back on restart) change here.
import type { Querier } from './pg-db.ts';

/** Takes or renews the lease. True when `owner` now holds it until `nowMs + ttlMs`. */
export async function acquireLease(q: Querier, sessionId: string, owner: string, ttlMs: number, nowMs: number): Promise<boolean> {
  const changed = await q.run(
    `UPDATE sessions SET lease_owner = ?, lease_expires_at = ?
     WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)`,
    owner, nowMs + ttlMs, sessionId, owner, nowMs);
  return changed > 0;
}

export async function releaseLease(q: Querier, sessionId: string, owner: string): Promise<void> {
  await q.run('UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?', sessionId, owner);
}

/** Sessions that should be driven (running/rescheduling or a pending wake) whose lease is missing or expired. */
export async function orphanedSessions(q: Querier, nowMs: number, limit: number): Promise<string[]> {
  const rows = await q.all(
    `SELECT id FROM sessions WHERE (status IN ('running', 'rescheduling') OR pending_wake = 1)
     AND (lease_owner IS NULL OR lease_expires_at < ?) ORDER BY seq LIMIT ?`, nowMs, limit);
  return rows.map((r) => String(r.id));
}
