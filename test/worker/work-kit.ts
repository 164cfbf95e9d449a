// Test kit for the self-hosted work queue: a live Hangar with a self-hosted environment, an
// environment key, and official SDK clients authenticated as the API key, the environment key or
// a work item's session token.
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar, type StartOptions } from '../kit/hangar.ts';

export const MODEL = 'claude-sonnet-4-6';

export interface WorkRig {
  h: TestHangar;
  up: FakeUpstream;
  /** API-key client. */
  client: Anthropic;
  envId: string;
  envKey: string;
  agentId: string;
  /** A client authenticated with `credential` (environment key or session token) as Bearer. */
  as(credential: string): Anthropic;
  close(): Promise<void>;
}

export type EnvKey = { type: 'environment_key'; id: string; environment_id: string; key: string; created_at: string };

export async function createEnvKey(client: Anthropic, environmentId: string): Promise<EnvKey> {
  return client.post<EnvKey>(`/v1/environments/${environmentId}/keys`);
}

export function bearerClient(url: string, credential: string): Anthropic {
  return new Anthropic({ baseURL: url, apiKey: null, authToken: credential, maxRetries: 0, timeout: 20_000 });
}

export async function startWorkRig(opts: StartOptions = {}): Promise<WorkRig> {
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const h = await startHangar({ upstreamUrl: up.url, ...opts });
  const env = await h.client.beta.environments.create({ name: `self-hosted-${Math.random().toString(36).slice(2)}`, config: { type: 'self_hosted' } });
  const agent = await h.client.beta.agents.create({ name: `agent-${Math.random().toString(36).slice(2)}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
  const key = await createEnvKey(h.client, env.id);
  return {
    h, up, client: h.client, envId: env.id, envKey: key.key, agentId: agent.id,
    as: (credential) => bearerClient(h.url, credential),
    async close() {
      await h.close();
      await up.close();
    },
  };
}

/** The session token inside a work item's `secret` (base64url JSON, as the SDK decodes it). */
export function secretOf(work: { secret: string | null }): { sessions_token: string; api_base_url?: string } {
  if (!work.secret) throw new Error('work item has no secret');
  return JSON.parse(Buffer.from(work.secret, 'base64url').toString('utf8'));
}

export const userMessage = (text: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text }] });

export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(v)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
