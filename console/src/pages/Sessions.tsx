// Sessions list: status, agent and version, title, created/updated, usage and cost; filters (status,
// agent, created since, archived) and cursor paging, all kept in the URL so a view can be shared.
import { Link } from 'wouter';
import { all, get, qs, type Json, type Page } from '../api.ts';
import { useLoad, useQuery } from '../hooks.ts';
import { cost, tokens, when } from '../format.ts';

const STATUSES = ['idle', 'running', 'rescheduling', 'terminated'];

export function StatusBadge({ status }: { status: string | undefined }) {
  return <span className={`badge status-${status ?? 'unknown'}`}>{status ?? '…'}</span>;
}

export function SessionsPage() {
  const [q, setQ] = useQuery();
  const status = q.get('status') ?? '';
  const agent = q.get('agent') ?? '';
  const since = q.get('since') ?? '';
  const archived = q.get('archived') === '1';
  const page = q.get('page') ?? '';
  const agents = useLoad(() => all<Json>('/v1/agents', { limit: 100 }, 5), []);
  const sessions = useLoad(() => get<Page<Json>>(`/v1/sessions${qs({
    limit: 25,
    statuses: status ? [status] : undefined,
    agent_id: agent || undefined,
    'created_at[gte]': since ? new Date(since).toISOString() : undefined,
    include_archived: archived ? 'true' : undefined,
    page: page || undefined,
  })}`), [status, agent, since, archived, page]);
  const agentName = new Map((agents.data ?? []).map((a) => [a.id, a.name]));
  return (
    <section>
      <div className="page-head">
        <h1>Sessions</h1>
        <button className="ghost" onClick={sessions.reload}>Refresh</button>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>Status
          <select value={status} onChange={(e) => setQ({ status: e.target.value, page: undefined })}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Agent
          <select value={agent} onChange={(e) => setQ({ agent: e.target.value, page: undefined })}>
            <option value="">any</option>
            {(agents.data ?? []).map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </label>
        <label>Created since
          <input type="datetime-local" value={since} onChange={(e) => setQ({ since: e.target.value, page: undefined })} />
        </label>
        <label className="check"><input type="checkbox" checked={archived} onChange={(e) => setQ({ archived: e.target.checked ? '1' : undefined, page: undefined })} /> archived too</label>
      </form>
      {sessions.error ? <p className="error-text" role="alert">{sessions.error}</p> : null}
      <div className="table-wrap">
        <table className="list" aria-label="sessions">
          <thead>
            <tr><th>Session</th><th>Status</th><th>Agent</th><th>Created</th><th>Updated</th><th>Tokens in/out</th><th>Cost</th></tr>
          </thead>
          <tbody>
            {(sessions.data?.data ?? []).map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td data-label="Session"><Link href={`/sessions/${s.id}`}>{s.title || s.id}</Link>{s.title ? <div className="sub mono">{s.id}</div> : null}</td>
                <td data-label="Status"><StatusBadge status={s.archived_at ? 'archived' : s.status} /></td>
                <td data-label="Agent">{agentName.get(s.agent?.id) ?? s.agent?.name ?? s.agent?.id} <span className="sub">v{s.agent?.version}</span></td>
                <td data-label="Created">{when(s.created_at)}</td>
                <td data-label="Updated">{when(s.updated_at)}</td>
                <td data-label="Tokens">{tokens(s.usage?.input_tokens)} / {tokens(s.usage?.output_tokens)}</td>
                <td data-label="Cost">{cost(s.usage?.list_cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {sessions.data && sessions.data.data.length === 0 ? <p className="empty">No sessions match.</p> : null}
      <div className="pager">
        {page ? <button className="ghost" onClick={() => setQ({ page: undefined })}>First page</button> : null}
        {sessions.data?.next_page ? <button className="ghost" onClick={() => setQ({ page: sessions.data!.next_page! })}>Next page</button> : null}
      </div>
    </section>
  );
}
