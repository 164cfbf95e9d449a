// `hangar run` and `hangar tail` driven as a user would: the built command against a real Hangar on
// the scripted fake upstream, with piped stdin or inside a pseudo-terminal. Each test checks what
// the terminal shows and what reached the session's log (read back through the official SDK).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, MODEL, spawnCli, startDelayingProxy, spawnCliInPty, startCliRig, waitUntil, type CliRig } from './cli-kit.ts';

let rig: CliRig;
let dir: string;
beforeAll(async () => {
  rig = await startCliRig();
  dir = mkdtempSync(join(tmpdir(), 'hangar-cli-run-'));
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Ev = Record<string, any>;
const TOOLSET = { type: 'agent_toolset_20260401' as const };
const ASK_BASH = { type: 'agent_toolset_20260401' as const, configs: [{ name: 'bash', permission_policy: { type: 'always_ask' as const } }] };

async function agent(tools: unknown[], name = `a-${Math.random().toString(36).slice(2)}`) {
  return rig.h.client.beta.agents.create({ name, model: MODEL, tools: tools as any });
}

async function events(sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of rig.h.client.beta.sessions.events.list(sessionId, { limit: 1000 })) out.push(e as Ev);
  return out;
}

const sessionIdIn = (text: string) => /session (sesn_\w+)/.exec(text)?.[1];
const resultText = (e: Ev) => (e.content ?? []).map((b: Ev) => b.text ?? '').join('');

describe('hangar run', () => {
  it('streams the agent text and a tool call line, then prints usage and cost, exit 0', async () => {
    const a = await agent([TOOLSET], 'streamer');
    rig.up.script(
      { content: [{ type: 'text', text: 'Let me look around the workspace first.' }, { type: 'tool_use', name: 'bash', input: { command: 'echo hello-from-bash' } }] },
      { content: [{ type: 'text', text: 'All done: the workspace is fine.' }], usage: { input_tokens: 1200, output_tokens: 340 } },
    );
    // By name, so name resolution is exercised too.
    const r = await cli(['run', 'streamer', 'check the workspace', '--title', 'cli run'], rig.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Let me look around the workspace first.');
    expect(r.stdout).toMatch(/→ bash\(echo hello-from-bash\)\n {2}← (ok|error): /);
    expect(r.stdout).toContain('All done: the workspace is fine.');
    expect(r.stdout.indexOf('Let me look')).toBeLessThan(r.stdout.indexOf('→ bash'));
    expect(r.stderr).toMatch(/usage: \d+ input, \d+ output tokens.* · cost (\$\d+\.\d\d|n\/a)/);
    // No spinner frames or cursor control when stdout is a pipe.
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const id = sessionIdIn(r.stderr)!;
    const session = await rig.h.client.beta.sessions.retrieve(id);
    expect(session.agent.id).toBe(a.id);
    expect(session.title).toBe('cli run');
    const log = await events(id);
    expect(log.find((e) => e.type === 'user.message')?.content[0].text).toBe('check the workspace');
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  });

  it('reuses the default hangar-cli environment and honours --env', async () => {
    await agent([TOOLSET], 'env-user');
    rig.up.script({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] }, { content: [{ type: 'text', text: 'three' }] });
    const first = await cli(['run', 'env-user', 'hi'], rig.env);
    const second = await cli(['run', 'env-user', 'hi'], rig.env);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const envOf = async (r: { stderr: string }) => (await rig.h.client.beta.sessions.retrieve(sessionIdIn(r.stderr)!)).environment_id;
    expect(await envOf(second)).toBe(await envOf(first));
    const named = (await rig.h.client.beta.environments.retrieve(await envOf(first))).name;
    expect(named).toBe('hangar-cli');
    const other = await rig.h.client.beta.environments.create({ name: 'explicit' });
    const third = await cli(['run', 'env-user', 'hi', '--env', other.id], rig.env);
    expect(third.code, third.stderr).toBe(0);
    expect(await envOf(third)).toBe(other.id);
  });

  it('answers an always_ask confirmation typed in a terminal (pseudo-terminal), and the call runs', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script(
      { content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo approved-run' } }] },
      { content: [{ type: 'text', text: 'Finished after approval.' }] },
    );
    const p = spawnCliInPty(['run', a.id, 'go'], rig.env);
    await p.waitFor(/Allow bash\(echo approved-run\)\? \[y\/n\] /);
    p.write('y\r');
    const r = await p.exited;
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('[needs confirmation]');
    expect(r.stdout).toContain('Finished after approval.');
    const log = await events(sessionIdIn(r.stdout)!);
    expect(log.find((e) => e.type === 'user.tool_confirmation')).toMatchObject({ result: 'allow' });
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    const result = log.find((e) => e.type === 'agent.tool_result')!;
    expect(result.tool_use_id).toBe(use.id);
    expect(resultText(result)).not.toMatch(/denied/i);
  });

  it('denies with a message typed on piped stdin; the message reaches the tool result', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script(
      { content: [{ type: 'tool_use', name: 'bash', input: { command: 'rm -rf /workspace/data' } }] },
      { content: [{ type: 'text', text: 'Ok, leaving it.' }] },
    );
    const p = spawnCli(['run', a.id, 'clean up'], rig.env);
    await p.waitFor(/Allow bash\(rm -rf \/workspace\/data\)\? \[y\/n\] /);
    p.write('maybe\n');
    await p.waitFor(/please answer y or n/);
    p.write('n\n');
    await p.waitFor(/Deny message/);
    p.write('keep the data, it is needed\n');
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/← error: .*keep the data, it is needed/);
    const log = await events(sessionIdIn(r.stderr)!);
    expect(log.find((e) => e.type === 'user.tool_confirmation')).toMatchObject({ result: 'deny', deny_message: 'keep the data, it is needed' });
    const result = log.find((e) => e.type === 'agent.tool_result')!;
    expect(result.is_error).toBe(true);
    expect(resultText(result)).toContain('keep the data, it is needed');
    // The model saw the denial too.
    expect(JSON.stringify(rig.up.requests[1].body.messages)).toContain('keep the data, it is needed');
  });

  it('answers a custom tool with JSON, re-asking after invalid JSON', async () => {
    const a = await agent([{ type: 'custom', name: 'weather', description: 'the weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    rig.up.script(
      { content: [{ type: 'tool_use', name: 'weather', input: { city: 'Oslo' } }] },
      { content: [{ type: 'text', text: 'It is sunny in Oslo.' }] },
    );
    const p = spawnCli(['run', a.id, 'weather?'], rig.env);
    await p.waitFor(/custom tool weather was called with \{"city":"Oslo"\}/);
    await p.waitFor(/Answer for weather \(JSON\): /);
    p.write('{not json\n');
    await p.waitFor(/not valid JSON/);
    p.write('{"forecast":"sunny","celsius":21}\n');
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('It is sunny in Oslo.');
    const log = await events(sessionIdIn(r.stderr)!);
    const use = log.find((e) => e.type === 'agent.custom_tool_use')!;
    const answer = log.find((e) => e.type === 'user.custom_tool_result')!;
    expect(answer.custom_tool_use_id).toBe(use.id);
    expect(JSON.parse(resultText(answer))).toEqual({ forecast: 'sunny', celsius: 21 });
    expect(JSON.stringify(rig.up.requests[1].body.messages)).toContain('sunny');
  });

  it('--non-interactive exits 3 on a confirmation and says how to answer; the session keeps waiting', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] });
    const r = await cli(['run', a.id, 'go', '--non-interactive'], rig.env, 'y\n');
    expect(r.code).toBe(3);
    const id = sessionIdIn(r.stderr)!;
    expect(r.stderr).toContain(`session ${id} needs a confirmation for bash(echo hi)`);
    expect(r.stderr).toContain(`hangar tail ${id}`);
    const log = await events(id);
    expect(log.some((e) => e.type === 'user.tool_confirmation')).toBe(false);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'requires_action' } });
  });

  it('exits 3 when stdin ends before a confirmation is answered', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] });
    const r = await cli(['run', a.id, 'go'], rig.env, '');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/stdin ended while session sesn_\w+ waits for bash\(echo hi\)/);
  });

  it('Ctrl-C sends user.interrupt and exits 130 once the turn stops', async () => {
    const a = await agent([TOOLSET]);
    rig.up.script({ content: [{ type: 'text', text: 'Starting a very long answer that never ends' }], hang: true });
    const p = spawnCli(['run', a.id, 'write a novel'], rig.env);
    await p.waitFor(/Star/);
    p.child.kill('SIGINT');
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('interrupting… (Ctrl-C again to detach)');
    const log = await events(sessionIdIn(r.stderr)!);
    expect(log.some((e) => e.type === 'user.interrupt')).toBe(true);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle' });
  });

  it('a second Ctrl-C detaches at once (exit 130) while the session goes on', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo pending' } }] });
    // The interrupt is held back on its way, so the second Ctrl-C surely comes before it lands.
    const proxy = await startDelayingProxy(rig.h.url, (method, _path, body) => method === 'POST' && body.includes('"user.interrupt"'), 1_500);
    const p = spawnCli(['run', a.id, 'go'], { ...rig.env, HANGAR_URL: proxy.url });
    await p.waitFor(/Allow bash/);
    const id = sessionIdIn(p.stderr)!;
    p.child.kill('SIGINT');
    await p.waitFor(/interrupting…/);
    p.child.kill('SIGINT');
    const r = await p.exited;
    await proxy.close();
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`detached; the session goes on: hangar tail ${id}`);
    // The first Ctrl-C's interrupt still reached the session before the command left.
    const log = await waitUntil(async () => {
      const l = await events(id);
      return l.some((e) => e.type === 'user.interrupt') ? l : undefined;
    }, 'user.interrupt in the log');
    expect(log.some((e) => e.type === 'user.interrupt')).toBe(true);
  });

  it('Ctrl-C typed in a terminal while a confirmation prompt is open interrupts the session (exit 130)', async () => {
    const a = await agent([ASK_BASH]);
    rig.up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo never' } }] });
    const p = spawnCliInPty(['run', a.id, 'go'], rig.env);
    await p.waitFor(/Allow bash\(echo never\)\? \[y\/n\] /);
    p.write('\x03');
    const r = await p.exited;
    expect(r.code, r.stdout).toBe(130);
    expect(r.stdout).toContain('interrupting…');
    const log = await events(sessionIdIn(r.stdout)!);
    expect(log.some((e) => e.type === 'user.interrupt')).toBe(true);
    expect(log.some((e) => e.type === 'user.tool_confirmation')).toBe(false);
    const result = log.find((e) => e.type === 'agent.tool_result');
    expect(result?.is_error).toBe(true);
  });

  it('--file uploads the file and mounts it as a session file resource', async () => {
    const a = await agent([TOOLSET]);
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'remember the milk\n');
    rig.up.script({ content: [{ type: 'text', text: 'Read it.' }] });
    const r = await cli(['run', a.id, 'read my notes', '--file', path], rig.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/uploaded .*notes\.txt as file_\w+ → \/mnt\/session\/uploads\/notes\.txt/);
    const session = await rig.h.client.beta.sessions.retrieve(sessionIdIn(r.stderr)!);
    const res = session.resources.find((x: any) => x.type === 'file') as any;
    expect(res.mount_path).toBe('/mnt/session/uploads/notes.txt');
    const content = await rig.h.client.beta.files.download(res.file_id);
    expect(await content.text()).toBe('remember the milk\n');
  });

  it('--file on a missing path fails before creating a session (exit 1)', async () => {
    const a = await agent([TOOLSET]);
    const before = (await rig.h.client.beta.sessions.list({ limit: 100 })).data.length;
    const r = await cli(['run', a.id, 'x', '--file', join(dir, 'absent.txt')], rig.env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`hangar: --file ${join(dir, 'absent.txt')}: no such file`);
    expect((await rig.h.client.beta.sessions.list({ limit: 100 })).data.length).toBe(before);
  });

  it('--json prints one JSON event per line', async () => {
    const a = await agent([TOOLSET]);
    rig.up.script({ content: [{ type: 'text', text: 'json mode' }] });
    const r = await cli(['run', a.id, 'hi', '--json'], rig.env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => e.type)).toContain('agent.message');
    expect(lines.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  });
});

describe('hangar tail', () => {
  it('attaches to a session waiting on a confirmation, replays it, asks, and follows the turn to its end', async () => {
    const a = await agent([ASK_BASH]);
    const env = await rig.h.client.beta.environments.create({ name: 'tail-env' });
    const s = await rig.h.client.beta.sessions.create({ agent: a.id, environment_id: env.id });
    rig.up.script({ content: [{ type: 'text', text: 'Need to run something.' }, { type: 'tool_use', name: 'bash', input: { command: 'echo from-tail' } }] });
    await rig.h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'started elsewhere' }] }] });
    await waitUntil(async () => ((await events(s.id)).some((e) => e.type === 'session.status_idle') ? true : undefined), 'the session to wait');
    rig.up.script({ content: [{ type: 'text', text: 'Tail approved it.' }] });
    const p = spawnCli(['tail', s.id], rig.env);
    await p.waitFor(/Allow bash\(echo from-tail\)\? \[y\/n\] /);
    p.write('y\n');
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('> started elsewhere');
    expect(r.stdout).toContain('Need to run something.');
    expect(r.stdout).toContain('Tail approved it.');
    expect((await events(s.id)).find((e) => e.type === 'user.tool_confirmation')).toMatchObject({ result: 'allow' });
  });

  it('on an idle session with nothing pending, prints the log and exits 0', async () => {
    const a = await agent([TOOLSET]);
    rig.up.script({ content: [{ type: 'text', text: 'earlier answer' }] });
    const first = await cli(['run', a.id, 'earlier question'], rig.env);
    const id = sessionIdIn(first.stderr)!;
    const r = await cli(['tail', id], rig.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('> earlier question');
    expect(r.stdout).toContain('earlier answer');
    expect(r.stderr).toContain(`session ${id} is idle`);
  });

  it('on an unknown session prints the API error in one line, exit 1', async () => {
    const r = await cli(['tail', 'sesn_doesnotexist'], rig.env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hangar: not_found_error: .+\(HTTP 404\)/);
  });
});
