// Sessions in self-hosted environments: sandbox tool calls wait for the worker's
// user.tool_result instead of running on the server (§5.2 flow 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { MODEL, text, rejection } from './helpers.ts';

let up: FakeUpstream;
let h: TestHangar;
let envId: string;
let agentId: string;

beforeAll(async () => {
  up = await startFakeUpstream();
  h = await startHangar({ upstreamUrl: up.url });
  envId = (await h.client.beta.environments.create({ name: 'self-hosted', config: { type: 'self_hosted' } })).id;
  agentId = (await h.client.beta.agents.create({ name: 'a', model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] })).id;
});
afterAll(async () => {
  await h?.close();
  await up?.close();
});

/**
 * Waits until the log holds `idles` session.status_idle events and the session is idle. (The status
 * alone would race: a session is still idle for a moment after input is sent, until the harness runs.)
 */
async function settle(sessionId: string, idles: number) {
  for (let i = 0; i < 400; i++) {
    const log = await events(sessionId);
    if (log.filter((e) => e.type === 'session.status_idle').length >= idles && log.at(-1)?.type === 'session.status_idle') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('session did not settle');
}

async function events(sessionId: string) {
  return (await h.client.beta.sessions.events.list(sessionId)).data as Array<Record<string, any>>;
}

describe('self-hosted sessions', () => {
  it('emits sandbox calls as agent.tool_use, waits for the worker result, then continues', async () => {
    up.reset();
    const s = await h.client.beta.sessions.create({ agent: agentId, environment_id: envId });
    up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] }, { content: [{ type: 'text', text: 'done' }] });
    await h.client.beta.sessions.events.send(s.id, { events: [text('go')] });
    await settle(s.id, 1);
    let log = await events(s.id);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ name: 'bash', evaluated_permission: 'allow' });
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    expect(log.some((e) => e.type === 'agent.tool_result')).toBe(false);
    // No sandbox was provisioned on the server.
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${h.dataDir}/sandboxes/${s.id}`)).toBe(false);

    await h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'hi\n' }] }] });
    await settle(s.id, 2);
    log = await events(s.id);
    const tail = log.slice(log.findIndex((e) => e.type === 'user.tool_result')).map((e) => e.type);
    expect(tail).toEqual(['user.tool_result', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle']);
    const second = up.requests[1].body.messages.at(-1).content[0];
    expect(second).toMatchObject({ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'hi\n' }] });
  });

  it('rejects user.tool_result for unknown, answered or non-self-hosted tool uses with 400', async () => {
    up.reset();
    const s = await h.client.beta.sessions.create({ agent: agentId, environment_id: envId });
    up.script({ content: [{ type: 'tool_use', name: 'read', input: { file_path: 'a' } }] }, { content: [{ type: 'text', text: 'ok' }] });
    await h.client.beta.sessions.events.send(s.id, { events: [text('go')] });
    await settle(s.id, 1);
    const use = (await events(s.id)).find((e) => e.type === 'agent.tool_use')!;
    expect(await rejection(h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_result', tool_use_id: 'sevt_nope', content: [] }] }))).toBeInstanceOf(Anthropic.BadRequestError);
    await h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'x' }] }] });
    expect(await rejection(h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_result', tool_use_id: use.id, content: [] }] }))).toBeInstanceOf(Anthropic.BadRequestError);

    const cloudEnv = await h.client.beta.environments.create({ name: `cloud-${Date.now()}` });
    const c = await h.client.beta.sessions.create({ agent: agentId, environment_id: cloudEnv.id });
    expect(await rejection(h.client.beta.sessions.events.send(c.id, { events: [{ type: 'user.tool_result', tool_use_id: use.id, content: [] }] }))).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('rejects file resources on self-hosted sessions', async () => {
    const e = await rejection(h.client.beta.sessions.create({ agent: agentId, environment_id: envId, resources: [{ type: 'file', file_id: 'file_x' }] }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
  });
});
