// Throttles failed authentication per source address (issue 18): a token bucket of `limit` failures
// that refills over `windowMs`. An address whose bucket is empty is locked out: every request from
// it is answered 429 until a token has refilled, even with a right key, so a guesser learns nothing
// from a lockout and gets at most `limit` guesses per window. Memory is bounded: full buckets are
// dropped and at most `maxAddresses` are tracked (the oldest entry goes first).
import { isIPv6 } from 'node:net';

export interface AuthThrottleOptions {
  /** Failed authentications allowed per window and address; 0 turns the throttle off. */
  limit: number;
  windowMs: number;
  now: () => number;
  maxAddresses?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** IPv6 clients are grouped by /64 (one host usually holds a whole /64); IPv4 by address. */
export function sourceKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly opts: Required<AuthThrottleOptions>;

  constructor(opts: AuthThrottleOptions) {
    this.opts = { maxAddresses: 100_000, ...opts };
  }

  get enabled(): boolean {
    return this.opts.limit > 0;
  }

  /** Seconds until `ip` may try again, or 0 when it is not locked out. */
  retryAfterSeconds(ip: string): number {
    if (!this.enabled) return 0;
    const b = this.refilled(sourceKey(ip));
    if (!b || b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - b.tokens) * this.opts.windowMs) / this.opts.limit / 1000));
  }

  /** Records one failed authentication; true when it used the address's last token (lockout starts). */
  fail(ip: string): boolean {
    if (!this.enabled) return false;
    const key = sourceKey(ip);
    const b = this.refilled(key) ?? { tokens: this.opts.limit, atMs: this.opts.now() };
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.delete(key); // re-insert: the map's order is then least recently failed first
    this.buckets.set(key, b);
    if (this.buckets.size > this.opts.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
    return b.tokens < 1;
  }

  /** Number of addresses currently tracked (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (!b) return undefined;
    const now = this.opts.now();
    b.tokens = Math.min(this.opts.limit, b.tokens + ((now - b.atMs) * this.opts.limit) / this.opts.windowMs);
    b.atMs = now;
    if (b.tokens >= this.opts.limit) {
      this.buckets.delete(key);
      return undefined;
    }
    return b;
  }
}
