// `hangar env-key …`: issue, list and revoke a self-hosted environment's keys through a running
// Hangar server's API (authenticated with an API key).
import Anthropic from '@anthropic-ai/sdk';

export interface EnvKeyCommandOptions {
  baseUrl: string;
  apiKey: string;
  out: (line: string) => void;
}

function client(o: EnvKeyCommandOptions): Anthropic {
  return new Anthropic({ baseURL: o.baseUrl, apiKey: o.apiKey, maxRetries: 2 });
}

const path = (environmentId: string, rest = '') => `/v1/environments/${encodeURIComponent(environmentId)}/keys${rest}`;

export async function createEnvKey(environmentId: string, o: EnvKeyCommandOptions): Promise<void> {
  const key = await client(o).post<{ id: string; key: string }>(path(environmentId));
  o.out(`Environment key ${key.id} for ${environmentId} (shown only once; only its hash is stored):\n\n  ${key.key}\n`);
  o.out(`Run a worker with it:\n\n  HANGAR_ENVIRONMENT_KEY=${key.key} hangar worker --environment ${environmentId} --url ${o.baseUrl}\n`);
}

export async function listEnvKeys(environmentId: string, o: EnvKeyCommandOptions): Promise<void> {
  const page = await client(o).get<{ data: Array<{ id: string; created_at: string }> }>(path(environmentId), { query: { limit: 100 } });
  if (page.data.length === 0) o.out(`no keys for ${environmentId}`);
  for (const k of page.data) o.out(`${k.id}  created ${k.created_at}`);
}

export async function revokeEnvKey(environmentId: string, keyId: string, o: EnvKeyCommandOptions): Promise<void> {
  await client(o).delete(path(environmentId, `/${encodeURIComponent(keyId)}`));
  o.out(`revoked ${keyId}`);
}
