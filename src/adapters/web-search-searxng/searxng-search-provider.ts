// `WebSearchProvider` over a SearXNG instance's JSON API (`GET <base>/search?q=...&format=json`).
// The instance is operator-configured infrastructure (often on a private network), so it is reached
// with plain fetch, not the SSRF guard that protects model-chosen URLs.
import {
  WebSearchError,
  type WebSearchOptions, type WebSearchProvider, type WebSearchResult,
} from '../../ports/web-search.ts';
import { checkDomainFilters, parseDomainRule } from '../net-guard/domain-filter.ts';

export interface SearxngSearchProviderOptions {
  /** The instance's base URL, e.g. `http://searxng:8080` or `https://host/searxng/`. */
  baseUrl: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** SearXNG `language` (e.g. `en`, `de-CH`); default the instance's. */
  language?: string;
  /** 0 off, 1 moderate, 2 strict; default the instance's. */
  safesearch?: 0 | 1 | 2;
  /** SearXNG `categories` (default `general`). */
  categories?: string;
  /** Pages to read at most when domain filters drop results. Default 3. */
  maxPages?: number;
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

const MAX_SNIPPET = 500;

export class SearxngSearchProvider implements WebSearchProvider {
  readonly name = 'searxng';
  readonly #base: URL;
  readonly #opts: SearxngSearchProviderOptions;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;

  constructor(options: SearxngSearchProviderOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('SearXNG base URL must be http(s)');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.#base = base;
    this.#opts = options;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  async search(query: string, options: WebSearchOptions): Promise<WebSearchResult[]> {
    options.signal?.throwIfAborted();
    const max = Math.max(1, Math.floor(options.maxResults));
    const filtered = (options.allowedDomains?.length ?? 0) > 0 || (options.blockedDomains?.length ?? 0) > 0;
    const q = withSiteHint(query, options.allowedDomains);
    const out: WebSearchResult[] = [];
    const seen = new Set<string>();
    const pages = filtered ? Math.max(1, this.#opts.maxPages ?? 3) : 1;
    for (let page = 1; page <= pages && out.length < max; page++) {
      const raw = await this.#page(q, page, options.signal);
      if (raw.length === 0) break;
      for (const r of raw) {
        const result = toResult(r);
        if (!result || seen.has(result.url)) continue;
        seen.add(result.url);
        if (checkDomainFilters(new URL(result.url), options) !== 'allowed') continue;
        out.push(result);
        if (out.length >= max) break;
      }
    }
    return out;
  }

  async #page(q: string, page: number, signal: AbortSignal | undefined): Promise<unknown[]> {
    const url = new URL('search', this.#base);
    url.searchParams.set('q', q);
    url.searchParams.set('format', 'json');
    url.searchParams.set('pageno', String(page));
    url.searchParams.set('categories', this.#opts.categories ?? 'general');
    if (this.#opts.language) url.searchParams.set('language', this.#opts.language);
    if (this.#opts.safesearch !== undefined) url.searchParams.set('safesearch', String(this.#opts.safesearch));

    const timeoutMs = this.#opts.timeoutMs ?? 10_000;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    try {
      let res: Response;
      try {
        res = await this.#fetch(url.href, { method: 'GET', headers: { accept: 'application/json' }, signal: controller.signal });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (controller.signal.aborted) throw new WebSearchError(`The search backend did not answer within ${timeoutMs} ms.`, { retryable: true, cause: err });
        throw new WebSearchError('The search backend is unreachable.', { retryable: true, cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw httpError(res.status);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new WebSearchError('The search backend returned a response that is not JSON (is `json` enabled in SearXNG `search.formats`?).', { cause: err });
      }
      const results = (body as { results?: unknown }).results;
      if (!Array.isArray(results)) throw new WebSearchError('The search backend returned JSON without a `results` list.');
      return results;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function httpError(status: number): WebSearchError {
  if (status === 403) {
    return new WebSearchError('The search backend refused the JSON API (HTTP 403): enable `json` in SearXNG `search.formats`.', { status });
  }
  if (status === 429) return new WebSearchError('The search backend is rate limiting requests (HTTP 429).', { status, retryable: true });
  return new WebSearchError(`The search backend failed with HTTP ${status}.`, { status, retryable: status >= 500 });
}

/**
 * With exactly one allowed domain (no path), `site:` narrows the query at the engines. With more,
 * results are filtered afterwards only (engines disagree on `OR` between `site:` terms).
 */
function withSiteHint(query: string, allowed: readonly string[] | undefined): string {
  if (allowed?.length !== 1) return query;
  const rule = parseDomainRule(allowed[0]);
  return rule && rule.path === '' && !/\bsite:/i.test(query) ? `${query} site:${rule.host}` : query;
}

function toResult(raw: unknown): WebSearchResult | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.url !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const clean = (v: unknown) => (typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : '');
  const snippet = clean(r.content);
  const result: WebSearchResult = {
    title: clean(r.title) || url.href,
    url: url.href,
    snippet: snippet.length > MAX_SNIPPET ? `${snippet.slice(0, MAX_SNIPPET - 1)}…` : snippet,
  };
  const date = clean(r.publishedDate);
  if (date) result.publishedDate = date;
  return result;
}
