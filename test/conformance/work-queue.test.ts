// The self-hosted work queue over the wire (§4.3), driven by the official SDK: environment keys,
// poll/ack/heartbeat/stop with their edge cases, per-work session tokens and their scopes, lease
// expiry and reclaim, list/retrieve/metadata/stats, and many concurrent pollers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { BetaHeartbeatPreconditionFailedError } from '@anthropic-ai/sdk/resources/beta/environments/work';
import { startWorkRig, createEnvKey, secretOf, userMessage, eventually, sleep, type WorkRig } from '../worker/work-kit.ts';
import { rejection } from './helpers.ts';

let rig: WorkRig;

beforeAll(async () => {
  rig = await startWorkRig();
});
afterAll(async () => {
  await rig?.close();
});

/** A fresh self-hosted environment with its own key, so each test sees only its own queue. */
async function freshEnv() {
  const env = await rig.client.beta.environments.create({ name: `sh-${Math.random().toString(36).slice(2)}`, config: { type: 'self_hosted' } });
  const key = await createEnvKey(rig.client, env.id);
  return { envId: env.id, key, worker: rig.as(key.key) };
}

/** A session in `envId` that has been sent a message, which queues a work item for it. */
async function sessionWithInput(envId: string) {
  const s = await rig.client.beta.sessions.create({ agent: rig.agentId, environment_id: envId, initial_events: [userMessage('hello')] });
  return s.id;
}

describe('environment keys', () => {
  it('issues a key once for a self-hosted environment, lists keys without key material, and revokes at once', async () => {
    const env = await rig.client.beta.environments.create({ name: `keys-${Date.now()}`, config: { type: 'self_hosted' } });
    const key = await createEnvKey(rig.client, env.id);
    expect(key).toMatchObject({ type: 'environment_key', environment_id: env.id });
    expect(key.id).toMatch(/^envkey_/);
    expect(key.key).toMatch(/^sk-ant-oat01-/);

    const listed = await rig.client.get<{ data: Array<Record<string, unknown>>; next_page: string | null }>(`/v1/environments/${env.id}/keys`);
    expect(listed.data).toEqual([{ type: 'environment_key', id: key.id, environment_id: env.id, created_at: key.created_at }]);
    expect(listed.next_page).toBeNull();

    const worker = rig.as(key.key);
    expect(await worker.beta.environments.work.poll(env.id)).toBeNull();
    expect(await rig.client.delete(`/v1/environments/${env.id}/keys/${key.id}`)).toEqual({ id: key.id, type: 'environment_key_deleted' });
    expect(await rejection(worker.beta.environments.work.poll(env.id))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(await rejection(rig.client.delete(`/v1/environments/${env.id}/keys/${key.id}`))).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('refuses keys for cloud environments (400) and unknown environments (404)', async () => {
    const cloud = await rig.client.beta.environments.create({ name: `cloud-${Date.now()}` });
    expect(await rejection(createEnvKey(rig.client, cloud.id))).toBeInstanceOf(Anthropic.BadRequestError);
    const e = await rejection(createEnvKey(rig.client, 'env_doesnotexist'));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(e.errorCode).toBe('environment_not_found');
  });

  it('only API keys manage keys', async () => {
    const { envId, worker } = await freshEnv();
    expect(await rejection(createEnvKey(worker, envId))).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });
});

describe('poll and ack', () => {
  it('returns no work (null) when the queue is empty, after waiting block_ms', async () => {
    const { envId, worker } = await freshEnv();
    expect(await worker.beta.environments.work.poll(envId)).toBeNull();
    const t0 = Date.now();
    expect(await worker.beta.environments.work.poll(envId, { block_ms: 300 })).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it('wakes a blocked poll as soon as a session receives input', async () => {
    const { envId, worker } = await freshEnv();
    const t0 = Date.now();
    const polled = worker.beta.environments.work.poll(envId, { block_ms: 999 });
    await sleep(50);
    const sessionId = await sessionWithInput(envId);
    const work = await polled;
    expect(work).toMatchObject({ type: 'work', environment_id: envId, data: { type: 'session', id: sessionId }, state: 'queued' });
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('hands out a work item whose secret carries a session token, and ack moves it to starting', async () => {
    const { envId, worker } = await freshEnv();
    const sessionId = await sessionWithInput(envId);
    const work = (await worker.beta.environments.work.poll(envId, { block_ms: 500 }))!;
    expect(work.id).toMatch(/^work_/);
    expect(work).toMatchObject({
      environment_id: envId, data: { type: 'session', id: sessionId }, state: 'queued', metadata: {},
      acknowledged_at: null, started_at: null, latest_heartbeat_at: null, stop_requested_at: null, stopped_at: null,
    });
    const secret = secretOf(work);
    expect(secret.sessions_token).toMatch(/^sk-ant-req-/);
    expect(secret.api_base_url).toBe(rig.h.url);
    // Handed out, not acknowledged: no other poller gets it within the reclaim window.
    expect(await worker.beta.environments.work.poll(envId)).toBeNull();
    const stats = await rig.client.beta.environments.work.stats(envId);
    expect(stats).toMatchObject({ type: 'work_queue_stats', depth: 0, pending: 1, oldest_queued_at: work.created_at });

    const acked = await worker.beta.environments.work.ack(work.id, { environment_id: envId });
    expect(acked.state).toBe('starting');
    expect(acked.acknowledged_at).not.toBeNull();
    expect(acked.secret).toBeNull();
    expect(await rig.client.beta.environments.work.stats(envId)).toMatchObject({ depth: 0, pending: 0, oldest_queued_at: null });
    const again = await rejection(worker.beta.environments.work.ack(work.id, { environment_id: envId }));
    expect(again).toBeInstanceOf(Anthropic.ConflictError);
    expect(again.headers?.get('x-should-retry')).toBe('false');
  });

  it('queues one item per session while one is live, and a new one once it stopped', async () => {
    const { envId, worker } = await freshEnv();
    const sessionId = await sessionWithInput(envId);
    await eventually(() => rig.client.beta.sessions.retrieve(sessionId), (s) => s.status === 'idle', 10_000, 'idle');
    await rig.client.beta.sessions.events.send(sessionId, { events: [userMessage('more')] });
    await rig.client.beta.sessions.events.send(sessionId, { events: [userMessage('and more')] });
    const listed = await worker.beta.environments.work.list(envId);
    expect(listed.data.length).toBe(1);
    const work = (await worker.beta.environments.work.poll(envId))!;
    await worker.beta.environments.work.ack(work.id, { environment_id: envId });
    await worker.beta.environments.work.stop(work.id, { environment_id: envId, force: true });
    await eventually(() => rig.client.beta.sessions.retrieve(sessionId), (s) => s.status === 'idle', 10_000, 'idle');
    await rig.client.beta.sessions.events.send(sessionId, { events: [userMessage('after stop')] });
    const next = (await worker.beta.environments.work.poll(envId))!;
    expect(next.id).not.toBe(work.id);
    expect(next.data).toEqual({ type: 'session', id: sessionId });
  });

  it('re-hands an unacknowledged item after reclaim_older_than_ms with a fresh token; the old token stops working', async () => {
    const { envId, worker } = await freshEnv();
    await sessionWithInput(envId);
    const first = (await worker.beta.environments.work.poll(envId))!;
    const firstToken = secretOf(first).sessions_token;
    expect(await worker.beta.environments.work.poll(envId, { reclaim_older_than_ms: 60_000 })).toBeNull();
    await sleep(30);
    const second = (await worker.beta.environments.work.poll(envId, { reclaim_older_than_ms: 20 }))!;
    expect(second.id).toBe(first.id);
    const secondToken = secretOf(second).sessions_token;
    expect(secondToken).not.toBe(firstToken);
    expect(await rejection(rig.as(firstToken).beta.environments.work.ack(first.id, { environment_id: envId }))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((await rig.as(secondToken).beta.environments.work.ack(first.id, { environment_id: envId })).state).toBe('starting');
  });

  it('counts distinct Anthropic-Worker-ID values in workers_polling', async () => {
    const { envId, worker } = await freshEnv();
    expect((await rig.client.beta.environments.work.stats(envId)).workers_polling).toBeNull();
    await worker.beta.environments.work.poll(envId, { 'Anthropic-Worker-ID': 'w-1' });
    await worker.beta.environments.work.poll(envId, { 'Anthropic-Worker-ID': 'w-2' });
    await worker.beta.environments.work.poll(envId, { 'Anthropic-Worker-ID': 'w-1' });
    expect((await rig.client.beta.environments.work.stats(envId)).workers_polling).toBe(2);
  });

  it('rejects block_ms outside 1-999 with 400', async () => {
    const { envId, worker } = await freshEnv();
    expect(await rejection(worker.beta.environments.work.poll(envId, { block_ms: 1000 }))).toBeInstanceOf(Anthropic.BadRequestError);
    expect(await rejection(worker.beta.environments.work.poll(envId, { block_ms: 0 }))).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

/** Poll + ack, returning the item and a client on its session token. */
async function claimed(envId: string, worker: Anthropic) {
  const sessionId = await sessionWithInput(envId);
  const work = (await worker.beta.environments.work.poll(envId, { block_ms: 500 }))!;
  const token = secretOf(work).sessions_token;
  const item = rig.as(token);
  await item.beta.environments.work.ack(work.id, { environment_id: envId });
  return { work, token, item, sessionId };
}

describe('heartbeat', () => {
  it('claims the lease with NO_HEARTBEAT, then needs the last value echoed exactly; a mismatch is 412 with current_state', async () => {
    const { envId, worker } = await freshEnv();
    const { work, item } = await claimed(envId, worker);
    const p = { environment_id: envId };
    const hb1 = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' });
    expect(hb1).toMatchObject({ type: 'work_heartbeat', lease_extended: true, state: 'active', ttl_seconds: 60 });
    expect(Date.parse(hb1.last_heartbeat)).not.toBeNaN();
    await sleep(5);
    const hb2 = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: hb1.last_heartbeat, desired_ttl_seconds: 120 });
    expect(hb2).toMatchObject({ lease_extended: true, state: 'active', ttl_seconds: 120 });

    const stale = await rejection(item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: hb1.last_heartbeat }));
    expect(stale).toBeInstanceOf(BetaHeartbeatPreconditionFailedError);
    expect(stale.status).toBe(412);
    expect(stale.errorCode).toBe('heartbeat_precondition_failed');
    expect((stale.details as any).current_state).toEqual({ last_heartbeat: hb2.last_heartbeat, lease_extended: false, state: 'active', ttl_seconds: 120 });
    const claimAgain = await rejection(item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' }));
    expect(claimAgain).toBeInstanceOf(BetaHeartbeatPreconditionFailedError);
    // Null params (allowed by the SDK's types) mean "not given": an unconditional renewal.
    const hb3 = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: null, desired_ttl_seconds: null });
    expect(hb3).toMatchObject({ lease_extended: true, ttl_seconds: 120 });
    await sleep(2);
    const hb4 = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: hb3.last_heartbeat });

    const retrieved = await rig.client.beta.environments.work.retrieve(work.id, p);
    expect(retrieved).toMatchObject({ state: 'active', latest_heartbeat_at: hb4.last_heartbeat, secret: null });
    expect(retrieved.started_at).toBe(hb1.last_heartbeat);
  });

  it('returns the item to the queue when its lease lapses; the old holder gets 412, the re-poll a fresh token, the old token 401', async () => {
    const { envId, worker } = await freshEnv();
    const { work, item, token } = await claimed(envId, worker);
    const p = { environment_id: envId };
    const hb = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT', desired_ttl_seconds: 1 });
    expect(hb.ttl_seconds).toBe(1);
    expect(await worker.beta.environments.work.poll(envId)).toBeNull();
    await sleep(1_100);
    expect(await rig.client.beta.environments.work.retrieve(work.id, p)).toMatchObject({ state: 'queued', acknowledged_at: null, latest_heartbeat_at: null });
    expect(await rig.client.beta.environments.work.stats(envId)).toMatchObject({ depth: 1, pending: 0 });

    const lost = await rejection(item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: hb.last_heartbeat }));
    expect(lost).toBeInstanceOf(BetaHeartbeatPreconditionFailedError);
    expect((lost.details as any).current_state).toMatchObject({ state: 'queued', last_heartbeat: null, lease_extended: false });
    // A holder whose lease lapsed cannot stop the item out from under the next worker.
    expect(await rejection(item.beta.environments.work.stop(work.id, { ...p, force: true }))).toBeInstanceOf(Anthropic.ConflictError);

    const again = (await worker.beta.environments.work.poll(envId))!;
    expect(again.id).toBe(work.id);
    const fresh = secretOf(again).sessions_token;
    expect(fresh).not.toBe(token);
    expect(await rejection(item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' }))).toBeInstanceOf(Anthropic.AuthenticationError);
    const next = rig.as(fresh);
    await next.beta.environments.work.ack(work.id, p);
    expect(await next.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' })).toMatchObject({ state: 'active', lease_extended: true });
  });
});

describe('stop', () => {
  it('graceful stop asks the holder to wind down; force stops, revokes the token, and a second stop is 409 (x-should-retry: false)', async () => {
    const { envId, worker } = await freshEnv();
    const { work, item, sessionId } = await claimed(envId, worker);
    const p = { environment_id: envId };
    const hb = await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' });

    const stopping = await rig.client.beta.environments.work.stop(work.id, p);
    expect(stopping.state).toBe('stopping');
    expect(stopping.stop_requested_at).not.toBeNull();
    // Once stopping, the precondition is not checked; the holder hears `stopping`.
    expect(await item.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: 'not-the-value' })).toMatchObject({ state: 'stopping' });
    expect((await item.beta.sessions.retrieve(sessionId)).id).toBe(sessionId);

    const stopped = await item.beta.environments.work.stop(work.id, { ...p, force: true });
    expect(stopped).toMatchObject({ state: 'stopped', stop_requested_at: stopping.stop_requested_at });
    expect(stopped.stopped_at).not.toBeNull();
    const twice = await rejection(worker.beta.environments.work.stop(work.id, { ...p, force: true }));
    expect(twice).toBeInstanceOf(Anthropic.ConflictError);
    expect(twice.headers?.get('x-should-retry')).toBe('false');
    expect(await rejection(item.beta.sessions.retrieve(sessionId))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(await worker.beta.environments.work.heartbeat(work.id, { ...p, expected_last_heartbeat: hb.last_heartbeat })).toMatchObject({ state: 'stopped', lease_extended: false });
  });

  it('stops a queued item at once', async () => {
    const { envId, worker } = await freshEnv();
    await sessionWithInput(envId);
    const listed = await worker.beta.environments.work.list(envId);
    const stopped = await rig.client.beta.environments.work.stop(listed.data[0].id, { environment_id: envId });
    expect(stopped.state).toBe('stopped');
    expect(await worker.beta.environments.work.poll(envId)).toBeNull();
  });
});

describe('list, retrieve, metadata, stats', () => {
  it('lists for the environment key (newest first, secret null) and patches metadata for the API key', async () => {
    const { envId, worker } = await freshEnv();
    const a = await sessionWithInput(envId);
    const b = await sessionWithInput(envId);
    const listed = await worker.beta.environments.work.list(envId, { limit: 1 });
    expect(listed.data.map((w) => w.data.id)).toEqual([b]);
    const all: string[] = [];
    for await (const w of worker.beta.environments.work.list(envId, { limit: 1 })) {
      expect(w.secret).toBeNull();
      all.push(w.data.id);
    }
    expect(all).toEqual([b, a]);

    const id = listed.data[0].id;
    const p = { environment_id: envId };
    expect((await rig.client.beta.environments.work.update(id, { ...p, metadata: { team: 'infra', x: '1' } })).metadata).toEqual({ team: 'infra', x: '1' });
    expect((await rig.client.beta.environments.work.update(id, { ...p, metadata: { x: null } })).metadata).toEqual({ team: 'infra' });
    expect((await rig.client.beta.environments.work.retrieve(id, p)).metadata).toEqual({ team: 'infra' });
    const bad = await rejection(rig.client.beta.environments.work.update(id, { ...p, metadata: { ['k'.repeat(65)]: 'v' } }));
    expect(bad.errorCode).toBe('invalid_metadata');
    expect(await rejection(rig.client.beta.environments.work.retrieve('work_nope', p))).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await rig.client.beta.environments.work.stats(envId)).toMatchObject({ depth: 2, pending: 0 });
  });
});

describe('credential scopes', () => {
  it('keeps worker routes from API keys and API routes from environment keys (403)', async () => {
    const { envId, worker } = await freshEnv();
    const p = { environment_id: envId };
    expect(await rejection(rig.client.beta.environments.work.poll(envId))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await rejection(rig.client.beta.environments.work.list(envId))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    await sessionWithInput(envId);
    const work = (await worker.beta.environments.work.poll(envId))!;
    expect(await rejection(rig.client.beta.environments.work.ack(work.id, p))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await rejection(worker.beta.environments.work.retrieve(work.id, p))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await rejection(worker.beta.environments.work.stats(envId))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await rejection(worker.beta.agents.list())).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await rejection(worker.beta.sessions.retrieve(work.data.id))).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const e = await rejection(worker.beta.environments.work.poll(rig.envId));
    expect(e).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(e.type).toBe('permission_error');
  });

  it('lets a session token reach only its own work item and session', async () => {
    const { envId, worker } = await freshEnv();
    const mine = await claimed(envId, worker);
    const other = await claimed(envId, worker);
    const p = { environment_id: envId };
    const item = mine.item;
    expect((await item.beta.sessions.retrieve(mine.sessionId)).id).toBe(mine.sessionId);
    expect((await item.beta.sessions.events.list(mine.sessionId)).data.length).toBeGreaterThan(0);
    const stream = await item.beta.sessions.events.stream(mine.sessionId);
    stream.controller.abort();
    await eventually(() => rig.client.beta.sessions.retrieve(mine.sessionId), (s) => s.status === 'idle', 10_000, 'idle');
    // A worker posts tool results; what the user says, approves, interrupts or defines needs an API key.
    const before = (await rig.client.beta.sessions.events.list(mine.sessionId)).data.length;
    const userOnly: Array<Record<string, unknown>> = [
      userMessage('from the worker'),
      { type: 'user.tool_confirmation', tool_use_id: 'sevt_0000000000000000000000000', result: 'allow' },
      { type: 'user.interrupt' },
      { type: 'user.define_outcome', description: 'done', rubric: { type: 'text', content: 'anything' } },
    ];
    for (const event of userOnly) {
      const e = await rejection(item.beta.sessions.events.send(mine.sessionId, { events: [event as never] }));
      expect(e, `${event.type}: ${e.message}`).toBeInstanceOf(Anthropic.PermissionDeniedError);
      expect(e.message).toContain(String(event.type));
      expect(e.message).toContain('API key');
    }
    // Mixed with a tool result, the batch is refused as a whole.
    const mixed = await rejection(item.beta.sessions.events.send(mine.sessionId, {
      events: [{ type: 'user.custom_tool_result', custom_tool_use_id: 'sevt_0000000000000000000000000', content: [] }, userMessage('sneaked in')] as never,
    }));
    expect(mixed).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((await rig.client.beta.sessions.events.list(mine.sessionId)).data.length).toBe(before);
    // A tool result passes the permission check (it is then judged on its merits: no such call here).
    const result = await rejection(item.beta.sessions.events.send(mine.sessionId, {
      events: [{ type: 'user.tool_result', tool_use_id: 'sevt_0000000000000000000000000', content: [] }] as never,
    }));
    expect(result).not.toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(result.status).toBe(400);

    const forbidden = [
      () => item.beta.sessions.retrieve(other.sessionId),
      () => item.beta.sessions.events.list(other.sessionId),
      () => item.beta.sessions.events.send(other.sessionId, { events: [userMessage('x')] }),
      () => item.beta.environments.work.heartbeat(other.work.id, { ...p, expected_last_heartbeat: 'NO_HEARTBEAT' }),
      () => item.beta.environments.work.stop(other.work.id, p),
      () => item.beta.environments.work.poll(envId),
      () => item.beta.environments.work.retrieve(mine.work.id, p),
      () => item.beta.sessions.list(),
      () => item.beta.sessions.update(mine.sessionId, { title: 'nope' }),
      () => item.beta.sessions.archive(mine.sessionId),
      () => item.beta.agents.retrieve(rig.agentId),
    ];
    for (const call of forbidden) {
      const e = await rejection(call());
      expect(e, e.message).toBeInstanceOf(Anthropic.PermissionDeniedError);
    }
    expect(await rejection(rig.as('sk-ant-req-forged').beta.sessions.retrieve(mine.sessionId))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(await rejection(rig.as('sk-ant-oat01-forged').beta.environments.work.poll(envId))).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(await rejection(rig.as('not-a-key').beta.agents.list())).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});

describe('concurrent pollers', () => {
  it('never hands one item to two of 20 concurrent pollers (50 items)', async () => {
    const { envId, key } = await freshEnv();
    const sessions = await Promise.all(Array.from({ length: 50 }, () => rig.client.beta.sessions.create({ agent: rig.agentId, environment_id: envId })));
    // Queue directly through the hook (no model turns), so only the pollers race.
    await Promise.all(sessions.map((s) => rig.h.hangar.work.onSessionInput(s.id)));
    expect((await rig.client.beta.environments.work.stats(envId)).depth).toBe(50);

    const claims: Array<{ poller: number; id: string; token: string }> = [];
    await Promise.all(Array.from({ length: 20 }, async (_, poller) => {
      const client = rig.as(key.key);
      for (let empty = 0; empty < 2;) {
        const w = await client.beta.environments.work.poll(envId, { block_ms: 50, 'Anthropic-Worker-ID': `p${poller}` });
        if (!w) {
          empty++;
          continue;
        }
        claims.push({ poller, id: w.id, token: secretOf(w).sessions_token });
        await client.beta.environments.work.ack(w.id, { environment_id: envId });
      }
    }));
    const ids = claims.map((c) => c.id);
    expect(ids.length).toBe(50);
    expect(new Set(ids).size).toBe(50);
    expect(new Set(claims.map((c) => c.token)).size).toBe(50);
    expect(new Set(claims.map((c) => c.poller)).size).toBeGreaterThan(1);
    expect(await rig.client.beta.environments.work.stats(envId)).toMatchObject({ depth: 0, pending: 0, workers_polling: 20 });
  });
});
