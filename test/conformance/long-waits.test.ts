// Long waits (issue 14): a session parked in `requires_action` — an `always_ask` built-in tool call
// awaiting user.tool_confirmation, or a custom tool call awaiting user.custom_tool_result — resumes
// exactly when the answer arrives after several server restarts (real child processes on one data
// dir) or a week later (an in-process server on an injected clock, restarted on the same data dir).
// Driven through the official SDK; the model requests are read from the fake upstream, the tool's
// side effect from the sandbox workspace on disk.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import type { Clock } from '../../src/ports/clock.ts';
import {
  EventTap, customTool, isIdle, isType, listEvents, newSession, say, sendEvents, text, toolResults, toolUse, toolset, types,
  resultText, TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';

const WEEK_MS = 7 * 24 * 3600 * 1000;
const RUNS_FILE = 'runs.log';
const COMMAND = `echo ran >> /workspace/${RUNS_FILE}; echo confirmed-output`;
const CUSTOM_RESULT = [{ type: 'text' as const, text: 'order 7 shipped on Tuesday' }];

const PAUSED_BASH = ['user.message', 'session.status_running', 'span.model_request_start', 'agent.tool_use', 'span.model_request_end', 'session.status_idle'];
const PAUSED_CUSTOM = ['user.message', 'session.status_running', 'span.model_request_start', 'agent.custom_tool_use', 'span.model_request_end', 'session.status_idle'];
const RESUMED_AFTER_CONFIRMATION = [
  'user.tool_confirmation', 'session.status_running', 'agent.tool_result', 'span.model_request_start', 'agent.message',
  'span.model_request_end', 'session.status_idle',
];
const RESUMED_AFTER_CUSTOM_RESULT = [
  'user.custom_tool_result', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
];

let up: FakeUpstream;
let dataDir: string;
beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(async () => {
  await up?.close();
});
beforeEach(() => {
  up.reset();
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-long-waits-'));
  chmodSync(dataDir, 0o755); // the unprivileged sandbox user must reach the workspaces inside
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

interface Parked { bash: { sessionId: string; use: Ev }; custom: { sessionId: string; use: Ev } }

/** The helpers' session factory needs only a client and an environment. */
const rigOf = (client: Anthropic, envId: string) => ({ client, envId }) as unknown as Rig;

async function firstTurn(client: Anthropic, sessionId: string, prompt: string): Promise<Ev[]> {
  const tap = await EventTap.open(client, sessionId);
  try {
    await sendEvents(client, sessionId, text(prompt));
    return await tap.until(isIdle, TOOL_WAIT_MS);
  } finally {
    tap.close();
  }
}

/** Two sessions, each left idle with requires_action: an always_ask bash call and a custom tool call. */
async function park(client: Anthropic): Promise<Parked> {
  const env = await client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
  const rig = rigOf(client, env.id);
  const bashSession = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] })] });
  const customSession = await newSession(rig, { tools: [customTool('lookup')] });

  up.script({ content: [toolUse('bash', { command: COMMAND })] });
  const bashTurn = await firstTurn(client, bashSession.id, 'run it');
  expect(types(bashTurn)).toEqual(PAUSED_BASH);
  const bashUse = bashTurn[3];
  expect(bashUse).toMatchObject({ name: 'bash', evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
  expect(bashTurn[5].stop_reason).toEqual({ type: 'requires_action', event_ids: [bashUse.id] });

  up.script({ content: [toolUse('lookup', { q: 'order 7' })] });
  const customTurn = await firstTurn(client, customSession.id, 'where is order 7?');
  expect(types(customTurn)).toEqual(PAUSED_CUSTOM);
  const customUse = customTurn[3];
  expect(customUse).toMatchObject({ name: 'lookup', input: { q: 'order 7' } });
  expect(customTurn[5].stop_reason).toEqual({ type: 'requires_action', event_ids: [customUse.id] });

  expect(up.requests).toHaveLength(2);
  return { bash: { sessionId: bashSession.id, use: bashUse }, custom: { sessionId: customSession.id, use: customUse } };
}

const runsOnDisk = (sessionId: string): string[] => {
  const file = join(dataDir, 'sandboxes', sessionId, 'workspace', RUNS_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
};

/** What a (restarted) server shows of a parked session: idle, last event the requires_action idle, nothing run. */
async function expectStillParked(client: Anthropic, p: Parked): Promise<void> {
  for (const { sessionId, use } of [p.bash, p.custom]) {
    expect((await client.beta.sessions.retrieve(sessionId)).status).toBe('idle');
    const log = await listEvents(client, sessionId);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    expect(log.filter(isType('agent.tool_result', 'user.tool_confirmation', 'user.custom_tool_result'))).toEqual([]);
  }
  expect(runsOnDisk(p.bash.sessionId)).toEqual([]);
  expect(up.requests).toHaveLength(2);
}

/** Answers both parked calls and checks each resumes exactly once with the answer reaching the model. */
async function answer(client: Anthropic, p: Parked): Promise<{ confirmation: Ev; customResult: Ev }> {
  // The always_ask call: allow → it runs once → its result goes to the model → end_turn.
  up.script(say('Ran it.'));
  let tap = await EventTap.open(client, p.bash.sessionId);
  const [confirmation] = await sendEvents(client, p.bash.sessionId, { type: 'user.tool_confirmation', tool_use_id: p.bash.use.id, result: 'allow' });
  const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
  tap.close();
  expect(types(resumed)).toEqual(RESUMED_AFTER_CONFIRMATION);
  expect(resumed[0].id).toBe(confirmation.id);
  expect(resumed[2]).toMatchObject({ tool_use_id: p.bash.use.id, is_error: false });
  expect(resultText(resumed[2])).toContain('confirmed-output');
  expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
  expect(up.requests).toHaveLength(3);
  const bashReq = up.requests[2];
  expect(toolResults(bashReq)).toEqual([expect.objectContaining({ tool_use_id: p.bash.use.id })]);
  expect(resultText(toolResults(bashReq)[0])).toContain('confirmed-output');
  expect(runsOnDisk(p.bash.sessionId)).toEqual(['ran']);

  // The custom tool: the model gets exactly the content sent.
  up.script(say('It shipped Tuesday.'));
  tap = await EventTap.open(client, p.custom.sessionId);
  const [customResult] = await sendEvents(client, p.custom.sessionId, { type: 'user.custom_tool_result', custom_tool_use_id: p.custom.use.id, content: CUSTOM_RESULT });
  const resumedCustom = await tap.until(isIdle, TOOL_WAIT_MS);
  tap.close();
  expect(types(resumedCustom)).toEqual(RESUMED_AFTER_CUSTOM_RESULT);
  expect(resumedCustom[0].id).toBe(customResult.id);
  expect(resumedCustom.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
  expect(up.requests).toHaveLength(4);
  const customReq = up.requests[3];
  // Exactly the content sent (cache_control is the prompt-caching breakpoint, not part of the result).
  expect(toolResults(customReq)).toEqual([{ type: 'tool_result', tool_use_id: p.custom.use.id, content: CUSTOM_RESULT, is_error: false, cache_control: expect.anything() }]);
  const assistant = customReq.body.messages.find((m: any) => m.role === 'assistant');
  expect(assistant.content).toEqual([expect.objectContaining({ type: 'tool_use', id: p.custom.use.id, name: 'lookup', input: { q: 'order 7' } })]);
  return { confirmation, customResult };
}

/** Whole logs after the answers: one call, one answer, one result each; nothing ran twice. */
async function expectRanOnce(client: Anthropic, p: Parked): Promise<void> {
  const bashLog = await listEvents(client, p.bash.sessionId);
  expect(types(bashLog)).toEqual([...PAUSED_BASH, ...RESUMED_AFTER_CONFIRMATION]);
  const customLog = await listEvents(client, p.custom.sessionId);
  expect(types(customLog)).toEqual([...PAUSED_CUSTOM, ...RESUMED_AFTER_CUSTOM_RESULT]);
  expect(runsOnDisk(p.bash.sessionId)).toEqual(['ran']);
  expect(up.requests).toHaveLength(4);
}

describe('requires_action across restarts (real server processes)', () => {
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.stop()));
  });

  it('resumes an always_ask confirmation and a custom tool result answered after three restarts, running nothing twice', async () => {
    const apiKey = `sk-long-${randomBytes(16).toString('hex')}`;
    const start = async () => {
      const c = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url, env: { HANGAR_LEASE_TTL_MS: '500' } });
      children.push(c);
      return c;
    };
    let server = await start();
    const parked = await park(server.client);
    for (let i = 0; i < 3; i++) {
      await server.stop();
      server = await start();
      await expectStillParked(server.client, parked);
    }
    await answer(server.client, parked);
    await expectRanOnce(server.client, parked);
    // One more restart after the answers: nothing is redone.
    await server.stop();
    server = await start();
    await expectRanOnce(server.client, parked);
  }, 120_000);
});

describe('requires_action a week later (injected clock)', () => {
  let h: TestHangar | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('resumes both kinds of call answered seven days later on a restarted server', async () => {
    let nowMs = Date.parse('2026-05-01T09:00:00.000Z');
    const clock: Clock = { now: () => nowMs };
    h = await startHangar({ upstreamUrl: up.url, dataDir, overrides: { clock } });
    const parked = await park(h.client);
    await h.close();

    nowMs += WEEK_MS;
    h = await startHangar({ upstreamUrl: up.url, dataDir, overrides: { clock } });
    await expectStillParked(h.client, parked);
    const { confirmation, customResult } = await answer(h.client, parked);
    // The answers are stamped a week after the calls they answer (the injected clock is in force).
    expect(Date.parse(confirmation.processed_at) - Date.parse(parked.bash.use.processed_at)).toBeGreaterThanOrEqual(WEEK_MS);
    expect(Date.parse(customResult.processed_at) - Date.parse(parked.custom.use.processed_at)).toBeGreaterThanOrEqual(WEEK_MS);
    await expectRanOnce(h.client, parked);
  }, 60_000);
});
