// Several Hangar node processes on one real PostgreSQL, driven only through the official SDK:
// cross-node stream fan-out (order, each event once), SIGKILL of the driving node (another node
// finishes, each tool call once), several nodes racing on the same sessions (one driver at a time),
// 20 pollers over 3 nodes claiming 200 work items (each once), a long poll woken by an item queued
// on another node, and a LISTEN connection killed with pg_terminate_backend (no event lost).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startNodeCluster, type NodeCluster } from '../kit/pg-nodes.ts';
import { EventTap, listEvents, type Ev } from '../conformance/helpers.ts';
import { bearerClient, createEnvKey, userMessage } from '../worker/work-kit.ts';
import { RESTARTED_TOOL_MESSAGE } from '../../src/harness/planner.ts';

const SERVER = process.env.HANGAR_TEST_DATABASE_URL;
if (!SERVER) console.warn('\n*** SKIPPING multi-node tests: HANGAR_TEST_DATABASE_URL is not set ***\n');
const MODEL = 'claude-sonnet-4-6';
const SETTLE_MS = 60_000;

let up: FakeUpstream;
let cluster: NodeCluster;
let scratch: string;

const lastMessage = (r: RecordedRequest) => r.body.messages.at(-1) as { role: string; content: Array<Record<string, any>> | string };
/** Everything the conversation says (user texts included), to find a test's instructions in. */
const conversation = (r: RecordedRequest): string => JSON.stringify(r.body.messages);
const isToolResultTurn = (r: RecordedRequest) => {
  const c = lastMessage(r).content;
  return Array.isArray(c) && c.some((b) => b.type === 'tool_result');
};

/**
 * The model. A conversation that says `calls=<file> sleep=<s>` gets, per user turn, one bash
 * call appending a fresh nonce to <file> (then sleeping), and "done" after its result; anything
 * else gets a short text answer ("hang-forever": a stream that stalls until the client goes).
 */
function responder(req: RecordedRequest): FakeReply {
  if (conversation(req).includes('hang-forever')) return { content: [{ type: 'text', text: 'thinking' }], hang: true };
  const m = /calls=([^\s"\\]+) sleep=(\d+)/.exec(conversation(req));
  if (!m) return { content: [{ type: 'text', text: 'ok' }] };
  if (isToolResultTurn(req)) return { content: [{ type: 'text', text: 'done' }], chunkDelayMs: 2 };
  const nonce = `call-${randomBytes(6).toString('hex')}`;
  return { content: [{ type: 'tool_use', name: 'bash', input: { command: `echo ${nonce} >> ${m[1]}; sleep ${m[2]}` } }] };
}

const callLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const nonceOf = (use: Ev) => /call-[0-9a-f]+/.exec(String(use.input?.command))?.[0];
const node = (i: number) => cluster.nodes[i].client;

async function newSession(onNode: number, agentOnNode = 0): Promise<string> {
  const agent = await node(agentOnNode).beta.agents.create({ name: `nodes-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
  const env = await node(agentOnNode).beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
  return (await node(onNode).beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
}

/** Polls (on `onNode`) until the session is idle after an end_turn with every user message processed; returns its log. */
async function settled(sessionId: string, onNode = 0, users?: number): Promise<Ev[]> {
  const deadline = Date.now() + SETTLE_MS;
  let last = '';
  while (Date.now() < deadline) {
    const s = await node(onNode).beta.sessions.retrieve(sessionId).catch(() => undefined);
    if (s?.status === 'terminated') throw new Error(`session ${sessionId} terminated`);
    if (s?.status === 'idle') {
      const log = await listEvents(node(onNode), sessionId);
      const inputs = log.filter((e) => e.type === 'user.message');
      const idle = log.findLast((e) => e.type === 'session.status_idle' || e.type === 'session.status_running');
      last = `${inputs.length} messages, last ${idle?.type}/${idle?.stop_reason?.type}`;
      if ((users === undefined || inputs.length === users) && inputs.every((e) => e.processed_at !== null) &&
        idle?.type === 'session.status_idle' && idle.stop_reason?.type === 'end_turn' && log.findLastIndex((e) => e === idle) > log.findLastIndex((e) => e.type === 'user.message')) return log;
    }
    await sleep(50);
  }
  throw new Error(`session ${sessionId} did not settle within ${SETTLE_MS} ms (${last})\n${cluster.nodes.map((n) => n.output().split('\n').slice(-15).join('\n')).join('\n---\n')}`);
}

/** Every event once, ids unique, and the stream's persisted events exactly the log's from its start. */
function expectSameHistory(streamed: Ev[], log: Ev[]): void {
  const ids = log.map((e) => e.id);
  expect(new Set(ids).size, 'no event id twice in the log').toBe(ids.length);
  const got = streamed.map((e) => e.id);
  expect(new Set(got).size, 'no event twice on the stream').toBe(got.length);
  const from = ids.indexOf(got[0]);
  expect(from, 'the stream starts at an event of the log').toBeGreaterThanOrEqual(0);
  expect(got).toEqual(ids.slice(from, from + got.length));
}

describe.skipIf(!SERVER)('three Hangar nodes on one PostgreSQL', () => {
  beforeAll(async () => {
    up = await startFakeUpstream();
    up.setResponder(responder);
    scratch = mkdtempSync(join(tmpdir(), 'hangar-nodes-calls-'));
    // Short leases (3 s) so a dead node's sessions move within seconds. (At 1 s, 200 concurrent
    // sessions on this loaded 2-core machine delay lease renewals past the TTL: nodes take sessions
    // from each other, the fenced commits keep that correct but the churn makes the tests slow.)
    // Tools run unsandboxed on the host so a call's side effect lands in one file whichever node runs it.
    cluster = await startNodeCluster({
      serverUrl: SERVER!, upstreamUrl: up.url, nodes: 3, env: { HANGAR_LEASE_TTL_MS: '3000', HANGAR_SANDBOX: 'unsafe-local' },
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    await up?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('agent on node 1, session on node 2, stream on node 3, input on node 1: the stream sees the log in order, each event once', async () => {
    const sessionId = await newSession(1, 0);
    const tap = await EventTap.open(node(2), sessionId);
    try {
      const calls = join(scratch, `fanout-${sessionId}`);
      await node(0).beta.sessions.events.send(sessionId, { events: [userMessage(`calls=${calls} sleep=0`)] });
      const log = await settled(sessionId, 0, 1);
      const streamed = (await tap.until((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn', SETTLE_MS))
        .filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');
      expect(streamed.map((e) => e.type)).toEqual(expect.arrayContaining(['user.message', 'agent.tool_use', 'agent.tool_result', 'agent.message']));
      expect(streamed[0].type).toBe('user.message');
      expectSameHistory(streamed, log);
      // Every node lists the same history.
      for (const i of [1, 2]) expect((await listEvents(node(i), sessionId)).map((e) => e.id)).toEqual(log.map((e) => e.id));
      expect(callLines(calls)).toHaveLength(1);
    } finally {
      tap.close();
    }
  }, 90_000);

  it('a session deleted on one node ends the stream open on another with session.deleted', async () => {
    const sessionId = await newSession(0);
    const tap = await EventTap.open(node(1), sessionId);
    await node(2).beta.sessions.delete(sessionId);
    const seen = await tap.until((e) => e.type === 'session.deleted', 20_000);
    expect(seen.map((e) => e.type)).toEqual(['session.deleted']);
    await tap.ended();
  }, 30_000);

  it('input sent to a node that does not drive the session wakes the node that does', async () => {
    const sessionId = await newSession(0);
    const calls = join(scratch, `wake-${sessionId}`);
    // Node 1 drives the first turn; its bash call sleeps, so node 1 holds the lease when node 2 gets input.
    await node(0).beta.sessions.events.send(sessionId, { events: [userMessage(`calls=${calls} sleep=1`)] });
    const deadline = Date.now() + 20_000;
    while (callLines(calls).length === 0 && Date.now() < deadline) await sleep(20);
    const owner = await cluster.sql('SELECT lease_owner FROM sessions WHERE id = $1', [sessionId]);
    expect(String(owner[0].lease_owner)).toMatch(/^node-1#/);
    await node(1).beta.sessions.events.send(sessionId, { events: [userMessage('and another thing')] });
    const log = await settled(sessionId, 2, 2);
    const uses = log.filter((e) => e.type === 'agent.tool_use');
    expect(callLines(calls).sort()).toEqual(uses.map(nonceOf).sort());
    expect(log.filter((e) => e.type === 'session.error')).toEqual([]);
  }, 60_000);

  it('user.interrupt sent to a node that does not drive the session aborts the driver\'s hanging model call', async () => {
    const sessionId = await newSession(1);
    const before = up.requests.length;
    await node(0).beta.sessions.events.send(sessionId, { events: [userMessage('hang-forever')] });
    await up.waitForRequests(before + 1, 20_000);
    const owner = await cluster.sql('SELECT lease_owner FROM sessions WHERE id = $1', [sessionId]);
    expect(String(owner[0].lease_owner)).toMatch(/^node-1#/);
    await node(2).beta.sessions.events.send(sessionId, { events: [{ type: 'user.interrupt' }] });
    const deadline = Date.now() + 20_000;
    let status = '';
    while (Date.now() < deadline && (status = (await node(1).beta.sessions.retrieve(sessionId)).status) !== 'idle') await sleep(50);
    expect(status).toBe('idle');
    const log = await listEvents(node(1), sessionId);
    expect(log.find((e) => e.type === 'user.interrupt')?.processed_at).not.toBeNull();
    expect(log.filter((e) => e.type === 'span.model_request_start')).toHaveLength(1);
  }, 60_000);

  it('SIGKILL of the driving node mid-tool: another node finishes the session, the tool ran once, the stream saw each event once; the killed node serves again at once', async () => {
    const sessionId = await newSession(1);
    const calls = join(scratch, `kill-${sessionId}`);
    const tap = await EventTap.open(node(2), sessionId);
    try {
      await node(0).beta.sessions.events.send(sessionId, { events: [userMessage(`calls=${calls} sleep=30`)] });
      const deadline = Date.now() + 30_000;
      while (callLines(calls).length === 0) {
        if (Date.now() > deadline) throw new Error(`the bash call never ran\n${cluster.nodes[0].output()}`);
        await sleep(20);
      }
      await cluster.nodes[0].kill('SIGKILL');
      const log = await settled(sessionId, 1, 1);
      const uses = log.filter((e) => e.type === 'agent.tool_use');
      expect(uses).toHaveLength(1);
      const results = log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === uses[0].id);
      expect(results).toHaveLength(1);
      expect(results[0].is_error).toBe(true);
      expect(JSON.stringify(results[0].content)).toContain(RESTARTED_TOOL_MESSAGE);
      expect(callLines(calls)).toEqual([nonceOf(uses[0])]);
      const owner = await cluster.sql('SELECT lease_owner FROM sessions WHERE id = $1', [sessionId]);
      expect(owner[0].lease_owner).toBeNull();
      const streamed = (await tap.until((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn', SETTLE_MS))
        .filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');
      expectSameHistory(streamed, log);
      expect(streamed.at(-1)!.id).toBe(log.at(-1)!.id);

      const restarted = await cluster.restart(0);
      expect((await restarted.client.beta.sessions.retrieve(sessionId)).status).toBe('idle');
      expect((await listEvents(restarted.client, sessionId)).map((e) => e.id)).toEqual(log.map((e) => e.id));
    } finally {
      tap.close();
    }
  }, 120_000);

  it('several nodes given input for the same sessions at once: one driver per session, every message answered, each tool call once', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, (_, i) => newSession(i % 3)));
    const files = new Map(sessions.map((id) => [id, join(scratch, `race-${id}`)]));
    const ROUNDS = 3;
    for (let round = 0; round < ROUNDS; round++) {
      // Each session gets a message on every node in the same instant.
      await Promise.all(sessions.flatMap((id) => [0, 1, 2].map((i) =>
        node(i).beta.sessions.events.send(id, { events: [userMessage(`calls=${files.get(id)} sleep=0 round ${round} from node ${i + 1}`)] }))));
      await Promise.all(sessions.map((id) => settled(id, round % 3, (round + 1) * 3)));
    }
    for (const id of sessions) {
      const log = await listEvents(node(0), id);
      const ids = log.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      // One driver at a time: every model request the upstream saw for this session is a span of
      // its log (a second driver would issue requests the log has no span for, or two spans at once).
      const starts = log.filter((e) => e.type === 'span.model_request_start');
      const ends = log.filter((e) => e.type === 'span.model_request_end');
      const requests = up.requests.filter((r) => conversation(r).includes(files.get(id)!));
      expect(requests.length, `requests ${requests.length}, spans ${starts.length}: ${log.map((e) => e.type).join(' ')}`).toBe(starts.length);
      expect(ends.length).toBe(starts.length);
      let open = 0;
      for (const e of log) {
        if (e.type === 'span.model_request_start') open++;
        if (e.type === 'span.model_request_end') open--;
        expect(open, 'model requests never overlap within a session').toBeLessThanOrEqual(1);
      }
      const uses = log.filter((e) => e.type === 'agent.tool_use');
      expect(callLines(files.get(id)!).sort()).toEqual(uses.map(nonceOf).sort());
      for (const use of uses) expect(log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)).toHaveLength(1);
    }
  }, 180_000);

  it('a LISTEN connection killed again and again by pg_terminate_backend: the stream on that node still gets every event once, in order', async () => {
    const sessionId = await newSession(0);
    const tap = await EventTap.open(node(2), sessionId);
    let killing = true;
    let killed = 0;
    const killer = (async () => {
      while (killing) {
        const rows = await cluster.sql("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'hangar-signal node-3#%'");
        killed += rows.filter((r) => r.ok).length;
        await sleep(5);
      }
    })();
    try {
      const calls = join(scratch, `listen-${sessionId}`);
      await node(0).beta.sessions.events.send(sessionId, { events: [userMessage(`calls=${calls} sleep=0`)] });
      const log = await settled(sessionId, 0, 1);
      killing = false;
      await killer;
      expect(killed).toBeGreaterThan(0);
      const streamed = (await tap.until((e) => e.type === 'session.status_idle' && e.stop_reason?.type === 'end_turn', SETTLE_MS))
        .filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');
      expect(streamed[0].type).toBe('user.message');
      expectSameHistory(streamed, log);
      expect(streamed.at(-1)!.id).toBe(log.at(-1)!.id);
      expect(cluster.nodes[2].output()).toContain('the node signal connection is back');
    } finally {
      killing = false;
      await killer;
      tap.close();
    }
  }, 90_000);

  describe('the work queue across nodes', () => {
    async function selfHosted() {
      const agent = await node(0).beta.agents.create({ name: `wq-${randomBytes(3).toString('hex')}`, model: MODEL });
      const env = await node(0).beta.environments.create({ name: `sh-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } });
      const key = await createEnvKey(node(0), env.id);
      return { agentId: agent.id, envId: env.id, workers: cluster.nodes.map((n) => bearerClient(n.url, key.key)) };
    }

    it('a poll blocked on node 1 is woken by the item queued by input on node 3, before its block ends', async () => {
      const { agentId, envId, workers } = await selfHosted();
      const BLOCK_MS = 999;
      const started = Date.now();
      const polled = workers[0].beta.environments.work.poll(envId, { block_ms: BLOCK_MS });
      await sleep(200); // the poll is waiting on node 1
      const s = await node(2).beta.sessions.create({ agent: agentId, environment_id: envId, initial_events: [userMessage('hello')] });
      const work = await polled;
      expect(work?.data).toEqual({ type: 'session', id: s.id });
      // Not woken, node 1 would only look again when the block ends (it re-claims then).
      expect(Date.now() - started, 'woken by the other node, not by the end of its block').toBeLessThan(BLOCK_MS);
    }, 20_000);

    it('20 pollers over 3 nodes claim 200 items, each exactly once', async () => {
      const { agentId, envId, workers } = await selfHosted();
      const ITEMS = 200;
      const sessions = await Promise.all(Array.from({ length: ITEMS }, (_, i) =>
        node(i % 3).beta.sessions.create({ agent: agentId, environment_id: envId, initial_events: [userMessage(`item ${i}`)] })));
      const claims: string[] = [];
      const deadline = Date.now() + 90_000;
      await Promise.all(Array.from({ length: 20 }, async (_, p) => {
        const worker = workers[p % 3];
        while (claims.length < ITEMS && Date.now() < deadline) {
          // No reclaim of un-acked hand-outs within the test: a re-hand-out after a slow ack (this
          // machine is loaded) is the queue's design, not a double claim.
          const work = await worker.beta.environments.work.poll(envId, { block_ms: 500, reclaim_older_than_ms: 600_000, 'Anthropic-Worker-ID': `poller-${p}` });
          if (!work) continue;
          claims.push(work.id);
          await worker.beta.environments.work.ack(work.id, { environment_id: envId });
          await worker.beta.environments.work.stop(work.id, { environment_id: envId, force: true });
        }
      }));
      expect(claims).toHaveLength(ITEMS);
      expect(new Set(claims).size).toBe(ITEMS);
      const listed: Array<{ id: string; data: { id: string } }> = [];
      for await (const w of workers[1].beta.environments.work.list(envId)) listed.push(w as never);
      expect(new Set(listed.map((w) => w.data.id))).toEqual(new Set(sessions.map((s) => s.id)));
      expect(new Set(claims)).toEqual(new Set(listed.map((w) => w.id)));
    }, 180_000);
  });
});
