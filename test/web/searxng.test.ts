// The SearXNG adapter against a local fake SearXNG JSON API, and the web_search tool on top of it.
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SearxngSearchProvider } from '../../src/adapters/web-search-searxng/searxng-search-provider.ts';
import { WebSearchError, type WebSearchProvider } from '../../src/ports/web-search.ts';
import { formatSearchResults, runWebSearch, searchResultBlocks, WEB_SEARCH_TOOL } from '../../src/tools/web-search.ts';
import { startLocalServer, type LocalServer } from './local-server.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

type Result = { url: string; title?: string; content?: string; publishedDate?: string };

/** A fake SearXNG: `pages[n]` is what `pageno=n+1` returns. */
async function fakeSearxng(pages: Result[][], opts: { status?: number; body?: string; path?: string } = {}): Promise<LocalServer> {
  const s = await startLocalServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== (opts.path ?? '/search')) return void res.writeHead(404).end();
    if (opts.status) return void res.writeHead(opts.status, { 'content-type': 'text/html' }).end('nope');
    if (opts.body !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(opts.body);
    if (u.searchParams.get('format') !== 'json') return void res.writeHead(403).end();
    const page = Number(u.searchParams.get('pageno') ?? '1');
    const results = pages[page - 1] ?? [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ query: u.searchParams.get('q'), results }));
  });
  cleanups.push(() => s.close());
  return s;
}

const queryOf = (s: LocalServer, n = 0) => new URL(s.requests[n].url, 'http://x').searchParams;

const RESULTS: Result[] = [
  { url: 'https://nodejs.org/en/learn', title: 'Learn Node.js', content: '  Node.js is a   JavaScript runtime. ', publishedDate: '2024-05-01' },
  { url: 'https://developer.mozilla.org/en-US/docs/Web', title: 'MDN', content: 'Web docs' },
  { url: 'https://docs.nodejs.org/api/fs.html', title: 'fs', content: 'File system' },
  { url: 'https://nodejs.org/en/learn', title: 'duplicate', content: 'dup' },
  { url: 'javascript:alert(1)', title: 'bad', content: 'bad' },
  { url: 'https://blog.example.com/post', title: '', content: '' },
];

describe('SearxngSearchProvider', () => {
  it('queries /search with format=json and maps, cleans and deduplicates results', async () => {
    const s = await fakeSearxng([RESULTS]);
    const provider = new SearxngSearchProvider({ baseUrl: s.origin, language: 'en', safesearch: 1 });
    const results = await provider.search('node runtime', { maxResults: 10 });
    expect(results).toEqual([
      { url: 'https://nodejs.org/en/learn', title: 'Learn Node.js', snippet: 'Node.js is a JavaScript runtime.', publishedDate: '2024-05-01' },
      { url: 'https://developer.mozilla.org/en-US/docs/Web', title: 'MDN', snippet: 'Web docs' },
      { url: 'https://docs.nodejs.org/api/fs.html', title: 'fs', snippet: 'File system' },
      { url: 'https://blog.example.com/post', title: 'https://blog.example.com/post', snippet: '' },
    ]);
    const q = queryOf(s);
    expect(q.get('q')).toBe('node runtime');
    expect(q.get('format')).toBe('json');
    expect(q.get('pageno')).toBe('1');
    expect(q.get('language')).toBe('en');
    expect(q.get('safesearch')).toBe('1');
  });

  it('respects maxResults', async () => {
    const s = await fakeSearxng([RESULTS]);
    expect(await new SearxngSearchProvider({ baseUrl: s.origin }).search('x', { maxResults: 2 })).toHaveLength(2);
  });

  it('works under a base path', async () => {
    const s = await fakeSearxng([RESULTS], { path: '/searxng/search' });
    const results = await new SearxngSearchProvider({ baseUrl: `${s.origin}/searxng` }).search('x', { maxResults: 1 });
    expect(results).toHaveLength(1);
  });

  it('filters to allowed domains (with subdomains) and adds a site: hint for a single domain', async () => {
    const s = await fakeSearxng([RESULTS]);
    const results = await new SearxngSearchProvider({ baseUrl: s.origin }).search('fs api', { maxResults: 10, allowedDomains: ['nodejs.org'] });
    expect(results.map((r) => r.url)).toEqual(['https://nodejs.org/en/learn', 'https://docs.nodejs.org/api/fs.html']);
    expect(queryOf(s).get('q')).toBe('fs api site:nodejs.org');
  });

  it('supports a path in an allowed domain', async () => {
    const s = await fakeSearxng([RESULTS]);
    const results = await new SearxngSearchProvider({ baseUrl: s.origin }).search('x', { maxResults: 10, allowedDomains: ['developer.mozilla.org/en-US/docs', 'example.com'] });
    expect(results.map((r) => r.url)).toEqual(['https://developer.mozilla.org/en-US/docs/Web', 'https://blog.example.com/post']);
    expect(queryOf(s).get('q')).toBe('x');
  });

  it('drops blocked domains and reads more pages while filtering leaves too few', async () => {
    const s = await fakeSearxng([
      [{ url: 'https://spam.test/1' }, { url: 'https://a.spam.test/2' }, { url: 'https://good.test/1' }],
      [{ url: 'https://spam.test/3' }, { url: 'https://good.test/2' }],
      [{ url: 'https://good.test/3' }],
    ]);
    const results = await new SearxngSearchProvider({ baseUrl: s.origin }).search('x', { maxResults: 3, blockedDomains: ['spam.test'] });
    expect(results.map((r) => r.url)).toEqual(['https://good.test/1', 'https://good.test/2', 'https://good.test/3']);
    expect(s.requests).toHaveLength(3);
  });

  it('explains a 403 (json format disabled)', async () => {
    const s = await fakeSearxng([], { status: 403 });
    const err = await new SearxngSearchProvider({ baseUrl: s.origin }).search('x', { maxResults: 5 }).catch((e) => e);
    expect(err).toBeInstanceOf(WebSearchError);
    expect(err).toMatchObject({ status: 403, retryable: false });
    expect(err.message).toMatch(/search\.formats/);
  });

  it('marks 429 and 5xx retryable', async () => {
    const limited = await fakeSearxng([], { status: 429 });
    await expect(new SearxngSearchProvider({ baseUrl: limited.origin }).search('x', { maxResults: 5 })).rejects.toMatchObject({ status: 429, retryable: true });
    const broken = await fakeSearxng([], { status: 502 });
    await expect(new SearxngSearchProvider({ baseUrl: broken.origin }).search('x', { maxResults: 5 })).rejects.toMatchObject({ status: 502, retryable: true });
  });

  it('rejects non-JSON and JSON without results', async () => {
    const html = await fakeSearxng([], { body: '<html>' });
    await expect(new SearxngSearchProvider({ baseUrl: html.origin }).search('x', { maxResults: 5 })).rejects.toThrow(/not JSON/);
    const odd = await fakeSearxng([], { body: '{"answers": []}' });
    await expect(new SearxngSearchProvider({ baseUrl: odd.origin }).search('x', { maxResults: 5 })).rejects.toThrow(/without a `results` list/);
  });

  it('reports an unreachable backend and a slow one', async () => {
    const gone = await startLocalServer(() => {});
    await gone.close();
    await expect(new SearxngSearchProvider({ baseUrl: gone.origin }).search('x', { maxResults: 5 })).rejects.toMatchObject({ retryable: true, message: 'The search backend is unreachable.' });
    const slow = await startLocalServer(() => {});
    cleanups.push(() => slow.close());
    await expect(new SearxngSearchProvider({ baseUrl: slow.origin, timeoutMs: 100 }).search('x', { maxResults: 5 })).rejects.toThrow(/within 100 ms/);
  });

  it('rejects with the abort reason', async () => {
    const slow = await startLocalServer(() => {});
    cleanups.push(() => slow.close());
    const ac = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => ac.abort(reason), 30);
    await expect(new SearxngSearchProvider({ baseUrl: slow.origin }).search('x', { maxResults: 5, signal: ac.signal })).rejects.toBe(reason);
  });

  it('refuses a non-http base URL at construction', () => {
    expect(() => new SearxngSearchProvider({ baseUrl: 'file:///tmp' })).toThrow(/http/);
  });
});

describe('web_search tool', () => {
  it('has a model-facing definition', () => {
    expect(WEB_SEARCH_TOOL).toMatchObject({ name: 'web_search', input_schema: { required: ['query'] } });
  });

  it('formats provider results as one numbered text block', async () => {
    const s = await fakeSearxng([RESULTS.slice(0, 2)]);
    const outcome = await runWebSearch({ query: 'node' }, {}, new SearxngSearchProvider({ baseUrl: s.origin }));
    expect(outcome).toEqual({
      isError: false,
      content: [{
        type: 'text',
        text: 'Search results for "node":\n\n1. Learn Node.js\n   URL: https://nodejs.org/en/learn\n   Published: 2024-05-01\n   Node.js is a JavaScript runtime.\n\n2. MDN\n   URL: https://developer.mozilla.org/en-US/docs/Web\n   Web docs',
      }],
    });
  });

  it('passes the agent config domains through and says when nothing matched', async () => {
    const s = await fakeSearxng([RESULTS]);
    const outcome = await runWebSearch({ query: 'q' }, { allowed_domains: ['nowhere.example'] }, new SearxngSearchProvider({ baseUrl: s.origin, maxPages: 1 }));
    expect(outcome.content).toEqual([{ type: 'text', text: 'No results for "q".' }]);
  });

  it('passes limits and location to the provider', async () => {
    const seen: unknown[] = [];
    const provider: WebSearchProvider = { name: 'fake', async search(query, options) { seen.push({ query, ...options }); return []; } };
    await runWebSearch({ query: ' q ' }, { blocked_domains: ['x.com'], user_location: { type: 'approximate', city: 'Zurich', country: 'CH' } }, provider);
    expect(seen[0]).toMatchObject({ query: 'q', blockedDomains: ['x.com'], maxResults: 10, userLocation: { city: 'Zurich', country: 'CH' } });
  });

  it('turns provider failures and bad input into error results', async () => {
    const failing: WebSearchProvider = { name: 'fake', async search() { throw new WebSearchError('backend down'); } };
    expect(await runWebSearch({ query: 'q' }, {}, failing)).toEqual({ isError: true, content: [{ type: 'text', text: 'web_search failed: backend down' }] });
    expect((await runWebSearch({}, {}, failing)).isError).toBe(true);
    expect((await runWebSearch({ query: '   ' }, {}, failing)).isError).toBe(true);
  });

  it('builds search_result blocks for callers that want native citations', () => {
    expect(searchResultBlocks([{ title: 'T', url: 'https://a.example/', snippet: 'S' }])).toEqual([
      { type: 'search_result', source: 'https://a.example/', title: 'T', content: [{ type: 'text', text: 'S' }], citations: { enabled: true } },
    ]);
    expect(formatSearchResults('q', [])).toBe('No results for "q".');
  });
});
