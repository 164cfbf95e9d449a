// The failed-authentication token bucket (src/server/auth-throttle.ts): lockout after the limit,
// refill over the window, grouping of IPv6 addresses by /64, the off switch and the memory bound.
import { describe, expect, it } from 'vitest';
import { AuthThrottle, sourceKey } from '../../src/server/auth-throttle.ts';

function throttle(limit: number, windowMs = 60_000, maxAddresses?: number) {
  let now = 0;
  const t = new AuthThrottle({ limit, windowMs, now: () => now, maxAddresses });
  return { t, advance: (ms: number) => (now += ms) };
}

describe('AuthThrottle', () => {
  it('locks an address out on its limit-th failure and only that address', () => {
    const { t } = throttle(3);
    expect(t.fail('10.0.0.1')).toBe(false);
    expect(t.fail('10.0.0.1')).toBe(false);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(t.fail('10.0.0.1')).toBe(true);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(20); // one token per 60 s / 3
    expect(t.retryAfterSeconds('10.0.0.2')).toBe(0);
  });

  it('refills one failure per window/limit and forgets a full bucket', () => {
    const { t, advance } = throttle(2, 10_000);
    t.fail('10.0.0.1');
    t.fail('10.0.0.1');
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(5);
    advance(4_000);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(1);
    advance(1_000);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    advance(5_000);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(t.size).toBe(0);
  });

  it('groups IPv6 addresses by /64 and reads IPv4-mapped addresses as IPv4', () => {
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('192.0.2.7')).toBe('192.0.2.7');
    const { t } = throttle(2);
    t.fail('2001:db8:1:2::a');
    t.fail('2001:db8:1:2::b');
    expect(t.retryAfterSeconds('2001:db8:1:2::c')).toBeGreaterThan(0);
    expect(t.retryAfterSeconds('2001:db8:1:3::a')).toBe(0);
  });

  it('does nothing with limit 0', () => {
    const { t } = throttle(0);
    for (let i = 0; i < 100; i++) expect(t.fail('10.0.0.1')).toBe(false);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(t.size).toBe(0);
  });

  it('tracks at most maxAddresses, dropping the least recently failed', () => {
    const { t } = throttle(1, 60_000, 3);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) t.fail(ip);
    expect(t.size).toBe(3);
    expect(t.retryAfterSeconds('10.0.0.1')).toBe(0);
    expect(t.retryAfterSeconds('10.0.0.4')).toBeGreaterThan(0);
  });
});
