// Team sessions across kill -9: a real server process is SIGKILLed while three child threads are
// mid-turn (all three in a model call, or all three inside sandboxed bash calls, some of which
// already had their side effect). A fresh process on the same data dir resumes every thread from the log alone:
// each model call is redone, no tool call runs twice, every child reports to the coordinator
// exactly once and the coordinator answers. Driven only through the official SDK. The model-call
// case also runs with both processes on one PostgreSQL database (test/kit/postgres.ts).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { RESTARTED_TOOL_MESSAGE } from '../../src/harness/planner.ts';
import { createTestDatabase, postgresServerUrl } from '../kit/postgres.ts';

const MODEL = 'claude-sonnet-4-6';
const CHILD_ENV = { HANGAR_LEASE_TTL_MS: '500' };
const SETTLE_TIMEOUT_MS = 60_000;
const WORKERS = ['alpha', 'beta', 'gamma'];

type Ev = { id: string; type: string; processed_at?: string | null; [k: string]: any };

const probeRoot = mkdtempSync(join(tmpdir(), 'hangar-bwrap-probe-'));
chmodSync(probeRoot, 0o755);
const bwrapMissing = new BwrapSandboxProvider({ stateDir: join(probeRoot, 'state') }).unavailableReason();
rmSync(probeRoot, { recursive: true, force: true });
if (bwrapMissing && process.env.CI === 'true') throw new Error(`bubblewrap must work in CI: ${bwrapMissing}`);
if (bwrapMissing) console.warn(`thread crash tests with tools skipped: ${bwrapMissing}`);

let up: FakeUpstream;
let dataDir: string;
let apiKey: string;
const children: ChildServer[] = [];

const MASTER_KEY = randomBytes(32).toString('base64');
/** Set while a test runs on PostgreSQL: the children use this database instead of SQLite. */
let databaseUrl: string | undefined;

async function startChild(): Promise<ChildServer> {
  // PostgreSQL installations share one master key across nodes; both processes get the same one.
  const env = databaseUrl ? { ...CHILD_ENV, HANGAR_DATABASE_URL: databaseUrl, HANGAR_MASTER_KEY: MASTER_KEY } : CHILD_ENV;
  const child = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url, env });
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
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-crash-threads-'));
  chmodSync(dataDir, 0o755);
  apiKey = `sk-crash-${randomBytes(16).toString('hex')}`;
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

const systemOf = (r: RecordedRequest) => JSON.stringify(r.body.system ?? '');
const convo = (r: RecordedRequest) => JSON.stringify(r.body.messages);
const workerOf = (r: RecordedRequest) => WORKERS.find((w) => systemOf(r).includes(`You are worker ${w}.`));
const say = (text: string): FakeReply => ({ content: [{ type: 'text', text }] });
const textOf = (e: Ev) => (e.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');

/** The session row's hidden tool start markers, read straight from the store (never part of the API). */
function startMarkers(sessionId: string): string[] {
  const db = new DatabaseSync(join(dataDir, 'hangar.db'), { readOnly: true });
  try {
    const row = db.prepare('SELECT data FROM sessions WHERE id = ?').get(sessionId) as { data: string } | undefined;
    return (JSON.parse(row?.data ?? '{}')._tools_started as string[] | undefined) ?? [];
  } finally {
    db.close();
  }
}

async function list(iter: AsyncIterable<unknown>): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of iter) out.push(e as Ev);
  return out;
}

/** The coordinator: delegates to the three workers at once, answers when all three reported. */
function coordinator(req: RecordedRequest): FakeReply {
  const all = convo(req);
  if (!all.includes('send_to_agent')) {
    return { content: WORKERS.map((w) => ({ type: 'tool_use' as const, name: 'send_to_agent', input: { agent_name: w, message: `work ${w}` } })), stop_reason: 'tool_use' };
  }
  if (WORKERS.every((w) => all.includes(`report-${w}`))) return say('final: all three reported');
  return say('waiting for reports');
}

async function team(client: Anthropic, tools: Anthropic.Beta.AgentCreateParams['tools'] = []) {
  const workers = [];
  for (const w of WORKERS) workers.push(await client.beta.agents.create({ name: w, model: MODEL, system: `You are worker ${w}.`, tools }));
  const lead = await client.beta.agents.create({ name: 'lead', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: workers.map((a) => a.id) } as any });
  const env = await client.beta.environments.create({
    name: `env-${randomBytes(4).toString('hex')}`, config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [] } },
  });
  const s = await client.beta.sessions.create({ agent: lead.id, environment_id: env.id });
  return s.id;
}

/** Polls until the coordinator's final answer is followed by an idle session; returns the primary log. */
async function waitFinal(client: Anthropic, sessionId: string): Promise<Ev[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const s = await client.beta.sessions.retrieve(sessionId);
    if (s.status === 'terminated') throw new Error(`session ${sessionId} terminated`);
    const log = await list(client.beta.sessions.events.list(sessionId, { limit: 50 }));
    const final = log.findLastIndex((e) => e.type === 'agent.message' && textOf(e) === 'final: all three reported');
    const idle = log.findLastIndex((e) => e.type === 'session.status_idle');
    last = `status ${s.status}, ${log.length} events, final at ${final}, idle at ${idle}`;
    if (s.status === 'idle' && final >= 0 && idle > final) return log;
    await sleep(100);
  }
  throw new Error(`session ${sessionId} never got its final answer; ${last}`);
}

/** What must hold however the server died: one thread per worker, one report each, balanced spans per thread. */
async function expectTeamRecovered(client: Anthropic, sessionId: string, primary: Ev[]) {
  const ids = primary.map((e) => e.id);
  expect(new Set(ids).size, 'event ids are unique').toBe(ids.length);
  expect(primary.filter((e) => e.type === 'session.thread_created').map((e) => e.agent_name).sort()).toEqual(WORKERS);
  expect(primary.filter((e) => e.type === 'agent.thread_message_sent')).toHaveLength(3);
  const reports = primary.filter((e) => e.type === 'agent.thread_message_received');
  expect(reports.map((e) => e.from_agent_name).sort(), 'each worker reported exactly once').toEqual(WORKERS);
  expect(reports.map((e) => textOf(e)).sort()).toEqual(WORKERS.map((w) => `report-${w}`));
  const threads = await list(client.beta.sessions.threads.list(sessionId));
  expect(threads).toHaveLength(4);
  expect(threads.map((t) => t.status)).toEqual(['idle', 'idle', 'idle', 'idle']);
  const traces = new Map<string, Ev[]>();
  for (const t of threads.slice(1)) {
    const trace = await list(client.beta.sessions.threads.events.list(t.id, { session_id: sessionId, limit: 50 }));
    traces.set(t.agent.name as string, trace);
    // Its input arrived once; every span it opened was closed exactly once.
    expect(trace.filter((e) => e.type === 'agent.thread_message_received')).toHaveLength(1);
    const starts = trace.filter((e) => e.type === 'span.model_request_start').map((e) => e.id);
    for (const id of starts) expect(trace.filter((e) => e.type === 'span.model_request_end' && e.model_request_start_id === id)).toHaveLength(1);
    expect(trace.at(-1)).toMatchObject({ type: 'session.thread_status_idle', stop_reason: { type: 'end_turn' } });
  }
  // The coordinator's own tool calls were answered once each.
  const uses = primary.filter((e) => e.type === 'agent.tool_use' && !e.session_thread_id);
  for (const u of uses) expect(primary.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === u.id)).toHaveLength(1);
  return traces;
}

/** Three children mid model call when the server is SIGKILLed; a fresh process finishes the team's turn. */
async function midModelCall(): Promise<void> {
  let phase: 'before' | 'after' = 'before';
  up.setResponder((req) => {
    const w = workerOf(req);
    if (!w) return coordinator(req);
    return phase === 'before' ? { content: [{ type: 'text', text: `partial-${w}` }], hang: true } : say(`report-${w}`);
  });
  const first = await startChild();
  const sessionId = await team(first.client);
  await first.client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
  const deadline = Date.now() + 30_000;
  while (new Set(up.requests.map(workerOf).filter(Boolean)).size < 3) {
    if (Date.now() > deadline) throw new Error(`the three workers never called the model\n${first.output()}`);
    await sleep(20);
  }
  const running = await list(first.client.beta.sessions.threads.list(sessionId));
  expect(running.slice(1).map((t) => t.status)).toEqual(['running', 'running', 'running']);
  await first.kill('SIGKILL');
  phase = 'after';

  const second = await startChild();
  const primary = await waitFinal(second.client, sessionId);
  const traces = await expectTeamRecovered(second.client, sessionId, primary);
  for (const w of WORKERS) {
    // Two requests per worker: the one the kill cut (closed as failed) and its redo.
    expect(up.requests.filter((r) => workerOf(r) === w)).toHaveLength(2);
    const ends = traces.get(w)!.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error);
    expect(ends).toEqual([true, false]);
  }
}


describe('team sessions across kill -9', () => {
  it('three threads killed mid model call: each call is redone once, each child reports once, the coordinator answers', midModelCall, 120_000);

  it('killed during an advisor consult: the call is answered with the restart error (never consulted twice), the consult thread is closed', async () => {
    let consults = 0;
    up.setResponder((req) => {
      if (systemOf(req).includes('You are an advisor')) {
        consults += 1;
        return { content: [{ type: 'text', text: 'hmm' }], hang: true };
      }
      return convo(req).includes('tool_result') ? say('done without advice') : { content: [{ type: 'tool_use', name: 'advisor', input: {} }], stop_reason: 'tool_use' };
    });
    const first = await startChild();
    const agent = await first.client.beta.agents.create({
      name: 'advised', model: MODEL, multiagent: { type: 'multiagent_20261001', advisor: { type: 'enabled', model: MODEL }, subagents: { type: 'disabled' } } as any,
    });
    const env = await first.client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
    const sessionId = (await first.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    await first.client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    const deadline = Date.now() + 30_000;
    while (consults < 1) {
      if (Date.now() > deadline) throw new Error(`the consult never started\n${first.output()}`);
      await sleep(20);
    }
    await first.kill('SIGKILL');

    const second = await startChild();
    const end = Date.now() + SETTLE_TIMEOUT_MS;
    let log: Ev[] = [];
    for (;;) {
      log = await list(second.client.beta.sessions.events.list(sessionId, { limit: 50 }));
      const said = log.findLastIndex((e) => e.type === 'agent.message' && textOf(e) === 'done without advice');
      if (said >= 0 && log.findLastIndex((e) => e.type === 'session.status_idle') > said && (await second.client.beta.sessions.retrieve(sessionId)).status === 'idle') break;
      if (Date.now() > end) throw new Error(`the session never finished: ${JSON.stringify(log.map((e) => e.type))}`);
      await sleep(100);
    }
    expect(consults).toBe(1);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    const results = log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
    expect(results).toHaveLength(1);
    expect(textOf(results[0])).toBe(RESTARTED_TOOL_MESSAGE);
    const threads = await list(second.client.beta.sessions.threads.list(sessionId));
    expect(threads.map((t) => t.status)).toEqual(['idle', 'terminated']);
    const trace = await list(second.client.beta.sessions.threads.events.list(threads[1].id, { session_id: sessionId }));
    expect(trace.filter((e) => e.type === 'span.model_request_end').map((e) => e.is_error)).toEqual([true]);
    expect(trace.at(-1)!.type).toBe('session.thread_status_terminated');
  }, 120_000);

  it.skipIf(bwrapMissing !== undefined)('three threads killed inside bash calls: no call runs twice, each gets the restart error, every child reports once', async () => {
    up.setResponder((req) => {
      const w = workerOf(req);
      if (!w) return coordinator(req);
      if (convo(req).includes('tool_result')) return say(`report-${w}`);
      return { content: [{ type: 'tool_use', name: 'bash', input: { command: `echo ${w} >> /workspace/calls.log; sleep 30` } }], stop_reason: 'tool_use' };
    });
    const first = await startChild();
    const sessionId = await team(first.client, [{ type: 'agent_toolset_20260401' }]);
    await first.client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    const file = join(dataDir, 'sandboxes', sessionId, 'workspace', 'calls.log');
    const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
    // All three calls are marked started (bash calls of one session queue on its shared shell, so
    // one or two of them are running, the others waiting their turn) and at least one had its effect.
    const deadline = Date.now() + 45_000;
    while (lines().length < 1 || startMarkers(sessionId).length < 3) {
      if (Date.now() > deadline) throw new Error(`the three bash calls never started (${lines().join(',')})\n${first.output()}`);
      await sleep(20);
    }
    await first.kill('SIGKILL');
    const effects = lines();

    const second = await startChild();
    const primary = await waitFinal(second.client, sessionId);
    const traces = await expectTeamRecovered(second.client, sessionId, primary);
    // No call ran again after the restart: the shared sandbox holds only what ran before the kill.
    expect(lines()).toEqual(effects);
    expect(new Set(effects).size).toBe(effects.length);
    expect(startMarkers(sessionId)).toEqual([]);
    for (const w of WORKERS) {
      const trace = traces.get(w)!;
      const [use, ...moreUses] = trace.filter((e) => e.type === 'agent.tool_use');
      expect(moreUses).toEqual([]);
      const results = trace.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
      expect(results).toHaveLength(1);
      expect(results[0].is_error).toBe(true);
      expect(textOf(results[0])).toBe(RESTARTED_TOOL_MESSAGE);
    }
  }, 120_000);
});

const pgServer = await postgresServerUrl();
describe.skipIf(!pgServer)('team sessions across kill -9, on PostgreSQL', () => {
  it('three threads killed mid model call: each call is redone once, each child reports once, the coordinator answers', async () => {
    const db = await createTestDatabase(pgServer!);
    databaseUrl = db.url;
    try {
      await midModelCall();
    } finally {
      await Promise.all(children.splice(0).map((c) => c.stop()));
      databaseUrl = undefined;
      await db.drop();
    }
  }, 120_000);
});
