// Without bubblewrap the server still starts, warns once with the install command, and built-in
// tool calls fail with a clear error result while the turn goes on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { MODEL, text } from './helpers.ts';

let up: FakeUpstream;
let h: TestHangar;
const logLines: string[] = [];

beforeAll(async () => {
  up = await startFakeUpstream();
  const sink = new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } });
  h = await startHangar({
    upstreamUrl: up.url,
    overrides: {
      logger: pino({ level: 'warn' }, sink),
      sandboxProvider: new BwrapSandboxProvider({ stateDir: '/tmp/hangar-missing-bwrap-state', bwrapPath: '/nonexistent/bwrap' }),
    },
  });
});
afterAll(async () => {
  await h?.close();
  await up?.close();
});

describe('sandbox unavailable', () => {
  it('logs one clear warning naming the install command at start-up', () => {
    const warnings = logLines.filter((l) => l.includes('apt-get install bubblewrap'));
    expect(warnings).toHaveLength(1);
  });

  it('answers a bash call with an error result explaining why, and the turn continues', async () => {
    const agent = await h.client.beta.agents.create({ name: 'a', model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
    const env = await h.client.beta.environments.create({ name: `e-${Date.now()}` });
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] }, { content: [{ type: 'text', text: 'sorry' }] });
    await h.client.beta.sessions.events.send(s.id, { events: [text('run it')] });
    let status = '';
    for (let i = 0; i < 100 && status !== 'idle'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await h.client.beta.sessions.retrieve(s.id)).status;
    }
    const events = (await h.client.beta.sessions.events.list(s.id)).data as Array<Record<string, any>>;
    const result = events.find((e) => e.type === 'agent.tool_result');
    expect(result?.is_error).toBe(true);
    expect(result?.content[0].text).toMatch(/sandbox is unavailable.*apt-get install bubblewrap/s);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    expect(events.filter((e) => e.type === 'agent.message')).toHaveLength(1);
  });
});
