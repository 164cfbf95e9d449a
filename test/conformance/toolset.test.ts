// The built-in agent toolset (docs/API-SPEC.md §4.1 tools, §5.2 flow 2) driven through the official SDK
// against a live Hangar whose tool calls run in real bubblewrap sandboxes: what the model is
// offered, the built-in tool flow, each tool's behaviour, persistence, isolation, lazy
// provisioning and interrupting a running command.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  EventTap, callTool, eventually, hostProcesses, interrupt, isIdle, isType, listEvents, newSession, resultText, sandboxDir,
  say, sendEvents, startRig, text, toolResults, toolTurn, toolUse, toolset, types, SANDBOX_TOOL_NAMES, TOOL_WAIT_MS,
  type Ev, type Rig,
} from './helpers.ts';
import { startHangar } from '../kit/hangar.ts';

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const TOOLS = [toolset()];
/** `read` output is line-numbered: the number, a separator, then the line exactly. */
const numbered = (n: number, line: string) => new RegExp(`^\\s*${n}[\\t:|→ ]+${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
const offeredNames = (req: { body: any }) => ((req.body.tools ?? []) as Array<{ name: string }>).map((t) => t.name).sort();
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

describe('what the model is offered', () => {
  it('offers bash, read, write, edit, glob, grep and web_fetch (web_search only with a search provider), and provisions nothing for a plain turn', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    rig.up.script(say('Nothing to do.'));
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('hi'));
    await tap.until(isIdle);
    tap.close();

    const req = rig.up.requests[0];
    expect(offeredNames(req)).toEqual([...SANDBOX_TOOL_NAMES, 'web_fetch'].sort());
    const byName = new Map((req.body.tools as Array<Record<string, any>>).map((t) => [t.name, t]));
    const expected: Record<string, { required: string[]; optional: string[] }> = {
      bash: { required: [], optional: ['command', 'restart', 'timeout_ms'] },
      read: { required: ['file_path'], optional: ['view_range'] },
      write: { required: ['file_path', 'content'], optional: [] },
      edit: { required: ['file_path', 'old_string', 'new_string'], optional: ['replace_all'] },
      glob: { required: ['pattern'], optional: ['path'] },
      grep: { required: ['pattern'], optional: ['path'] },
    };
    for (const [name, { required, optional }] of Object.entries(expected)) {
      const def = byName.get(name)!;
      expect(def.description, name).toEqual(expect.any(String));
      expect(def.description.length, name).toBeGreaterThan(0);
      expect(def.input_schema.type, name).toBe('object');
      expect(Object.keys(def.input_schema.properties).sort(), name).toEqual([...required, ...optional].sort());
      for (const field of required) expect(def.input_schema.required ?? [], `${name}.${field}`).toContain(field);
    }
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
  });

  it('honours default_config.enabled and per-tool enabled in what it offers', async () => {
    const cases: Array<{ tools: any[]; offered: string[] }> = [
      { tools: [toolset({ default_config: { enabled: false } })], offered: [] },
      { tools: [toolset({ default_config: { enabled: false }, configs: [{ name: 'read', enabled: true }, { name: 'grep', enabled: true }] })], offered: ['grep', 'read'] },
      { tools: [toolset({ configs: [{ name: 'bash', enabled: false }] })], offered: ['edit', 'glob', 'grep', 'read', 'web_fetch', 'write'] },
      { tools: [], offered: [] },
    ];
    for (const c of cases) {
      rig.up.reset();
      const s = await newSession(rig, { tools: c.tools });
      rig.up.script(say('ok'));
      const tap = await EventTap.open(client, s.id);
      await sendEvents(client, s.id, text('hi'));
      await tap.until(isIdle);
      tap.close();
      expect(offeredNames(rig.up.requests[0]), JSON.stringify(c.tools)).toEqual(c.offered);
    }
  });

  it('denies a call to a disabled tool without evaluation, answers it with an error result, and continues the turn', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', enabled: false }] })] });
    const t = await toolTurn(rig, s.id, [[toolUse('bash', { command: 'touch /workspace/should-not-exist' })]], { final: 'Could not do it.' });
    expect(types(t.turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.tool_use', 'span.model_request_end',
      'agent.tool_result', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    const [use] = t.uses;
    expect(use).toMatchObject({ name: 'bash', input: { command: 'touch /workspace/should-not-exist' }, evaluated_permission: 'deny' });
    expect(use.evaluation == null).toBe(true);
    const result = t.resultFor(use)!;
    expect(result.is_error).toBe(true);
    expect(resultText(result)).toMatch(/bash/);
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(toolResults(t.requests[1])).toEqual([expect.objectContaining({ tool_use_id: use.id, is_error: true })]);
    // Nothing ran, so nothing was provisioned.
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
  });
});

describe('built-in tool flow (§5.2 flow 2)', () => {
  it('runs the call in the sandbox between two model requests, in spec order, and persists the same events', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    rig.up.script(
      { content: [{ type: 'text', text: 'Let me check.' }, toolUse('bash', { command: 'echo "hello from $(basename $PWD)"' })] },
      say('It says hello.'),
    );
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('say hello in the sandbox'));
    const turn = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();

    expect(types(turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'agent.tool_use', 'span.model_request_end',
      'agent.tool_result', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    const [, , start1, , use, end1, result, start2, , end2, idle] = turn;
    expect(use).toMatchObject({
      name: 'bash', input: { command: 'echo "hello from $(basename $PWD)"' },
      evaluated_permission: 'allow', evaluation: { type: 'always_allow' },
    });
    expect(use.id).toMatch(/^sevt_/);
    expect(end1.model_request_start_id).toBe(start1.id);
    expect(end2.model_request_start_id).toBe(start2.id);
    expect(result).toMatchObject({ tool_use_id: use.id, is_error: false, content: [{ type: 'text', text: expect.any(String) }] });
    expect(result.content).toHaveLength(1);
    expect(resultText(result).trim()).toBe('hello from workspace');
    expect(result.id).toMatch(/^sevt_/);
    expect(result.processed_at).toEqual(expect.any(String));
    expect(idle.stop_reason).toEqual({ type: 'end_turn' });

    expect(rig.up.requests).toHaveLength(2);
    const next = rig.up.requests[1];
    const assistant = next.body.messages.find((m: any) => m.role === 'assistant');
    expect(assistant.content).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'tool_use', id: use.id, name: 'bash' })]));
    const [block] = toolResults(next);
    expect(block).toMatchObject({ tool_use_id: use.id });
    expect(block.is_error ?? false).toBe(false);
    expect(resultText(block)).toContain('hello from workspace');

    const log = await listEvents(client, s.id);
    expect(log.map((e) => e.id)).toEqual(turn.map((e) => e.id));
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
  });

  it('runs several calls of one model response in order and answers each', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const t = await toolTurn(rig, s.id, [[
      toolUse('write', { file_path: '/workspace/multi.txt', content: 'first\n' }),
      toolUse('bash', { command: 'echo second >> /workspace/multi.txt && cat /workspace/multi.txt' }),
    ]]);
    expect(types(t.turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.tool_use', 'agent.tool_use', 'span.model_request_end',
      'agent.tool_result', 'agent.tool_result', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    expect(t.results.map((r) => r.tool_use_id)).toEqual(t.uses.map((u) => u.id));
    expect(t.results.map((r) => r.is_error)).toEqual([false, false]);
    expect(resultText(t.results[1])).toContain('first\nsecond');
    expect(toolResults(t.requests[1]).map((b) => b.tool_use_id)).toEqual(t.uses.map((u) => u.id));
  });
});

describe('bash', () => {
  it('keeps the working directory and exported variables between calls, and restart resets them', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const t = await toolTurn(rig, s.id, [
      [toolUse('bash', { command: 'mkdir -p /tmp/x && cd /tmp/x && export FOO=bar' })],
      [toolUse('bash', { command: 'pwd; echo "FOO=[$FOO]"' })],
    ]);
    expect(t.results.map((r) => r.is_error)).toEqual([false, false]);
    expect(resultText(t.results[1])).toMatch(/^\/tmp\/x$/m);
    expect(resultText(t.results[1])).toContain('FOO=[bar]');

    // The shell outlives the turn…
    const later = await callTool(rig, s.id, 'bash', { command: 'pwd; echo "FOO=[$FOO]"' });
    expect(later.text).toMatch(/^\/tmp\/x$/m);
    expect(later.text).toContain('FOO=[bar]');

    // …until it is restarted.
    const r = await toolTurn(rig, s.id, [
      [toolUse('bash', { restart: true })],
      [toolUse('bash', { command: 'pwd; echo "FOO=[$FOO]"' })],
    ]);
    expect(r.results.map((x) => x.is_error)).toEqual([false, false]);
    expect(resultText(r.results[1])).toMatch(/^\/workspace$/m);
    expect(resultText(r.results[1])).toContain('FOO=[]');
  });

  it('never sends the model an empty result for a command without output', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const { result, turn } = await callTool(rig, s.id, 'bash', { command: 'true' });
    expect(result.is_error).toBe(false);
    // The Messages API rejects empty text blocks, so an empty output must still say something.
    const stored = result.content.filter((b: { type: string }) => b.type === 'text');
    expect(stored.length).toBeGreaterThan(0);
    for (const b of stored) expect(b.text).not.toBe('');
    const [block] = toolResults(turn.requests[1]);
    const blocks = (Array.isArray(block.content) ? block.content : [{ type: 'text', text: block.content }]).filter((b: { type: string }) => b.type === 'text');
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b.text).not.toBe('');
  });

  it('returns stderr with stdout', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const { result, text: out } = await callTool(rig, s.id, 'bash', { command: 'echo to-stdout; echo to-stderr >&2' });
    expect(result.is_error).toBe(false);
    expect(out).toContain('to-stdout');
    expect(out).toContain('to-stderr');
  });

  it('kills a command at timeout_ms with an error result, and the next call works', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const marker = `30.${Math.floor(Math.random() * 900_000) + 100_000}`;
    const began = Date.now();
    const t = await toolTurn(rig, s.id, [
      [toolUse('bash', { command: `sleep ${marker}`, timeout_ms: 500 })],
      [toolUse('bash', { command: 'echo still-alive' })],
    ]);
    expect(Date.now() - began).toBeLessThan(15_000); // far less than the 30 s the command asked for
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(t.results[0].is_error).toBe(true);
    expect(resultText(t.results[0])).toMatch(/time[sd]?[ -]?out/i);
    expect(t.results[1].is_error).toBe(false);
    expect(resultText(t.results[1])).toContain('still-alive');
    await eventually(async () => hostProcesses(`sleep ${marker}`), (p) => p.length === 0, 5_000, 'the timed-out command to be gone');
  });

  it('kills what a timed-out command started in the background too', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const n = Math.floor(Math.random() * 900_000) + 100_000;
    const [bg, fg] = [`sleep 31.${n}`, `sleep 30.${n}`];
    const { result } = await callTool(rig, s.id, 'bash', { command: `${bg} & ${fg}`, timeout_ms: 1_000 });
    expect(result.is_error).toBe(true);
    await eventually(async () => [...hostProcesses(bg), ...hostProcesses(fg)], (p) => p.length === 0, 5_000, 'no process of the timed-out command');
  });

  it('truncates a huge output and says how much was cut', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const { result, text: out, turn } = await callTool(rig, s.id, 'bash', { command: 'seq 1 200000' });
    expect(result.is_error).toBe(false);
    expect(out.startsWith('1\n2\n3\n')).toBe(true);
    expect(out.length).toBeLessThan(100_000); // the full output is ~1.3 MB
    const note = out.split('\n').find((l) => /truncat|omitted|elided|cut|not shown|not captured/i.test(l));
    expect(note, 'a truncation note').toBeDefined();
    expect(note).toMatch(/\d{3,}/);
    // The model gets the truncated text, not the whole output.
    const [block] = toolResults(turn.requests[1]);
    expect(resultText(block).length).toBeLessThan(100_000);
  });
});

describe('read, write and edit', () => {
  it('writes a file and reads it back line-numbered, whole or by view_range', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const t = await toolTurn(rig, s.id, [
      [toolUse('write', { file_path: '/workspace/notes/a.txt', content: 'alpha\nbeta\ngamma\n' })],
      [toolUse('read', { file_path: '/workspace/notes/a.txt' })],
      [toolUse('read', { file_path: '/workspace/notes/a.txt', view_range: [2, 3] })],
      [toolUse('bash', { command: 'od -c /workspace/notes/a.txt | head -3; wc -c < /workspace/notes/a.txt' })],
    ]);
    expect(t.results.map((r) => r.is_error)).toEqual([false, false, false, false]);
    const whole = resultText(t.results[1]);
    expect(whole).toMatch(numbered(1, 'alpha'));
    expect(whole).toMatch(numbered(2, 'beta'));
    expect(whole).toMatch(numbered(3, 'gamma'));
    const part = resultText(t.results[2]);
    expect(part).toMatch(numbered(2, 'beta'));
    expect(part).toMatch(numbered(3, 'gamma'));
    expect(part).not.toContain('alpha');
    // Written byte for byte (missing parent directory created, no newline added or lost).
    expect(resultText(t.results[3])).toMatch(/^17$/m);
  });

  it('answers reading a missing file with an error result and continues', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const t = await toolTurn(rig, s.id, [[toolUse('read', { file_path: '/workspace/nope.txt' })]]);
    expect(t.results[0].is_error).toBe(true);
    expect(resultText(t.results[0])).toContain('/workspace/nope.txt');
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
  });

  it('edits exactly one match, replaces all with replace_all, and reports each failure as an error result without ending the turn', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const f = '/workspace/colors.txt';
    const t = await toolTurn(rig, s.id, [
      [toolUse('write', { file_path: f, content: 'red green\nblue green\n' })],
      [toolUse('edit', { file_path: f, old_string: 'red', new_string: 'RED' })],
      [toolUse('edit', { file_path: f, old_string: 'purple', new_string: 'PURPLE' })],
      [toolUse('edit', { file_path: f, old_string: 'green', new_string: 'GREEN' })],
      [toolUse('edit', { file_path: '/workspace/missing.txt', old_string: 'a', new_string: 'b' })],
      [toolUse('edit', { file_path: f, old_string: 'green', new_string: 'GREEN', replace_all: true })],
      [toolUse('bash', { command: `cat ${f}` })],
    ]);
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(t.results.map((r) => r.is_error)).toEqual([false, false, true, true, true, false, false]);
    expect(resultText(t.results[2])).toMatch(/not found|no match|does not (appear|occur)/i);
    expect(resultText(t.results[3])).toMatch(/\b2\b|two|multiple|more than once/i);
    expect(resultText(t.results[4])).toContain('/workspace/missing.txt');
    expect(resultText(t.results[4])).toMatch(/not exist|no such file|not found/i);
    expect(resultText(t.results[6])).toBe('RED GREEN\nblue GREEN');
    // Each error went back to the model, and the model kept going.
    expect(t.requests).toHaveLength(8);
    for (const i of [2, 3, 4]) {
      const results = toolResults(t.requests[i + 1]);
      expect(results.find((b) => b.tool_use_id === t.uses[i].id)).toMatchObject({ is_error: true });
    }
  });
});

describe('glob and grep', () => {
  it('finds files by pattern and lines by regular expression', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const t = await toolTurn(rig, s.id, [
      [toolUse('bash', {
        command: 'mkdir -p /workspace/g/sub && echo "const hay = 1;" > /workspace/g/a.ts && echo \'const x = "needle-42";\' > /workspace/g/sub/b.ts && echo "no needle here" > /workspace/g/c.md',
      })],
      [toolUse('glob', { pattern: '**/*.ts', path: '/workspace/g' })],
      [toolUse('grep', { pattern: 'needle-[0-9]+', path: '/workspace/g' })],
      [toolUse('glob', { pattern: '**/*.md' })],
    ]);
    expect(t.results.map((r) => r.is_error)).toEqual([false, false, false, false]);
    const globbed = resultText(t.results[1]);
    expect(globbed).toContain('a.ts');
    expect(globbed).toContain('sub/b.ts');
    expect(globbed).not.toContain('c.md');
    const grepped = resultText(t.results[2]);
    expect(grepped).toContain('b.ts');
    expect(grepped).toContain('needle-42');
    expect(grepped).not.toContain('a.ts');
    expect(grepped).not.toContain('c.md');
    // Without a path, glob searches the workspace.
    expect(resultText(t.results[3])).toContain('g/c.md');
  });
});

describe('the session sandbox', () => {
  it('keeps files across turns', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const w = await callTool(rig, s.id, 'write', { file_path: '/workspace/persist.txt', content: 'kept across turns\n' });
    expect(w.result.is_error).toBe(false);
    const r = await callTool(rig, s.id, 'read', { file_path: '/workspace/persist.txt' });
    expect(r.result.is_error).toBe(false);
    expect(r.text).toMatch(numbered(1, 'kept across turns'));
  });

  it('gives each session its own workspace', async () => {
    const a = await newSession(rig, { tools: TOOLS });
    const b = await newSession(rig, { tools: TOOLS });
    expect((await callTool(rig, a.id, 'write', { file_path: '/workspace/mine.txt', content: 'only in A' })).result.is_error).toBe(false);
    const r = await callTool(rig, b.id, 'read', { file_path: '/workspace/mine.txt' });
    expect(r.result.is_error).toBe(true);
    const ls = await callTool(rig, b.id, 'bash', { command: 'ls -A /workspace; echo end-of-listing' });
    expect(ls.text).not.toContain('mine.txt');
  });

  it('does not expose the host: the server data directory is not visible and system directories are read-only', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const { text: out } = await callTool(rig, s.id, 'bash', {
      command: `test -e '${join(rig.h.dataDir, 'hangar.db')}' && echo DATA-VISIBLE || echo DATA-HIDDEN; touch /usr/hangar-probe 2>/dev/null && echo USR-WRITABLE || echo USR-READONLY`,
    });
    const leaked = existsSync('/usr/hangar-probe');
    if (leaked) rmSync('/usr/hangar-probe', { force: true });
    expect(out).toContain('DATA-HIDDEN');
    expect(out).toContain('USR-READONLY');
    expect(leaked).toBe(false);
  });

  it('provisions lazily at the first tool call and removes the sandbox when the session is deleted', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const dir = sandboxDir(rig, s.id);
    expect(existsSync(dir)).toBe(false);

    rig.up.script(say('Just talking.'));
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('no tools please'));
    await tap.until(isIdle);
    tap.close();
    expect(existsSync(dir)).toBe(false);

    const lingering = `sleep 120.${Math.floor(Math.random() * 900_000) + 100_000}`;
    const { result } = await callTool(rig, s.id, 'bash', { command: `echo provisioned > /workspace/p.txt; nohup ${lingering} >/dev/null 2>&1 &` });
    expect(result.is_error).toBe(false);
    expect(existsSync(dir)).toBe(true);
    // The sandbox is running (its processes name the session's directory) with a background job in it.
    expect(hostProcesses(s.id).length).toBeGreaterThan(0);
    expect(hostProcesses(lingering)).toHaveLength(1);

    await waitForIdle(s.id);
    await client.beta.sessions.delete(s.id);
    await eventually(async () => existsSync(dir), (present) => !present, 5_000, 'the sandbox directory to be removed');
    await eventually(async () => [...hostProcesses(s.id), ...hostProcesses(lingering)], (p) => p.length === 0, 5_000, 'no process of the deleted session');
  });

  it('replaces a sandbox that died, keeping the workspace', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    // bash starts the sandbox's long-lived shell, so there is a process to kill.
    expect((await callTool(rig, s.id, 'bash', { command: "printf survives > /workspace/cattle.txt" })).result.is_error).toBe(false);
    const procs = hostProcesses(s.id);
    expect(procs.length).toBeGreaterThan(0);
    for (const p of procs) {
      try {
        process.kill(Number(p.split(':')[0]), 'SIGKILL'); // this server's own sandbox processes
      } catch {
        // already gone
      }
    }
    await eventually(async () => hostProcesses(s.id), (p) => p.length === 0, 5_000, 'the sandbox to be dead');
    const r = await callTool(rig, s.id, 'bash', { command: 'cat /workspace/cattle.txt' });
    expect(r.result.is_error).toBe(false);
    expect(r.text).toBe('survives');
    expect(r.turn.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
  });

  it('releases an idle sandbox and provisions again over the same workspace', async () => {
    const own = await startRig({ HANGAR_SANDBOX_IDLE_RELEASE_MS: '1000' });
    try {
      const s = await newSession(own, { tools: TOOLS });
      expect((await callTool(own, s.id, 'bash', { command: "echo 'kept while idle' > /workspace/idle.txt" })).result.is_error).toBe(false);
      expect(hostProcesses(s.id).length).toBeGreaterThan(0);
      await eventually(async () => hostProcesses(s.id), (p) => p.length === 0, 10_000, 'the idle sandbox to be released');
      expect(existsSync(sandboxDir(own, s.id))).toBe(true);
      const r = await callTool(own, s.id, 'read', { file_path: '/workspace/idle.txt' });
      expect(r.result.is_error, r.text).toBe(false);
      expect(r.text).toMatch(numbered(1, 'kept while idle'));
    } finally {
      await own.close();
    }
  });

  it('keeps the workspace on disk across a server restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hangar-restart-'));
    chmodSync(dataDir, 0o755); // the unprivileged sandbox user must reach the workspaces (as the kit does)
    try {
      const first = await startHangar({ ...(rig.hangarOptions ?? { upstreamUrl: rig.up.url }), dataDir });
      let sessionId = '';
      const own = { ...rig };
      try {
        const env = await first.client.beta.environments.create({ name: `env-${unique()}` });
        Object.assign(own, { h: first, client: first.client, envId: env.id });
        const s = await newSession(own as Rig, { tools: TOOLS });
        sessionId = s.id;
        const w = await callTool(own as Rig, s.id, 'write', { file_path: '/workspace/survivor.txt', content: 'still here' });
        expect(w.result.is_error, w.text).toBe(false);
      } finally {
        await first.close();
      }
      const second = await startHangar({ ...(rig.hangarOptions ?? { upstreamUrl: rig.up.url }), dataDir });
      try {
        Object.assign(own, { h: second, client: second.client });
        const r = await callTool(own as Rig, sessionId, 'read', { file_path: '/workspace/survivor.txt' });
        expect(r.result.is_error).toBe(false);
        expect(r.text).toMatch(numbered(1, 'still here'));
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('interrupting a running command', () => {
  it('kills the command, answers the call with an interrupted error, goes idle with end_turn and leaves no process behind', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const marker = `60.${Math.floor(Math.random() * 900_000) + 100_000}`;
    const child = `sleep 61.${marker.slice(3)}`; // started in the background by the same command
    rig.up.script({ content: [toolUse('bash', { command: `${child} & sleep ${marker}; echo finished-${marker}` })] });
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('wait a minute'));
    const started = await tap.until(isType('agent.tool_use'), TOOL_WAIT_MS);
    const use = started.at(-1)!;
    // The command really runs on this host (so the check below can see it go).
    await eventually(async () => [...hostProcesses(`sleep ${marker}`), ...hostProcesses(child)], (p) => p.length === 2, TOOL_WAIT_MS, 'both sleeps to start');

    const [echo] = await sendEvents(client, s.id, interrupt());
    const after = await tap.until(isIdle, 15_000);
    tap.close();
    const seen: Ev[] = [...started, ...after];
    expect(seen.map((e) => e.id)).toContain(echo.id);
    const results = seen.filter(isType('agent.tool_result'));
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(resultText(results[0])).toMatch(/interrupt/i);
    expect(resultText(results[0])).not.toContain(`finished-${marker}`);
    expect(after.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(types(after)).not.toContain('span.model_request_start');
    expect(rig.up.requests).toHaveLength(1);

    await eventually(async () => [...hostProcesses(`sleep ${marker}`), ...hostProcesses(child)], (p) => p.length === 0, 5_000, 'no surviving sleep process');

    // The session and its sandbox stay usable.
    const next = await callTool(rig, s.id, 'bash', { command: 'echo back-again' });
    expect(next.result.is_error).toBe(false);
    expect(next.text).toContain('back-again');
    const log = await listEvents(client, s.id);
    expect(log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)).toHaveLength(1);
  });
});

async function waitForIdle(sessionId: string): Promise<void> {
  await eventually(() => client.beta.sessions.retrieve(sessionId), (x) => x.status === 'idle', 5_000, 'session idle');
}
