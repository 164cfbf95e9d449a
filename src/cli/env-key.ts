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

/** A server that cannot be reached is named, with what to do, instead of the SDK's "Connection error.". */
async function reaching<T>(o: EnvKeyCommandOptions, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof Anthropic.APIConnectionError) {
      // fetch wraps the socket error (ECONNREFUSED, ENOTFOUND, …) one or two causes deep.
      let cause: unknown = err.cause;
      while (cause && !(cause as NodeJS.ErrnoException).code && (cause as Error).cause) cause = (cause as Error).cause;
      const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message ?? err.message;
      throw new Error(`could not reach the Hangar server at ${o.baseUrl} (${why}); start it (hangar serve) or point --url or HANGAR_URL at it`);
    }
    throw err;
  }
}

const path = (environmentId: string, rest = '') => `/v1/environments/${encodeURIComponent(environmentId)}/keys${rest}`;

export async function createEnvKey(environmentId: string, o: EnvKeyCommandOptions): Promise<void> {
  const key = await reaching(o, () => client(o).post<{ id: string; key: string }>(path(environmentId)));
  o.out(`Environment key ${key.id} for ${environmentId} (shown only once; only its hash is stored):\n\n  ${key.key}\n`);
  o.out(`Run a worker with it:\n\n  HANGAR_ENVIRONMENT_KEY=${key.key} hangar worker --environment ${environmentId} --url ${o.baseUrl}\n`);
}

export async function listEnvKeys(environmentId: string, o: EnvKeyCommandOptions): Promise<void> {
  const page = await reaching(o, () => client(o).get<{ data: Array<{ id: string; created_at: string }> }>(path(environmentId), { query: { limit: 100 } }));
  if (page.data.length === 0) o.out(`no keys for ${environmentId}`);
  for (const k of page.data) o.out(`${k.id}  created ${k.created_at}`);
}

export async function revokeEnvKey(environmentId: string, keyId: string, o: EnvKeyCommandOptions): Promise<void> {
  await reaching(o, () => client(o).delete(path(environmentId, `/${encodeURIComponent(keyId)}`)));
  o.out(`revoked ${keyId}`);
}
