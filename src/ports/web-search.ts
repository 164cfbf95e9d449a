// The web search port: one query in, a short list of results out. Adapters wrap a search backend
// (SearXNG today; API-key providers fit the same shape). With no provider configured the
// `web_search` tool is simply not offered.
export const WEB_SEARCH_PORT_VERSION = 'v1';

export interface WebSearchResult {
  title: string;
  /** Absolute http(s) URL. */
  url: string;
  /** Plain text, may be empty. */
  snippet: string;
  /** ISO date or the provider's own date text, when known. */
  publishedDate?: string;
}

export interface WebSearchUserLocation {
  city?: string | null;
  region?: string | null;
  country?: string | null;
  timezone?: string | null;
}

export interface WebSearchOptions {
  /** Only results from these domains (and subdomains; `host/path` limits the path too). */
  allowedDomains?: readonly string[];
  /** No results from these domains (and subdomains). */
  blockedDomains?: readonly string[];
  /** Upper bound on returned results (>= 1). */
  maxResults: number;
  /** A hint; providers that cannot localize ignore it. */
  userLocation?: WebSearchUserLocation;
  signal?: AbortSignal;
}

/** A failing provider. `retryable` for rate limits, timeouts and 5xx. */
export class WebSearchError extends Error {
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: { status?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}

export interface WebSearchProvider {
  /** Short name for logs and the tool result (e.g. `searxng`). */
  readonly name: string;
  /**
   * Runs one query. Results are already filtered by the domain options, deduplicated by URL and at
   * most `maxResults` long; `[]` means nothing matched. Rejects with `WebSearchError` when the
   * backend fails, and with `signal.reason` when aborted.
   */
  search(query: string, options: WebSearchOptions): Promise<WebSearchResult[]>;
}
