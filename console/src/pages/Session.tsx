// A session's page: header (status, agent, usage), a thread picker for multiagent sessions, the
// live timeline (history + SSE) and steering: send a message, interrupt, approve/deny `ask` tool
// calls, answer custom tool calls, raise a budget that paused the session.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { all, download, get, post, request, type Json } from '../api.ts';
import { follow } from '../stream.ts';
import { derive, emptyTimeline, rows, timelineReducer } from '../timeline.ts';
import { MemoEventView, PreviewView, type Steering } from '../EventView.tsx';
import { useLoad, useQuery } from '../hooks.ts';
import { cost, tokens, when } from '../format.ts';
import { StatusBadge } from './Sessions.tsx';

const INITIAL_ROWS = 150;
const MORE_ROWS = 500;

export function SessionPage({ params }: { params: { id: string } }) {
  const id = params.id;
  const [q, setQ] = useQuery();
  const session = useLoad(() => get(`/v1/sessions/${encodeURIComponent(id)}`), [id]);
  const threads = useLoad(() => all<Json>(`/v1/sessions/${encodeURIComponent(id)}/threads`, { limit: 100 }, 5).catch(() => [] as Json[]), [id]);
  const threadId = q.get('thread') ?? '';
  const primary = (threads.data ?? []).find((t) => !t.parent_thread_id);
  const onThread = threadId && threadId !== primary?.id ? threadId : undefined;
  const [state, dispatch] = useReducer(timelineReducer, undefined, emptyTimeline);
  const [conn, setConn] = useState<{ state: string; error?: string }>({ state: 'connecting' });
  const reloadSession = session.reload;

  useEffect(() => {
    dispatch({ type: 'reset' });
    // Live events are applied once per animation frame: a fast stream renders at most once a frame.
    let queue: Json[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const events = queue;
      queue = [];
      dispatch({ type: 'events', events });
    };
    const stop = follow({ sessionId: id, threadId: onThread }, {
      onHistory: (events) => {
        if (queue.length) flush();
        dispatch({ type: 'history', events });
      },
      onEvent: (event) => {
        queue.push(event);
        frame ||= requestAnimationFrame(flush);
        if (String(event.type).startsWith('session.status_') || event.type === 'session.usage' || event.type === 'session.updated' || event.type === 'session.thread_created') reloadSession();
      },
      onState: (s, error) => setConn({ state: s, error }),
    });
    return () => {
      stop();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id, onThread, reloadSession]);

  useEffect(() => {
    if (state.events.some((e) => e.type === 'session.thread_created')) threads.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state.events.filter((e) => e.type === 'session.thread_created').length]);

  const derived = useMemo(() => derive(state.events), [state.events]);
  const idles = useMemo(() => state.events.filter((e) => e.type === 'session.status_idle').length, [state.events]);
  const all_ = useMemo(() => rows(state.events), [state.events]);
  // Long sessions render their latest rows first; earlier ones on request.
  const [windowSize, setWindowSize] = useState(INITIAL_ROWS);
  useEffect(() => setWindowSize(INITIAL_ROWS), [id, onThread]);
  const hidden = Math.max(0, all_.length - windowSize);
  const shown = useMemo(() => (hidden ? all_.slice(hidden) : all_), [all_, hidden]);
  const s = session.data;
  const status = derived.status ?? s?.status;

  const send = useCallback((events: Json[]) => post(`/v1/sessions/${encodeURIComponent(id)}/events`, { events }), [id]);
  const steering: Steering = useMemo(() => ({
    confirm: async (use, result, denyMessage) => {
      await send([{ type: 'user.tool_confirmation', tool_use_id: use.id, result, ...(denyMessage ? { deny_message: denyMessage } : {}), ...(use.session_thread_id ? { session_thread_id: use.session_thread_id } : {}) }]);
    },
    answer: async (use, text, isError) => {
      await send([{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text }], ...(isError ? { is_error: true } : {}), ...(use.session_thread_id ? { session_thread_id: use.session_thread_id } : {}) }]);
    },
  }), [send]);

  const bottom = useRef<HTMLDivElement>(null);
  const [follow_, setFollow] = useState(true);
  useEffect(() => {
    if (follow_) bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [all_.length, state.previews, follow_]);

  return (
    <section className="session">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link href="/sessions">Sessions</Link> /</p>
          <h1>{s?.title || id}</h1>
          <div className="sub mono">{id}</div>
        </div>
        <div className="head-status">
          <StatusBadge status={s?.archived_at ? 'archived' : status} />
          <span className={`conn conn-${conn.state}`} title={conn.error ?? ''} data-conn={conn.state}>{conn.state}{conn.error ? `: ${conn.error}` : ''}</span>
          {s ? <SessionActions session={s} onChanged={reloadSession} /> : null}
        </div>
      </div>
      {session.error ? <p className="error-text" role="alert">{session.error}</p> : null}
      {s ? (
        <dl className="facts">
          <div><dt>Agent</dt><dd><Link href={`/agents/${s.agent?.id}`}>{s.agent?.name ?? s.agent?.id}</Link> <span className="sub">v{s.agent?.version} · {s.agent?.model?.id ?? s.agent?.model}</span></dd></div>
          <div><dt>Environment</dt><dd className="mono">{s.environment_id}</dd></div>
          <div><dt>Created</dt><dd>{when(s.created_at)}</dd></div>
          <div><dt>Tokens</dt><dd>{tokens(s.usage?.input_tokens)} in · {tokens(s.usage?.output_tokens)} out</dd></div>
          <div><dt>Cost</dt><dd>{cost(s.usage?.list_cost)}{s.budget?.max_list_cost ? ` of ${cost(s.budget.max_list_cost)}` : ''}</dd></div>
        </dl>
      ) : null}
      {(threads.data ?? []).length > 1 ? (
        <div className="threads" role="tablist" aria-label="threads">
          {(threads.data ?? []).map((t) => {
            const selected = t.parent_thread_id ? t.id === threadId : !onThread;
            return (
              <button key={t.id} role="tab" aria-selected={selected} className={selected ? 'tab active' : 'tab'} onClick={() => setQ({ thread: t.parent_thread_id ? t.id : undefined })}>
                {t.parent_thread_id ? (t.agent?.name ?? t.agent_name ?? t.id) : 'Primary'} <StatusBadge status={t.status} />
              </button>
            );
          })}
        </div>
      ) : null}
      {derived.pending.length ? <p className="note warn" role="status">{derived.pending.length} tool call{derived.pending.length > 1 ? 's' : ''} waiting for you</p> : null}
      {hidden ? <button className="ghost" onClick={() => setWindowSize((n) => n + MORE_ROWS)}>Show {Math.min(hidden, MORE_ROWS)} earlier events ({hidden} hidden)</button> : null}
      <ol className="timeline" aria-label="timeline" aria-live="polite">
        {shown.map((e, i) => <MemoEventView key={e.id || `i${i}`} event={e} derived={derived} steering={s?.archived_at ? undefined : steering} />)}
        {[...state.previews.values()].map((p) => <PreviewView key={p.id} preview={p} />)}
      </ol>
      {all_.length === 0 && conn.state !== 'connecting' ? <p className="empty">No events yet.</p> : null}
      <div ref={bottom} />
      <Outputs sessionId={id} idles={idles} />
      {s && !s.archived_at && status !== 'terminated' ? (
        <Composer
          running={status === 'running' || status === 'rescheduling'}
          budgetPaused={derived.stopReason === 'budget_reached' && status === 'idle'}
          onThread={onThread}
          send={send}
          raiseBudget={async (amount) => {
            await post(`/v1/sessions/${encodeURIComponent(id)}`, { budget: { type: 'limit', max_list_cost: { amount, currency: s.budget?.max_list_cost?.currency ?? 'USD' } } });
            reloadSession();
          }}
          follow={follow_}
          setFollow={setFollow}
        />
      ) : null}
    </section>
  );
}

function Composer(props: {
  running: boolean;
  budgetPaused: boolean;
  onThread: string | undefined;
  send(events: Json[]): Promise<unknown>;
  raiseBudget(amountCents: string): Promise<void>;
  follow: boolean;
  setFollow(v: boolean): void;
}) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [budget, setBudget] = useState('');
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await fn();
      return true;
    } catch (e) {
      setError(String((e as Error).message));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    if (await run(() => props.send([{ type: 'user.message', content: [{ type: 'text', text }] }]))) setText('');
  };
  return (
    <form className="composer" onSubmit={submit} aria-label="steer">
      {props.budgetPaused ? (
        <div className="actions">
          <span className="note warn">Paused: budget reached.</span>
          <input aria-label="new budget in cents" inputMode="numeric" placeholder="new budget (cents)" value={budget} onChange={(e) => setBudget(e.target.value.replace(/\D/g, ''))} />
          <button type="button" disabled={busy || !budget} onClick={() => run(() => props.raiseBudget(budget))}>Raise budget</button>
        </div>
      ) : null}
      <textarea
        aria-label="message"
        rows={2}
        placeholder={props.onThread ? 'Messages go to the session (primary thread)' : 'Message the agent (Ctrl+Enter to send)'}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(e);
        }}
      />
      <div className="actions">
        <button className="primary" disabled={busy || !text.trim()}>Send</button>
        <button type="button" className="danger" disabled={busy || !props.running} onClick={() => run(() => props.send([{ type: 'user.interrupt', ...(props.onThread ? { session_thread_id: props.onThread } : {}) }]))}>Interrupt</button>
        <label className="check"><input type="checkbox" checked={props.follow} onChange={(e) => props.setFollow(e.target.checked)} /> follow</label>
        {error ? <span className="error-text" role="alert">{error}</span> : null}
      </div>
    </form>
  );
}

/** Files the session wrote to /mnt/session/outputs (captured when it settles, just after an idle). */
function Outputs({ sessionId, idles }: { sessionId: string; idles: number }) {
  const [tick, setTick] = useState(0);
  const files = useLoad(() => all<Json>('/v1/files', { scope_id: sessionId, limit: 100 }, 5), [sessionId, idles, tick]);
  const [error, setError] = useState('');
  useEffect(() => {
    // The capture runs after the idle is committed: look again shortly after each one.
    if (!idles) return;
    const t = setTimeout(() => setTick((n) => n + 1), 1500);
    return () => clearTimeout(t);
  }, [idles]);
  const list = files.data ?? [];
  return (
    <details className="outputs" open={list.length > 0}>
      <summary>Output files ({list.length})</summary>
      <div className="actions">
        <button type="button" className="ghost small" onClick={() => setTick((n) => n + 1)}>Refresh files</button>
        {error || files.error ? <span className="error-text">{error || files.error}</span> : null}
      </div>
      <ul className="creds" aria-label="output files">
        {list.map((f) => (
          <li key={f.id}>
            <b>{f.filename}</b> <span className="sub">{Number(f.size_bytes ?? 0).toLocaleString()} B</span>{' '}
            <button type="button" className="ghost small" onClick={() => download(f.id, f.filename).catch((e) => setError(String(e.message)))}>Download {f.filename}</button>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Archive (read-only from then on) and delete (events, sandbox and produced files), each confirmed; the API refuses both while running. */
function SessionActions({ session, onChanged }: { session: Json; onChanged(): void }) {
  const [, navigate] = useLocation();
  const [error, setError] = useState('');
  const path = `/v1/sessions/${encodeURIComponent(session.id)}`;
  const act = (what: string, fn: () => Promise<unknown>, then: () => void) => {
    if (!window.confirm(`${what} this session?`)) return;
    setError('');
    fn().then(then, (e) => setError(String(e.message)));
  };
  return (
    <div className="actions">
      {session.archived_at ? null : <button className="ghost small" onClick={() => act('Archive', () => post(`${path}/archive`), onChanged)}>Archive</button>}
      <button className="ghost small danger" onClick={() => act('Delete', () => request('DELETE', path), () => navigate('/sessions'))}>Delete</button>
      {error ? <span className="error-text" role="alert">{error}</span> : null}
    </div>
  );
}
