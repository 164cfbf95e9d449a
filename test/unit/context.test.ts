// Building the model request from a session log: alternating roles, tool results leading user
// turns, queued input placed where it was processed, content blocks passed through, tool
// definitions and prompt-cache breakpoints.
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/ports/store.ts';
import type { ModelToolDefinition } from '../../src/ports/model.ts';
import { buildMessages, buildModelRequest, customToolDefinitions, type AgentSnapshot } from '../../src/harness/context.ts';

const T0 = '2026-05-01T00:00:00.000Z';
type Fields = Record<string, unknown>;

/** A session log under construction (seq = position; queued events have processed_at null). */
class LogBuilder {
  readonly events: StoredEvent[] = [];

  add(type: string, fields: Fields = {}, opts: { queued?: boolean } = {}): string {
    const seq = this.events.length + 1;
    const id = `sevt_${seq}`;
    this.events.push({ seq, event: { id, type, ...fields, processed_at: opts.queued ? null : T0 }, processedSeq: null });
    return id;
  }

  /** Marks queued events processed the way the store does: at the current end of the log. */
  process(...ids: string[]): void {
    const top = this.events.length;
    for (const e of this.events) {
      if (ids.includes(e.event.id)) {
        e.event.processed_at = T0;
        e.processedSeq = top;
      }
    }
  }

  message(content: string | Fields[], opts: { queued?: boolean } = {}) {
    return this.add('user.message', { content: typeof content === 'string' ? [{ type: 'text', text: content }] : content }, opts);
  }
  agentMessage(text: string) { return this.add('agent.message', { content: [{ type: 'text', text }] }); }
  toolUse(name: string, input: Fields = {}) { return this.add('agent.tool_use', { name, input, evaluated_permission: 'allow' }); }
  customToolUse(name: string, input: Fields = {}) { return this.add('agent.custom_tool_use', { name, input }); }
  toolResult(useId: string, text: string, isError = false) {
    return this.add('agent.tool_result', { tool_use_id: useId, content: [{ type: 'text', text }], is_error: isError });
  }
  customResult(useId: string, content: Fields[]) { return this.add('user.custom_tool_result', { custom_tool_use_id: useId, content }); }
}

const text = (t: string) => ({ type: 'text', text: t });

const agent = (over: Partial<AgentSnapshot> = {}): AgentSnapshot => ({
  model: { id: 'claude-sonnet-4-6' }, system: 'You are terse.', tools: [], ...over,
});
const lookupTool = { type: 'custom', name: 'lookup', description: 'Looks things up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } };
const noBuiltins = () => [] as ModelToolDefinition[];
const bash: ModelToolDefinition = { name: 'bash', description: 'Runs a command', input_schema: { type: 'object' } };

describe('buildMessages', () => {
  it('turns a plain message into one user turn', () => {
    const log = new LogBuilder();
    log.message('hi');
    expect(buildMessages(log.events)).toEqual([{ role: 'user', content: [text('hi')] }]);
  });

  it('alternates roles: assistant text and tool calls share one turn, results answer in the next user turn', () => {
    const log = new LogBuilder();
    log.message('list files');
    log.add('session.status_running');
    log.add('span.model_request_start');
    log.add('agent.thinking');
    log.agentMessage('Let me look.');
    const use = log.toolUse('bash', { command: 'ls' });
    log.add('span.model_request_end', { model_request_start_id: 'sevt_3', is_error: false });
    log.toolResult(use, 'a.txt');
    log.agentMessage('There is a.txt.');
    log.add('session.status_idle', { stop_reason: { type: 'end_turn' } });
    expect(buildMessages(log.events)).toEqual([
      { role: 'user', content: [text('list files')] },
      { role: 'assistant', content: [text('Let me look.'), { type: 'tool_use', id: use, name: 'bash', input: { command: 'ls' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use, content: [text('a.txt')], is_error: false }] },
      { role: 'assistant', content: [text('There is a.txt.')] },
    ]);
  });

  it('merges consecutive user messages into one turn', () => {
    const log = new LogBuilder();
    log.message('one');
    log.message('two');
    expect(buildMessages(log.events)).toEqual([{ role: 'user', content: [text('one'), text('two')] }]);
  });

  it('leaves out messages that are still queued', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.agentMessage('hello');
    log.message('not yet', { queued: true });
    expect(buildMessages(log.events).map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('puts a message queued during a tool round after the tool_result, in the same user turn', () => {
    const log = new LogBuilder();
    log.message('run it');
    const use = log.toolUse('bash');
    const queued = log.message('and then summarize', { queued: true });
    log.toolResult(use, 'ok');
    log.process(queued);
    const messages = buildMessages(log.events);
    expect(messages).toHaveLength(3);
    expect(messages[2]).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: use, content: [text('ok')], is_error: false }, text('and then summarize')],
    });
  });

  it('puts a message queued while the model answered after that answer', () => {
    const log = new LogBuilder();
    log.message('hi');
    const queued = log.message('one more thing', { queued: true });
    log.agentMessage('hello');
    log.process(queued);
    expect(buildMessages(log.events)).toEqual([
      { role: 'user', content: [text('hi')] },
      { role: 'assistant', content: [text('hello')] },
      { role: 'user', content: [text('one more thing')] },
    ]);
  });

  it('puts tool results first in a user turn even when a message was processed before them', () => {
    const log = new LogBuilder();
    log.message('go');
    const use = log.customToolUse('lookup');
    log.message('hurry up');
    log.customResult(use, [text('found')]);
    const last = buildMessages(log.events).at(-1)!;
    expect(last.content.map((b) => b.type)).toEqual(['tool_result', 'text']);
  });

  it('passes image and document blocks through, dropping null document fields', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
    const urlImage = { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } };
    const doc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'body' }, title: 'Notes', context: 'from the user' };
    const bareDoc = { type: 'document', source: { type: 'file', file_id: 'file_1' }, title: null, context: null };
    const log = new LogBuilder();
    log.message([text('look'), image, urlImage, doc, bareDoc]);
    const [m] = buildMessages(log.events);
    expect(m.content).toEqual([text('look'), image, urlImage, doc, { type: 'document', source: { type: 'file', file_id: 'file_1' } }]);
    expect(JSON.parse(JSON.stringify(m.content[4]))).toEqual({ type: 'document', source: { type: 'file', file_id: 'file_1' } });
  });

  it('sends a system.message as a role:system turn right after the user turn it accompanies', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.add('system.message', { content: [text('be brief')] });
    expect(buildMessages(log.events)).toEqual([
      { role: 'user', content: [text('hi')] },
      { role: 'system', content: [text('be brief')] },
    ]);
  });

  it('keeps only text from agent messages and drops a message with nothing to say', () => {
    const log = new LogBuilder();
    log.message('hi');
    log.add('agent.message', { content: [{ type: 'redacted' }] });
    log.add('agent.message', { content: [{ type: 'redacted' }, text('visible'), text('')] });
    expect(buildMessages(log.events)).toEqual([
      { role: 'user', content: [text('hi')] },
      { role: 'assistant', content: [text('visible')] },
    ]);
  });

  it('answers custom and MCP calls with tool_result blocks, keeping is_error and result documents', () => {
    const log = new LogBuilder();
    log.message('go');
    const c = log.customToolUse('lookup', { q: 'x' });
    const m = log.add('agent.mcp_tool_use', { name: 'search', mcp_server_name: 'docs', input: { q: 'y' }, evaluated_permission: 'allow' });
    const doc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'd' }, title: null, context: 'ctx' };
    log.customResult(c, [doc]);
    log.add('agent.mcp_tool_result', { mcp_tool_use_id: m, content: [text('boom')], is_error: true });
    const messages = buildMessages(log.events);
    expect(messages[1].content).toEqual([
      { type: 'tool_use', id: c, name: 'lookup', input: { q: 'x' } },
      // MCP calls are replayed under the model-facing name the model called them by.
      { type: 'tool_use', id: m, name: 'mcp__docs__search', input: { q: 'y' } },
    ]);
    expect(messages[2].content).toEqual([
      { type: 'tool_result', tool_use_id: c, content: [{ type: 'document', source: doc.source, context: 'ctx' }], is_error: false },
      { type: 'tool_result', tool_use_id: m, content: [text('boom')], is_error: true },
    ]);
  });

  it('gives a tool call without input an empty input object', () => {
    const log = new LogBuilder();
    log.message('go');
    const use = log.add('agent.tool_use', { name: 'bash', evaluated_permission: 'allow' });
    expect(buildMessages(log.events)[1].content[0]).toEqual({ type: 'tool_use', id: use, name: 'bash', input: {} });
  });
});

describe('buildModelRequest', () => {
  function convo(): LogBuilder {
    const log = new LogBuilder();
    log.message('first');
    log.agentMessage('reply');
    log.message([text('second'), text('third')]);
    return log;
  }

  it('makes custom tools tool definitions after the built-in ones', () => {
    const req = buildModelRequest(agent({ tools: [{ type: 'agent_toolset_20260401' }, lookupTool] }), convo().events, { maxTokens: 1024, builtinTools: () => [bash] });
    expect(req.tools.map((t) => t.name)).toEqual(['bash', 'lookup']);
    // With a system prompt the breakpoint goes there (it covers the tools, which come first).
    expect(req.tools[1]).toEqual({ name: 'lookup', description: 'Looks things up', input_schema: lookupTool.input_schema });
    expect(customToolDefinitions(agent({ tools: [{ type: 'custom', name: 'bare', input_schema: { type: 'object' } }] }))).toEqual([
      { name: 'bare', description: '', input_schema: { type: 'object' } },
    ]);
  });

  it('puts cache breakpoints on the system prompt, the end of the previous request and the last block only', () => {
    const req = buildModelRequest(agent({ tools: [lookupTool] }), convo().events, { maxTokens: 1024, builtinTools: () => [bash] });
    expect(req.tools.map((t) => t.cache)).toEqual([undefined, undefined]);
    expect(req.system).toEqual([{ text: 'You are terse.', cache: true }]);
    const flags = req.messages.flatMap((m) => m.content.map((b) => b.cache === true));
    // 'first' ended the previous request (its prefix is read from the cache); 'third' is written for the next.
    expect(flags).toEqual([true, false, false, true]);
    expect(req.messages.at(-1)!.content.at(-1)).toEqual({ type: 'text', text: 'third', cache: true });
  });

  it('sends no system blocks and no tools when the agent has none', () => {
    const req = buildModelRequest(agent({ system: null }), convo().events, { maxTokens: 1024, builtinTools: noBuiltins });
    expect(req.system).toEqual([]);
    expect(req.tools).toEqual([]);
  });

  it('carries the model id, effort, speed and max tokens', () => {
    const req = buildModelRequest(agent({ model: { id: 'claude-opus-4-6', effort: { type: 'high' }, speed: 'fast' } }), convo().events, { maxTokens: 4096, builtinTools: noBuiltins });
    expect(req.model).toEqual({ id: 'claude-opus-4-6', effort: 'high', speed: 'fast' });
    expect(req.maxTokens).toBe(4096);
    expect(buildModelRequest(agent(), convo().events, { maxTokens: 1, builtinTools: noBuiltins }).model).toEqual({ id: 'claude-sonnet-4-6' });
  });

  it('is deterministic and leaves the log and the tool catalog untouched', () => {
    const log = convo();
    const use = log.toolUse('bash');
    log.toolResult(use, 'ok');
    const before = JSON.stringify(log.events);
    const catalog = [bash];
    const a = buildModelRequest(agent({ tools: [lookupTool] }), log.events, { maxTokens: 10, builtinTools: () => catalog });
    const b = buildModelRequest(agent({ tools: [lookupTool] }), log.events, { maxTokens: 10, builtinTools: () => catalog });
    expect(a).toEqual(b);
    expect(JSON.stringify(log.events)).toBe(before);
    expect(catalog).toEqual([{ name: 'bash', description: 'Runs a command', input_schema: { type: 'object' } }]);
  });

  it('marks the tool_result that ends a tool round as the cached block', () => {
    const log = new LogBuilder();
    log.message('go');
    const use = log.toolUse('bash');
    log.toolResult(use, 'ok');
    const last = buildModelRequest(agent(), log.events, { maxTokens: 10, builtinTools: noBuiltins }).messages.at(-1)!;
    expect(last.content).toEqual([{ type: 'tool_result', tool_use_id: use, content: [text('ok')], is_error: false, cache: true }]);
  });
});
