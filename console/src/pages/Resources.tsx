// Environments (create with networking, archive), vaults with their credentials (create, rotate,
// archive), and files. Credentials show only what identifies them (name, kind, server URL or
// variable name, dates): secret fields are never read into the page, and the secret inputs are
// uncontrolled password fields read once at submit and reset after, so no secret stays in the DOM.
import { useState } from 'react';
import { all, download, post, type Json } from '../api.ts';
import { useLoad, useQuery } from '../hooks.ts';
import { when } from '../format.ts';

export const PACKAGE_MANAGERS = ['apt', 'pip', 'npm', 'cargo', 'gem', 'go'] as const;
export interface EnvironmentFields { name: string; description: string; type: string; networking: string; hosts: string; mcp: boolean; packages: boolean; pkgs: Record<string, string> }

const words = (s: string) => s.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean);

/** The create body for an environment from the form's fields: a cloud one's networking and packages, or self-hosted. */
export function environmentBody(f: EnvironmentFields): Json {
  const body: Json = { name: f.name.trim() };
  if (f.description.trim()) body.description = f.description.trim();
  if (f.type === 'self_hosted') {
    body.config = { type: 'self_hosted' };
    return body;
  }
  const networking: Json = f.networking === 'limited'
    ? { type: 'limited', allowed_hosts: words(f.hosts), allow_mcp_servers: f.mcp, allow_package_managers: f.packages }
    : { type: 'unrestricted' };
  const config: Json = { type: 'cloud', networking };
  const packages = Object.fromEntries(PACKAGE_MANAGERS.map((m) => [m, words(f.pkgs[m] ?? '')]).filter(([, l]) => l.length));
  if (Object.keys(packages).length) config.packages = { type: 'packages', ...packages };
  body.config = config;
  return body;
}

function networkingText(n: Json | undefined): string {
  if (!n?.type) return '—';
  if (n.type !== 'limited') return n.type;
  const extra = [n.allow_mcp_servers ? 'MCP servers' : '', n.allow_package_managers ? 'package managers' : ''].filter(Boolean);
  return `limited: ${(n.allowed_hosts ?? []).join(', ') || 'no hosts'}${extra.length ? ` + ${extra.join(', ')}` : ''}`;
}

function EnvironmentForm({ onDone, onCancel }: { onDone(): void; onCancel(): void }) {
  const [f, setF] = useState<EnvironmentFields>({ name: '', description: '', type: 'cloud', networking: 'unrestricted', hosts: '', mcp: false, packages: false, pkgs: {} });
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof EnvironmentFields, v: string | boolean) => setF((x) => ({ ...x, [k]: v }));
  const setPkg = (m: string, v: string) => setF((x) => ({ ...x, pkgs: { ...x.pkgs, [m]: v } }));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await post('/v1/environments', environmentBody(f));
      onDone();
    } catch (err) {
      setError(String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card form" aria-label="new environment" onSubmit={submit}>
      <label>Name <input required value={f.name} onChange={(e) => set('name', e.target.value)} /></label>
      <label>Description <input value={f.description} onChange={(e) => set('description', e.target.value)} /></label>
      <label>Type <select value={f.type} onChange={(e) => set('type', e.target.value)}>
        <option value="cloud">cloud (Hangar's sandbox)</option>
        <option value="self_hosted">self-hosted (your workers)</option>
      </select></label>
      {f.type === 'cloud' ? <label>Networking <select value={f.networking} onChange={(e) => set('networking', e.target.value)}>
        <option value="unrestricted">unrestricted</option>
        <option value="limited">limited</option>
      </select></label> : null}
      {f.type === 'cloud' ? (
        <fieldset>
          <legend>Packages (space or comma separated)</legend>
          <div className="tools-grid">
            {PACKAGE_MANAGERS.map((m) => <label key={m}>{m} <input value={f.pkgs[m] ?? ''} onChange={(e) => setPkg(m, e.target.value)} /></label>)}
          </div>
        </fieldset>
      ) : null}
      {f.type === 'cloud' && f.networking === 'limited' ? (
        <>
          <label>Allowed hosts <textarea rows={3} placeholder="one host per line" value={f.hosts} onChange={(e) => set('hosts', e.target.value)} /></label>
          <label className="check"><input type="checkbox" checked={f.mcp} onChange={(e) => set('mcp', e.target.checked)} /> allow MCP servers</label>
          <label className="check"><input type="checkbox" checked={f.packages} onChange={(e) => set('packages', e.target.checked)} /> allow package managers</label>
        </>
      ) : null}
      <div className="actions">
        <button className="primary" type="submit" disabled={busy}>Create environment</button>
        <button className="ghost" type="button" onClick={onCancel}>Cancel</button>
        {error ? <span className="error-text" role="alert">{error}</span> : null}
      </div>
    </form>
  );
}

export function EnvironmentsPage() {
  const [q, setQ] = useQuery();
  const archived = q.get('archived') === '1';
  const envs = useLoad(() => all<Json>('/v1/environments', { limit: 100, include_archived: archived ? 'true' : undefined }, 10), [archived]);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState('');
  const archive = (e: Json) => {
    if (!window.confirm(`Archive environment ${e.name}? New sessions cannot use it.`)) return;
    setError('');
    post(`/v1/environments/${encodeURIComponent(e.id)}/archive`).then(() => envs.reload(), (err) => setError(String(err.message)));
  };
  return (
    <section>
      <div className="page-head"><h1>Environments</h1>{creating ? null : <button onClick={() => setCreating(true)}>New environment</button>}</div>
      {creating ? <EnvironmentForm onCancel={() => setCreating(false)} onDone={() => { setCreating(false); envs.reload(); }} /> : null}
      <div className="filters"><label className="check"><input type="checkbox" checked={archived} onChange={(e) => setQ({ archived: e.target.checked ? '1' : undefined })} /> archived too</label></div>
      {envs.error || error ? <p className="error-text" role="alert">{envs.error || error}</p> : null}
      <div className="table-wrap">
        <table className="list" aria-label="environments">
          <thead><tr><th>Name</th><th>Type</th><th>Networking</th><th>Packages</th><th>Created</th><th></th></tr></thead>
          <tbody>
            {(envs.data ?? []).map((e) => (
              <tr key={e.id} data-env={e.name}>
                <td data-label="Name">{e.name}<div className="sub mono">{e.id}</div></td>
                <td data-label="Type">{e.config?.type ?? '—'}</td>
                <td data-label="Networking">{networkingText(e.config?.networking)}</td>
                <td data-label="Packages">{Object.entries(e.config?.packages ?? {}).filter(([k, v]) => k !== 'type' && Array.isArray(v) && v.length).map(([k, v]) => `${k}: ${(v as string[]).join(' ')}`).join('; ') || '—'}</td>
                <td data-label="Created">{when(e.created_at)}</td>
                <td>{e.archived_at ? <span className="tag">archived</span> : <button className="danger small" aria-label={`archive environment ${e.name}`} onClick={() => archive(e)}>Archive</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {envs.data && envs.data.length === 0 ? <p className="empty">No environments yet.</p> : null}
    </section>
  );
}

/** The fields of a credential the console shows; everything else (tokens, secrets) is dropped. */
export function credentialSummary(c: Json): { id: string; name: string; kind: string; target: string; created: string; archived: boolean } {
  return {
    id: String(c.id),
    name: String(c.display_name ?? ''),
    kind: String(c.auth?.type ?? c.type ?? ''),
    target: String(c.auth?.mcp_server_url ?? c.auth?.secret_name ?? c.auth?.url ?? c.auth?.host ?? ''),
    created: String(c.created_at ?? ''),
    archived: Boolean(c.archived_at),
  };
}

/** The secret field of each credential kind (what a rotation replaces). */
export const SECRET_FIELD: Record<string, string> = { static_bearer: 'token', environment_variable: 'secret_value', mcp_oauth: 'access_token' };

/**
 * The create body for a credential. The secret comes from an uncontrolled password input read once
 * at submit (React never writes it into a `value` attribute), and the form is reset right after.
 */
export function credentialBody(kind: string, fields: { name: string; target: string; secret: string }): Json {
  const auth: Json = kind === 'environment_variable'
    ? { type: 'environment_variable', secret_name: fields.target.trim(), secret_value: fields.secret, networking: { type: 'unrestricted' } }
    : { type: 'static_bearer', mcp_server_url: fields.target.trim(), token: fields.secret };
  const body: Json = { auth };
  if (fields.name.trim()) body.display_name = fields.name.trim();
  return body;
}

function fieldOf(form: HTMLFormElement, name: string): string {
  return String(new FormData(form).get(name) ?? '');
}

function CredentialForm({ vaultId, onDone }: { vaultId: string; onDone(): void }) {
  const [kind, setKind] = useState('static_bearer');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const body = credentialBody(kind, { name: fieldOf(form, 'display_name'), target: fieldOf(form, 'target'), secret: fieldOf(form, 'secret') });
    setBusy(true);
    setError('');
    try {
      await post(`/v1/vaults/${encodeURIComponent(vaultId)}/credentials`, body);
      form.reset();
      onDone();
    } catch (err) {
      setError(String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" aria-label="new credential" onSubmit={submit} autoComplete="off">
      <h3>Add a credential</h3>
      <label>Kind <select value={kind} onChange={(e) => setKind(e.target.value)}>
        <option value="static_bearer">MCP bearer token</option>
        <option value="environment_variable">environment variable</option>
      </select></label>
      <label>Credential name <input name="display_name" /></label>
      <label>{kind === 'environment_variable' ? 'Variable name' : 'MCP server URL'} <input name="target" required /></label>
      <label>{kind === 'environment_variable' ? 'Secret value' : 'Token'} (write-only) <input name="secret" type="password" required autoComplete="new-password" /></label>
      <div className="actions">
        <button className="primary" type="submit" disabled={busy}>Add credential</button>
        {error ? <span className="error-text" role="alert">{error}</span> : null}
      </div>
    </form>
  );
}

function RotateForm({ vaultId, cred, onDone }: { vaultId: string; cred: { id: string; kind: string; name: string }; onDone(): void }) {
  const [error, setError] = useState('');
  const field = SECRET_FIELD[cred.kind];
  if (!field) return <p className="sub">This kind cannot be rotated here.</p>;
  const submit = async (e: React.FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const secret = fieldOf(form, 'secret');
    setError('');
    try {
      await post(`/v1/vaults/${encodeURIComponent(vaultId)}/credentials/${encodeURIComponent(cred.id)}`, { auth: { type: cred.kind, [field]: secret } });
      form.reset();
      onDone();
    } catch (err) {
      setError(String((err as Error).message));
    }
  };
  return (
    <form className="actions" aria-label={`rotate ${cred.name || cred.id}`} onSubmit={submit} autoComplete="off">
      <label>New secret (write-only) <input name="secret" type="password" required autoComplete="new-password" /></label>
      <button className="primary small" type="submit">Save new secret</button>
      {error ? <span className="error-text" role="alert">{error}</span> : null}
    </form>
  );
}

function Credentials({ vaultId, vaultArchived }: { vaultId: string; vaultArchived: boolean }) {
  const creds = useLoad(() => all<Json>(`/v1/vaults/${encodeURIComponent(vaultId)}/credentials`, { limit: 100 }, 5), [vaultId]);
  const [rotating, setRotating] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const list = (creds.data ?? []).map(credentialSummary);
  const archive = (c: { id: string; name: string }) => {
    if (!window.confirm(`Archive credential ${c.name || c.id}? Its secret is discarded.`)) return;
    setError('');
    post(`/v1/vaults/${encodeURIComponent(vaultId)}/credentials/${encodeURIComponent(c.id)}/archive`).then(() => creds.reload(), (e) => setError(String(e.message)));
  };
  return (
    <div>
      {creds.error || error ? <p className="error-text" role="alert">{creds.error || error}</p> : null}
      {note ? <p className="sub" role="status">{note}</p> : null}
      {creds.data && !list.length ? <p className="sub">No credentials.</p> : null}
      <ul className="creds" aria-label={`credentials of ${vaultId}`}>
        {list.map((c) => (
          <li key={c.id} data-credential={c.name || c.id}>
            <b>{c.name || c.id}</b> <span className="tag">{c.kind}</span> <span className="mono">{c.target}</span> <span className="sub">{when(c.created)}{c.archived ? ' · archived' : ''} · secret not shown</span>
            {c.archived || vaultArchived ? null : (
              <span className="actions">
                <button className="ghost small" aria-expanded={rotating === c.id} onClick={() => setRotating(rotating === c.id ? null : c.id)}>Rotate</button>
                <button className="danger small" onClick={() => archive(c)}>Archive credential</button>
              </span>
            )}
            {rotating === c.id ? <RotateForm vaultId={vaultId} cred={c} onDone={() => { setRotating(null); setNote(`Secret of ${c.name || c.id} replaced.`); creds.reload(); }} /> : null}
          </li>
        ))}
      </ul>
      {vaultArchived ? null : <CredentialForm vaultId={vaultId} onDone={() => { setNote('Credential added.'); creds.reload(); }} />}
    </div>
  );
}

export function VaultsPage() {
  const [q, setQ] = useQuery();
  const archived = q.get('archived') === '1';
  const vaults = useLoad(() => all<Json>('/v1/vaults', { limit: 100, include_archived: archived ? 'true' : undefined }, 10), [archived]);
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      const v = await post('/v1/vaults', { display_name: name.trim() });
      setCreating(false);
      setName('');
      setOpen(v.id);
      vaults.reload();
    } catch (err) {
      setError(String((err as Error).message));
    }
  };
  const archive = (v: Json) => {
    if (!window.confirm(`Archive vault ${v.display_name ?? v.id}? Its credentials' secrets are discarded.`)) return;
    setError('');
    post(`/v1/vaults/${encodeURIComponent(v.id)}/archive`).then(() => vaults.reload(), (err) => setError(String(err.message)));
  };
  return (
    <section>
      <div className="page-head"><h1>Vaults</h1>{creating ? null : <button onClick={() => setCreating(true)}>New vault</button>}</div>
      {creating ? (
        <form className="card actions" aria-label="new vault" onSubmit={create}>
          <label>Vault name <input required value={name} onChange={(e) => setName(e.target.value)} /></label>
          <button className="primary" type="submit">Create vault</button>
          <button className="ghost" type="button" onClick={() => setCreating(false)}>Cancel</button>
        </form>
      ) : null}
      <div className="filters"><label className="check"><input type="checkbox" checked={archived} onChange={(e) => setQ({ archived: e.target.checked ? '1' : undefined })} /> archived too</label></div>
      {vaults.error || error ? <p className="error-text" role="alert">{vaults.error || error}</p> : null}
      <ul className="cards">
        {(vaults.data ?? []).map((v) => (
          <li key={v.id} className="card" data-vault={v.display_name ?? v.id}>
            <div className="page-head">
              <div><b>{v.display_name ?? v.id}</b>{v.archived_at ? <span className="tag">archived</span> : null}<div className="sub mono">{v.id}</div></div>
              <div className="actions">
                <button className="ghost" aria-expanded={open === v.id} onClick={() => setOpen(open === v.id ? null : v.id)}>Credentials</button>
                {v.archived_at ? null : <button className="danger" onClick={() => archive(v)}>Archive vault</button>}
              </div>
            </div>
            {open === v.id ? <Credentials vaultId={v.id} vaultArchived={Boolean(v.archived_at)} /> : null}
          </li>
        ))}
      </ul>
      {vaults.data && vaults.data.length === 0 ? <p className="empty">No vaults yet.</p> : null}
    </section>
  );
}

export function FilesPage() {
  const files = useLoad(() => all<Json>('/v1/files', { limit: 100 }, 10), []);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const upload = async (e: React.ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    const form = new FormData();
    form.append('file', file, file.name);
    setBusy(true);
    setError('');
    try {
      await post('/v1/files', form);
      files.reload();
    } catch (err) {
      setError(String((err as Error).message));
    } finally {
      setBusy(false);
      e.target.value = '';
    }
  };
  return (
    <section>
      <div className="page-head">
        <h1>Files</h1>
        <label className="button">Upload<input type="file" className="hidden-input" aria-label="upload file" disabled={busy} onChange={upload} /></label>
      </div>
      {error || files.error ? <p className="error-text" role="alert">{error || files.error}</p> : null}
      <div className="table-wrap">
        <table className="list" aria-label="files">
          <thead><tr><th>Name</th><th>Type</th><th>Size</th><th>Created</th><th></th></tr></thead>
          <tbody>
            {(files.data ?? []).map((f) => (
              <tr key={f.id}>
                <td data-label="Name">{f.filename}<div className="sub mono">{f.id}</div></td>
                <td data-label="Type">{f.mime_type}</td>
                <td data-label="Size">{Number(f.size_bytes ?? 0).toLocaleString()} B</td>
                <td data-label="Created">{when(f.created_at)}</td>
                <td>{f.downloadable === false ? <span className="sub">not downloadable</span> : <button className="ghost small" onClick={() => download(f.id, f.filename).catch((e) => setError(String(e.message)))}>Download</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {files.data && files.data.length === 0 ? <p className="empty">No files yet.</p> : null}
    </section>
  );
}
