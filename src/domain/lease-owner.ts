// Lease owners name a node and one boot of it: `<nodeId>#<bootId>`. A lease held by an earlier boot
// of the same node belongs to a process that is gone (a node id runs once at a time), so the new boot
// takes it at once instead of waiting for it to expire. Owners without `#` (tests, older rows) only
// ever match themselves.
import { randomBytes } from 'node:crypto';

export const BOOT_SEPARATOR = '#';

/** A fresh owner for this boot; with no node id, a random one (no takeover after a restart). */
export function leaseOwner(nodeId: string | undefined, bootId = randomBytes(6).toString('hex')): string {
  const node = nodeId ?? `node-${randomBytes(6).toString('hex')}`;
  if (node.includes(BOOT_SEPARATOR)) throw new Error(`node id "${node}" must not contain "${BOOT_SEPARATOR}"`);
  return `${node}${BOOT_SEPARATOR}${bootId}`;
}

/**
 * The prefix every boot of `owner`'s node shares (`<nodeId>#`), or '' when the owner names no node.
 * Adapters match leases on it: `lease_owner` starting with this prefix was taken by the same node.
 */
export function nodePrefix(owner: string): string {
  const at = owner.lastIndexOf(BOOT_SEPARATOR);
  return at <= 0 ? '' : owner.slice(0, at + 1);
}

/** The node part of an owner (`<nodeId>`), or the whole owner when it names no node. */
export function nodeOf(owner: string): string {
  const prefix = nodePrefix(owner);
  return prefix ? prefix.slice(0, -1) : owner;
}
