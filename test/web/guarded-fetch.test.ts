// The SSRF-safe fetch: address vetting after DNS (no allowance here unless a test says so), pinned
// connections, redirect re-checks, domain filters, size caps, decoding, deadlines and abort.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { guardedFetch, GuardedFetchError, type GuardedFetchOptions } from '../../src/adapters/net-guard/guarded-fetch.ts';
import type { EgressLookup } from '../../src/adapters/egress-proxy/egress-gate.ts';
import { redirect, routes, send, startLocalServer, type Handler, type LocalServer } from './local-server.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function local(handler: Handler): Promise<LocalServer> {
  const s = await startLocalServer(handler);
  cleanups.push(() => s.close());
  return s;
}

const BASE: GuardedFetchOptions = { maxBytes: 1_000_000, timeoutMs: 5_000 };

/** Every name under `.test` resolves to 127.0.0.1; other names fail. Counts lookups. */
function fakeDns(map: Record<string, string> = {}): EgressLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (host: string) => {
    calls.push(host);
    const address = map[host] ?? (host.endsWith('.test') ? '127.0.0.1' : undefined);
    if (!address) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  }) as EgressLookup & { calls: string[] };
  fn.calls = calls;
  return fn;
}

async function refusal(p: Promise<unknown>): Promise<GuardedFetchError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GuardedFetchError) return err;
    throw err;
  }
  throw new Error('expected a GuardedFetchError');
}

describe('guardedFetch without the test allowance', () => {
  it('refuses 127.0.0.1 and never connects', async () => {
    const s = await local(send('text/plain', 'secret'));
    const err = await refusal(guardedFetch(`${s.origin}/`, BASE));
    expect(err.reason).toBe('forbidden_address');
    expect(err.message).toMatch(/127\.0\.0\.1 is a loopback, private, link-local or reserved address/);
    expect(s.requests).toHaveLength(0);
  });

  it('refuses localhost (resolves to loopback)', async () => {
    const s = await local(send('text/plain', 'secret'));
    const err = await refusal(guardedFetch(`http://localhost:${s.port}/`, BASE));
    expect(err.reason).toBe('forbidden_address');
    expect(s.requests).toHaveLength(0);
  });

  it.each([
    ['http://10.0.0.1/', 'forbidden_address'],
    ['http://10.255.1.2:8080/x', 'forbidden_address'],
    ['http://192.168.1.1/', 'forbidden_address'],
    ['http://172.16.0.5/', 'forbidden_address'],
    ['http://169.254.169.254/latest/meta-data/', 'forbidden_address'],
    ['http://[::1]/', 'forbidden_address'],
    ['http://[::ffff:127.0.0.1]/', 'forbidden_address'],
    ['http://[fe80::1]/', 'forbidden_address'],
    ['http://0.0.0.0/', 'forbidden_address'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'forbidden_hostname'],
  ])('refuses %s (%s)', async (url, reason) => {
    const started = Date.now();
    const err = await refusal(guardedFetch(url, BASE));
    expect(err.reason).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('refuses a public-looking name that resolves to a private address', async () => {
    const dns = fakeDns({ 'intranet.example.com': '10.1.2.3' });
    const err = await refusal(guardedFetch('https://intranet.example.com/', { ...BASE, lookup: dns }));
    expect(err.reason).toBe('forbidden_address');
    expect(err.message).toMatch(/intranet\.example\.com resolves to 10\.1\.2\.3/);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const lookup: EgressLookup = async () => [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
    expect((await refusal(guardedFetch('http://mixed.example.com/', { ...BASE, lookup }))).reason).toBe('forbidden_address');
  });

  it('refuses a redirect from an allowed test server to another loopback server', async () => {
    const target = await local(send('text/plain', 'internal secret'));
    const start = await local(routes({ '/go': redirect(`${target.origin}/admin`) }));
    const err = await refusal(guardedFetch(`${start.origin}/go`, { ...BASE, unsafeAllowPrivateForTests: { origins: [start.origin] } }));
    expect(err.reason).toBe('forbidden_address');
    expect(err.url).toBe(`${target.origin}/admin`);
    expect(start.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a redirect to the metadata address', async () => {
    const start = await local(routes({ '/go': redirect('http://169.254.169.254/latest/meta-data/iam/') }));
    const err = await refusal(guardedFetch(`${start.origin}/go`, { ...BASE, unsafeAllowPrivateForTests: { origins: [start.origin] } }));
    expect(err.reason).toBe('forbidden_address');
  });

  it('refuses non-http schemes and embedded credentials', async () => {
    expect((await refusal(guardedFetch('file:///etc/passwd', BASE))).reason).toBe('unsupported_scheme');
    expect((await refusal(guardedFetch('gopher://example.com/', BASE))).reason).toBe('unsupported_scheme');
    expect((await refusal(guardedFetch('not a url', BASE))).reason).toBe('invalid_url');
    const creds = await refusal(guardedFetch('http://user:pass@example.com/', BASE));
    expect(creds.reason).toBe('credentials_in_url');
    expect(creds.message).not.toContain('pass');
  });

  it('reports a name that does not resolve', async () => {
    expect((await refusal(guardedFetch('http://nothing.invalid/', { ...BASE, lookup: fakeDns() }))).reason).toBe('dns_failed');
  });
});

describe('guardedFetch with the test allowance', () => {
  const ALLOW = { ...BASE, unsafeAllowPrivateForTests: true } as const;

  it('fetches a local page and reports status, headers and body', async () => {
    const s = await local(send('text/html; charset=utf-8', '<h1>Hi</h1>', 200, { 'x-extra': 'yes' }));
    const res = await guardedFetch(`${s.origin}/page?q=1#frag`, ALLOW);
    expect(res).toMatchObject({ url: `${s.origin}/page?q=1`, status: 200, truncated: false, redirects: [] });
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['x-extra']).toBe('yes');
    expect(res.body.toString()).toBe('<h1>Hi</h1>');
    expect(s.requests[0].url).toBe('/page?q=1');
    expect(s.requests[0].headers['user-agent']).toMatch(/Hangar/);
  });

  it('connects to the vetted address and keeps the hostname in Host, resolving once per hop', async () => {
    const s = await local(send('text/plain', 'ok'));
    const dns = fakeDns();
    const res = await guardedFetch(`http://docs.example.test:${s.port}/a`, { ...ALLOW, lookup: dns });
    expect(res.body.toString()).toBe('ok');
    expect(s.requests[0].headers.host).toBe(`docs.example.test:${s.port}`);
    expect(dns.calls).toEqual(['docs.example.test']);
  });

  it('follows redirects (relative and absolute), re-vetting each hop', async () => {
    const dns = fakeDns();
    const s = await local(routes({
      '/a': redirect('/b', 301),
      '/b': (req, res) => redirect(`http://other.test:${req.socket.localPort}/c`, 307)(req, res),
      '/c': send('text/plain', 'final'),
    }));
    const res = await guardedFetch(`${s.origin}/a`, { ...ALLOW, lookup: dns });
    expect(res.body.toString()).toBe('final');
    expect(res.url).toBe(`http://other.test:${s.port}/c`);
    expect(res.redirects).toEqual([`${s.origin}/a`, `${s.origin}/b`]);
    expect(dns.calls).toEqual(['other.test']);
  });

  it('stops after 5 redirects', async () => {
    let n = 0;
    const s = await local((_req, res) => {
      n++;
      res.writeHead(302, { location: `/r${n}` }).end();
    });
    const err = await refusal(guardedFetch(`${s.origin}/r0`, ALLOW));
    expect(err.reason).toBe('too_many_redirects');
    expect(s.requests).toHaveLength(6);
    // Exactly 5 is fine.
    let m = 0;
    const five = await local((_req, res) => {
      m++;
      if (m <= 5) res.writeHead(302, { location: `/r${m}` }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
    });
    expect((await guardedFetch(`${five.origin}/r0`, ALLOW)).body.toString()).toBe('done');
  });

  it('refuses a redirect to another scheme', async () => {
    const s = await local(routes({ '/go': redirect('file:///etc/passwd') }));
    expect((await refusal(guardedFetch(`${s.origin}/go`, ALLOW))).reason).toBe('unsupported_scheme');
  });

  it('applies allowed_domains to the host and its subdomains, on every hop', async () => {
    const dns = fakeDns();
    const s = await local(routes({ '/ok': send('text/plain', 'ok'), '/out': (req, res) => redirect(`http://evil.test:${req.socket.localPort}/ok`)(req, res) }));
    const opts = { ...ALLOW, lookup: dns, allowedDomains: ['docs.test'] };
    expect((await guardedFetch(`http://docs.test:${s.port}/ok`, opts)).body.toString()).toBe('ok');
    expect((await guardedFetch(`http://api.docs.test:${s.port}/ok`, opts)).body.toString()).toBe('ok');
    const before = s.requests.length;
    const err = await refusal(guardedFetch(`http://evil.test:${s.port}/ok`, opts));
    expect(err.reason).toBe('domain_not_allowed');
    expect(s.requests.length).toBe(before);
    expect((await refusal(guardedFetch(`http://notdocs.test:${s.port}/ok`, opts))).reason).toBe('domain_not_allowed');
    expect((await refusal(guardedFetch(`http://docs.test:${s.port}/out`, opts))).reason).toBe('domain_not_allowed');
  });

  it('applies blocked_domains to the host and its subdomains, on every hop', async () => {
    const dns = fakeDns();
    const s = await local(routes({ '/ok': send('text/plain', 'ok'), '/out': (req, res) => redirect(`http://a.blocked.test:${req.socket.localPort}/ok`)(req, res) }));
    const opts = { ...ALLOW, lookup: dns, blockedDomains: ['blocked.test'] };
    expect((await guardedFetch(`http://fine.test:${s.port}/ok`, opts)).body.toString()).toBe('ok');
    expect((await refusal(guardedFetch(`http://blocked.test:${s.port}/ok`, opts))).reason).toBe('domain_blocked');
    expect((await refusal(guardedFetch(`http://fine.test:${s.port}/out`, opts))).reason).toBe('domain_blocked');
  });

  it('caps the body at maxBytes and marks it truncated', async () => {
    const s = await local(send('text/plain', 'x'.repeat(1_000_000)));
    const res = await guardedFetch(`${s.origin}/`, { ...ALLOW, maxBytes: 1_000 });
    expect(res.body.length).toBe(1_000);
    expect(res.truncated).toBe(true);
  });

  it('decodes gzip and caps the decoded size (a compression bomb stays bounded)', async () => {
    const bomb = gzipSync(Buffer.alloc(50_000_000, 'a'));
    const s = await local(routes({
      '/small': send('text/plain', gzipSync('hello gzip'), 200, { 'content-encoding': 'gzip' }),
      '/bomb': send('text/plain', bomb, 200, { 'content-encoding': 'gzip' }),
    }));
    expect((await guardedFetch(`${s.origin}/small`, ALLOW)).body.toString()).toBe('hello gzip');
    const res = await guardedFetch(`${s.origin}/bomb`, { ...ALLOW, maxBytes: 10_000 });
    expect(res.body.length).toBe(10_000);
    expect(res.truncated).toBe(true);
  });

  it('times out a server that never answers', async () => {
    const s = await local(() => {
      // never respond
    });
    const started = Date.now();
    const err = await refusal(guardedFetch(`${s.origin}/`, { ...ALLOW, timeoutMs: 200 }));
    expect(err.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rejects with the abort reason', async () => {
    const s = await local(() => {});
    const ac = new AbortController();
    const reason = new Error('user interrupt');
    setTimeout(() => ac.abort(reason), 50);
    await expect(guardedFetch(`${s.origin}/`, { ...ALLOW, signal: ac.signal })).rejects.toBe(reason);
  });

  it('reports a refused connection', async () => {
    const s = await startLocalServer(send('text/plain', 'x'));
    await s.close();
    expect((await refusal(guardedFetch(`${s.origin}/`, ALLOW))).reason).toBe('connect_failed');
  });

  it('still refuses metadata names with the allowance', async () => {
    expect((await refusal(guardedFetch('http://metadata.google.internal/', ALLOW))).reason).toBe('forbidden_hostname');
  });
});

describe('guardedFetch over https', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

  it.skipIf(!hasOpenssl)('connects to the vetted address with SNI for the hostname and verifies the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guarded-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=secure.test', '-addext', 'subjectAltName=DNS:secure.test',
    ]);
    expect(made.status).toBe(0);
    const names: string[] = [];
    const server = createHttpsServer({
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
      SNICallback: (name, cb) => {
        names.push(name);
        cb(null, undefined);
      },
    }, (_req, res) => res.end('tls ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const lookup: EgressLookup = async () => [{ address: '127.0.0.1', family: 4 }];
    // The self-signed certificate is not trusted: the handshake got as far as verification.
    const err = await refusal(guardedFetch(`https://secure.test:${port}/`, { ...BASE, lookup, unsafeAllowPrivateForTests: true }));
    expect(err.reason).toBe('connect_failed');
    expect(err.message).toMatch(/SELF_SIGNED|self-signed/i);
    expect(names).toEqual(['secure.test']);
  });
});
