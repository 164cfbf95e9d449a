// Agents: the list (and creating one), and an agent's page with its version history, a side-by-side
// diff between any two versions (chosen in the URL, so a diff can be shared), editing (a form for
// name, model, system prompt and built-in tool toggles, plus JSON and YAML views of all editable
// fields, the `yaml` library; each change is a new version) and archiving.
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { all, get, post, type Json } from '../api.ts';
import { useLoad, useQuery } from '../hooks.ts';
import { when } from '../format.ts';
import { sideBySide, versionText } from '../diffview.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** The fields an agent create/update takes, from an agent object. */
export const EDITABLE = ['name', 'description', 'model', 'system', 'tools', 'mcp_servers', 'skills', 'metadata', 'multiagent'] as const;

export function editable(agent: Json): Json {
  return Object.fromEntries(EDITABLE.filter((k) => agent[k] !== undefined).map((k) => [k, agent[k]]));
}

export type EditorMode = 'form' | 'json' | 'yaml';

/** Parses the editor's text (JSON, or YAML in the YAML view): an object of editable fields, or the reason it is not one. */
export function parseAgentText(text: string, mode: 'json' | 'yaml' = 'json'): { value?: Json; problem?: string } {
  let value: unknown;
  try {
    value = mode === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    return { problem: `not valid ${mode === 'yaml' ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problem: `expected a ${mode === 'yaml' ? 'YAML mapping' : 'JSON object'}` };
  const unknown = Object.keys(value).filter((k) => !(EDITABLE as readonly string[]).includes(k));
  if (unknown.length) return { problem: `not editable here: ${unknown.join(', ')}` };
  return { value: value as Json };
}

export const parseAgentJson = (text: string) => parseAgentText(text, 'json');

export function agentText(value: Json, mode: 'json' | 'yaml'): string {
  return mode === 'yaml' ? stringifyYaml(value) : JSON.stringify(value, null, 2);
}

/** The built-in tools the form toggles (the agent toolset's tool names). */
export const BUILTIN_TOOLS = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'] as const;
const TOOLSET = 'agent_toolset_20260401';

/** Whether a built-in tool is on: its own config, else the toolset's default, else on; off without the toolset. */
export function toolEnabled(tools: Json[] | undefined, name: string): boolean {
  const set = (tools ?? []).find((t) => t?.type === TOOLSET);
  if (!set) return false;
  const own = (set.configs ?? []).find((c: Json) => c?.name === name);
  return own?.enabled ?? set.default_config?.enabled ?? true;
}

/** The tools list with one built-in tool switched on or off (other tools and config fields kept). */
export function setToolEnabled(tools: Json[] | undefined, name: string, on: boolean): Json[] {
  const list = [...(tools ?? [])];
  const i = list.findIndex((t) => t?.type === TOOLSET);
  if (i < 0) return on ? [...list, { type: TOOLSET, default_config: { enabled: false }, configs: [{ name, enabled: true }] }] : list;
  const set = list[i];
  const configs: Json[] = [...(set.configs ?? [])];
  const j = configs.findIndex((c) => c?.name === name);
  if (j >= 0) configs[j] = { ...configs[j], enabled: on };
  else configs.push({ name, enabled: on });
  list[i] = { ...set, configs };
  return list;
}

function AgentForm({ value, onChange, models }: { value: Json; onChange(v: Json): void; models: string[] }) {
  const model = typeof value.model === 'object' && value.model ? String(value.model.id ?? '') : String(value.model ?? '');
  const set = (k: string, v: unknown) => onChange({ ...value, [k]: v });
  return (
    <div className="form" role="group" aria-label="agent form">
      <label>Name <input value={String(value.name ?? '')} onChange={(e) => set('name', e.target.value)} /></label>
      <label>Model <input list="console-models" value={model} onChange={(e) => set('model', typeof value.model === 'object' && value.model ? { ...value.model, id: e.target.value } : e.target.value)} /></label>
      <datalist id="console-models">{models.map((m) => <option key={m} value={m} />)}</datalist>
      <label>System prompt <textarea rows={6} value={String(value.system ?? '')} onChange={(e) => set('system', e.target.value)} /></label>
      <fieldset>
        <legend>Built-in tools</legend>
        <div className="tools-grid">
          {BUILTIN_TOOLS.map((t) => (
            <label key={t} className="check"><input type="checkbox" checked={toolEnabled(value.tools, t)} onChange={(e) => set('tools', setToolEnabled(value.tools, t, e.target.checked))} /> {t}</label>
          ))}
        </div>
      </fieldset>
      <p className="sub">Other fields (MCP servers, skills, custom tools, permissions) in the JSON or YAML view.</p>
    </div>
  );
}

function AgentEditor({ initial, submitLabel, onSubmit, onCancel }: { initial: Json; submitLabel: string; onSubmit(value: Json): Promise<void>; onCancel(): void }) {
  const [mode, setMode] = useState<EditorMode>('form');
  const [value, setValue] = useState<Json>(initial);
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const models = useLoad(() => get<{ data: Json[] }>('/v1/models').then((r) => r.data.map((m) => String(m.id))), []);
  const parsed = mode === 'form' ? { value } : parseAgentText(text, mode);
  const switchTo = (next: EditorMode) => {
    if (next === mode || !parsed.value) return;
    setValue(parsed.value);
    if (next !== 'form') setText(agentText(parsed.value, next));
    setMode(next);
  };
  const submit = async () => {
    if (!parsed.value) return;
    setBusy(true);
    setError('');
    try {
      await onSubmit(parsed.value);
    } catch (e) {
      setError(String((e as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card editor">
      <div className="tabs" role="tablist" aria-label="editor view">
        {(['form', 'json', 'yaml'] as const).map((m) => (
          <button key={m} role="tab" aria-selected={mode === m} className={`ghost small ${mode === m ? 'active' : ''}`} disabled={mode !== m && !parsed.value} onClick={() => switchTo(m)}>{m === 'form' ? 'Form' : m.toUpperCase()}</button>
        ))}
      </div>
      {mode === 'form' ? <AgentForm value={value} onChange={setValue} models={models.data ?? []} /> : (
        <textarea aria-label={mode === 'yaml' ? 'agent YAML' : 'agent JSON'} className="mono" rows={16} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
      )}
      <div className="actions">
        <button className="primary" disabled={busy || !parsed.value} onClick={submit}>{submitLabel}</button>
        <button className="ghost" onClick={onCancel}>Cancel</button>
        {parsed.problem || error ? <span className="error-text" role="alert">{parsed.problem ?? error}</span> : null}
      </div>
    </div>
  );
}

export function AgentsPage() {
  const [q, setQ] = useQuery();
  const [creating, setCreating] = useState(false);
  const [, navigate] = useLocation();
  const archived = q.get('archived') === '1';
  const agents = useLoad(() => all<Json>('/v1/agents', { limit: 100, include_archived: archived ? 'true' : undefined }, 10), [archived]);
  return (
    <section>
      <div className="page-head"><h1>Agents</h1>{creating ? null : <button onClick={() => setCreating(true)}>New agent</button>}</div>
      {creating ? (
        <AgentEditor
          initial={{ name: '', model: 'claude-sonnet-4-6', system: '' }}
          submitLabel="Create agent"
          onCancel={() => setCreating(false)}
          onSubmit={async (value) => {
            const created = await post('/v1/agents', value);
            navigate(`/agents/${created.id}`);
          }}
        />
      ) : null}
      <div className="filters"><label className="check"><input type="checkbox" checked={archived} onChange={(e) => setQ({ archived: e.target.checked ? '1' : undefined })} /> archived too</label></div>
      {agents.error ? <p className="error-text" role="alert">{agents.error}</p> : null}
      <div className="table-wrap">
        <table className="list" aria-label="agents">
          <thead><tr><th>Name</th><th>Model</th><th>Version</th><th>Tools</th><th>Updated</th></tr></thead>
          <tbody>
            {(agents.data ?? []).map((a) => (
              <tr key={a.id}>
                <td data-label="Name"><Link href={`/agents/${a.id}`}>{a.name}</Link><div className="sub mono">{a.id}</div></td>
                <td data-label="Model">{a.model?.id ?? a.model}</td>
                <td data-label="Version">v{a.version}{a.archived_at ? <span className="tag">archived</span> : null}</td>
                <td data-label="Tools">{(a.tools ?? []).map((t: Json) => t.name ?? t.type).join(', ') || '—'}</td>
                <td data-label="Updated">{when(a.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {agents.data && agents.data.length === 0 ? <p className="empty">No agents yet.</p> : null}
    </section>
  );
}

export function AgentPage({ params }: { params: { id: string } }) {
  const id = params.id;
  const [q, setQ] = useQuery();
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState('');
  const agent = useLoad(() => get(`/v1/agents/${encodeURIComponent(id)}`), [id]);
  const versions = useLoad(() => all<Json>(`/v1/agents/${encodeURIComponent(id)}/versions`, { limit: 100 }, 10), [id]);
  const list = [...(versions.data ?? [])].sort((a, b) => Number(a.version) - Number(b.version));
  const latest = list[list.length - 1];
  const from = q.get('from') ?? (list.length > 1 ? String(list[list.length - 2].version) : '');
  const to = q.get('to') ?? (latest ? String(latest.version) : '');
  const a = list.find((v) => String(v.version) === from);
  const b = list.find((v) => String(v.version) === to);
  const rows = a && b ? sideBySide(versionText(a), versionText(b)) : [];
  const changes = rows.filter((r) => r.kind !== 'same').length;
  return (
    <section>
      <div className="page-head">
        <div>
          <p className="crumbs"><Link href="/agents">Agents</Link> /</p>
          <h1>{agent.data?.name ?? id}</h1>
          <div className="sub mono">{id}</div>
        </div>
        {agent.data ? (
          <div className="actions">
            {agent.data.archived_at ? <span className="tag">archived</span> : (
              <>
                <button disabled={editing} onClick={() => setEditing(true)}>Edit</button>
                <button className="danger" onClick={() => {
                  if (!window.confirm(`Archive ${agent.data!.name}? Archived agents cannot start new sessions.`)) return;
                  post(`/v1/agents/${encodeURIComponent(id)}/archive`).then(() => agent.reload(), (e) => setError(String(e.message)));
                }}>Archive</button>
              </>
            )}
          </div>
        ) : null}
      </div>
      {agent.error || error ? <p className="error-text" role="alert">{agent.error || error}</p> : null}
      {editing && agent.data ? (
        <AgentEditor
          initial={editable(agent.data)}
          submitLabel={`Save as v${Number(agent.data.version) + 1}`}
          onCancel={() => setEditing(false)}
          onSubmit={async (value) => {
            const saved = await post(`/v1/agents/${encodeURIComponent(id)}`, { ...value, version: agent.data!.version });
            setEditing(false);
            agent.reload();
            versions.reload();
            setQ({ from: String(agent.data!.version), to: String(saved.version) });
          }}
        />
      ) : null}
      <h2>Versions</h2>
      <div className="table-wrap">
        <table className="list" aria-label="versions">
          <thead><tr><th>Version</th><th>Model</th><th>Updated</th><th>Compare</th></tr></thead>
          <tbody>
            {[...list].reverse().map((v) => (
              <tr key={v.version}>
                <td data-label="Version">v{v.version}</td>
                <td data-label="Model">{v.model?.id ?? v.model}</td>
                <td data-label="Updated">{when(v.updated_at ?? v.created_at)}</td>
                <td data-label="Compare">
                  <button className={`ghost small ${from === String(v.version) ? 'active' : ''}`} onClick={() => setQ({ from: String(v.version) })}>from</button>
                  <button className={`ghost small ${to === String(v.version) ? 'active' : ''}`} onClick={() => setQ({ to: String(v.version) })}>to</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Diff</h2>
      <div className="filters" aria-label="compare versions">
        <label>From <select aria-label="from version" value={from} onChange={(e) => setQ({ from: e.target.value })}>{list.map((v) => <option key={v.version} value={String(v.version)}>v{v.version}</option>)}</select></label>
        <label>To <select aria-label="to version" value={to} onChange={(e) => setQ({ to: e.target.value })}>{list.map((v) => <option key={v.version} value={String(v.version)}>v{v.version}</option>)}</select></label>
        <span className="sub">{a && b ? `${changes} changed line${changes === 1 ? '' : 's'}` : 'pick two versions'}</span>
      </div>
      {a && b ? (
        <div className="diff" role="table" aria-label={`diff v${from} v${to}`}>
          <div className="diff-row diff-head" role="row"><span role="columnheader">v{from}</span><span role="columnheader">v{to}</span></div>
          {rows.map((r, i) => (
            <div key={i} className={`diff-row ${r.kind}`} role="row">
              <span role="cell" className={r.left === undefined ? 'blank' : r.kind === 'same' ? '' : 'del'}><i>{r.leftNo ?? ''}</i>{r.left ?? ''}</span>
              <span role="cell" className={r.right === undefined ? 'blank' : r.kind === 'same' ? '' : 'ins'}><i>{r.rightNo ?? ''}</i>{r.right ?? ''}</span>
            </div>
          ))}
        </div>
      ) : null}
    </section>
  );
}
