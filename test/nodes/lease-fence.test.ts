// Lease fencing in the harness (embedded SQLite, in-process server): a loop whose lease was taken
// over while its model call was in flight (this process stalled past the TTL, say) must not record
// the answer — its writes are fenced by the lease, so only the node that took over writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { gate, listEvents, MODEL } from '../conformance/helpers.ts';
import { userMessage } from '../worker/work-kit.ts';

let up: FakeUpstream;
let h: TestHangar;

beforeAll(async () => {
  up = await startFakeUpstream();
  // A long lease: its renewal (every TTL/3) must not be what stops the loop here; the fence must.
  h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_LEASE_TTL_MS: '60000' } });
});
afterAll(async () => {
  await h?.close();
  await up?.close();
});

describe('lease fencing', () => {
  it('a loop whose lease moved to another owner mid-call records nothing more; the new owner keeps the lease', async () => {
    const g = gate();
    up.setResponder(async () => {
      await g.wait;
      return { content: [{ type: 'text', text: 'late answer' }] };
    });
    const agent = await h.client.beta.agents.create({ name: 'fence', model: MODEL });
    const env = await h.client.beta.environments.create({ name: `fence-${Date.now()}` });
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    await h.client.beta.sessions.events.send(s.id, { events: [userMessage('hello')] });
    await up.waitForRequests(1);
    // Another node takes the session over (as if this node's lease had lapsed): its clock is past the expiry.
    const later = Date.now() + 120_000;
    expect(await h.hangar.store.sessions.acquireLease(s.id, 'other-node#boot', 600_000, later)).toBe(true);
    g.open();
    const deadline = Date.now() + 10_000;
    while (h.hangar.harness.isDriving(s.id) && Date.now() < deadline) await sleep(10);
    expect(h.hangar.harness.isDriving(s.id)).toBe(false);
    const log = await listEvents(h.client, s.id);
    expect(log.filter((e) => e.type === 'agent.message')).toEqual([]);
    expect(log.filter((e) => e.type === 'span.model_request_start')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'span.model_request_end')).toEqual([]);
    // The stale loop's release did not free the new owner's lease.
    expect(await h.hangar.store.sessions.acquireLease(s.id, 'third-node#boot', 600_000, later + 1)).toBe(false);
  }, 30_000);
});
