// Crash recovery: a real server process is killed (SIGKILL, or SIGTERM) mid model call, during a
// tool round and at random instants; a fresh process on the same data dir must finish every turn
// from the log alone, with no duplicated, lost or unbalanced events. Driven only through the SDK.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';

const MODEL = 'claude-sonnet-4-6';
// Short lease so a restarted server takes over a dead process's sessions within about a second.
const CHILD_ENV = { HANGAR_LEASE_TTL_MS: '1000' };
const SETTLE_TIMEOUT_MS = 45_000;
const POLL_MS = 50;

type Ev = { id: string; type: string; processed_at?: string | null; [k: string]: any };

let up: FakeUpstream;
let dataDir: string;
let apiKey: string;
const children: ChildServer[] = [];

async function startChild(): Promise<ChildServer> {
  const child = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url, env: CHILD_ENV });
  children.push(child);
  return child;
}

beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(async () => {
  await up.close();
});
beforeEach(() => {
  up.reset();
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-crash-'));
  apiKey = `sk-crash-${randomBytes(16).toString('hex')}`;
});
afterEach(async () => {
  // Every child is stopped, even when the test failed half-way.
  await Promise.all(children.splice(0).map((c) => c.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function setup(client: Anthropic, tools: Anthropic.Beta.AgentCreateParams['tools'] = []) {
  const agent = await client.beta.agents.create({ name: `crash-${randomBytes(3).toString('hex')}`, model: MODEL, tools });
  const env = await client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
  const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  return session.id;
}

async function listEvents(client: Anthropic, sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  // A small page size so the listing really walks the cursor to the end.
  for await (const e of client.beta.sessions.events.list(sessionId, { limit: 7 })) out.push(e as unknown as Ev);
  return out;
}

const userText = (text: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text }] });
const statusEvents = (log: Ev[]) => log.filter((e) => e.type === 'session.status_running' || e.type === 'session.status_idle');
const messageText = (e: Ev) => (e.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');

/**
 * Polls until the session is idle with all input processed and its last status event (after the
 * last user input) is an idle with the wanted stop reason; returns the full log at that point.
 */
async function waitSettled(client: Anthropic, sessionId: string, stop: 'end_turn' | 'requires_action'): Promise<Ev[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const s = await client.beta.sessions.retrieve(sessionId);
    last = `status ${s.status}`;
    if (s.status === 'terminated') throw new Error(`session ${sessionId} terminated unexpectedly`);
    if (s.status === 'idle') {
      const log = await listEvents(client, sessionId);
      const lastInput = log.findLastIndex((e) => e.type.startsWith('user.'));
      const lastStatus = log.findLastIndex((e) => e.type === 'session.status_running' || e.type === 'session.status_idle');
      const queued = log.some((e) => e.type.startsWith('user.') && e.processed_at === null);
      const idle = log[lastStatus];
      last += `, last status ${idle?.type}/${idle?.stop_reason?.type}, queued ${queued}, ${log.length} events`;
      if (!queued && lastStatus > lastInput && idle.type === 'session.status_idle' && idle.stop_reason?.type === stop) return log;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`session ${sessionId} did not settle (${stop}) within ${SETTLE_TIMEOUT_MS} ms; ${last}`);
}

/** Invariants every log must satisfy whatever instant the server died at. */
function expectConsistentLog(log: Ev[]): void {
  const ids = log.map((e) => e.id);
  expect(new Set(ids).size, 'event ids are unique').toBe(ids.length);

  const starts = new Map<string, number>();
  log.forEach((e, i) => {
    if (e.type === 'span.model_request_start') starts.set(e.id, i);
  });
  const ends = log.map((e, i) => ({ e, i })).filter(({ e }) => e.type === 'span.model_request_end');
  for (const { e, i } of ends) {
    const start = starts.get(e.model_request_start_id);
    expect(start, `span end ${e.id} names a logged start`).toBeDefined();
    expect(start!, `span end ${e.id} follows its start`).toBeLessThan(i);
  }
  for (const startId of starts.keys()) {
    expect(ends.filter(({ e }) => e.model_request_start_id === startId), `span ${startId} is closed exactly once`).toHaveLength(1);
  }
  // Spans never overlap: one model call at a time per session.
  let open = 0;
  for (const e of log) {
    if (e.type === 'span.model_request_start') open += 1;
    if (e.type === 'span.model_request_end') open -= 1;
    expect(open).toBeGreaterThanOrEqual(0);
    expect(open).toBeLessThanOrEqual(1);
  }

  // Every answer is committed together with its successful span end: answers == successful spans.
  const okEnds = ends.filter(({ e }) => e.is_error === false).length;
  const answers = log.filter((e) => e.type === 'agent.message' || e.type === 'agent.custom_tool_use').length;
  expect(answers, 'one answer per successful model response').toBe(okEnds);
  for (const { i } of ends.filter(({ e }) => e.is_error === false)) {
    expect(['agent.message', 'agent.custom_tool_use'], 'a successful span end directly follows its answer').toContain(log[i - 1].type);
  }

  // Statuses alternate running/idle, starting with running and ending idle.
  const statuses = statusEvents(log).map((e) => e.type);
  statuses.forEach((t, i) => expect(t, `status #${i}`).toBe(i % 2 === 0 ? 'session.status_running' : 'session.status_idle'));
  expect(statuses.at(-1)).toBe('session.status_idle');
  expect(log.filter((e) => e.type.startsWith('user.') && e.processed_at === null), 'no input left queued').toEqual([]);
  expect(log.filter((e) => e.type === 'session.error' || e.type === 'session.status_terminated')).toEqual([]);
}

describe('crash recovery (server process killed)', () => {
  it('resumes a session whose server was killed mid model call and redoes the call once', async () => {
    up.script({ content: [{ type: 'text', text: 'never finished' }], hang: true }, { content: [{ type: 'text', text: 'recovered answer' }] });
    const first = await startChild();
    const sessionId = await setup(first.client);
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('hello after crash')] });

    await up.waitForRequests(1, 20_000);
    expect((await first.client.beta.sessions.retrieve(sessionId)).status).toBe('running');
    await first.kill('SIGKILL');

    const second = await startChild();
    const log = await waitSettled(second.client, sessionId, 'end_turn');
    expectConsistentLog(log);

    expect(log.map((e) => e.type)).toEqual([
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'span.model_request_end',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    expect(log.filter((e) => e.type === 'user.message')).toHaveLength(1);
    const [deadEnd, okEnd] = log.filter((e) => e.type === 'span.model_request_end');
    expect(deadEnd.is_error).toBe(true);
    expect(okEnd.is_error).toBe(false);
    const answers = log.filter((e) => e.type === 'agent.message');
    expect(answers).toHaveLength(1);
    expect(messageText(answers[0])).toBe('recovered answer');
    expect(log.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });

    // The call was redone exactly once, with the same conversation.
    expect(up.requests).toHaveLength(2);
    const [a, b] = up.requests as [RecordedRequest, RecordedRequest];
    expect(b.body.messages).toEqual(a.body.messages);
    expect(a.body.messages).toHaveLength(1);
  }, 90_000);

  it('resumes a session after a graceful SIGTERM mid model call', async () => {
    up.script({ content: [{ type: 'text', text: 'never finished' }], hang: true }, { content: [{ type: 'text', text: 'after restart' }] });
    const first = await startChild();
    const sessionId = await setup(first.client);
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('deploy now')] });
    await up.waitForRequests(1, 20_000);
    await first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = await startChild();
    const log = await waitSettled(second.client, sessionId, 'end_turn');
    expectConsistentLog(log);
    expect(log.map((e) => e.type)).toEqual([
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'span.model_request_end',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    expect(log.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error)).toEqual([true, false]);
    expect(messageText(log.find((e) => e.type === 'agent.message')!)).toBe('after restart');
    expect(up.requests).toHaveLength(2);
    expect(up.requests[1].body.messages).toEqual(up.requests[0].body.messages);
  }, 90_000);

  it('finishes a custom tool round across a kill while the session waits for the tool result', async () => {
    up.script({ content: [{ type: 'tool_use', name: 'lookup', input: { q: 'capital of France' } }] }, { content: [{ type: 'text', text: 'Paris' }] });
    const first = await startChild();
    const sessionId = await setup(first.client, [{ type: 'custom', name: 'lookup', description: 'd', input_schema: { type: 'object' } }]);
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('look it up')] });
    const before = await waitSettled(first.client, sessionId, 'requires_action');
    const use = before.find((e) => e.type === 'agent.custom_tool_use')!;
    expect(use).toMatchObject({ name: 'lookup', input: { q: 'capital of France' } });
    expect(before.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    await first.kill('SIGKILL');

    const second = await startChild();
    // The restarted server knows the pending call: the result is accepted once, and only once.
    await second.client.beta.sessions.events.send(sessionId, {
      events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'x' }] }],
    });
    const log = await waitSettled(second.client, sessionId, 'end_turn');
    expectConsistentLog(log);
    expect(log.map((e) => e.type)).toEqual([
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'agent.custom_tool_use',
      'span.model_request_end',
      'session.status_idle',
      'user.custom_tool_result',
      'session.status_running',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    expect(log.filter((e) => e.type === 'span.model_request_end').every((e) => e.is_error === false)).toBe(true);
    expect(messageText(log.find((e) => e.type === 'agent.message')!)).toBe('Paris');

    expect(up.requests).toHaveLength(2);
    const lastMsg = up.requests[1].body.messages.at(-1);
    expect(lastMsg.role).toBe('user');
    expect(lastMsg.content[0]).toMatchObject({ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'x' }] });

    await expect(
      second.client.beta.sessions.events.send(sessionId, {
        events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'again' }] }],
      }),
    ).rejects.toMatchObject({ status: 400 });
  }, 90_000);

  it('keeps the log consistent when the server is killed at random instants of a turn', async () => {
    const ROUNDS = 5;
    // Echo the latest user text, streamed in small chunks so a kill lands before, during or after the call.
    up.setResponder((req) => {
      const lastUser = [...req.body.messages].reverse().find((m: any) => m.role === 'user');
      const text = (lastUser.content as Array<{ type: string; text?: string }>).filter((b) => b.type === 'text').map((b) => b.text).join('');
      return { content: [{ type: 'text', text: `reply to [${text}] with some padding to stream` }], chunkDelayMs: 8 };
    });
    let child = await startChild();
    const sessionId = await setup(child.client);
    const delays: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Random within a per-round window so the rounds together cover 0-300 ms.
      const delay = Math.floor((round + Math.random()) * (300 / ROUNDS));
      delays.push(delay);
      await child.client.beta.sessions.events.send(sessionId, { events: [userText(`turn ${round}`)] });
      await sleep(delay);
      await child.kill('SIGKILL');
      child = await startChild();
      const log = await waitSettled(child.client, sessionId, 'end_turn').catch((err: Error) => {
        throw new Error(`round ${round} (killed after ${delay} ms): ${err.message}\n${child.output()}`);
      });
      try {
        expectConsistentLog(log);
        // Every turn answered exactly once, in order, each answer to its own message.
        const users = log.filter((e) => e.type === 'user.message').map(messageText);
        expect(users).toEqual(Array.from({ length: round + 1 }, (_, i) => `turn ${i}`));
        const answers = log.filter((e) => e.type === 'agent.message').map(messageText);
        expect(answers).toEqual(users.map((u) => `reply to [${u}] with some padding to stream`));
        expect(statusEvents(log).filter((e) => e.type === 'session.status_idle')).toHaveLength(round + 1);
      } catch (err) {
        (err as Error).message = `round ${round} (killed after ${delay} ms, kill delays ${delays.join(',')}): ${(err as Error).message}`;
        throw err;
      }
    }
    // Upstream saw every turn's conversation, in order; a redone call repeats the same turn's request
    // (2k+1 messages for turn k: earlier turns' questions and answers, then the new question).
    const turns = up.requests.map((r) => r.body.messages.length);
    expect([...new Set(turns)]).toEqual(Array.from({ length: ROUNDS }, (_, k) => 2 * k + 1));
    expect(turns).toEqual([...turns].sort((x, y) => x - y));
  }, 240_000);
});
