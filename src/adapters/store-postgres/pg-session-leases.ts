// Harness leases on PostgreSQL: who drives a session, until when. Each call is one UPDATE or
// SELECT, atomic on its own, so exactly one node holds a session's lease at a time. Kept apart
// from the session log so multi-node lease policies (boot ids, take-back on restart) change here.
import type { Querier } from './pg-db.ts';
import { nodePrefix } from '../../domain/lease-owner.ts';

/**
 * Takes or renews the lease. True when `owner` now holds it until `nowMs + ttlMs`. A lease held by
 * another boot of the same node (`<nodeId>#…`, see src/domain/lease-owner.ts) is taken at once.
 */
export async function acquireLease(q: Querier, sessionId: string, owner: string, ttlMs: number, nowMs: number): Promise<boolean> {
  const prefix = nodePrefix(owner);
  const changed = await q.run(
    `UPDATE sessions SET lease_owner = ?, lease_expires_at = ?
     WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?
       OR (CAST(? AS text) <> '' AND left(lease_owner, length(CAST(? AS text))) = CAST(? AS text)))`,
    owner, nowMs + ttlMs, sessionId, owner, nowMs, prefix, prefix, prefix);
  return changed > 0;
}

export async function releaseLease(q: Querier, sessionId: string, owner: string): Promise<void> {
  await q.run('UPDATE sessions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?', sessionId, owner);
}

/**
 * Sessions that should be driven (running/rescheduling or a pending wake) whose lease is missing or
 * expired, or (given `reclaimFor`) held by an earlier boot of that owner's node.
 */
export async function orphanedSessions(q: Querier, nowMs: number, limit: number, reclaimFor?: string): Promise<string[]> {
  const prefix = reclaimFor ? nodePrefix(reclaimFor) : '';
  const rows = await q.all(
    `SELECT id FROM sessions WHERE (status IN ('running', 'rescheduling') OR pending_wake = 1)
     AND (lease_owner IS NULL OR lease_expires_at < ?
       OR (CAST(? AS text) <> '' AND lease_owner <> CAST(? AS text) AND left(lease_owner, length(CAST(? AS text))) = CAST(? AS text)))
     ORDER BY seq LIMIT ?`, nowMs, prefix, reclaimFor ?? '', prefix, prefix, limit);
  return rows.map((r) => String(r.id));
}
