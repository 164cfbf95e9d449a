// What a running server says: the start-up block on stdout, one request line per request (no
// keys, bodies or query values), and session lifecycle lines that let one session be followed
// through the log — checked on a real child process (as `npm start` runs) with its output captured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';

const MODEL = 'claude-sonnet-4-6';
const BODY_MARKER = `body-marker-${randomBytes(6).toString('hex')}`;
const QUERY_SECRET = `query-secret-${randomBytes(6).toString('hex')}`;

type LogLine = Record<string, any> & { level: number; msg: string };

let up: FakeUpstream;
let child: ChildServer;
let dataDir: string;
let apiKey: string;

/** The child's JSON log lines (stdout), in order. */
function logLines(): LogLine[] {
  return child.output().split('\n').flatMap((l) => {
    if (!l.startsWith('[out] {')) return [];
    try {
      return [JSON.parse(l.slice(6)) as LogLine];
    } catch {
      return [];
    }
  });
}

async function waitForLog(pred: (l: LogLine) => boolean, what: string): Promise<LogLine> {
  for (let i = 0; i < 200; i++) {
    const found = logLines().find(pred);
    if (found) return found;
    await sleep(50);
  }
  throw new Error(`no log line for ${what}\n${child.output()}`);
}

beforeAll(async () => {
  up = await startFakeUpstream();
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-obs-'));
  // The unprivileged sandbox user must be able to traverse to the workspaces (mkdtemp makes 0700).
  chmodSync(dataDir, 0o755);
  apiKey = `sk-obs-${randomBytes(16).toString('hex')}`;
  child = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url });
});
afterAll(async () => {
  await child?.stop();
  await up?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('start-up block', () => {
  it('prints version, listen URL, store, data dir, sandbox, models and console on stdout', () => {
    const out = child.output();
    expect(out).toMatch(/\[out\] Hangar \d+\.\d+\.\d+/);
    expect(out).toContain(`[out]   listening  ${child.url}`);
    expect(out).toContain(`[out]   store      sqlite ${join(dataDir, 'hangar.db')}`);
    expect(out).toContain(`[out]   data dir   ${dataDir}`);
    expect(out).toMatch(/\[out\] {3}sandbox {4}bwrap; tools will work/);
    expect(out).toContain(`[out]   models     anthropic at ${new URL(up.url).host} (key set)`);
    // npm test builds the console first (pretest); a bare vitest run on an unbuilt tree says so.
    const built = existsSync(join(import.meta.dirname, '../../console/dist/index.html'));
    expect(out).toContain(built ? `[out]   console    ${child.url}/console` : '[out]   console    not built');
    expect(out).not.toContain('ANTHROPIC_API_KEY is not set');
    expect(out).not.toContain('sk-upstream-test');
    const listening = logLines().find((l) => l.msg === 'hangar listening');
    expect(listening).toMatchObject({ address: child.url, version: expect.any(String), store: 'sqlite', sandbox: 'bwrap', toolsWork: true, anthropicKeySet: true });
  });

  it('warns in the block and the log when ANTHROPIC_API_KEY is unset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-obs-nokey-'));
    const second = await startChildServer({ dataDir: dir, apiKey, upstreamUrl: up.url, env: { ANTHROPIC_API_KEY: '' } });
    try {
      const out = second.output();
      expect(out).toContain('(NO KEY)');
      expect(out).toMatch(/\[out\] {3}warning: ANTHROPIC_API_KEY is not set.*set it to your Anthropic API key/);
      expect(out).toMatch(/"level":40.*ANTHROPIC_API_KEY is not set/);
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('probes', () => {
  it('serves /health, /healthz and /readyz without an API key', async () => {
    for (const path of ['/health', '/healthz']) {
      const r = await fetch(`${child.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(await r.json()).toEqual({ status: 'ok' });
    }
    const r = await fetch(`${child.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', checks: { store: { ok: true }, sandbox: { ok: true } } });
  });
});

describe('request log and session lifecycle', () => {
  let sessionId: string;

  beforeAll(async () => {
    up.reset();
    up.script(
      { content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo from-the-sandbox' } }], stop_reason: 'tool_use' },
      { content: [{ type: 'text', text: 'all done' }] },
    );
    const { client } = child;
    const agent = await client.beta.agents.create({ name: `obs-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
    const env = await client.beta.environments.create({ name: `obs-${randomBytes(4).toString('hex')}` });
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    sessionId = session.id;
    await client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text: BODY_MARKER }] }] });
    await waitForLog((l) => l.msg === 'turn ended' && l.sessionId === sessionId, 'the turn to end');
    // A query value that must never reach the log (the route pattern is logged, not the URL).
    await fetch(`${child.url}/v1/agents?limit=1&secret=${QUERY_SECRET}`, { headers: { 'x-api-key': apiKey } });
    await fetch(`${child.url}/v1/no-such-route?token=${QUERY_SECRET}`, { headers: { 'x-api-key': apiKey } });
    await waitForLog((l) => l.msg === 'request' && l.route === '/v1/no-such-route', 'the unmatched request');
  });

  it('logs one info line per request with method, route pattern, status, duration and request id', () => {
    const requests = logLines().filter((l) => l.msg === 'request');
    const create = requests.find((l) => l.method === 'POST' && l.route === '/v1/sessions');
    expect(create).toMatchObject({ level: 30, status: 200, reqId: expect.stringMatching(/^req_/), durationMs: expect.any(Number) });
    const send = requests.filter((l) => l.method === 'POST' && l.route === '/v1/sessions/:id/events');
    expect(send).toHaveLength(1);
    expect(send[0]).toMatchObject({ level: 30, status: 200 });
    expect(requests.find((l) => l.route === '/v1/no-such-route')).toMatchObject({ level: 30, status: 404, method: 'GET' });
    // Request ids are distinct per request.
    const ids = requests.map((l) => l.reqId);
    expect(new Set(ids).size).toBe(ids.length);
    // Health probes are quiet at info.
    expect(requests.filter((l) => l.route === '/readyz' || l.route === '/health')).toEqual([]);
  });

  it('never logs keys, bodies or query values', () => {
    const out = child.output();
    expect(out.length).toBeGreaterThan(1000);
    for (const secret of [apiKey, 'sk-upstream-test', BODY_MARKER, QUERY_SECRET, 'from-the-sandbox', 'all done']) {
      expect(out, `the log contains ${secret}`).not.toContain(secret);
    }
  });

  it('follows the session: created, turn started, tool call by name and duration, turn ended with its stop reason', () => {
    const mine = logLines().filter((l) => l.sessionId === sessionId);
    const names = mine.map((l) => l.msg);
    expect(names).toEqual(['session created', 'turn started', 'tool call', 'turn ended']);
    expect(mine[0]).toMatchObject({ level: 30, agentId: expect.stringMatching(/^agent_/), environmentId: expect.stringMatching(/^env_/) });
    expect(mine[2]).toMatchObject({ level: 30, tool: 'bash', isError: false, durationMs: expect.any(Number) });
    expect(mine[3]).toMatchObject({ level: 30, stopReason: 'end_turn' });
  });

  it('logs a failed model request with its cause and the upstream host, then the retry', async () => {
    up.reset();
    up.script({ kind: 'error', status: 529, type: 'overloaded_error', message: 'upstream is overloaded' }, { content: [{ type: 'text', text: 'second try' }] });
    const { client } = child;
    const agent = await client.beta.agents.create({ name: `obs-err-${randomBytes(3).toString('hex')}`, model: MODEL });
    const env = await client.beta.environments.create({ name: `obs-err-${randomBytes(4).toString('hex')}` });
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    await client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] });
    await waitForLog((l) => l.msg === 'turn ended' && l.sessionId === s.id, 'the retried turn to end');
    const mine = logLines().filter((l) => l.sessionId === s.id);
    // After the backoff the session runs again (a second `turn started`) and finishes the turn.
    expect(mine.map((l) => l.msg)).toEqual(['session created', 'turn started', 'model call failed', 'turn rescheduled after a failed model request', 'turn started', 'turn ended']);
    expect(mine[2]).toMatchObject({ level: 40, kind: 'overloaded', status: 529, upstream: new URL(up.url).host, cause: expect.stringContaining('upstream is overloaded') });
  });

  it('logs the first turn of a session created with initial events', async () => {
    up.reset();
    up.script({ content: [{ type: 'text', text: 'hello' }] });
    const { client } = child;
    const agent = await client.beta.agents.create({ name: `obs-init-${randomBytes(3).toString('hex')}`, model: MODEL });
    const env = await client.beta.environments.create({ name: `obs-init-${randomBytes(4).toString('hex')}` });
    const s = await client.beta.sessions.create({
      agent: agent.id, environment_id: env.id,
      initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }],
    } as Parameters<typeof client.beta.sessions.create>[0]);
    await waitForLog((l) => l.msg === 'turn ended' && l.sessionId === s.id, 'the first turn to end');
    expect(logLines().filter((l) => l.sessionId === s.id).map((l) => l.msg)).toEqual(['session created', 'turn started', 'turn ended']);
  });
});
