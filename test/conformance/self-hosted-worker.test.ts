// End to end: workers pointed at a live Hangar serve a self-hosted session's sandbox tool calls
// through the work queue (§5.2 flow 6) — the official SDK's own EnvironmentWorker, then the
// `hangar worker` process (bubblewrap sandboxes, its own data dir), then a worker killed mid-item
// whose item is reclaimed by another worker after its lease lapses.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startWorkRig, userMessage, eventually, type WorkRig } from '../worker/work-kit.ts';
import { startWorkerProcess, type WorkerProcess } from '../worker/worker-process.ts';
import type { FakeReply } from '../kit/fake-upstream.ts';

type Ev = Record<string, any> & { type: string };

let rig: WorkRig;
const dirs: string[] = [];
const workers: WorkerProcess[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // The unprivileged sandbox user must be able to traverse to the workspaces.
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  // Short leases, so a dead worker's item is back in the queue within seconds.
  rig = await startWorkRig({ overrides: { workQueue: { defaultTtlSeconds: 2 } } });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill('SIGKILL')));
});
afterAll(async () => {
  await rig?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tool = (name: string, input: Record<string, unknown>): FakeReply => ({ content: [{ type: 'tool_use', name, input }] });
const say = (text: string): FakeReply => ({ content: [{ type: 'text', text }] });
const textOf = (e: Ev) => (e.content ?? []).map((b: any) => b.text ?? '').join('');

async function events(sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of rig.client.beta.sessions.events.list(sessionId, { limit: 1000 })) out.push(e as unknown as Ev);
  return out;
}

/** Waits until the session's last event is a turn-ending idle, and returns the log. */
async function completed(sessionId: string, timeoutMs = 30_000): Promise<Ev[]> {
  return eventually(() => events(sessionId), (log) => {
    const last = log.at(-1);
    return last?.type === 'session.status_idle' && last.stop_reason?.type === 'end_turn';
  }, timeoutMs, `session ${sessionId} to finish its turn`);
}

/** Each tool call with the worker's result for it, in order. */
function calls(log: Ev[]): Array<{ use: Ev; results: Ev[] }> {
  return log.filter((e) => e.type === 'agent.tool_use').map((use) => ({ use, results: log.filter((e) => e.type === 'user.tool_result' && e.tool_use_id === use.id) }));
}

async function workItems(sessionId: string) {
  const items = [];
  for await (const w of rig.as(rig.envKey).beta.environments.work.list(rig.envId)) if (w.data.id === sessionId) items.push(w);
  return items;
}

describe('self-hosted workers', () => {
  it("the SDK's own EnvironmentWorker picks up the session and runs the model's tool calls", async () => {
    const workdir = tempDir('hangar-sdk-worker-');
    const stop = new AbortController();
    const client = new Anthropic({ baseURL: rig.h.url, apiKey: null, authToken: rig.envKey, logLevel: 'off' });
    const running = client.beta.environments.work
      .worker({ environmentId: rig.envId, environmentKey: rig.envKey, workdir, maxIdleMs: 300 })
      .run(stop.signal);
    try {
      rig.up.reset();
      rig.up.script(tool('bash', { command: 'echo hello from the worker > note.txt && cat note.txt' }), tool('read', { file_path: 'note.txt' }), say('done'));
      const s = await rig.client.beta.sessions.create({ agent: rig.agentId, environment_id: rig.envId, initial_events: [userMessage('write a note')] });
      const log = await completed(s.id);

      const done = calls(log);
      expect(done.map((c) => c.use.name)).toEqual(['bash', 'read']);
      for (const c of done) {
        expect(c.use).toMatchObject({ evaluated_permission: 'allow' });
        expect(c.results).toHaveLength(1);
        expect(c.results[0].is_error).toBe(false);
      }
      expect(textOf(done[0].results[0])).toContain('hello from the worker');
      expect(textOf(done[1].results[0])).toContain('hello from the worker');
      expect(readFileSync(join(workdir, 'note.txt'), 'utf8')).toBe('hello from the worker\n');
      // Flow 6: the call, the wait for the worker, its result, then the session runs on.
      const kinds = log.map((e) => e.type);
      const firstResult = kinds.indexOf('user.tool_result');
      expect(kinds.slice(0, 3)).toEqual(['user.message', 'session.status_running', 'span.model_request_start']);
      expect(kinds.indexOf('agent.tool_use')).toBeLessThan(firstResult);
      expect(kinds[firstResult + 1]).toBe('session.status_running');
      expect(log.find((e) => e.type === 'agent.message')).toMatchObject({ content: [{ type: 'text', text: 'done' }] });
      expect(log.some((e) => e.type === 'agent.tool_result')).toBe(false);
      // The model saw the worker's results.
      const second = rig.up.requests[1].body.messages.at(-1).content[0];
      expect(second).toMatchObject({ type: 'tool_result', tool_use_id: done[0].use.id });

      // One work item served the whole session; the worker stopped it after the turn went idle.
      const items = await eventually(() => workItems(s.id), (w) => w.length === 1 && w[0].state === 'stopped', 10_000, 'the work item to stop');
      expect(items[0].started_at).not.toBeNull();
      expect(items[0].latest_heartbeat_at).not.toBeNull();
    } finally {
      stop.abort();
      await running.catch(() => {});
    }
  });

  it('holds an `ask` call until the user confirms it; a denied call never runs on the worker', async () => {
    const workdir = tempDir('hangar-sdk-worker-ask-');
    const stop = new AbortController();
    const client = new Anthropic({ baseURL: rig.h.url, apiKey: null, authToken: rig.envKey, logLevel: 'off' });
    const running = client.beta.environments.work
      .worker({ environmentId: rig.envId, environmentKey: rig.envKey, workdir, maxIdleMs: 300 })
      .run(stop.signal);
    try {
      const agent = await rig.client.beta.agents.create({
        name: `ask-${Date.now()}`, model: 'claude-sonnet-4-6',
        tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
      });
      rig.up.reset();
      rig.up.script(tool('bash', { command: 'touch allowed.txt' }), tool('bash', { command: 'touch denied.txt' }), say('done'));
      const s = await rig.client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, initial_events: [userMessage('go')] });
      const waiting = async () => eventually(() => events(s.id), (log) => log.at(-1)?.type === 'session.status_idle' && log.at(-1)?.stop_reason?.type === 'requires_action', 10_000, 'requires_action');

      let log = await waiting();
      const allow = log.filter((e) => e.type === 'agent.tool_use').at(-1)!;
      expect(allow).toMatchObject({ evaluated_permission: 'ask' });
      await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(join(workdir, 'allowed.txt'))).toBe(false); // held by the worker until confirmed
      await rig.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: allow.id, result: 'allow' }] });

      log = await waiting();
      const deny = log.filter((e) => e.type === 'agent.tool_use').at(-1)!;
      expect(deny.id).not.toBe(allow.id);
      expect(existsSync(join(workdir, 'allowed.txt'))).toBe(true);
      await rig.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.tool_confirmation', tool_use_id: deny.id, result: 'deny', deny_message: 'not that' }] });

      log = await completed(s.id);
      expect(existsSync(join(workdir, 'denied.txt'))).toBe(false);
      const [allowed, denied] = calls(log);
      expect(allowed.results).toHaveLength(1);
      expect(denied.results).toHaveLength(0); // the server answered the denial itself
      expect(log.some((e) => e.type === 'agent.tool_result' && e.tool_use_id === deny.id && e.is_error)).toBe(true);
    } finally {
      stop.abort();
      await running.catch(() => {});
    }
  });

  it('`hangar worker` on its own data dir runs the calls in a bubblewrap sandbox', async () => {
    const dataDir = tempDir('hangar-worker-');
    const w = startWorkerProcess({ url: rig.h.url, environmentId: rig.envId, environmentKey: rig.envKey, dataDir, args: ['--max-idle-ms', '300'] });
    workers.push(w);
    await w.waitForLog('hangar worker polling');

    rig.up.reset();
    rig.up.script(tool('bash', { command: 'echo sandboxed > note.txt && pwd && id -u' }), tool('read', { file_path: '/workspace/note.txt' }), say('done'));
    const s = await rig.client.beta.sessions.create({ agent: rig.agentId, environment_id: rig.envId, initial_events: [userMessage('go')] });
    const log = await completed(s.id);
    const done = calls(log);
    expect(done.map((c) => c.use.name)).toEqual(['bash', 'read']);
    expect(done.every((c) => c.results.length === 1 && c.results[0].is_error === false)).toBe(true);
    const bash = textOf(done[0].results[0]);
    expect(bash).toContain('/workspace');
    expect(bash).not.toMatch(/^0$/m); // not root on the host
    expect(textOf(done[1].results[0])).toContain('sandboxed');
    expect(readFileSync(join(dataDir, 'sandboxes', s.id, 'workspace', 'note.txt'), 'utf8')).toBe('sandboxed\n');
    expect(existsSync(join(rig.h.dataDir, 'sandboxes', s.id))).toBe(false);

    await eventually(() => workItems(s.id), (items) => items.length === 1 && items[0].state === 'stopped', 10_000, 'the work item to stop');
    await w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });

  it('a worker killed mid-item loses its lease; the item is reclaimed and the session completes', async () => {
    const first = startWorkerProcess({ url: rig.h.url, environmentId: rig.envId, environmentKey: rig.envKey, dataDir: tempDir('hangar-worker-a-'), args: ['--max-idle-ms', '300'] });
    workers.push(first);
    await first.waitForLog('hangar worker polling');

    rig.up.reset();
    rig.up.script(tool('bash', { command: 'sleep 2 && echo finished' }), say('done'));
    const s = await rig.client.beta.sessions.create({ agent: rig.agentId, environment_id: rig.envId, initial_events: [userMessage('go')] });
    // The first worker holds the item and is running the call when it dies.
    await first.waitForLog('executing tool');
    const [held] = await workItems(s.id);
    expect(held.state).toBe('active');
    await first.kill('SIGKILL');

    const secondDir = tempDir('hangar-worker-b-');
    const second = startWorkerProcess({ url: rig.h.url, environmentId: rig.envId, environmentKey: rig.envKey, dataDir: secondDir, args: ['--max-idle-ms', '300'] });
    workers.push(second);
    const log = await completed(s.id, 40_000);

    const [call] = calls(log);
    expect(call.use.name).toBe('bash');
    expect(call.results).toHaveLength(1);
    expect(textOf(call.results[0])).toContain('finished');
    expect(log.find((e) => e.type === 'agent.message')).toMatchObject({ content: [{ type: 'text', text: 'done' }] });
    expect(existsSync(join(secondDir, 'sandboxes', s.id, 'workspace'))).toBe(true);
    // The same item was reclaimed (no second item was queued), and ended stopped by the second worker.
    const items = await eventually(() => workItems(s.id), (w) => w.length === 1 && w[0].state === 'stopped', 10_000, 'the work item to stop');
    expect(items[0].id).toBe(held.id);
    expect(items[0].started_at).not.toBe(held.started_at);
  });
});
