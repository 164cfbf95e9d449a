// The `web_search` server tool over the `WebSearchProvider` port. Results go back as one text
// block (numbered title, URL, snippet): every consumer of `agent.tool_result` (event log, console,
// any model adapter) can show it. `searchResultBlocks` builds Messages API `search_result` blocks
// instead, for a caller that wants native citations and knows its model adapter passes them on.
import type { ToolOutcome } from '../ports/sandbox.ts';
import type { WebSearchProvider, WebSearchResult, WebSearchUserLocation } from '../ports/web-search.ts';
import { errorOutcome, INTERRUPTED_MESSAGE, textOutcome, type JsonSchema } from './builtin-tool.ts';
import { validateInput } from './validate-input.ts';

/** The agent's web_search config (snake_case, as in the agent's toolset `configs[]`). */
export interface WebSearchConfig {
  allowed_domains?: readonly string[] | null;
  blocked_domains?: readonly string[] | null;
  user_location?: ({ type?: 'approximate' } & WebSearchUserLocation) | null;
}

export const WEB_SEARCH_MAX_RESULTS = 10;
const MAX_QUERY_CHARS = 1_000;

const INPUT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { query: { type: 'string', description: 'The search query.' } },
  required: ['query'],
  additionalProperties: false,
};

export const WEB_SEARCH_TOOL = {
  name: 'web_search',
  description:
    'Searches the web and returns the top results (title, URL, snippet). Use web_fetch to read a result in full.',
  input_schema: INPUT_SCHEMA,
} as const;

export async function runWebSearch(input: Record<string, unknown>, config: WebSearchConfig, provider: WebSearchProvider, signal?: AbortSignal): Promise<ToolOutcome> {
  const problem = validateInput('web_search', INPUT_SCHEMA, input);
  if (problem) return errorOutcome(problem);
  const query = (input.query as string).trim();
  if (query === '') return errorOutcome('Invalid input for web_search: query is empty');
  if (query.length > MAX_QUERY_CHARS) return errorOutcome(`Invalid input for web_search: query is longer than ${MAX_QUERY_CHARS} characters`);
  if (signal?.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
  const location = config.user_location ? { city: config.user_location.city, region: config.user_location.region, country: config.user_location.country, timezone: config.user_location.timezone } : undefined;
  try {
    const results = await provider.search(query, {
      allowedDomains: config.allowed_domains ?? undefined,
      blockedDomains: config.blocked_domains ?? undefined,
      maxResults: WEB_SEARCH_MAX_RESULTS,
      userLocation: location,
      signal,
    });
    return textOutcome(formatSearchResults(query, results));
  } catch (err) {
    if (signal?.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
    return errorOutcome(`web_search failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The text the model sees: a numbered list, or a clear "no results" line. */
export function formatSearchResults(query: string, results: readonly WebSearchResult[]): string {
  if (results.length === 0) return `No results for "${query}".`;
  const lines = [`Search results for "${query}":`, ''];
  results.forEach((r, n) => {
    lines.push(`${n + 1}. ${r.title}`);
    lines.push(`   URL: ${r.url}`);
    if (r.publishedDate) lines.push(`   Published: ${r.publishedDate}`);
    if (r.snippet) lines.push(`   ${r.snippet}`);
    lines.push('');
  });
  return lines.join('\n').trimEnd();
}

/** Messages API `search_result` content blocks (citations enabled), one per result. */
export function searchResultBlocks(results: readonly WebSearchResult[]): Array<Record<string, unknown>> {
  return results.map((r) => ({
    type: 'search_result',
    source: r.url,
    title: r.title,
    content: [{ type: 'text', text: r.snippet || r.title }],
    citations: { enabled: true },
  }));
}
