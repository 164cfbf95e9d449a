// The meaning of `allowed_domains` / `blocked_domains` for the web tools, shared by web_fetch (every
// redirect hop) and web_search (every result). An entry is a host with an optional path prefix.
import { isIP } from 'node:net';
import { normalizeHost } from '../egress-proxy/address-policy.ts';

export interface DomainFilters {
  allowedDomains?: readonly string[];
  blockedDomains?: readonly string[];
}

export type DomainDecision = 'allowed' | 'not_allowed' | 'blocked';

interface DomainRule {
  host: string;
  /** Path prefix without trailing slash, or '' for the whole host. */
  path: string;
}

/**
 * Parses an entry: `example.com`, `*.example.com` and `.example.com` all mean example.com and its
 * subdomains; `example.com/docs` also limits the path (to `/docs` and below). Case and a trailing
 * dot are ignored; a scheme (`https://`) is tolerated. Undefined for an empty or unusable entry.
 */
export function parseDomainRule(entry: string): DomainRule | undefined {
  let e = entry.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = e.indexOf('/');
  const path = slash === -1 ? '' : e.slice(slash).replace(/\/+$/, '');
  e = slash === -1 ? e : e.slice(0, slash);
  let host = normalizeHost(e.replace(/^\*\./, '').replace(/^\./, ''));
  if (host.includes(':') && isIP(host) === 0) host = host.replace(/:\d+$/, '');
  return host === '' ? undefined : { host, path };
}

/** True when `url`'s host is the rule's host or a subdomain of it (IP literals: exact), and the path fits. */
function matches(url: URL, rule: DomainRule): boolean {
  const host = normalizeHost(url.hostname);
  const hostOk = host === rule.host || (isIP(rule.host) === 0 && isIP(host) === 0 && host.endsWith(`.${rule.host}`));
  if (!hostOk) return false;
  if (rule.path === '') return true;
  const path = safeDecodePath(url.pathname);
  return path === rule.path || path.startsWith(`${rule.path}/`);
}

function safeDecodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Blocked entries win; with `allowedDomains` set, only matching URLs pass. Both unset (or empty)
 * allows every URL. Unparseable entries never match (so a broken allow list allows nothing).
 */
export function checkDomainFilters(url: URL, filters: DomainFilters): DomainDecision {
  const rules = (list: readonly string[] | undefined) => (list ?? []).map(parseDomainRule).filter((r): r is DomainRule => r !== undefined);
  if (rules(filters.blockedDomains).some((r) => matches(url, r))) return 'blocked';
  const allowed = filters.allowedDomains;
  if (allowed && allowed.length > 0 && !rules(allowed).some((r) => matches(url, r))) return 'not_allowed';
  return 'allowed';
}
