// Idempotency-Key through the official SDK (1.12.0 sends no idempotency header of its own, so the
// key goes in as a request option: `{ headers: { 'Idempotency-Key': k } }`): replays, 409s, caller
// scoping, failed-then-fixed retries, concurrent duplicates, the SDK's own automatic retries,
// event sends, file uploads and the 24 h expiry under an injected clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { hashKey } from '../../src/server/auth.ts';
import { apiKeyScope, requestFingerprint } from '../../src/server/idempotency.ts';
import { MODEL, rejection, startRig, text, type Rig } from './helpers.ts';

const DAY = 24 * 3600_000;
const idem = (key: string) => ({ headers: { 'Idempotency-Key': key } });
const newKey = () => `key-${randomBytes(8).toString('hex')}`;

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
afterAll(async () => {
  await rig?.close();
});

async function freshAgent() {
  return client.beta.agents.create({ name: `idem-${randomBytes(4).toString('hex')}`, model: MODEL });
}

async function sessionIds(c: Anthropic, agentId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of c.beta.sessions.list({ agent_id: agentId })) ids.push(s.id);
  return ids;
}

describe('Idempotency-Key on creates', () => {
  it('replays the first response to a repeat with the same key and creates nothing new', async () => {
    const agent = await freshAgent();
    const key = newKey();
    const params = { agent: agent.id, environment_id: rig.envId, title: 'once' };
    const first = await client.beta.sessions.create(params, idem(key)).withResponse();
    const second = await client.beta.sessions.create(params, idem(key)).withResponse();
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('idempotent-replayed')).toBeNull();
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get('idempotent-replayed')).toBe('true');
    expect(second.data).toEqual(first.data);
    expect(await sessionIds(client, agent.id)).toEqual([first.data.id]);
  });

  it('answers the same key with a different body with a non-retryable 409 and creates nothing', async () => {
    const agent = await freshAgent();
    const key = newKey();
    const first = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, title: 'a' }, idem(key));
    // A retrying client: the 409 must tell it not to retry (one request only reaches the server).
    const retrying = new Anthropic({ baseURL: rig.h.url, apiKey: rig.h.apiKey, maxRetries: 3 });
    const err = await rejection(retrying.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, title: 'b' }, idem(key)));
    expect(err).toBeInstanceOf(Anthropic.ConflictError);
    expect(err.headers?.get('x-should-retry')).toBe('false');
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/already used with a different request/) } });
    expect(await sessionIds(client, agent.id)).toEqual([first.id]);
  });

  it('keeps callers apart: another API key with the same idempotency key gets its own session', async () => {
    const agent = await freshAgent();
    const otherKey = `sk-test-other-${randomBytes(12).toString('hex')}`;
    await rig.h.hangar.store.apiKeys.insert('key_other', hashKey(otherKey), new Date().toISOString());
    const other = new Anthropic({ baseURL: rig.h.url, apiKey: otherKey, maxRetries: 0 });
    const key = newKey();
    const mine = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, title: 'mine' }, idem(key));
    const theirs = await other.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, title: 'theirs' }, idem(key)).withResponse();
    expect(theirs.response.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.data.id).not.toBe(mine.id);
    expect((await sessionIds(client, agent.id)).sort()).toEqual([mine.id, theirs.data.id].sort());
  });

  it('stores nothing for a failed request: a fixed retry with the same key succeeds', async () => {
    const agent = await freshAgent();
    const key = newKey();
    const bad = await rejection(client.beta.sessions.create({ agent: agent.id } as never, idem(key)));
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    const fixed = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }, idem(key)).withResponse();
    expect(fixed.response.headers.get('idempotent-replayed')).toBeNull();
    expect(await sessionIds(client, agent.id)).toEqual([fixed.data.id]);
  });

  it('counts the query string as part of the request', async () => {
    const agent = await freshAgent();
    const key = newKey();
    const post = (query: string) => fetch(`${rig.h.url}/v1/sessions?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': rig.h.apiKey, 'idempotency-key': key },
      body: JSON.stringify({ agent: agent.id, environment_id: rig.envId }),
    });
    expect((await post('x=1')).status).toBe(200);
    const again = await post('x=1');
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    expect((await post('x=2')).status).toBe(409);
    expect(await sessionIds(client, agent.id)).toHaveLength(1);
  });

  it('concurrent duplicates create one session; every caller gets it', async () => {
    const agent = await freshAgent();
    const key = newKey();
    // Retries on: a duplicate that meets the first one in flight is told to retry (409 + x-should-retry: true).
    const retrying = new Anthropic({ baseURL: rig.h.url, apiKey: rig.h.apiKey, maxRetries: 5 });
    const results = await Promise.all(Array.from({ length: 8 }, () =>
      retrying.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }, idem(key))));
    expect(new Set(results.map((s) => s.id)).size).toBe(1);
    expect(await sessionIds(client, agent.id)).toEqual([results[0].id]);
  });

  it('a duplicate that arrives while the first is in flight gets a retryable 409', async () => {
    const agent = await freshAgent();
    const key = newKey();
    const body = { agent: agent.id, environment_id: rig.envId };
    // Hold the key as an in-flight request of this API key would (same scope, method, path, fingerprint).
    const id = { scope: apiKeyScope(rig.h.apiKey), method: 'POST', path: '/v1/sessions', key };
    const repo = rig.h.hangar.store.idempotency;
    await repo.claim(id, { fingerprint: requestFingerprint('/v1/sessions', ['application/json', body]), claimId: 'held', nowMs: Date.now() }, { expiredBefore: 0, staleBefore: 0 });
    const err = await rejection(client.beta.sessions.create(body, idem(key)));
    expect(err.status).toBe(409);
    expect(err.headers?.get('x-should-retry')).toBe('true');
    expect(err.message).toMatch(/still in progress/);
    expect(await sessionIds(client, agent.id)).toEqual([]);
    await repo.release(id, 'held');
    const created = await client.beta.sessions.create(body, idem(key));
    expect(await sessionIds(client, agent.id)).toEqual([created.id]);
  });

  it("the SDK's automatic retry after a lost response creates one session with a key (and two without)", async () => {
    // A fetch that delivers the first create to the server, then loses its response: the SDK sees a
    // connection error and retries the same request, headers included.
    const lossyClient = () => {
      let lost = false;
      const attempts: Array<string | null> = [];
      const c = new Anthropic({
        baseURL: rig.h.url, apiKey: rig.h.apiKey, maxRetries: 2,
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          if (init?.method === 'POST' && String(url).includes('/v1/sessions')) {
            attempts.push(new Headers(init.headers).get('x-stainless-retry-count'));
            if (!lost) {
              lost = true;
              await res.arrayBuffer();
              throw new TypeError('fetch failed: connection reset (simulated)');
            }
          }
          return res;
        },
      });
      return { c, attempts };
    };

    const agent = await freshAgent();
    const withKey = lossyClient();
    const got = await withKey.c.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }, idem(newKey())).withResponse();
    expect(withKey.attempts).toEqual(['0', '1']);
    expect(got.response.headers.get('idempotent-replayed')).toBe('true');
    expect(await sessionIds(client, agent.id)).toEqual([got.data.id]);

    const bare = await freshAgent();
    const without = lossyClient();
    await without.c.beta.sessions.create({ agent: bare.id, environment_id: rig.envId });
    expect(without.attempts).toEqual(['0', '1']);
    expect(await sessionIds(client, bare.id)).toHaveLength(2);
  });

  it('events.send with a key appends the events once', async () => {
    const agent = await freshAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    rig.up.script({ content: [{ type: 'text', text: 'ok' }] });
    const key = newKey();
    const first = await client.beta.sessions.events.send(session.id, { events: [text('only once')] }, idem(key)).withResponse();
    const again = await client.beta.sessions.events.send(session.id, { events: [text('only once')] }, idem(key)).withResponse();
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    const users: string[] = [];
    for await (const e of client.beta.sessions.events.list(session.id)) if (e.type === 'user.message') users.push(e.id);
    expect(users).toHaveLength(1);
    // The same key on another session's events is another request.
    const other = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    rig.up.script({ content: [{ type: 'text', text: 'ok' }] });
    const elsewhere = await client.beta.sessions.events.send(other.id, { events: [text('only once')] }, idem(key)).withResponse();
    expect(elsewhere.response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('agents, environments, vaults and credentials replay too', async () => {
    const key = newKey();
    const name = `idem-env-${randomBytes(4).toString('hex')}`;
    const env1 = await client.beta.environments.create({ name }, idem(key));
    // Without the key this would be a 409 (environment names are unique); with it, a replay.
    expect(await client.beta.environments.create({ name }, idem(key))).toEqual(env1);
    const agent1 = await client.beta.agents.create({ name: 'a', model: MODEL }, idem(key));
    expect(await client.beta.agents.create({ name: 'a', model: MODEL }, idem(key))).toEqual(agent1);
    const vault1 = await client.beta.vaults.create({ display_name: 'v' }, idem(key));
    expect(await client.beta.vaults.create({ display_name: 'v' }, idem(key))).toEqual(vault1);
    const cred = { display_name: 'c', auth: { type: 'static_bearer' as const, mcp_server_url: 'https://mcp.example.com/mcp', token: 'secret-token-123' } };
    const cred1 = await client.beta.vaults.credentials.create(vault1.id, cred, idem(key));
    expect(await client.beta.vaults.credentials.create(vault1.id, cred, idem(key))).toEqual(cred1);
    const creds: string[] = [];
    for await (const c of client.beta.vaults.credentials.list(vault1.id)) creds.push(c.id);
    expect(creds).toEqual([cred1.id]);
  });

  it('file uploads replay by content (the multipart boundary differs per request); other content is a 409', async () => {
    const key = newKey();
    const up = async (content: string) => client.beta.files.upload({ file: await toFile(Buffer.from(content), 'idem.txt') }, idem(key)).withResponse();
    const first = await up('same bytes');
    const again = await up('same bytes');
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    const err = await rejection(up('other bytes'));
    expect(err.status).toBe(409);
    const ids: string[] = [];
    for await (const f of client.beta.files.list()) if (f.filename === 'idem.txt') ids.push(f.id);
    expect(ids).toEqual([first.data.id]);
  });

  it('rejects malformed keys and keys on secret-bearing creates with a 400', async () => {
    const agent = await freshAgent();
    for (const bad of ['', 'x'.repeat(256), 'tab\there', 'caf\u00e9']) {
      const res = await fetch(`${rig.h.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': rig.h.apiKey, 'idempotency-key': bad },
        body: JSON.stringify({ agent: agent.id, environment_id: rig.envId }),
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/Idempotency-Key/) } });
    }
    expect(await sessionIds(client, agent.id)).toEqual([]);
    const ok = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId }, idem('x'.repeat(255)));
    expect(ok.id).toMatch(/^sesn_/);

    const env = await client.beta.environments.create({ name: `idem-sh-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } } as never);
    const keyErr = await rejection(client.post(`/v1/environments/${env.id}/keys`, { body: {}, ...idem(newKey()) }));
    expect(keyErr.status).toBe(400);
    expect(keyErr.message).toMatch(/not supported/);
  });
});

describe('Idempotency-Key expiry', () => {
  let h: TestHangar;
  let nowMs = Date.parse('2026-06-01T00:00:00.000Z');
  const clock: Clock = { now: () => nowMs };

  beforeAll(async () => {
    h = await startHangar({ overrides: { clock } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('replays within 24 h and treats the key as new afterwards', async () => {
    const env = await h.client.beta.environments.create({ name: 'expiry' });
    const agent = await h.client.beta.agents.create({ name: 'a', model: MODEL });
    const key = newKey();
    const params = { agent: agent.id, environment_id: env.id };
    const first = await h.client.beta.sessions.create(params, idem(key));
    nowMs += DAY - 1;
    const replay = await h.client.beta.sessions.create(params, idem(key)).withResponse();
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.data.id).toBe(first.id);
    nowMs += 1;
    const fresh = await h.client.beta.sessions.create(params, idem(key)).withResponse();
    expect(fresh.response.headers.get('idempotent-replayed')).toBeNull();
    expect(fresh.data.id).not.toBe(first.id);
    const ids: string[] = [];
    for await (const s of h.client.beta.sessions.list({ agent_id: agent.id })) ids.push(s.id);
    expect(ids.sort()).toEqual([first.id, fresh.data.id].sort());
  });
});
