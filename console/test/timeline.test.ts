// The console's timeline logic without a browser: the reducer (history + live merge, dedupe by id,
// streamed previews replaced by the final event), what is derived (results, confirmations, calls
// waiting for a person, status), and the rendering of every event type of API-SPEC §6 to static
// HTML, with an unknown type shown as raw JSON instead of breaking the page.
import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { derive, emptyTimeline, rows, timelineReducer, contentText, type TimelineState } from '../src/timeline.ts';
import { EventView, PreviewView, answerProblem, kindOf } from '../src/EventView.tsx';
import type { Json } from '../src/api.ts';

const at = '2026-01-01T00:00:00Z';
const ev = (id: string, type: string, extra: Json = {}): Json => ({ id, type, processed_at: at, ...extra });
const text = (t: string) => [{ type: 'text', text: t }];

function apply(state: TimelineState, ...actions: Parameters<typeof timelineReducer>[1][]): TimelineState {
  return actions.reduce(timelineReducer, state);
}

describe('timeline reducer', () => {
  it('puts history first, keeps live events that are not in it, and dedupes by id', () => {
    const live1 = ev('sevt_3', 'agent.message', { content: text('live') });
    const both = ev('sevt_2', 'session.status_running');
    let s = apply(emptyTimeline(), { type: 'event', event: both }, { type: 'event', event: live1 }, { type: 'event', event: live1 });
    expect(s.events.map((e) => e.id)).toEqual(['sevt_2', 'sevt_3']);
    s = apply(s, { type: 'history', events: [ev('sevt_1', 'user.message', { content: text('hi') }), both, both] });
    expect(s.events.map((e) => e.id)).toEqual(['sevt_1', 'sevt_2', 'sevt_3']);
    // A reconnect lists the history again: nothing doubles.
    s = apply(s, { type: 'history', events: [ev('sevt_1', 'user.message'), both, live1] }, { type: 'event', event: live1 });
    expect(s.events.map((e) => e.id)).toEqual(['sevt_1', 'sevt_2', 'sevt_3']);
    expect(apply(s, { type: 'reset' }).events).toEqual([]);
  });

  it('ignores frames that are not events (no type, no id)', () => {
    const s = apply(emptyTimeline(), { type: 'event', event: { type: 'ping' } }, { type: 'event', event: null as never }, { type: 'event', event: { id: 'x' } });
    expect(s.events).toEqual([]);
  });

  it('builds a preview from event_start/event_delta and drops it when the final message arrives', () => {
    let s = apply(emptyTimeline(),
      { type: 'event', event: { type: 'event_start', event: { type: 'agent.message', id: 'sevt_9' } } },
      { type: 'event', event: { type: 'event_delta', event_id: 'sevt_9', delta: { type: 'content_delta', index: 0, content: { type: 'text', text: 'Hel' } } } },
      { type: 'event', event: { type: 'event_delta', event_id: 'sevt_9', delta: { type: 'content_delta', index: 0, content: { type: 'text', text: 'lo' } } } },
      { type: 'event', event: { type: 'event_delta', event_id: 'sevt_other', delta: { content: { type: 'text', text: 'x' } } } },
    );
    expect([...s.previews.values()]).toEqual([{ id: 'sevt_9', type: 'agent.message', text: 'Hello' }]);
    expect(s.events).toEqual([]);
    s = apply(s, { type: 'event', event: ev('sevt_9', 'agent.message', { content: text('Hello!') }) });
    expect(s.previews.size).toBe(0);
    expect(s.events.map((e) => e.id)).toEqual(['sevt_9']);
    // A late event_start for an event already shown opens no preview.
    s = apply(s, { type: 'event', event: { type: 'event_start', event: { type: 'agent.message', id: 'sevt_9' } } });
    expect(s.previews.size).toBe(0);
  });

  it('applies a batch of live events exactly as one at a time, and keeps the state when nothing changes', () => {
    const frames: Json[] = [
      ev('a', 'user.message', { content: text('q') }),
      { type: 'event_start', event: { type: 'agent.message', id: 'b' } },
      { type: 'event_delta', event_id: 'b', delta: { content: { type: 'text', text: 'par' } } },
      { type: 'event_delta', event_id: 'b', delta: { content: { type: 'text', text: 'tial' } } },
      ev('a', 'user.message'),
      { type: 'event_start', event: { type: 'agent.message', id: 'c' } },
      ev('b', 'agent.message', { content: text('partial answer') }),
    ];
    const oneByOne = frames.reduce<TimelineState>((st, event) => timelineReducer(st, { type: 'event', event }), emptyTimeline());
    const batched = timelineReducer(emptyTimeline(), { type: 'events', events: frames });
    expect(batched.events).toEqual(oneByOne.events);
    expect([...batched.ids]).toEqual([...oneByOne.ids]);
    expect([...batched.previews.values()]).toEqual([{ id: 'c', type: 'agent.message', text: '' }]);
    expect([...oneByOne.previews.values()]).toEqual([...batched.previews.values()]);
    // Nothing new: the very same state object (React skips the render).
    expect(timelineReducer(batched, { type: 'events', events: [ev('a', 'user.message'), { type: 'ping' }] })).toBe(batched);
  });

  it('drops a preview when the history brings the final event', () => {
    let s = apply(emptyTimeline(), { type: 'event', event: { type: 'event_start', event: { type: 'agent.message', id: 'sevt_5' } } });
    s = apply(s, { type: 'history', events: [ev('sevt_5', 'agent.message', { content: text('done') })] });
    expect(s.previews.size).toBe(0);
  });
});

describe('derived state', () => {
  const ask = ev('sevt_t1', 'agent.tool_use', { name: 'bash', input: { command: 'ls' }, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
  const allow = ev('sevt_t2', 'agent.tool_use', { name: 'read', input: {}, evaluated_permission: 'allow' });
  const custom = ev('sevt_c1', 'agent.custom_tool_use', { name: 'lookup', input: { q: 1 } });
  const mcp = ev('sevt_m1', 'agent.mcp_tool_use', { name: 'search', mcp_server_name: 'docs', input: {}, evaluated_permission: 'ask' });

  it('lists ask calls without a confirmation and custom calls without a result as pending', () => {
    const d = derive([ev('s1', 'session.status_running'), ask, allow, custom, mcp, ev('s2', 'session.status_idle', { stop_reason: { type: 'requires_action', event_ids: ['sevt_t1', 'sevt_c1', 'sevt_m1'] } })]);
    expect(d.pending.map((e) => e.id)).toEqual(['sevt_t1', 'sevt_c1', 'sevt_m1']);
    expect(d.status).toBe('idle');
    expect(d.stopReason).toBe('requires_action');
  });

  it('resolves confirmations and results to their calls', () => {
    const events = [
      ask, custom, mcp,
      ev('u1', 'user.tool_confirmation', { tool_use_id: 'sevt_t1', result: 'allow' }),
      ev('u2', 'user.custom_tool_result', { custom_tool_use_id: 'sevt_c1', content: text('42') }),
      ev('r1', 'agent.tool_result', { tool_use_id: 'sevt_t1', content: text('file.txt') }),
      ev('r2', 'agent.mcp_tool_result', { mcp_tool_use_id: 'sevt_m1', content: text('found'), is_error: false }),
      ev('s3', 'session.status_running'),
    ];
    const d = derive(events);
    expect(d.pending).toEqual([]);
    expect(d.results.get('sevt_t1')?.id).toBe('r1');
    expect(d.results.get('sevt_c1')?.id).toBe('u2');
    expect(d.results.get('sevt_m1')?.id).toBe('r2');
    expect(d.confirmations.get('sevt_t1')?.result).toBe('allow');
    expect(d.status).toBe('running');
    // Results and confirmations render inside their call's row; an orphan result keeps its own row.
    const orphan = ev('r9', 'agent.tool_result', { tool_use_id: 'sevt_unknown', content: text('?') });
    expect(rows([...events, orphan]).map((e) => e.id)).toEqual(['sevt_t1', 'sevt_c1', 'sevt_m1', 's3', 'r9']);
  });

  it('a denied call is no longer pending, and nothing is pending once the session terminated', () => {
    expect(derive([ask, ev('u1', 'user.tool_confirmation', { tool_use_id: 'sevt_t1', result: 'deny', deny_message: 'no' })]).pending).toEqual([]);
    expect(derive([ask, custom, ev('t', 'session.status_terminated')]).pending).toEqual([]);
    expect(derive([ev('a', 'session.status_rescheduled')]).status).toBe('rescheduling');
  });

  it('validates custom tool answers that look like JSON', () => {
    expect(answerProblem('')).toMatch(/empty/);
    expect(answerProblem('{"ok": true')).toMatch(/not valid JSON/);
    expect(answerProblem('{"ok": true}')).toBeUndefined();
    expect(answerProblem('plain text')).toBeUndefined();
  });

  it('joins content blocks to text', () => {
    expect(contentText([{ type: 'text', text: 'a' }, { type: 'redacted' }, { type: 'image', source: {} }, { type: 'document', title: 'T' }])).toBe('a\n[redacted]\n[image]\n[document: T]');
    expect(contentText('s')).toBe('s');
    expect(contentText(undefined)).toBe('');
  });
});

/** One event of every type in API-SPEC §6 (and the 7 workflow_run types), with what its row must show. */
const CATALOGUE: Array<[Json, string]> = [
  [ev('e1', 'user.message', { content: text('hello agent') }), 'hello agent'],
  [ev('e2', 'user.interrupt'), 'Interrupt'],
  [ev('e3', 'user.tool_confirmation', { tool_use_id: 'sevt_zz', result: 'deny', deny_message: 'too risky' }), 'too risky'],
  [ev('e4', 'user.custom_tool_result', { custom_tool_use_id: 'sevt_zz', content: text('custom answer') }), 'custom answer'],
  [ev('e5', 'user.tool_result', { tool_use_id: 'sevt_zz', content: text('worker output'), is_error: true }), 'Error result'],
  [ev('e6', 'user.define_outcome', { description: 'write a poem', rubric: { type: 'text', content: 'rhymes' }, max_iterations: 3, outcome_id: 'outc_1' }), 'write a poem'],
  [ev('e7', 'system.message', { content: text('system note') }), 'system note'],
  [ev('e8', 'agent.message', { content: text('agent says hi') }), 'agent says hi'],
  [ev('e9', 'agent.thinking'), 'thinking'],
  [ev('e10', 'agent.tool_use', { name: 'bash', input: { command: 'echo 1' }, evaluated_permission: 'allow', evaluation: { type: 'always_allow' } }), 'echo 1'],
  [ev('e11', 'agent.tool_result', { tool_use_id: 'sevt_zz', content: text('tool output') }), 'tool output'],
  [ev('e12', 'agent.mcp_tool_use', { name: 'search', mcp_server_name: 'docs', input: { q: 'x' }, evaluated_permission: 'ask' }), 'docs · search'],
  [ev('e13', 'agent.mcp_tool_result', { mcp_tool_use_id: 'sevt_zz', content: text('mcp output') }), 'mcp output'],
  [ev('e14', 'agent.custom_tool_use', { name: 'lookup', input: { id: 7 } }), 'lookup'],
  [ev('e15', 'agent.thread_message_sent', { to_session_thread_id: 'sthr_1', to_agent_name: 'researcher', content: text('please look') }), 'researcher'],
  [ev('e16', 'agent.thread_message_received', { from_session_thread_id: 'sthr_1', from_agent_name: 'researcher', content: text('found it') }), 'found it'],
  [ev('e17', 'agent.thread_context_compacted'), 'Context compacted'],
  [ev('e18', 'session.status_running'), 'Running'],
  [ev('e19', 'session.status_rescheduled'), 'Rescheduled'],
  [ev('e20', 'session.status_terminated'), 'Terminated'],
  [ev('e21', 'session.status_idle', { stop_reason: { type: 'end_turn' }, stop_details: null }), 'end turn'],
  [ev('e22', 'session.error', { error: { type: 'model_overloaded_error', message: 'overloaded, retrying', retry_status: { type: 'retrying' } } }), 'model_overloaded_error'],
  [ev('e23', 'session.updated', { title: 'new title' }), 'title'],
  [ev('e24', 'session.usage', { usage: { input_tokens: 120, output_tokens: 30, list_cost: { amount: '250', currency: 'USD' } }, budget: { type: 'limit', max_list_cost: { amount: '1000', currency: 'USD' } } }), '2.50 USD'],
  [ev('e25', 'session.deleted'), 'Session deleted'],
  [ev('e26', 'session.thread_created', { session_thread_id: 'sthr_1', agent_name: 'researcher', workflow_run_id: null }), 'Thread created'],
  [ev('e27', 'session.thread_status_running', { session_thread_id: 'sthr_1', agent_name: 'researcher' }), 'running'],
  [ev('e28', 'session.thread_status_idle', { session_thread_id: 'sthr_1', agent_name: 'researcher', stop_reason: { type: 'end_turn' } }), 'idle'],
  [ev('e29', 'session.thread_status_rescheduled', { session_thread_id: 'sthr_1', agent_name: 'researcher' }), 'rescheduled'],
  [ev('e30', 'session.thread_status_terminated', { session_thread_id: 'sthr_1', agent_name: 'researcher' }), 'terminated'],
  [ev('e31', 'span.model_request_start'), 'model request'],
  [ev('e32', 'span.model_request_end', { model_request_start_id: 'e31', is_error: false, model_usage: { input_tokens: 11, output_tokens: 22 } }), 'out 22'],
  [ev('e33', 'span.outcome_evaluation_start', { outcome_id: 'outc_1', iteration: 0 }), 'Evaluating outcome'],
  [ev('e34', 'span.outcome_evaluation_ongoing', { outcome_id: 'outc_1', iteration: 0 }), 'evaluation ongoing'],
  [ev('e35', 'span.outcome_evaluation_end', { outcome_evaluation_start_id: 'e33', outcome_id: 'outc_1', iteration: 0, result: 'satisfied', explanation: 'all good' }), 'all good'],
  [ev('e36', 'workflow_run.created', { workflow_run_id: 'wfr_1', name: 'review', phases: [] }), 'review'],
  [ev('e37', 'workflow_run.status_running', { workflow_run_id: 'wfr_1' }), 'status running'],
  [ev('e38', 'workflow_run.status_idle', { workflow_run_id: 'wfr_1' }), 'status idle'],
  [ev('e39', 'workflow_run.phase_started', { workflow_run_id: 'wfr_1', workflow_run_phase_id: 'p1' }), 'phase started'],
  [ev('e40', 'workflow_run.phase_ended', { workflow_run_id: 'wfr_1', phase_started_id: 'e39' }), 'phase ended'],
  [ev('e41', 'workflow_run.error', { workflow_run_id: 'wfr_1', error: { type: 'timeout_error', message: 'too slow' } }), 'timeout_error: too slow'],
  [ev('e42', 'workflow_run.status_ended', { workflow_run_id: 'wfr_1', result: { type: 'completed' } }), 'completed'],
];

const html = (event: Json, events: Json[] = [event]) => renderToStaticMarkup(createElement(EventView, { event, derived: derive(events) }));

describe('event rendering', () => {
  it.each(CATALOGUE)('renders %s legibly', (event, shows) => {
    const out = html(event);
    expect(out).toContain(`data-type="${event.type}"`);
    expect(out).toContain(shows.replace(/&/g, '&amp;'));
    // Known types get their own layout, not the raw-JSON fallback.
    expect(out).not.toContain('Event <code>');
  });

  it('covers every row kind', () => {
    expect(new Set(CATALOGUE.map(([e]) => kindOf(e.type)))).toEqual(new Set(['user', 'agent', 'tool', 'thread', 'status', 'error', 'span', 'meta']));
  });

  it('renders an unknown type as raw JSON instead of failing', () => {
    const out = html(ev('e99', 'agent.brand_new_thing', { payload: { nested: [1, 2] } }));
    expect(out).toContain('agent.brand_new_thing');
    expect(out).toContain('&quot;nested&quot;');
  });

  it('escapes what the agent wrote (no HTML injection)', () => {
    const out = html(ev('e1', 'agent.message', { content: text('<img src=x onerror=alert(1)>') }));
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;img');
  });

  it('shows a pending ask call with approve/deny and a pending custom call with an answer box', () => {
    const ask = ev('t1', 'agent.tool_use', { name: 'bash', input: { command: 'rm -rf /tmp/x' }, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    const steering = { confirm: async () => {}, answer: async () => {} };
    const askHtml = renderToStaticMarkup(createElement(EventView, { event: ask, derived: derive([ask]), steering }));
    expect(askHtml).toContain('waiting for you');
    expect(askHtml).toContain('Approve');
    expect(askHtml).toContain('Deny');
    const custom = ev('c1', 'agent.custom_tool_use', { name: 'lookup', input: {} });
    const customHtml = renderToStaticMarkup(createElement(EventView, { event: custom, derived: derive([custom]), steering }));
    expect(customHtml).toContain('custom tool result');
    expect(customHtml).toContain('Send result');
  });

  it('shows a call with its confirmation and result inside one row', () => {
    const ask = ev('t1', 'agent.tool_use', { name: 'bash', input: { command: 'ls' }, evaluated_permission: 'ask' });
    const events = [ask, ev('u1', 'user.tool_confirmation', { tool_use_id: 't1', result: 'deny', deny_message: 'not today' }), ev('r1', 'agent.tool_result', { tool_use_id: 't1', is_error: true, content: text('denied: not today') })];
    const out = html(ask, events);
    expect(out).toContain('denied: not today');
    expect(out).toContain('error result');
    expect(out).not.toContain('Approve');
  });

  it('renders a streamed preview', () => {
    expect(renderToStaticMarkup(createElement(PreviewView, { preview: { id: 'p', type: 'agent.message', text: 'partial te' } }))).toContain('partial te');
  });
});

describe('markdown in messages', () => {
  const md = (t: string) => renderToStaticMarkup(createElement(EventView, { event: ev('m', 'agent.message', { content: text(t) }), derived: derive([]) }));

  it('renders headings, emphasis, lists, code and tables as elements', () => {
    const out = md('# Title\n\nSome **bold** and *em* and `a<b`.\n\n- one\n- two\n\n```\nx = 1 < 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(out).toContain('<h3>Title</h3>');
    expect(out).toContain('<strong>bold</strong>');
    expect(out).toContain('<em>em</em>');
    expect(out).toContain('<code>a&lt;b</code>');
    expect(out).toContain('<ul><li>one</li><li>two</li></ul>');
    expect(out).toContain('x = 1 &lt; 2');
    expect(out).toContain('<th>a</th>');
  });

  it('never emits the agent\'s HTML or unsafe links', () => {
    const out = md('<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> [click](javascript:alert(1)) [ok](https://example.com) ![pic](https://example.com/p.png) & "quotes"');
    expect(out).not.toMatch(/<script|<img|javascript:/);
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('<a href="https://example.com" target="_blank" rel="noreferrer noopener">ok</a>');
    expect(out).toContain('[image: pic]');
    expect(out).toContain('&amp; &quot;quotes&quot;');
  });
});
