// Telemetry destinations (issue 11) through `client.beta.organization.telemetryDestinations` against
// a live Hangar started without any OTEL_* variable, with real OTLP receivers (test/kit/otlp-receiver.ts):
// the SDK shapes, header values write-only and sealed at rest, each workspace's spans exported to
// the destinations covering it (with their headers) and to no other, `test`, the workspace list,
// updates (a new endpoint host drops the headers; disabled stops deliveries) and bad input.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startHangar, testStore, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../kit/otlp-receiver.ts';
import { rejection, text, waitForStatus } from './helpers.ts';
import { DEFAULT_WORKSPACE_ID } from '../../src/domain/workspace.ts';

let h: TestHangar;
let up: FakeUpstream;
let mine: OtlpReceiver;
let other: OtlpReceiver;
const token = `Bearer otel-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'traced' }], usage: { input_tokens: 3, output_tokens: 2 } }));
  mine = await startOtlpReceiver();
  other = await startOtlpReceiver();
  h = await startHangar({ upstreamUrl: up.url });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await up?.close();
  await mine?.close();
  await other?.close();
});

const dest = () => h.client.beta.organization.telemetryDestinations;

// A failed test must not leave destinations behind for the next one.
afterEach(async () => {
  for (const d of (await dest().list()).data) await dest().delete(d.id);
  await h.hangar.tracer.flush();
});

async function turn(): Promise<string> {
  const agent = await h.client.beta.agents.create({ name: `traced-${randomBytes(3).toString('hex')}`, model: 'claude-sonnet-4-6' });
  const env = await h.client.beta.environments.create({ name: `traced-${randomBytes(4).toString('hex')}` });
  const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  const before = up.requests.length;
  await h.client.beta.sessions.events.send(s.id, { events: [text('hello')] });
  await up.waitForRequests(before + 1);
  await waitForStatus(h.client, s.id, 'idle');
  await h.hangar.tracer.flush();
  return s.id;
}

describe('telemetry destinations', () => {
  it('exports a workspace\'s spans, with the registered headers, only to the destinations covering it', async () => {
    const d = await dest().create({
      endpoint_url: mine.url, display_name: 'ours', headers: { Authorization: token, 'X-Team': 'platform' },
      workspaces: { type: 'include', workspace_ids: [DEFAULT_WORKSPACE_ID] },
    });
    expect(d).toMatchObject({
      type: 'telemetry_destination', display_name: 'ours', endpoint_url: mine.url, header_names: ['Authorization', 'X-Team'],
      state: { type: 'enabled' }, workspaces: { type: 'include' },
      traces: { content_mode: 'metadata_only', enabled: true, endpoint_url: null, max_content_bytes: null },
      delivery_health: { last_error: null, last_error_at: null, last_success_at: null },
    });
    expect(d.id).toMatch(/^tdst_/);
    const elsewhere = await dest().create({ endpoint_url: other.url, workspaces: { type: 'include', workspace_ids: ['wrkspc_other'] } });
    const excluded = await dest().create({ endpoint_url: other.url, workspaces: { type: 'exclude', workspace_ids: [DEFAULT_WORKSPACE_ID] } });

    const sessionId = await turn();
    // The turn's root ends after its model span, possibly in a later export: wait for both.
    const spans = await mine.waitFor((s) => s.some((x) => x.name.startsWith('chat ') && x.attributes['hangar.workspace.id'] === DEFAULT_WORKSPACE_ID)
      && s.some((x) => x.name === 'invoke_agent' && x.attributes['hangar.session.id'] === sessionId)
      && s.some((x) => x.name === 'POST /v1/sessions/:id/events'), 15_000, 'the turn\'s spans');
    const root = spans.find((s) => s.name === 'invoke_agent' && s.attributes['hangar.session.id'] === sessionId);
    expect(root).toBeDefined();
    const chat = spans.find((s) => s.name.startsWith('chat ') && s.traceId === root!.traceId)!;
    expect(chat.parentSpanId).not.toBe('');
    expect(chat.attributes['gen_ai.request.model']).toBe('claude-sonnet-4-6');
    // The request that sent the message is traced for the caller's workspace too.
    expect(spans.some((s) => s.name === 'POST /v1/sessions/:id/events')).toBe(true);
    for (const e of mine.exports) {
      expect(e.headers.authorization).toBe(token);
      expect(e.headers['x-team']).toBe('platform');
    }
    expect(other.exports).toEqual([]);
    // Delivery health follows the exports.
    const read = await dest().retrieve(d.id);
    expect(read.delivery_health.last_success_at).toEqual(expect.any(String));
    await dest().delete(elsewhere.id);
    await dest().delete(excluded.id);
    await dest().delete(d.id);
  });

  it('never returns header values and keeps them sealed at rest', async () => {
    const d = await dest().create({ endpoint_url: mine.url, headers: { authorization: token }, workspaces: { type: 'all' } });
    const dump = JSON.stringify([d, await dest().retrieve(d.id), (await dest().list()).data]);
    expect(dump).not.toContain(token);
    expect(dump).toContain('"header_names":["authorization"]');
    if (testStore() === 'sqlite') expect(readFileSync(join(h.dataDir, 'hangar.db')).includes(Buffer.from(token))).toBe(false);
    const row = await h.hangar.store.telemetryDestinations.get(d.id);
    expect(JSON.stringify(row!.destination)).not.toContain(token);
    expect(row!.sealed).not.toContain(token);
    await dest().delete(d.id);
  });

  it('tests a destination with its headers, reports failures, and paces tests', async () => {
    const d = await dest().create({ endpoint_url: mine.url, headers: { authorization: token }, workspaces: { type: 'all' } });
    const before = mine.exports.length;
    expect(await dest().test(d.id)).toEqual({ type: 'telemetry_destination_test', result: { type: 'success' } });
    const sent = mine.exports.slice(before);
    expect(sent.flatMap((e) => e.spans).map((s) => s.name)).toEqual(['anthropic.test']);
    expect(sent[0].headers.authorization).toBe(token);
    const tooSoon = await rejection(dest().test(d.id));
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers?.get('retry-after')).toMatch(/^\d+$/);
    const dead = await dest().create({ endpoint_url: 'http://127.0.0.1:9', workspaces: { type: 'all' } });
    const failed = await dest().test(dead.id);
    expect(failed.result.type).toBe('failure');
    await dest().delete(dead.id);
    await dest().delete(d.id);
  });

  it('updates in place: a new endpoint host drops the headers, a null header value removes one, disabled stops deliveries', async () => {
    const d = await dest().create({ endpoint_url: mine.url, headers: { authorization: token, 'x-a': '1' }, workspaces: { type: 'all' } });
    const removed = await dest().update(d.id, { headers: { 'x-a': null } });
    expect(removed.header_names).toEqual(['authorization']);
    const moved = await dest().update(d.id, { endpoint_url: 'https://collector.example.com' });
    expect(moved.header_names).toEqual([]);
    const back = await dest().update(d.id, { endpoint_url: mine.url, headers: { authorization: token }, display_name: 'back' });
    expect(back).toMatchObject({ header_names: ['authorization'], display_name: 'back', endpoint_url: mine.url });
    const off = await dest().update(d.id, { state: { type: 'disabled' } });
    expect(off.state).toEqual({ type: 'disabled', reason: { type: 'caller' } });
    await h.hangar.tracer.flush(); // what ended while it was enabled
    const before = mine.spans().length;
    await turn();
    await new Promise((r) => setTimeout(r, 1500));
    expect(mine.spans().length).toBe(before);
    await dest().delete(d.id);
  });

  it('manages the workspace list of an include or exclude destination', async () => {
    const d = await dest().create({ endpoint_url: mine.url, workspaces: { type: 'include' } });
    const added = await dest().workspaces.add('wrkspc_team_a', { destination_id: d.id });
    expect(added).toMatchObject({ type: 'telemetry_destination_workspace', telemetry_destination_id: d.id, workspace_id: 'wrkspc_team_a' });
    await dest().workspaces.add('wrkspc_team_b', { destination_id: d.id });
    const listed = [];
    for await (const w of dest().workspaces.list(d.id, { limit: 1 })) listed.push(w.workspace_id);
    expect(listed).toEqual(['wrkspc_team_a', 'wrkspc_team_b']);
    expect((await dest().list({ workspace_ids: ['wrkspc_team_b'] })).data.map((x) => x.id)).toContain(d.id);
    expect((await dest().list({ workspace_ids: ['wrkspc_nobody'] })).data.map((x) => x.id)).not.toContain(d.id);
    expect(await dest().workspaces.remove('wrkspc_team_a', { destination_id: d.id }))
      .toEqual({ type: 'telemetry_destination_workspace_deleted', telemetry_destination_id: d.id, workspace_id: 'wrkspc_team_a' });
    expect((await rejection(dest().workspaces.remove('wrkspc_team_a', { destination_id: d.id }))).status).toBe(404);
    const all = await dest().create({ endpoint_url: mine.url, workspaces: { type: 'all' } });
    expect((await rejection(dest().workspaces.add('wrkspc_team_a', { destination_id: all.id }))).status).toBe(400);
    expect((await rejection(dest().workspaces.add('not-a-workspace', { destination_id: d.id }))).status).toBe(400);
    await dest().delete(all.id);
    await dest().delete(d.id);
  });

  it('rejects bad input with a 400 (or 404) that stores nothing', async () => {
    const bad: Array<Record<string, unknown>> = [
      { endpoint_url: 'http://collector.example.com', workspaces: { type: 'all' } },
      { endpoint_url: 'https://user:pw@collector.example.com', workspaces: { type: 'all' } },
      { endpoint_url: 'ftp://collector.example.com', workspaces: { type: 'all' } },
      { endpoint_url: mine.url },
      { endpoint_url: mine.url, workspaces: { type: 'some' } },
      { endpoint_url: mine.url, workspaces: { type: 'include', workspace_ids: ['nope'] } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, headers: { 'bad header': 'x' } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, headers: { 'Content-Type': 'text/plain' } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, headers: { a: 'line\nbreak' } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, traces: { content_mode: 'content' } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, traces: { max_content_bytes: 0 } },
      { endpoint_url: mine.url, workspaces: { type: 'all' }, extra: 1 },
    ];
    for (const body of bad) {
      const err = await rejection(dest().create(body as never));
      expect(err.status, JSON.stringify(body)).toBe(400);
    }
    expect((await dest().list()).data).toEqual([]);
    const d = await dest().create({ endpoint_url: mine.url, workspaces: { type: 'all' } });
    expect((await rejection(dest().update(d.id, {}))).status).toBe(400);
    expect((await rejection(dest().update(d.id, { headers: null } as never))).status).toBe(400);
    expect((await rejection(dest().retrieve('tdst_unknown'))).status).toBe(404);
    expect((await rejection(dest().delete('tdst_unknown'))).status).toBe(404);
    expect((await rejection(dest().list({ workspace_ids: ['nope'] }))).status).toBe(400);
    await dest().delete(d.id);
  });
});
