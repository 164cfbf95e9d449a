// Tool permissions for the built-in toolset (docs/API-SPEC.md §4.1 policies, §4.5 confirmation rules,
// §5.2 flow 4) driven through the official SDK against a live Hangar with real sandboxes:
// always_ask with allow and deny, confirmation validation, and the `auto` policy's decisions.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  EventTap, callTool, isIdle, isType, listEvents, newSession, rejection, resultText, sandboxDir, say, sendEvents, startRig,
  text, toolResults, toolTurn, toolUse, toolset, types, TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';
import type { FakeBlock } from '../kit/fake-upstream.ts';

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

const ASK = { type: 'always_ask' as const };
const ALLOW = { type: 'always_allow' as const };
const AUTO = { type: 'auto' as const };

const confirm = (toolUseId: string, result: 'allow' | 'deny', denyMessage?: string) => ({
  type: 'user.tool_confirmation' as const, tool_use_id: toolUseId, result, ...(denyMessage !== undefined ? { deny_message: denyMessage } : {}),
});

/** Starts a turn whose first model response makes `blocks` and waits for the idle that follows it. */
async function untilFirstIdle(sessionId: string, blocks: FakeBlock[], prompt = 'go'): Promise<{ tap: EventTap; turn: Ev[] }> {
  rig.up.script({ content: blocks });
  const tap = await EventTap.open(client, sessionId);
  await sendEvents(client, sessionId, text(prompt));
  return { tap, turn: await tap.until(isIdle, TOOL_WAIT_MS) };
}

const PAUSED_TURN = ['user.message', 'session.status_running', 'span.model_request_start', 'agent.tool_use', 'span.model_request_end', 'session.status_idle'];
const RESUMED_AFTER_CONFIRMATION = [
  'user.tool_confirmation', 'session.status_running', 'agent.tool_result', 'span.model_request_start', 'agent.message',
  'span.model_request_end', 'session.status_idle',
];

describe('always_ask (§5.2 flow 4)', () => {
  it('pauses with requires_action, runs the call once allowed, and the model gets the result', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    const command = 'echo confirmed > /workspace/confirmed.txt && echo wrote-it';
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command })]);
    expect(types(turn)).toEqual(PAUSED_TURN);
    const use = turn[3];
    expect(use).toMatchObject({ name: 'bash', input: { command }, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    expect(turn[5].stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    // Nothing has run yet: no result, no second model request, no sandbox.
    expect(rig.up.requests).toHaveLength(1);
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);

    rig.up.script(say('Created.'));
    const [echo] = await sendEvents(client, s.id, confirm(use.id, 'allow'));
    expect(echo).toMatchObject({ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' });
    expect(echo.id).toMatch(/^sevt_/);
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(types(resumed)).toEqual(RESUMED_AFTER_CONFIRMATION);
    expect(resumed[0].id).toBe(echo.id);
    const result = resumed[2];
    expect(result).toMatchObject({ tool_use_id: use.id, is_error: false });
    expect(resultText(result)).toContain('wrote-it');
    expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(toolResults(rig.up.requests[1])).toEqual([expect.objectContaining({ tool_use_id: use.id })]);
    expect(resultText(toolResults(rig.up.requests[1])[0])).toContain('wrote-it');

    // The command really ran: a later (always_allow) read sees its file.
    const r = await callTool(rig, s.id, 'read', { file_path: '/workspace/confirmed.txt' });
    expect(r.use).toMatchObject({ evaluated_permission: 'allow', evaluation: { type: 'always_allow' } });
    expect(r.result.is_error).toBe(false);
    expect(r.text).toContain('confirmed');
  });

  it('on deny, skips the call, answers it with an error quoting deny_message, and continues the turn', async () => {
    // default_config applies to every tool; a per-tool policy overrides it.
    const s = await newSession(rig, { tools: [toolset({ default_config: { permission_policy: ASK }, configs: [{ name: 'read', permission_policy: ALLOW }] })] });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('write', { file_path: '/workspace/denied.txt', content: 'should not exist' })]);
    expect(types(turn)).toEqual(PAUSED_TURN);
    const use = turn[3];
    expect(use).toMatchObject({ name: 'write', evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });

    rig.up.script(say('Understood, not writing it.'));
    const [echo] = await sendEvents(client, s.id, confirm(use.id, 'deny', 'not now'));
    expect(echo).toMatchObject({ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny', deny_message: 'not now' });
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(types(resumed)).toEqual(RESUMED_AFTER_CONFIRMATION);
    const result = resumed[2];
    expect(result).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(resultText(result)).toContain('not now');
    expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const [block] = toolResults(rig.up.requests[1]);
    expect(block).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(resultText(block)).toContain('not now');

    // The write never ran: nothing was provisioned, and the file is absent when looked for.
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
    const r = await callTool(rig, s.id, 'read', { file_path: '/workspace/denied.txt' });
    expect(r.use).toMatchObject({ evaluated_permission: 'allow', evaluation: { type: 'always_allow' } });
    expect(r.result.is_error).toBe(true);
  });

  it('re-announces requires_action with the remaining call when one of two is confirmed, and resumes once both are settled', async () => {
    const s = await newSession(rig, { tools: [toolset({ default_config: { permission_policy: ASK } })] });
    const { tap, turn } = await untilFirstIdle(s.id, [
      toolUse('bash', { command: 'echo one > /workspace/one.txt && echo ran-one' }),
      toolUse('bash', { command: 'echo two > /workspace/two.txt && echo ran-two' }),
    ]);
    const [a, b] = turn.filter(isType('agent.tool_use'));
    expect(turn.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [a.id, b.id] });

    await sendEvents(client, s.id, confirm(a.id, 'allow'));
    const partial = await tap.until(isIdle, TOOL_WAIT_MS);
    expect(partial.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [b.id] });
    expect(rig.up.requests).toHaveLength(1);

    rig.up.script(say('One done, one skipped.'));
    await sendEvents(client, s.id, confirm(b.id, 'deny', 'only one please'));
    const rest = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(rest.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const results = [...partial, ...rest].filter(isType('agent.tool_result'));
    expect(results.map((r) => r.tool_use_id).sort()).toEqual([a.id, b.id].sort());
    const ra = results.find((r) => r.tool_use_id === a.id)!;
    const rb = results.find((r) => r.tool_use_id === b.id)!;
    expect(ra.is_error).toBe(false);
    expect(resultText(ra)).toContain('ran-one');
    expect(rb.is_error).toBe(true);
    expect(resultText(rb)).toContain('only one please');
    expect(rig.up.requests).toHaveLength(2);
    expect(toolResults(rig.up.requests[1]).map((x) => x.tool_use_id).sort()).toEqual([a.id, b.id].sort());
  });
});

describe('mixed and early confirmations', () => {
  it('pauses only for the ask call when a response also makes an allowed call, and the model gets both results', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    const { tap, turn } = await untilFirstIdle(s.id, [
      toolUse('write', { file_path: '/workspace/w.txt', content: 'w' }),
      toolUse('bash', { command: 'cat /workspace/w.txt; echo " and asked"' }),
    ]);
    const [allowed, asked] = turn.filter(isType('agent.tool_use'));
    expect(allowed).toMatchObject({ name: 'write', evaluated_permission: 'allow' });
    expect(asked).toMatchObject({ name: 'bash', evaluated_permission: 'ask' });
    expect(turn.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [asked.id] });

    rig.up.script(say('Both done.'));
    await sendEvents(client, s.id, confirm(asked.id, 'allow'));
    const rest = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(rest.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const results = [...turn, ...rest].filter(isType('agent.tool_result'));
    expect(results.map((r) => r.tool_use_id).sort()).toEqual([allowed.id, asked.id].sort());
    expect(results.every((r) => r.is_error === false)).toBe(true);
    expect(resultText(results.find((r) => r.tool_use_id === asked.id)!)).toContain('w and asked');
    expect(rig.up.requests).toHaveLength(2);
    expect(toolResults(rig.up.requests[1]).map((b) => b.tool_use_id).sort()).toEqual([allowed.id, asked.id].sort());
  });

  it('accepts a confirmation sent before the requires_action idle arrives', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    rig.up.script({ content: [toolUse('bash', { command: 'echo early-bird' })], chunkDelayMs: 30 }, say('Done.'));
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('go'));
    const upToUse = await tap.until(isType('agent.tool_use'), TOOL_WAIT_MS);
    const use = upToUse.at(-1)!;
    expect(use.evaluated_permission).toBe('ask');
    await sendEvents(client, s.id, confirm(use.id, 'allow'));
    const rest = await tap.until((e) => isIdle(e) && e.stop_reason?.type !== 'requires_action', TOOL_WAIT_MS);
    tap.close();
    expect(rest.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const result = rest.find(isType('agent.tool_result'))!;
    expect(result).toMatchObject({ tool_use_id: use.id, is_error: false });
    expect(resultText(result)).toContain('early-bird');
  });
});

describe('interrupts and session-level tool changes', () => {
  it('answers a call still awaiting confirmation with an error on interrupt, never runs it, and ends the turn', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'echo x > /workspace/never.txt' })]);
    const use = turn.find(isType('agent.tool_use'))!;
    expect(turn.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });

    const [echo] = await sendEvents(client, s.id, { type: 'user.interrupt' });
    const after = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(after.map((e) => e.id)).toContain(echo.id);
    const results = after.filter(isType('agent.tool_result'));
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(after.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(rig.up.requests).toHaveLength(1);
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
    expect((await rejection(sendEvents(client, s.id, confirm(use.id, 'allow')))).status).toBe(400);
  });

  it('applies a session-level tools update to later calls (permission policy and enabled)', async () => {
    const s = await newSession(rig, { tools: [toolset()] });
    expect((await callTool(rig, s.id, 'bash', { command: 'echo before' })).use).toMatchObject({ evaluated_permission: 'allow' });

    await client.beta.sessions.update(s.id, { agent: { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] } } as any);
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'echo after' })]);
    const use = turn.find(isType('agent.tool_use'))!;
    expect(use).toMatchObject({ evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    rig.up.script(say('ok'));
    await sendEvents(client, s.id, confirm(use.id, 'allow'));
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(resultText(resumed.find(isType('agent.tool_result'))!)).toContain('after');

    await client.beta.sessions.update(s.id, { agent: { tools: [toolset({ configs: [{ name: 'bash', enabled: false }] })] } } as any);
    rig.up.reset();
    const t = await toolTurn(rig, s.id, [[toolUse('bash', { command: 'echo disabled' })]]);
    expect(((t.requests[0].body.tools ?? []) as Array<{ name: string }>).map((x) => x.name)).not.toContain('bash');
    expect(t.uses[0].evaluated_permission).toBe('deny');
    expect(t.uses[0].evaluation == null).toBe(true);
    expect(t.results[0].is_error).toBe(true);
    // The agent itself is unchanged: a new session from it still offers and allows bash.
    const agentId = (await client.beta.sessions.retrieve(s.id)).agent.id;
    const fresh = await newSession(rig, { agent: agentId });
    expect((await callTool(rig, fresh.id, 'bash', { command: 'echo agent-unchanged' })).use).toMatchObject({ evaluated_permission: 'allow' });
  });
});

describe('confirmation validation', () => {
  it('rejects confirming a call that was not evaluated as ask', async () => {
    const s = await newSession(rig, { tools: [toolset()] });
    const { use } = await callTool(rig, s.id, 'bash', { command: 'echo fine' });
    expect(use.evaluated_permission).toBe('allow');
    const err = await rejection(sendEvents(client, s.id, confirm(use.id, 'allow')));
    expect(err.status).toBe(400);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('rejects a second confirmation of the same call, before and after it ran', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'echo once' })]);
    const use = turn.find(isType('agent.tool_use'))!;
    rig.up.script(say('Done.'));
    await sendEvents(client, s.id, confirm(use.id, 'allow'));
    const early = await rejection(sendEvents(client, s.id, confirm(use.id, 'allow')));
    expect(early.status).toBe(400);
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const late = await rejection(sendEvents(client, s.id, confirm(use.id, 'deny', 'changed my mind')));
    expect(late.status).toBe(400);
    const log = await listEvents(client, s.id);
    expect(log.filter(isType('user.tool_confirmation'))).toHaveLength(1);
    expect(log.filter(isType('agent.tool_result'))).toHaveLength(1);
  });

  it('rejects deny_message on an allow, and a tool_use_id that names no tool use', async () => {
    const s = await newSession(rig, { tools: [toolset({ configs: [{ name: 'bash', permission_policy: ASK }] })] });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'echo x' })]);
    const use = turn.find(isType('agent.tool_use'))!;
    expect((await rejection(sendEvents(client, s.id, confirm(use.id, 'allow', 'why')))).status).toBe(400);
    expect((await rejection(sendEvents(client, s.id, confirm('sevt_doesnotexist', 'allow')))).status).toBe(400);
    expect((await rejection(sendEvents(client, s.id, confirm(turn[0].id, 'allow')))).status).toBe(400); // the user.message
    // The call still awaits its confirmation.
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
    rig.up.script(say('ok'));
    await sendEvents(client, s.id, confirm(use.id, 'deny'));
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(resumed.find(isType('agent.tool_result'))).toMatchObject({ tool_use_id: use.id, is_error: true });
  });
});

describe('auto policy', () => {
  const tools = [toolset({ default_config: { permission_policy: AUTO } })];
  const autoAllow = { evaluated_permission: 'allow', evaluation: { type: 'auto', evaluated_permission: { type: 'allow' } } };

  it('allows reads, searches and writes inside the workspace, and runs them', async () => {
    const s = await newSession(rig, { tools });
    const t = await toolTurn(rig, s.id, [
      [toolUse('write', { file_path: '/workspace/auto.txt', content: 'automatic\n' })],
      [
        toolUse('read', { file_path: '/workspace/auto.txt' }),
        toolUse('glob', { pattern: '*.txt' }),
        toolUse('grep', { pattern: 'automatic' }),
      ],
    ]);
    expect(t.uses.map((u) => u.name)).toEqual(['write', 'read', 'glob', 'grep']);
    for (const u of t.uses) expect(u, u.name).toMatchObject(autoAllow);
    expect(types(t.turn)).not.toContain('user.tool_confirmation');
    expect(t.turn.filter(isIdle)).toHaveLength(1);
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    expect(t.results.map((r) => r.is_error)).toEqual([false, false, false, false]);
    expect(resultText(t.resultFor(t.uses[1])!)).toContain('automatic');
    expect(resultText(t.resultFor(t.uses[2])!)).toContain('auto.txt');
    expect(resultText(t.resultFor(t.uses[3])!)).toContain('automatic');
  });

  it('asks about a network command with reason indeterminate', async () => {
    const s = await newSession(rig, { tools });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'curl https://example.com' })]);
    expect(types(turn)).toEqual(PAUSED_TURN);
    const use = turn[3];
    expect(use).toMatchObject({
      name: 'bash', evaluated_permission: 'ask',
      evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } },
    });
    expect(turn[5].stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });

    rig.up.script(say('Skipping the download.'));
    await sendEvents(client, s.id, confirm(use.id, 'deny', 'no network today'));
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(types(resumed)).toEqual(RESUMED_AFTER_CONFIRMATION);
    expect(resumed[2]).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(resultText(resumed[2])).toContain('no network today');
  });

  it('runs an auto-ask call once the user allows it', async () => {
    const s = await newSession(rig, { tools });
    const { tap, turn } = await untilFirstIdle(s.id, [toolUse('bash', { command: 'uptime > /dev/null; echo asked-and-ran' })]);
    const use = turn.find(isType('agent.tool_use'))!;
    expect(use).toMatchObject({ evaluated_permission: 'ask', evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } } });
    rig.up.script(say('Ran it.'));
    await sendEvents(client, s.id, confirm(use.id, 'allow'));
    const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    expect(types(resumed)).toEqual(RESUMED_AFTER_CONFIRMATION);
    expect(resumed[2]).toMatchObject({ tool_use_id: use.id, is_error: false });
    expect(resultText(resumed[2])).toContain('asked-and-ran');
  });

  /** One response calling bash with each command; any asks are then denied. Returns the tool_use events. */
  async function autoEvaluations(commands: string[]): Promise<Ev[]> {
    const s = await newSession(rig, { tools });
    // timeout_ms bounds a call that is wrongly allowed to run (e.g. a network call with no network).
    rig.up.script({ content: commands.map((command) => toolUse('bash', { command, timeout_ms: 3_000 })) }, say('ok'));
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const seen = await tap.until(isIdle, TOOL_WAIT_MS);
      const pending = seen.at(-1)!.stop_reason.type === 'requires_action' ? (seen.at(-1)!.stop_reason.event_ids as string[]) : [];
      if (pending.length > 0) {
        await sendEvents(client, s.id, ...pending.map((id) => confirm(id, 'deny', 'cleanup')));
        expect((await tap.until(isIdle, TOOL_WAIT_MS)).at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
      }
      return seen.filter(isType('agent.tool_use'));
    } finally {
      tap.close();
    }
  }

  it('does not auto-allow a network command because it is run through a wrapper', async () => {
    // `curl https://example.com` asks; the same call behind env or xargs must not become allow.
    const commands = ['curl https://example.com', 'env curl https://example.com', 'echo https://example.com | xargs curl'];
    const uses = await autoEvaluations(commands);
    expect(uses.map((u) => u.input.command)).toEqual(commands);
    for (const u of uses) expect(u.evaluated_permission, u.input.command).not.toBe('allow');
  });

  it('asks for the four bypasses of issue 18 instead of running them', async () => {
    // Each ran arbitrary programs under the hand-written rules: a background job, a process
    // substitution, a PATH prefix in front of a copied binary, and git's external diff driver.
    const commands = ['true & curl https://example.com', 'cat <(curl https://example.com)', 'PATH=/workspace/bin:$PATH ls', 'GIT_EXTERNAL_DIFF=bash git diff'];
    const uses = await autoEvaluations(commands);
    expect(uses.map((u) => u.input.command)).toEqual(commands);
    for (const u of uses) {
      expect(u, u.input.command).toMatchObject({
        evaluated_permission: 'ask', evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } },
      });
    }
  });

  it('still allows and runs a read-only shell pipeline', async () => {
    const s = await newSession(rig, { tools });
    const t = await toolTurn(rig, s.id, [[toolUse('bash', { command: 'echo auto-ran | grep -c auto && ls /workspace > /dev/null' })]]);
    expect(t.uses[0]).toMatchObject({ name: 'bash', ...autoAllow });
    expect(t.results.map((r) => r.is_error)).toEqual([false]);
    expect(resultText(t.resultFor(t.uses[0])!)).toContain('1');
  });

  it('denies the other spellings of rm -rf / as high_risk too', async () => {
    const commands = ['rm -rf /', 'rm -fr /', 'rm -r -f /', 'rm --recursive --force /'];
    const uses = await autoEvaluations(commands);
    for (const u of uses) {
      expect(u, u.input.command).toMatchObject({
        evaluated_permission: 'deny', evaluation: { type: 'auto', evaluated_permission: { type: 'deny', reason_code: 'high_risk' } },
      });
    }
  });

  it('denies a destructive command as high_risk with the standard message, and the turn continues', async () => {
    const s = await newSession(rig, { tools });
    const t = await toolTurn(rig, s.id, [[toolUse('bash', { command: 'rm -rf /' })]], { final: 'I will not do that.' });
    expect(types(t.turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.tool_use', 'span.model_request_end',
      'agent.tool_result', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);
    const [use] = t.uses;
    expect(use).toMatchObject({
      name: 'bash', input: { command: 'rm -rf /' }, evaluated_permission: 'deny',
      evaluation: { type: 'auto', evaluated_permission: { type: 'deny', reason_code: 'high_risk' } },
    });
    const result = t.resultFor(use)!;
    expect(result.is_error).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'Permission to use bash has been denied.' }]);
    expect(t.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    const [block] = toolResults(t.requests[1]);
    expect(block).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(resultText(block)).toBe('Permission to use bash has been denied.');
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);

    // A denied call is not awaiting confirmation.
    expect((await rejection(sendEvents(client, s.id, confirm(use.id, 'allow')))).status).toBe(400);
  });
});
