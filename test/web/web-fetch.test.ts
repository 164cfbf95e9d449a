// The web_fetch tool end to end through the guarded fetcher and local HTTP servers: conversion,
// passthrough, refusals, domain filters, the SSRF guard and the max_content_tokens cap.
import { afterEach, describe, expect, it } from 'vitest';
import { guardedFetch, type GuardedFetchOptions } from '../../src/adapters/net-guard/guarded-fetch.ts';
import type { EgressLookup } from '../../src/adapters/egress-proxy/egress-gate.ts';
import { runWebFetch, WEB_FETCH_TOOL, type WebFetcher } from '../../src/tools/web-fetch.ts';
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

/** `*.test` names resolve to 127.0.0.1 so domain filters can be exercised locally. */
const testDns: EgressLookup = async (host) => {
  if (host.endsWith('.test')) return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};

/** The production fetcher plus the explicit test-only allowance (and the fake DNS). */
const testFetcher: WebFetcher = (url, options) => guardedFetch(url, { ...options, lookup: testDns, unsafeAllowPrivateForTests: true } satisfies GuardedFetchOptions);
/** Exactly what production wires: no allowance. */
const productionFetcher: WebFetcher = (url, options) => guardedFetch(url, options);

const textOf = (outcome: { content: Array<Record<string, unknown>> }) => outcome.content.map((b) => b.text).join('');

const PAGE = `<!doctype html><html><head><title>Test Page</title><script>alert("x")</script><style>.a{}</style></head>
<body><h1>Welcome</h1><p>Hello <a href="/docs">docs</a> &amp; more.</p><ul><li>alpha</li><li>beta</li></ul></body></html>`;

describe('web_fetch', () => {
  it('has a model-facing definition', () => {
    expect(WEB_FETCH_TOOL.name).toBe('web_fetch');
    expect(WEB_FETCH_TOOL.input_schema).toMatchObject({ type: 'object', required: ['url'] });
  });

  it('fetches a local HTML page and returns readable markdown', async () => {
    const s = await local(send('text/html; charset=utf-8', PAGE));
    const outcome = await runWebFetch({ url: `${s.origin}/page` }, {}, testFetcher);
    expect(outcome.isError).toBe(false);
    expect(textOf(outcome)).toBe(`URL: ${s.origin}/page\nTitle: Test Page\n\n# Welcome\n\nHello [docs](${s.origin}/docs) & more.\n\n- alpha\n- beta`);
  });

  it('passes plain text and JSON through', async () => {
    const s = await local(routes({
      '/t.txt': send('text/plain; charset=utf-8', 'line 1\r\nline 2\n'),
      '/d.json': send('application/json', '{"a": 1}'),
      '/feed': send('application/rss+xml', '<rss><item>x</item></rss>'),
    }));
    expect(textOf(await runWebFetch({ url: `${s.origin}/t.txt` }, {}, testFetcher))).toBe(`URL: ${s.origin}/t.txt\n\nline 1\nline 2`);
    expect(textOf(await runWebFetch({ url: `${s.origin}/d.json` }, {}, testFetcher))).toContain('{"a": 1}');
    expect(textOf(await runWebFetch({ url: `${s.origin}/feed` }, {}, testFetcher))).toContain('<rss><item>x</item></rss>');
  });

  it('refuses binary content types with a clear error', async () => {
    const s = await local(routes({
      '/doc.pdf': send('application/pdf', '%PDF-1.4 ...'),
      '/img.png': send('image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0])),
    }));
    const pdf = await runWebFetch({ url: `${s.origin}/doc.pdf` }, {}, testFetcher);
    expect(pdf.isError).toBe(true);
    expect(textOf(pdf)).toBe(`web_fetch cannot read application/pdf content from ${s.origin}/doc.pdf: only HTML and text are supported.`);
    expect((await runWebFetch({ url: `${s.origin}/img.png` }, {}, testFetcher)).isError).toBe(true);
  });

  it('sniffs a response without a content type', async () => {
    const s = await local((req, res) => {
      res.writeHead(200);
      res.end(req.url === '/html' ? '<!DOCTYPE html><title>S</title><p>sniffed</p>' : req.url === '/bin' ? Buffer.from([1, 0, 2, 0]) : 'just text');
    });
    expect(textOf(await runWebFetch({ url: `${s.origin}/html` }, {}, testFetcher))).toContain('Title: S\n\nsniffed');
    expect(textOf(await runWebFetch({ url: `${s.origin}/txt` }, {}, testFetcher))).toContain('just text');
    expect((await runWebFetch({ url: `${s.origin}/bin` }, {}, testFetcher)).isError).toBe(true);
  });

  it('decodes the declared charset (header or <meta>)', async () => {
    const latin1 = Buffer.from('<p>caf\xe9 \x80</p>', 'latin1');
    const s = await local(routes({
      '/header': send('text/html; charset=windows-1252', latin1),
      '/meta': send('text/html', Buffer.concat([Buffer.from('<meta charset="iso-8859-1">'), latin1])),
    }));
    expect(textOf(await runWebFetch({ url: `${s.origin}/header` }, {}, testFetcher))).toContain('café €');
    expect(textOf(await runWebFetch({ url: `${s.origin}/meta` }, {}, testFetcher))).toContain('café');
  });

  it('reports HTTP errors with the status and a short excerpt', async () => {
    const s = await local(send('text/html', '<h1>Not Found</h1><p>No such page</p>', 404));
    const outcome = await runWebFetch({ url: `${s.origin}/missing` }, {}, testFetcher);
    expect(outcome.isError).toBe(true);
    expect(textOf(outcome)).toBe(`web_fetch got HTTP 404 from ${s.origin}/missing.\n\n# Not Found\n\nNo such page`);
  });

  it('follows redirects and names the original URL', async () => {
    const s = await local(routes({ '/old': redirect('/new', 301), '/new': send('text/plain', 'moved here') }));
    expect(textOf(await runWebFetch({ url: `${s.origin}/old` }, {}, testFetcher))).toBe(`URL: ${s.origin}/new\nRedirected from: ${s.origin}/old\n\nmoved here`);
  });

  it('caps the content at max_content_tokens (about 4 characters a token) with a note', async () => {
    const words = Array.from({ length: 2_000 }, (_, i) => `word${i}`).join(' ');
    const s = await local(send('text/plain', words));
    const outcome = await runWebFetch({ url: `${s.origin}/long` }, { max_content_tokens: 100 }, testFetcher);
    const text = textOf(outcome);
    const body = text.split('\n\n')[1];
    expect(body.length).toBeLessThanOrEqual(400);
    expect(body.length).toBeGreaterThan(300);
    expect(text).toMatch(/\[Content truncated: showing the first \d+ of \d+ characters \(max_content_tokens=100\)\.\]$/);
    expect(outcome.isError).toBe(false);
  });

  it('honors allowed_domains (host and subdomains) and blocked_domains', async () => {
    const s = await local(send('text/plain', 'ok'));
    const allow = { allowed_domains: ['docs.test'] };
    expect(textOf(await runWebFetch({ url: `http://docs.test:${s.port}/` }, allow, testFetcher))).toContain('ok');
    expect(textOf(await runWebFetch({ url: `http://www.docs.test:${s.port}/` }, allow, testFetcher))).toContain('ok');
    const denied = await runWebFetch({ url: `http://other.test:${s.port}/` }, allow, testFetcher);
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toBe(`web_fetch failed: Fetching http://other.test:${s.port}/ was refused: other.test is not in allowed_domains.`);
    const blocked = await runWebFetch({ url: `http://ads.evil.test:${s.port}/` }, { blocked_domains: ['evil.test'] }, testFetcher);
    expect(textOf(blocked)).toMatch(/ads\.evil\.test is in blocked_domains/);
    expect(s.requests).toHaveLength(2);
  });

  it('refuses loopback, private and metadata targets with the production fetcher', async () => {
    const s = await local(send('text/plain', 'internal secret'));
    for (const url of [`${s.origin}/`, `http://localhost:${s.port}/`, 'http://10.0.0.8/', 'http://169.254.169.254/latest/meta-data/']) {
      const outcome = await runWebFetch({ url }, {}, productionFetcher);
      expect(outcome.isError).toBe(true);
      expect(textOf(outcome)).toMatch(/was refused: .*loopback, private, link-local or reserved address/);
    }
    expect(s.requests).toHaveLength(0);
  });

  it('rejects invalid input and non-http URLs', async () => {
    expect(textOf(await runWebFetch({}, {}, testFetcher))).toMatch(/missing required field 'url'/);
    expect(textOf(await runWebFetch({ url: 'ftp://x.test/' }, {}, testFetcher))).toMatch(/Only http and https/);
    expect(textOf(await runWebFetch({ url: 'http://x.test/', extra: 1 }, {}, testFetcher))).toMatch(/unknown field 'extra'/);
  });

  it('reports an interrupted fetch', async () => {
    const s = await local(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const outcome = await runWebFetch({ url: `${s.origin}/` }, {}, testFetcher, ac.signal);
    expect(outcome).toMatchObject({ isError: true });
    expect(textOf(outcome)).toMatch(/interrupted/);
  });
});
