// Renders one timeline row per event type of the catalogue (API-SPEC §6): messages, thinking, tool
// calls with their input, confirmation and result, MCP and custom calls, thread events, errors,
// status changes, spans with model usage, outcome evaluations, usage and budget, workflow runs.
// A type it does not know renders as its raw JSON, so a new server event never breaks the page.
import { memo, useState } from 'react';
import type { Json } from './api.ts';
import { contentText, type Derived, type Preview } from './timeline.ts';
import { cost, pretty, time, tokens } from './format.ts';
import { Markdown } from './Markdown.tsx';

export interface Steering {
  confirm(toolUse: Json, result: 'allow' | 'deny', denyMessage?: string): Promise<void>;
  answer(toolUse: Json, text: string, isError: boolean): Promise<void>;
}

interface Props {
  event: Json;
  derived: Derived;
  steering?: Steering;
}

/** A one-word kind for the row's colour and label. */
export function kindOf(type: string): string {
  if (type.startsWith('user.') || type === 'system.message') return 'user';
  if (type === 'session.error' || type === 'workflow_run.error') return 'error';
  if (type.startsWith('agent.thread_') || type.startsWith('session.thread_')) return 'thread';
  if (type.includes('tool_')) return 'tool';
  if (type.startsWith('agent.')) return 'agent';
  if (type.startsWith('span.')) return 'span';
  if (type.startsWith('session.status_')) return 'status';
  return 'meta';
}

function Row({ event, title, children }: { event: Json; title: React.ReactNode; children?: React.ReactNode }) {
  const kind = kindOf(String(event.type));
  return (
    <li className={`ev ev-${kind}`} data-type={event.type} data-id={event.id}>
      <div className="ev-head">
        <span className="ev-title">{title}</span>
        <span className="ev-when">
          {event.session_thread_id ? <span className="tag">{String(event.session_thread_id).slice(0, 14)}</span> : null}
          <time>{time(event.processed_at ?? event.created_at)}</time>
        </span>
      </div>
      {children}
    </li>
  );
}

function Text({ text }: { text: string }) {
  return <div className="ev-text">{text}</div>;
}

function Code({ value }: { value: unknown }) {
  return <pre className="code">{typeof value === 'string' ? value : pretty(value)}</pre>;
}

function usageLine(u: Json | undefined): string {
  if (!u) return '';
  const parts = [`in ${tokens(u.input_tokens)}`, `out ${tokens(u.output_tokens)}`];
  if (u.cache_read_input_tokens) parts.push(`cache read ${tokens(u.cache_read_input_tokens)}`);
  if (u.cache_creation_input_tokens) parts.push(`cache write ${tokens(u.cache_creation_input_tokens)}`);
  return parts.join(' · ');
}

function stopText(e: Json): string {
  const r = e.stop_reason;
  if (!r) return '';
  if (r.type === 'requires_action') return `requires action (${(r.event_ids ?? []).length})`;
  if (r.type === 'refusal' && e.stop_details?.explanation) return `refusal: ${e.stop_details.explanation}`;
  return String(r.type).replace(/_/g, ' ');
}

function Confirm({ event, steering }: { event: Json; steering: Steering }) {
  const [deny, setDeny] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const act = (result: 'allow' | 'deny') => {
    setBusy(true);
    setError('');
    steering.confirm(event, result, result === 'deny' && deny.trim() ? deny.trim() : undefined).catch((e) => setError(String(e.message ?? e))).finally(() => setBusy(false));
  };
  return (
    <div className="actions" role="group" aria-label={`confirm ${event.name}`}>
      <button className="primary" disabled={busy} onClick={() => act('allow')}>Approve</button>
      <input aria-label="deny message" placeholder="Deny message (optional)" value={deny} onChange={(e) => setDeny(e.target.value)} />
      <button className="danger" disabled={busy} onClick={() => act('deny')}>Deny</button>
      {error ? <span className="error-text">{error}</span> : null}
    </div>
  );
}

/** Validates the answer: text that looks like JSON must parse. */
export function answerProblem(text: string): string | undefined {
  const t = text.trim();
  if (!t) return 'the answer is empty';
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      JSON.parse(t);
    } catch (e) {
      return `not valid JSON: ${(e as Error).message}`;
    }
  }
  return undefined;
}

function Answer({ event, steering }: { event: Json; steering: Steering }) {
  const [text, setText] = useState('');
  const [isError, setIsError] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const problem = text ? answerProblem(text) : undefined;
  const send = () => {
    const p = answerProblem(text);
    if (p) return setError(p);
    setBusy(true);
    setError('');
    steering.answer(event, text.trim(), isError).catch((e) => setError(String(e.message ?? e))).finally(() => setBusy(false));
  };
  return (
    <div className="actions column" role="group" aria-label={`answer ${event.name}`}>
      <textarea aria-label="custom tool result" rows={3} placeholder='Result (text, or JSON such as {"ok": true})' value={text} onChange={(e) => setText(e.target.value)} />
      <div className="actions">
        <label><input type="checkbox" checked={isError} onChange={(e) => setIsError(e.target.checked)} /> is error</label>
        <button className="primary" disabled={busy || Boolean(problem)} onClick={send}>Send result</button>
        {problem || error ? <span className="error-text">{problem ?? error}</span> : null}
      </div>
    </div>
  );
}

function ToolCall({ event, derived, steering }: Props) {
  const result = derived.results.get(event.id);
  const confirmation = derived.confirmations.get(event.id);
  const pending = derived.pending.some((p) => p.id === event.id);
  const server = event.type === 'agent.mcp_tool_use' ? `${event.mcp_server_name} · ` : '';
  const label = event.type === 'agent.custom_tool_use' ? 'custom tool' : event.type === 'agent.mcp_tool_use' ? 'MCP tool' : 'tool';
  const permission = event.evaluated_permission ? `${event.evaluated_permission}${event.evaluation?.type ? ` (${event.evaluation.type})` : ''}` : '';
  return (
    <Row event={event} title={<>{label} <b>{server}{String(event.name)}</b>{permission ? <span className="tag">{permission}</span> : null}{pending ? <span className="tag warn">waiting for you</span> : null}</>}>
      <details open={pending || !result}>
        <summary>input</summary>
        <Code value={event.input} />
      </details>
      {confirmation ? (
        <div className={`note ${confirmation.result === 'deny' ? 'bad' : 'good'}`}>
          {confirmation.result === 'allow' ? 'approved' : 'denied'}{confirmation.deny_message ? `: ${confirmation.deny_message}` : ''}
        </div>
      ) : null}
      {result ? (
        <div className={`result ${result.is_error ? 'bad' : ''}`} data-result-of={event.id}>
          <div className="sub">{result.is_error ? 'error result' : 'result'}</div>
          <Code value={contentText(result.content)} />
        </div>
      ) : pending && steering ? (event.type === 'agent.custom_tool_use' ? <Answer event={event} steering={steering} /> : <Confirm event={event} steering={steering} />) : (
        <div className="sub">running…</div>
      )}
    </Row>
  );
}

export function EventView({ event, derived, steering }: Props) {
  const t = String(event.type);
  switch (t) {
    case 'user.message':
      return <Row event={event} title="You"><Markdown text={contentText(event.content)} /></Row>;
    case 'system.message':
      return <Row event={event} title="System message"><Text text={contentText(event.content)} /></Row>;
    case 'user.interrupt':
      return <Row event={event} title="Interrupt" />;
    case 'user.tool_confirmation':
      return <Row event={event} title={`${event.result === 'allow' ? 'Approved' : 'Denied'} ${event.tool_use_id}`}>{event.deny_message ? <Text text={String(event.deny_message)} /> : null}</Row>;
    case 'user.custom_tool_result':
    case 'user.tool_result':
    case 'agent.tool_result':
    case 'agent.mcp_tool_result':
      return (
        <Row event={event} title={`${event.is_error ? 'Error result' : 'Result'} of ${event.tool_use_id ?? event.custom_tool_use_id ?? event.mcp_tool_use_id}`}>
          <Code value={contentText(event.content)} />
        </Row>
      );
    case 'user.define_outcome':
      return (
        <Row event={event} title={`Outcome defined (max ${event.max_iterations ?? 3} iterations)`}>
          <Text text={String(event.description ?? '')} />
          {event.rubric?.type === 'text' ? <details><summary>rubric</summary><Code value={String(event.rubric.content)} /></details> : null}
        </Row>
      );
    case 'agent.message':
      return <Row event={event} title="Agent"><Markdown text={contentText(event.content)} /></Row>;
    case 'agent.thinking':
      return <Row event={event} title={<span className="sub">thinking…</span>} />;
    case 'agent.tool_use':
    case 'agent.mcp_tool_use':
    case 'agent.custom_tool_use':
      return <ToolCall event={event} derived={derived} steering={steering} />;
    case 'agent.thread_message_sent':
      return <Row event={event} title={<>→ message to <b>{String(event.to_agent_name ?? event.to_session_thread_id)}</b></>}><Text text={contentText(event.content)} /></Row>;
    case 'agent.thread_message_received':
      return <Row event={event} title={<>← message from <b>{String(event.from_agent_name ?? event.from_session_thread_id)}</b></>}><Markdown text={contentText(event.content)} /></Row>;
    case 'agent.thread_context_compacted':
      return <Row event={event} title="Context compacted" />;
    case 'session.status_running':
      return <Row event={event} title="Running" />;
    case 'session.status_idle':
      return <Row event={event} title={<>Idle <span className="sub">{stopText(event)}</span></>} />;
    case 'session.status_rescheduled':
      return <Row event={event} title="Rescheduled (retrying)" />;
    case 'session.status_terminated':
      return <Row event={event} title="Terminated" />;
    case 'session.error': {
      const err = event.error ?? {};
      return (
        <Row event={event} title={<>Error <b>{String(err.type ?? 'unknown')}</b>{err.retry_status?.type ? <span className="tag">{String(err.retry_status.type)}</span> : null}</>}>
          <Text text={String(err.message ?? '')} />
        </Row>
      );
    }
    case 'session.updated':
      return <Row event={event} title={`Session updated: ${Object.keys(event).filter((k) => !['id', 'type', 'processed_at', 'created_at'].includes(k)).join(', ')}`} />;
    case 'session.usage':
      return <Row event={event} title={<>Usage <span className="sub">{usageLine(event.usage)}{event.usage?.list_cost ? ` · ${cost(event.usage.list_cost)}` : ''}{event.budget?.max_list_cost ? ` · budget ${cost(event.budget.max_list_cost)}` : ''}</span></>} />;
    case 'session.deleted':
      return <Row event={event} title="Session deleted" />;
    case 'session.thread_created':
      return <Row event={event} title={<>Thread created: <b>{String(event.agent_name)}</b> <span className="sub">{String(event.session_thread_id)}</span></>} />;
    case 'session.thread_status_running':
    case 'session.thread_status_idle':
    case 'session.thread_status_rescheduled':
    case 'session.thread_status_terminated':
      return <Row event={event} title={<>Thread <b>{String(event.agent_name)}</b> {t.slice('session.thread_status_'.length)} <span className="sub">{stopText(event)}</span></>} />;
    case 'span.model_request_start':
      return <Row event={event} title={<span className="sub">model request…</span>} />;
    case 'span.model_request_end':
      return <Row event={event} title={<span className="sub">model request {event.is_error ? 'failed' : 'done'} · {usageLine(event.model_usage)}</span>} />;
    case 'span.outcome_evaluation_start':
      return <Row event={event} title={`Evaluating outcome (iteration ${event.iteration ?? 0})`} />;
    case 'span.outcome_evaluation_ongoing':
      return <Row event={event} title={<span className="sub">evaluation ongoing (iteration {String(event.iteration ?? 0)})</span>} />;
    case 'span.outcome_evaluation_end':
      return <Row event={event} title={<>Outcome <b>{String(event.result)}</b> <span className="sub">iteration {String(event.iteration ?? 0)}</span></>}><Text text={String(event.explanation ?? '')} /></Row>;
    default:
      if (t.startsWith('workflow_run.')) {
        return <Row event={event} title={<>Workflow {t.slice('workflow_run.'.length).replace(/_/g, ' ')} <span className="sub">{String(event.name ?? event.workflow_run_id ?? '')}</span></>}>{event.error ? <Text text={`${event.error.type}: ${event.error.message ?? ''}`} /> : event.result ? <Text text={String(event.result.type)} /> : null}</Row>;
      }
      return <Row event={event} title={<>Event <code>{t}</code></>}><Code value={event} /></Row>;
  }
}

const rowState = (p: Props) => {
  const id = p.event.id;
  return [p.derived.results.get(id), p.derived.confirmations.get(id), p.derived.pending.some((e) => e.id === id)];
};

/** Rows re-render only when their own event, result, confirmation or pending state change (not on previews or other rows' events). */
export const MemoEventView = memo(EventView, (a, b) => {
  if (a.event !== b.event || a.steering !== b.steering) return false;
  const x = rowState(a);
  const y = rowState(b);
  return x.every((v, i) => v === y[i]);
});

export function PreviewView({ preview }: { preview: Preview }) {
  return (
    <li className="ev ev-agent preview" data-type="preview" data-id={preview.id}>
      <div className="ev-head"><span className="ev-title">Agent <span className="sub">typing…</span></span></div>
      <div className="ev-text">{preview.text}</div>
    </li>
  );
}
