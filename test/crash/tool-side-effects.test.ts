// At most one execution per tool_use id across crashes: real server processes running real
// bubblewrap sandboxes (and a real MCP server) are SIGKILLed while tools run; the restarted server
// must answer a call that was started but never recorded with an error result, never run it again.
// Driven only through the official SDK; the side effects are read from the workspace on disk.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';
import { startTestMcpServer } from '../kit/mcp-server.ts';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { modelToolName } from '../../src/ports/mcp.ts';
import { RESTARTED_TOOL_MESSAGE } from '../../src/harness/planner.ts';

const MODEL = 'claude-sonnet-4-6';
// Short lease so a restarted server takes over a dead process's sessions within half a second.
const CHILD_ENV = { HANGAR_LEASE_TTL_MS: '500' };
const SETTLE_TIMEOUT_MS = 60_000;
const CALLS_FILE = 'calls.log';

type Ev = { id: string; type: string; processed_at?: string | null; [k: string]: any };

// Bubblewrap is the real sandbox; CI installs it, so there a missing sandbox fails instead of skipping.
const probeRoot = mkdtempSync(join(tmpdir(), 'hangar-bwrap-probe-'));
chmodSync(probeRoot, 0o755);
const bwrapMissing = new BwrapSandboxProvider({ stateDir: join(probeRoot, 'state') }).unavailableReason();
rmSync(probeRoot, { recursive: true, force: true });
if (bwrapMissing && process.env.CI === 'true') throw new Error(`bubblewrap must work in CI: ${bwrapMissing}`);
if (bwrapMissing) console.warn(`tool crash tests skipped: ${bwrapMissing}`);

let up: FakeUpstream;
let dataDir: string;
let apiKey: string;
const children: ChildServer[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

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
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-crash-tools-'));
  chmodSync(dataDir, 0o755); // the unprivileged sandbox user must reach the workspaces inside
  apiKey = `sk-crash-${randomBytes(16).toString('hex')}`;
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  for (const fn of cleanups.splice(0).reverse()) await fn();
  rmSync(dataDir, { recursive: true, force: true });
});

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed with its printed seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const userText = (text: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text }] });
const lastMessage = (r: RecordedRequest) => r.body.messages.at(-1) as { role: string; content: Array<Record<string, any>> };
const isToolResultTurn = (r: RecordedRequest) => lastMessage(r).content.some((b) => b.type === 'tool_result');
const resultOf = (log: Ev[], useId: string) => log.filter((e) =>
  (e.type === 'agent.tool_result' && e.tool_use_id === useId) || (e.type === 'agent.mcp_tool_result' && e.mcp_tool_use_id === useId));
const textOf = (e: Ev) => (e.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');

async function listEvents(client: Anthropic, sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of client.beta.sessions.events.list(sessionId, { limit: 100 })) out.push(e as unknown as Ev);
  return out;
}

async function newSessions(client: Anthropic, n: number, tools: Anthropic.Beta.AgentCreateParams['tools'], extra: Partial<Anthropic.Beta.AgentCreateParams> = {}): Promise<string[]> {
  const agent = await client.beta.agents.create({ name: `tools-${randomBytes(3).toString('hex')}`, model: MODEL, tools, ...extra });
  // No network: nothing here needs one, and it keeps provisioning to bubblewrap alone.
  const env = await client.beta.environments.create({
    name: `env-${randomBytes(4).toString('hex')}`, config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [] } },
  });
  return Promise.all(Array.from({ length: n }, async () => (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id));
}

/**
 * Polls until the session is idle with `turns` user messages, all processed, and an end_turn idle
 * after the last of them; returns the log. A terminated session or a session.error fails at once.
 */
async function waitTurns(client: Anthropic, sessionId: string, turns: number): Promise<Ev[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const s = await client.beta.sessions.retrieve(sessionId);
    if (s.status === 'terminated') throw new Error(`session ${sessionId} terminated`);
    if (s.status === 'idle') {
      const log = await listEvents(client, sessionId);
      const users = log.filter((e) => e.type === 'user.message');
      const lastUser = log.findLastIndex((e) => e.type === 'user.message');
      const lastStatus = log.findLastIndex((e) => e.type === 'session.status_running' || e.type === 'session.status_idle');
      const idle = log[lastStatus];
      last = `${users.length} messages, last status ${idle?.type}/${idle?.stop_reason?.type}`;
      if (users.length === turns && users.every((e) => e.processed_at !== null) && lastStatus > lastUser &&
        idle.type === 'session.status_idle' && idle.stop_reason?.type === 'end_turn') return log;
    }
    await sleep(100);
  }
  throw new Error(`session ${sessionId} did not finish ${turns} turns within ${SETTLE_TIMEOUT_MS} ms; ${last}`);
}

/** Lines of the session's calls file on the host (the sandbox's /workspace). */
function callLines(sessionId: string): string[] {
  const file = join(dataDir, 'sandboxes', sessionId, 'workspace', CALLS_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** The model: a user turn gets one bash call appending its nonce, a tool result gets "done". */
function bashScript(opts: { sleepS: number }): (req: RecordedRequest) => FakeReply {
  let n = 0;
  return (req) => {
    if (isToolResultTurn(req)) return { content: [{ type: 'text', text: 'done' }] };
    const nonce = `call-${++n}-${randomBytes(4).toString('hex')}`;
    // The append is the side effect; the sleep after it widens the window in which a kill lands
    // between the effect and its recorded result (the case that used to run the call twice).
    return { content: [{ type: 'tool_use', name: 'bash', input: { command: `echo ${nonce} >> /workspace/${CALLS_FILE}; sleep ${opts.sleepS}` } }] };
  };
}

/** The session row's hidden start markers, read straight from the store (never part of the API). */
function startMarkers(sessionId: string): string[] {
  const db = new DatabaseSync(join(dataDir, 'hangar.db'), { readOnly: true });
  try {
    const row = db.prepare('SELECT data FROM sessions WHERE id = ?').get(sessionId) as { data: string } | undefined;
    return (JSON.parse(row?.data ?? '{}')._tools_started as string[] | undefined) ?? [];
  } finally {
    db.close();
  }
}

const nonceOf = (use: Ev) => /call-\d+-[0-9a-f]+/.exec(String(use.input?.command))?.[0];

describe.skipIf(bwrapMissing !== undefined)('tool side effects across crashes (at most once per tool_use id)', () => {
  it('answers a bash call killed after its side effect with an error, never runs it again, and the turn completes', async () => {
    up.setResponder(bashScript({ sleepS: 30 }));
    const first = await startChild();
    const [sessionId] = await newSessions(first.client, 1, [{ type: 'agent_toolset_20260401' }]);
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('append')] });
    // The side effect happened; the call is still running (sleeping) when the server dies.
    const deadline = Date.now() + 30_000;
    while (callLines(sessionId).length === 0) {
      if (Date.now() > deadline) throw new Error(`the bash call never ran\n${first.output()}`);
      await sleep(20);
    }
    await first.kill('SIGKILL');

    const second = await startChild();
    const log = await waitTurns(second.client, sessionId, 1);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    const [result, ...more] = resultOf(log, use.id);
    expect(more, 'one result per tool_use id').toEqual([]);
    expect(result).toMatchObject({ type: 'agent.tool_result', is_error: true });
    expect(textOf(result)).toBe(RESTARTED_TOOL_MESSAGE);
    // Nothing else surfaced as an error: the model decides what to do with the tool error.
    expect(log.filter((e) => e.type === 'session.error' || e.type === 'session.status_terminated')).toEqual([]);
    expect(callLines(sessionId)).toEqual([nonceOf(use)]);
    expect(startMarkers(sessionId)).toEqual([]);
    // The model saw the error as the call's result and answered the turn.
    const followUp = up.requests.filter(isToolResultTurn);
    expect(followUp).toHaveLength(1);
    const block = lastMessage(followUp[0]).content.find((b) => b.type === 'tool_result')!;
    expect(block).toMatchObject({ is_error: true });
    expect(JSON.stringify(block.content)).toContain(RESTARTED_TOOL_MESSAGE);
    expect(textOf(log.findLast((e) => e.type === 'agent.message')!)).toBe('done');
  }, 90_000);

  it('answers an MCP call killed in flight with an error and never calls the MCP server again', async () => {
    const mcp = await startTestMcpServer({ token: null });
    cleanups.push(() => mcp.close());
    const SLOW = modelToolName('docs', 'slow');
    up.setResponder((req) => (isToolResultTurn(req)
      ? { content: [{ type: 'text', text: 'done' }] }
      : { content: [{ type: 'tool_use', name: SLOW, input: { ms: 30_000 } }] }));
    const first = await startChild();
    const [sessionId] = await newSessions(first.client, 1,
      [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: { type: 'always_allow' } } }],
      { mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }] });
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('wait')] });
    const deadline = Date.now() + 30_000;
    while (mcp.stats.toolCalls.length === 0) {
      if (Date.now() > deadline) throw new Error(`the MCP call never arrived\n${first.output()}`);
      await sleep(20);
    }
    await first.kill('SIGKILL');

    const second = await startChild();
    const log = await waitTurns(second.client, sessionId, 1);
    const use = log.find((e) => e.type === 'agent.mcp_tool_use')!;
    const results = resultOf(log, use.id);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ type: 'agent.mcp_tool_result', is_error: true });
    expect(textOf(results[0])).toBe(RESTARTED_TOOL_MESSAGE);
    expect(mcp.stats.toolCalls).toEqual([{ name: 'slow', args: { ms: 30_000 } }]);
  }, 90_000);

  it('answers a web_search call killed in flight with an error and never repeats the search', async () => {
    // A SearXNG stand-in that counts searches and never answers.
    let searches = 0;
    const searx = createServer((req) => {
      if (req.url?.startsWith('/search')) searches += 1;
    });
    await new Promise<void>((res) => searx.listen(0, '127.0.0.1', res));
    cleanups.push(() => new Promise((res) => {
      searx.closeAllConnections();
      searx.close(res);
    }));
    const searxUrl = `http://127.0.0.1:${(searx.address() as AddressInfo).port}`;
    up.setResponder((req) => (isToolResultTurn(req)
      ? { content: [{ type: 'text', text: 'done' }] }
      : { content: [{ type: 'tool_use', name: 'web_search', input: { query: 'hangar crash safety' } }] }));
    const start = () => startChildServer({ dataDir, apiKey, upstreamUrl: up.url, env: { ...CHILD_ENV, HANGAR_WEB_SEARCH_SEARXNG_URL: searxUrl } })
      .then((c) => (children.push(c), c));
    const first = await start();
    const [sessionId] = await newSessions(first.client, 1, [{ type: 'agent_toolset_20260401' }]);
    await first.client.beta.sessions.events.send(sessionId, { events: [userText('search')] });
    const deadline = Date.now() + 30_000;
    while (searches === 0) {
      if (Date.now() > deadline) throw new Error(`the search never arrived\n${first.output()}`);
      await sleep(20);
    }
    await first.kill('SIGKILL');

    const second = await start();
    const log = await waitTurns(second.client, sessionId, 1);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ name: 'web_search' });
    const results = resultOf(log, use.id);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ is_error: true });
    expect(textOf(results[0])).toBe(RESTARTED_TOOL_MESSAGE);
    expect(searches).toBe(1);
  }, 90_000);

  it('SIGKILL at random instants of 100 bash turns (10 server lifetimes × 10 sessions): no tool_use id runs twice, every session completes', async () => {
    const SEED = Number(process.env.HANGAR_CRASH_SEED ?? 18_0001);
    const LIFETIMES = 10;
    const SESSIONS = 10;
    const MAX_KILL_MS = 1_500;
    const random = seeded(SEED);
    console.log(`tool crash test: seed ${SEED} (replay with HANGAR_CRASH_SEED=${SEED})`);
    up.setResponder(bashScript({ sleepS: 0.3 }));

    let child = await startChild();
    const sessions = await newSessions(child.client, SESSIONS, [{ type: 'agent_toolset_20260401' }]);
    const delays: number[] = [];
    for (let life = 0; life < LIFETIMES; life++) {
      await Promise.all(sessions.map((id) => child.client.beta.sessions.events.send(id, { events: [userText(`turn ${life}`)] })));
      const delay = Math.floor(random() * MAX_KILL_MS);
      delays.push(delay);
      await sleep(delay);
      await child.kill('SIGKILL');
      child = await startChild();
      try {
        await Promise.all(sessions.map((id) => waitTurns(child.client, id, life + 1)));
      } catch (err) {
        throw new Error(`lifetime ${life} (seed ${SEED}, killed after ${delays.join(',')} ms): ${(err as Error).message}\n${child.output()}`);
      }
    }

    let calls = 0;
    let restarted = 0;
    const duplicates: string[] = [];
    for (const id of sessions) {
      const log = await listEvents(child.client, id);
      const lines = callLines(id);
      const uses = log.filter((e) => e.type === 'agent.tool_use');
      const context = `session ${id} (seed ${SEED}, kill delays ${delays.join(',')})`;
      // Every turn made exactly one call (a redone model request commits its answer once) and answered.
      expect(uses, context).toHaveLength(LIFETIMES);
      expect(log.filter((e) => e.type === 'agent.message').map(textOf), context).toEqual(Array(LIFETIMES).fill('done'));
      expect(log.filter((e) => e.type === 'session.error' || e.type === 'session.status_terminated'), context).toEqual([]);
      const nonces = uses.map(nonceOf);
      expect(new Set(nonces).size, context).toBe(LIFETIMES);
      for (const line of lines) expect(nonces, `${context}: every line comes from a logged call`).toContain(line);
      for (const use of uses) {
        calls += 1;
        const results = resultOf(log, use.id);
        expect(results, `${context}: one result for ${use.id}`).toHaveLength(1);
        const runs = lines.filter((l) => l === nonceOf(use)).length;
        if (runs > 1 && results[0].is_error) duplicates.push(`${use.id} ran ${runs} times`);
        if (results[0].is_error) {
          // Only a restart may fail a call here, and its effect happened at most once.
          expect(textOf(results[0]), context).toBe(RESTARTED_TOOL_MESSAGE);
          restarted += 1;
        } else if (runs !== 1) {
          duplicates.push(`${use.id} succeeded but ran ${runs} times`);
        }
      }
    }
    console.log(`tool crash test: ${calls} bash calls, ${restarted} cut short by a kill and answered with an error, ${duplicates.length} ran more than once or not at all`);
    expect(duplicates).toEqual([]);
    expect(calls).toBe(LIFETIMES * SESSIONS);
    // The kills must really have landed inside tool calls, or the test proves nothing.
    expect(restarted, `no kill landed during a tool call (seed ${SEED}, delays ${delays.join(',')})`).toBeGreaterThan(0);
    // Every call is answered, so no start marker is left behind (the hidden row field stays small).
    expect(sessions.map(startMarkers)).toEqual(sessions.map(() => []));
    const shown = await child.client.beta.sessions.retrieve(sessions[0]);
    expect(Object.keys(shown).filter((k) => k.startsWith('_'))).toEqual([]);
  }, 180_000);
});
