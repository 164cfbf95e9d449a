// The pure egress rules: forbidden address ranges (IPv4, IPv6, embedded IPv4 forms), metadata
// names, allowed_hosts matching, and how proxy targets are parsed and normalized.
import { describe, expect, it } from 'vitest';
import {
  hostAllowed, isForbiddenAddress, isForbiddenHostname, isValidHostPattern,
} from '../../src/adapters/egress-proxy/address-policy.ts';
import { parseConnectTarget, parseHttpTarget } from '../../src/adapters/egress-proxy/proxy-target.ts';

const FORBIDDEN_V4: Record<string, string[]> = {
  'this network / unspecified 0/8': ['0.0.0.0', '0.1.2.3', '0.255.255.255'],
  'private 10/8': ['10.0.0.0', '10.0.0.1', '10.255.255.255'],
  'CGNAT 100.64/10': ['100.64.0.0', '100.100.100.200', '100.127.255.255'],
  'loopback 127/8': ['127.0.0.1', '127.0.0.53', '127.255.255.254'],
  'link-local 169.254/16 (cloud metadata)': ['169.254.169.254', '169.254.0.1', '169.254.255.255'],
  'private 172.16/12': ['172.16.0.0', '172.20.1.1', '172.31.255.255'],
  'IETF protocol assignments 192.0.0/24': ['192.0.0.1', '192.0.0.170'],
  'documentation': ['192.0.2.1', '198.51.100.7', '203.0.113.200'],
  '6to4 relay anycast': ['192.88.99.1'],
  'private 192.168/16': ['192.168.0.1', '192.168.255.255'],
  'benchmarking 198.18/15': ['198.18.0.1', '198.19.255.255'],
  'multicast 224/4': ['224.0.0.1', '239.255.255.250'],
  'reserved 240/4 and broadcast': ['240.0.0.1', '250.1.2.3', '255.255.255.255'],
};

const PUBLIC_V4 = [
  '8.8.8.8', '1.1.1.1', '93.184.216.34', '151.101.1.69',
  // Just outside each forbidden range.
  '1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0',
  '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.1', '192.0.3.0',
  '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255',
];

const FORBIDDEN_V6: Record<string, string[]> = {
  'unspecified ::': ['::', '0:0:0:0:0:0:0:0'],
  'loopback ::1': ['::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001'],
  'IPv4-mapped forbidden addresses': [
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:169.254.169.254', '::ffff:a9fe:a9fe', '::ffff:10.0.0.1',
    '::ffff:192.168.1.1', '::ffff:172.16.0.1', '::ffff:100.64.0.1', '::ffff:0.0.0.0', '::ffff:224.0.0.1',
    '0:0:0:0:0:ffff:127.0.0.1',
  ],
  'IPv4-compatible (deprecated) ::a.b.c.d': ['::127.0.0.1', '::8.8.8.8', '::a9fe:a9fe'],
  'NAT64 with a forbidden IPv4 inside': ['64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::10.1.2.3'],
  'local-use NAT64 64:ff9b:1::/48': ['64:ff9b:1::1'],
  '6to4 with a forbidden IPv4 inside': ['2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:c0a8:101::1'],
  'unique local fc00::/7 (incl. AWS IMDS fd00:ec2::254)': ['fc00::1', 'fd00:ec2::254', 'fd12:3456:789a::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  'link-local fe80::/10': ['fe80::1', 'fe80::a9fe:a9fe', 'febf:ffff::1'],
  'site-local fec0::/10': ['fec0::1'],
  'multicast ff00::/8': ['ff02::1', 'ff05::2', 'ff0e::1'],
  'discard-only 100::/64': ['100::1'],
  'protocol assignments 2001::/23 and Teredo': ['2001::1', '2001:0:4136:e378::1', '2001:2::1'],
  'documentation': ['2001:db8::1', '3fff::1', '3fff:fff::1'],
  'SRv6 5f00::/16': ['5f00::1'],
  'zone-scoped': ['fe80::1%eth0', '2606:4700::1111%1'],
};

const PUBLIC_V6 = [
  '2606:4700::1111', '2606:4700:4700::1001', '2001:4860:4860::8888', '2a00:1450:4001:80b::200e',
  '2001:200::1', '3fff:1000::1', '::ffff:8.8.8.8', '::ffff:0808:0808', '64:ff9b::8.8.8.8', '2002:808:808::1',
];

const NOT_AN_ADDRESS = [
  '', 'localhost', 'example.com', '127.1', '0x7f000001', '0x7f.0.0.1', '2130706433', '010.0.0.1', '1.2.3',
  '1.2.3.4.5', '256.1.1.1', ' 8.8.8.8', '8.8.8.8 ', '[::1]', ':::1', '1::2::3', '12345::', '::ffff:1.2.3',
  'g::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8',
];

describe('isForbiddenAddress', () => {
  for (const [range, ips] of Object.entries(FORBIDDEN_V4)) {
    it(`refuses IPv4 ${range}`, () => {
      for (const ip of ips) expect(isForbiddenAddress(ip), ip).toBe(true);
    });
  }

  it('refuses the IPv4-mapped IPv6 form of every forbidden IPv4 address', () => {
    for (const ip of Object.values(FORBIDDEN_V4).flat()) expect(isForbiddenAddress(`::ffff:${ip}`), ip).toBe(true);
  });

  it('allows public IPv4 addresses, including those just outside each range', () => {
    for (const ip of PUBLIC_V4) expect(isForbiddenAddress(ip), ip).toBe(false);
  });

  for (const [range, ips] of Object.entries(FORBIDDEN_V6)) {
    it(`refuses IPv6 ${range}`, () => {
      for (const ip of ips) expect(isForbiddenAddress(ip), ip).toBe(true);
    });
  }

  it('allows public IPv6 addresses and IPv6 forms that embed a public IPv4 address', () => {
    for (const ip of PUBLIC_V6) expect(isForbiddenAddress(ip), ip).toBe(false);
  });

  it('fails closed on anything that is not a canonical IP address (octal, hex, short forms, brackets)', () => {
    for (const s of NOT_AN_ADDRESS) expect(isForbiddenAddress(s), JSON.stringify(s)).toBe(true);
  });
});

describe('isForbiddenHostname', () => {
  it('refuses cloud metadata names and the .internal zone, in any case and with a root dot', () => {
    for (const h of ['metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'db.corp.internal']) {
      expect(isForbiddenHostname(h), h).toBe(true);
    }
  });

  it('allows ordinary names that merely contain those words', () => {
    for (const h of ['example.com', 'internal.example.com', 'metadata.example.com', 'internalx', 'my-internal']) {
      expect(isForbiddenHostname(h), h).toBe(false);
    }
  });
});

describe('hostAllowed', () => {
  it('allows every host when allowedHosts is null', () => {
    expect(hostAllowed('example.com', null)).toBe(true);
    expect(hostAllowed('8.8.8.8', null)).toBe(true);
  });

  it('allows nothing when allowedHosts is empty', () => {
    expect(hostAllowed('example.com', [])).toBe(false);
  });

  it('matches exact hosts case-insensitively, ignoring a trailing root dot', () => {
    const list = ['Api.Example.com', 'pypi.org.'];
    expect(hostAllowed('api.example.com', list)).toBe(true);
    expect(hostAllowed('API.EXAMPLE.COM', list)).toBe(true);
    expect(hostAllowed('api.example.com.', list)).toBe(true);
    expect(hostAllowed('pypi.org', list)).toBe(true);
    expect(hostAllowed('example.com', list)).toBe(false);
    expect(hostAllowed('x.api.example.com', list)).toBe(false);
    expect(hostAllowed('api.example.com.evil.net', list)).toBe(false);
  });

  it('matches *.suffix wildcards against subdomains at any depth but not the bare domain', () => {
    const list = ['*.Example.com'];
    expect(hostAllowed('a.example.com', list)).toBe(true);
    expect(hostAllowed('A.B.EXAMPLE.COM', list)).toBe(true);
    expect(hostAllowed('example.com', list)).toBe(false);
    expect(hostAllowed('notexample.com', list)).toBe(false);
    expect(hostAllowed('a.example.com.evil.net', list)).toBe(false);
    expect(hostAllowed('a.example.org', list)).toBe(false);
  });

  it('matches IP literals exactly and never by wildcard', () => {
    expect(hostAllowed('93.184.216.34', ['93.184.216.34'])).toBe(true);
    expect(hostAllowed('93.184.216.35', ['93.184.216.34'])).toBe(false);
    expect(hostAllowed('1.2.3.4', ['*.2.3.4'])).toBe(false);
    expect(hostAllowed('[2606:4700::1111]', ['2606:4700::1111'])).toBe(true);
  });

  it('ignores malformed entries instead of treating them as wildcards', () => {
    for (const bad of ['*', '*.', '*example.com', 'a.*.com', '', '**.example.com', 'exa mple.com', 'http://example.com']) {
      expect(isValidHostPattern(bad), bad).toBe(false);
      expect(hostAllowed('a.example.com', [bad]), bad).toBe(false);
      expect(hostAllowed('example.com', [bad]), bad).toBe(false);
    }
  });

  it('rejects target hosts that are not valid hostnames', () => {
    expect(hostAllowed('a.example.com/x', ['*.example.com'])).toBe(false);
    expect(hostAllowed('', ['*.example.com'])).toBe(false);
  });
});

describe('proxy target parsing', () => {
  it('parses CONNECT host:port and requires a valid port', () => {
    expect(parseConnectTarget('Example.COM:443')).toEqual({ host: 'example.com', port: 443 });
    expect(parseConnectTarget('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['example.com', 'example.com:0', 'example.com:65536', 'example.com:', ':443', 'user@example.com:443', 'example.com:443/x', 'a b:443', undefined]) {
      expect(parseConnectTarget(bad), String(bad)).toBeUndefined();
    }
  });

  it('normalizes numeric IPv4 spellings before any policy sees them', () => {
    expect(parseConnectTarget('0x7f.1:443')?.host).toBe('127.0.0.1');
    expect(parseConnectTarget('2130706433:80')?.host).toBe('127.0.0.1');
    expect(parseHttpTarget('http://0177.0.0.1/')?.host).toBe('127.0.0.1');
  });

  it('parses absolute-form http URLs into host, port, Host authority and origin-form path', () => {
    expect(parseHttpTarget('http://EXAMPLE.com:8080/a/b?c=1#frag')).toEqual({ host: 'example.com', port: 8080, authority: 'example.com:8080', path: '/a/b?c=1' });
    expect(parseHttpTarget('http://example.com')).toEqual({ host: 'example.com', port: 80, authority: 'example.com', path: '/' });
    expect(parseHttpTarget('http://[2606:4700::1111]/')?.host).toBe('2606:4700::1111');
    for (const bad of ['/relative', 'https://example.com/', 'ftp://example.com/', 'http://', undefined]) {
      expect(parseHttpTarget(bad), String(bad)).toBeUndefined();
    }
  });
});
