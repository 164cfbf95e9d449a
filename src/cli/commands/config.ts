// `hangar login` (checks a URL and key against the server, then writes the config file) and
// `hangar config` (shows which URL and key the client commands would use, and where each came from).
import Anthropic from '@anthropic-ai/sdk';
import { readSecret, type Output } from './io.ts';
import { CliError, resolveConnection, writeConfig, type ConnectionFlags } from './connection.ts';

const SOURCE_LABEL = { flag: 'flag', env: 'environment variable', config: 'config file', default: 'default', none: 'not set' } as const;

const hint = (key: string) => (key.length > 12 ? `${key.slice(0, 7)}…${key.slice(-4)}` : '…');

export function showConfig(o: Output, flags: ConnectionFlags): void {
  const r = resolveConnection(flags);
  const view = { url: r.url, url_source: r.urlSource, api_key_hint: r.apiKey ? hint(r.apiKey) : null, api_key_source: r.apiKeySource, config_file: r.configPath };
  if (o.json) {
    o.out(JSON.stringify(view, null, 2));
    return;
  }
  o.out(`url:     ${view.url}  (${SOURCE_LABEL[r.urlSource]})`);
  o.out(`api key: ${view.api_key_hint ?? '-'}  (${SOURCE_LABEL[r.apiKeySource]})`);
  o.out(`config:  ${r.configPath}`);
}

/** The key comes from --api-key, --api-key-file (a path, or - for stdin), or HANGAR_API_KEY. */
export async function login(o: Output, flags: ConnectionFlags & { apiKeyFile?: string }): Promise<void> {
  const apiKey = flags.apiKey ?? (flags.apiKeyFile ? readSecret(flags.apiKeyFile) : undefined) ?? (process.env.HANGAR_API_KEY || undefined);
  if (!apiKey) throw new CliError('give the key with --api-key-file <path|-> (or --api-key, or HANGAR_API_KEY)', 2);
  const url = flags.url ?? resolveConnection({}).url;
  const client = new Anthropic({ baseURL: url, apiKey, maxRetries: 1, timeout: 20_000 });
  await client.beta.agents.list({ limit: 1 });
  const path = writeConfig({ url, api_key: apiKey });
  o.out(`logged in to ${url}; wrote ${path} (mode 0600)`);
}
