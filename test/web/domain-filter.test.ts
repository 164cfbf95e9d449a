// Domain filter semantics shared by web_fetch and web_search.
import { describe, expect, it } from 'vitest';
import { checkDomainFilters, parseDomainRule } from '../../src/adapters/net-guard/domain-filter.ts';

const check = (url: string, f: Parameters<typeof checkDomainFilters>[1]) => checkDomainFilters(new URL(url), f);

describe('domain filters', () => {
  it('allows everything without lists', () => {
    expect(check('https://anything.example/', {})).toBe('allowed');
    expect(check('https://anything.example/', { allowedDomains: [], blockedDomains: [] })).toBe('allowed');
  });

  it('matches the exact host and its subdomains, never look-alikes', () => {
    const f = { allowedDomains: ['example.com'] };
    expect(check('https://example.com/', f)).toBe('allowed');
    expect(check('https://a.b.example.com/x', f)).toBe('allowed');
    expect(check('https://EXAMPLE.com./', f)).toBe('allowed');
    expect(check('https://notexample.com/', f)).toBe('not_allowed');
    expect(check('https://example.com.evil.net/', f)).toBe('not_allowed');
  });

  it('accepts *. and leading-dot spellings, a scheme and a port in entries', () => {
    for (const entry of ['*.example.com', '.example.com', 'https://example.com', 'Example.COM:443']) {
      expect(check('https://www.example.com/', { allowedDomains: [entry] })).toBe('allowed');
    }
  });

  it('limits the path when an entry has one', () => {
    const f = { allowedDomains: ['example.com/docs'] };
    expect(check('https://example.com/docs', f)).toBe('allowed');
    expect(check('https://example.com/docs/a', f)).toBe('allowed');
    expect(check('https://example.com/docsx', f)).toBe('not_allowed');
    expect(check('https://example.com/', f)).toBe('not_allowed');
  });

  it('lets blocked entries win', () => {
    expect(check('https://ads.example.com/', { allowedDomains: ['example.com'], blockedDomains: ['ads.example.com'] })).toBe('blocked');
    expect(check('https://example.com/', { blockedDomains: ['example.com'] })).toBe('blocked');
    expect(check('https://example.org/', { blockedDomains: ['example.com'] })).toBe('allowed');
  });

  it('matches IP literals exactly only', () => {
    expect(check('http://1.2.3.4/', { allowedDomains: ['1.2.3.4'] })).toBe('allowed');
    expect(check('http://[2001:db8::1]/', { allowedDomains: ['[2001:db8::1]'] })).toBe('allowed');
  });

  it('ignores unusable entries (an allow list of only those allows nothing)', () => {
    expect(parseDomainRule('   ')).toBeUndefined();
    expect(check('https://example.com/', { allowedDomains: [' '] })).toBe('not_allowed');
  });
});
