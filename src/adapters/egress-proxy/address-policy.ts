// Pure egress policy checks: which resolved addresses a sandbox may never reach, and whether a
// host is on an environment's `allowed_hosts`. No I/O here, so every rule is unit-tested directly.
import { isIP } from 'node:net';

type Cidr4 = readonly [base: number, prefix: number];

// IPv4 ranges that are not globally reachable (RFC 6890 special-purpose registry), plus
// multicast and the reserved class E. 169.254/16 is where cloud metadata services live.
const FORBIDDEN_V4: readonly Cidr4[] = [
  [v4(0, 0, 0, 0), 8], // "this network", includes 0.0.0.0
  [v4(10, 0, 0, 0), 8], // private
  [v4(100, 64, 0, 0), 10], // carrier-grade NAT (also Alibaba's metadata at 100.100.100.200)
  [v4(127, 0, 0, 0), 8], // loopback
  [v4(169, 254, 0, 0), 16], // link-local, cloud metadata 169.254.169.254
  [v4(172, 16, 0, 0), 12], // private
  [v4(192, 0, 0, 0), 24], // IETF protocol assignments
  [v4(192, 0, 2, 0), 24], // TEST-NET-1
  [v4(192, 88, 99, 0), 24], // 6to4 relay anycast (deprecated)
  [v4(192, 168, 0, 0), 16], // private
  [v4(198, 18, 0, 0), 15], // benchmarking
  [v4(198, 51, 100, 0), 24], // TEST-NET-2
  [v4(203, 0, 113, 0), 24], // TEST-NET-3
  [v4(224, 0, 0, 0), 4], // multicast
  [v4(240, 0, 0, 0), 4], // reserved, includes broadcast 255.255.255.255
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inCidr4(ip: number, [base, prefix]: Cidr4): boolean {
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return ip >>> shift === base >>> shift;
}

/** Strict dotted quad (no octal, hex or shortened forms, which resolvers read differently). */
function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/** Eight 16-bit groups, or undefined when the text is not an IPv6 address. */
function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | undefined => {
    if (side === '') return [];
    const out: number[] = [];
    const pieces = side.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (allowV4Tail && i === pieces.length - 1 && piece.includes('.')) {
        const tail = parseIPv4(piece);
        if (tail === undefined) return undefined;
        out.push(tail >>> 16, tail & 0xffff);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const groups = parseSide(halves[0], true);
    return groups?.length === 8 ? groups : undefined;
  }
  const head = parseSide(halves[0], false);
  const tail = parseSide(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function forbiddenV4(ip: number): boolean {
  return FORBIDDEN_V4.some((cidr) => inCidr4(ip, cidr));
}

function forbiddenV6(g: number[]): boolean {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const embedded = (hi: number, lo: number) => ((g[hi] << 16) | g[lo]) >>> 0;
  // IPv4-mapped ::ffff:a.b.c.d is the IPv4 address itself as far as the kernel is concerned.
  if (zeros(0, 5) && g[5] === 0xffff) return forbiddenV4(embedded(6, 7));
  // NAT64 64:ff9b::/96 reaches the embedded IPv4 address through the local translator.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return forbiddenV4(embedded(6, 7));
  // Only global unicast 2000::/3 may be public. Everything else is refused, including :: and ::1,
  // IPv4-compatible ::a.b.c.d, 100::/64, 5f00::/16, fc00::/7, fe80::/10, fec0::/10 and ff00::/8.
  if ((g[0] & 0xe000) !== 0x2000) return true;
  if (g[0] === 0x2001 && g[1] < 0x0200) return true; // 2001::/23 protocol assignments, Teredo
  if (g[0] === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (g[0] === 0x2002) return forbiddenV4(embedded(1, 2)); // 6to4 embeds an IPv4 address
  if (g[0] === 0x3fff && g[1] < 0x1000) return true; // 3fff::/20 documentation
  return false;
}

/**
 * True when a sandbox must never connect to `ip`: loopback, unspecified, private, link-local
 * (cloud metadata), CGNAT, multicast, reserved and documentation ranges, and IPv6 forms that embed
 * such an IPv4 address. Anything that is not a plain IPv4 or IPv6 address (including zone-scoped
 * `fe80::1%eth0`, bracketed or shortened forms) is forbidden too: the check fails closed.
 */
export function isForbiddenAddress(ip: string): boolean {
  const v4addr = parseIPv4(ip);
  if (v4addr !== undefined) return forbiddenV4(v4addr);
  if (ip.includes('%')) return true;
  const groups = parseIPv6(ip);
  return groups === undefined ? true : forbiddenV6(groups);
}

// Names that reach a metadata service or a private zone by design. Their addresses are refused
// anyway; refusing the names too keeps the reason clear and survives odd resolver setups.
const FORBIDDEN_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);
const FORBIDDEN_SUFFIXES = ['.internal'];

/** Lower-case, without brackets around IPv6 literals and without a trailing root dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** True for cloud-metadata names and the reserved private-use `.internal` zone. */
export function isForbiddenHostname(host: string): boolean {
  const h = normalizeHost(host);
  return FORBIDDEN_NAMES.has(h) || FORBIDDEN_SUFFIXES.some((s) => h.endsWith(s));
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}$/;

/** A DNS name (letters, digits, `-`, `_`), or an IPv4/IPv6 literal; already normalized. */
export function isValidHostname(host: string): boolean {
  if (isIP(host) !== 0) return true;
  return host.length > 0 && host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/**
 * Whether an `allowed_hosts` entry is well formed: an exact hostname, an IP literal, or `*.` followed
 * by a hostname. Config schemas should reject anything else; `hostAllowed` never matches it.
 */
export function isValidHostPattern(pattern: string): boolean {
  const p = normalizeHost(pattern);
  if (p.startsWith('*.')) {
    const suffix = p.slice(2);
    return isIP(suffix) === 0 && isValidHostname(suffix);
  }
  return isValidHostname(p);
}

/**
 * Whether `host` may be reached under `allowedHosts`. Null allows every host (the address checks
 * still apply). Entries match case-insensitively and ignore a trailing dot. `*.example.com`
 * matches any subdomain at any depth (`a.example.com`, `a.b.example.com`) but not `example.com`
 * itself, so an environment lists both when it needs both. IP literals match only exactly.
 */
export function hostAllowed(host: string, allowedHosts: readonly string[] | null): boolean {
  if (allowedHosts === null) return true;
  const h = normalizeHost(host);
  if (!isValidHostname(h)) return false;
  return allowedHosts.some((entry) => {
    if (!isValidHostPattern(entry)) return false;
    const p = normalizeHost(entry);
    if (!p.startsWith('*.')) return h === p;
    const suffix = p.slice(1);
    return isIP(h) === 0 && h.length > suffix.length && h.endsWith(suffix);
  });
}
