// The decision for one proxied connection: allowed_hosts first, then DNS, then every resolved
// address against the forbidden ranges. The caller connects only to the addresses returned here,
// never re-resolving the name, so a DNS answer that changes between check and use cannot matter.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { EgressPolicy } from '../../ports/egress.ts';
import { hostAllowed, isForbiddenAddress, isForbiddenHostname } from './address-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a hostname to all of its addresses; rejects when it cannot. */
export type EgressLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export type EgressRefusalReason = 'host_not_allowed' | 'forbidden_hostname' | 'forbidden_address' | 'dns_failed';

export interface EgressTarget {
  /** Normalized: lower-case, no brackets, no trailing dot. */
  host: string;
  port: number;
}

export interface EgressRefusal {
  ok: false;
  /** 403 for policy refusals; 502/504 when the name cannot be resolved. */
  status: 403 | 502 | 504;
  reason: EgressRefusalReason;
  message: string;
  /** Every resolved address, when an address was the reason. */
  addresses?: string[];
}

export type EgressDecision = { ok: true; addresses: ResolvedAddress[] } | EgressRefusal;

export interface EgressGateOptions {
  lookup: EgressLookup;
  dnsTimeoutMs: number;
  /** Skips the address ranges check only. See `unsafeAllowPrivateAddressesForTests`. */
  allowPrivateAddresses: boolean;
}

/** The system resolver (getaddrinfo, so /etc/hosts applies), all addresses in resolver order. */
export const systemLookup: EgressLookup = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export async function decideEgress(target: EgressTarget, policy: EgressPolicy, opts: EgressGateOptions): Promise<EgressDecision> {
  const { host } = target;
  if (!hostAllowed(host, policy.allowedHosts)) {
    return refuse(403, 'host_not_allowed', `egress to ${host} refused: ${host} is not in the environment's allowed_hosts`);
  }
  if (isForbiddenHostname(host)) {
    return refuse(403, 'forbidden_hostname', `egress to ${host} refused: ${host} is a metadata or internal-only name`);
  }

  let addresses: ResolvedAddress[];
  const family = isIP(host);
  if (family !== 0) {
    addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await withTimeout(opts.lookup(host), opts.dnsTimeoutMs);
    } catch (err) {
      const timedOut = err instanceof DnsTimeout;
      const code = timedOut ? 'timeout' : ((err as { code?: string }).code ?? 'error');
      return refuse(timedOut ? 504 : 502, 'dns_failed', `egress to ${host} failed: DNS lookup failed (${code})`);
    }
    if (addresses.length === 0) return refuse(502, 'dns_failed', `egress to ${host} failed: DNS lookup returned no addresses`);
  }

  if (!opts.allowPrivateAddresses) {
    // One bad address refuses the whole name: otherwise a client could retry until it got it.
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad) {
      const what = bad.address === host ? `${host} is` : `${host} resolves to ${bad.address},`;
      return {
        ...refuse(403, 'forbidden_address', `egress to ${host} refused: ${what} a loopback, private, link-local or reserved address`),
        addresses: addresses.map((a) => a.address),
      };
    }
  }
  return { ok: true, addresses };
}

function refuse(status: 403 | 502 | 504, reason: EgressRefusalReason, message: string): EgressRefusal {
  return { ok: false, status, reason, message };
}

class DnsTimeout extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DnsTimeout('DNS lookup timed out')), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
