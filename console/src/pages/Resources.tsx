// Environments, vaults with their credentials, and files. Credentials show only what identifies
// them (name, kind, server URL, dates): secret fields are never read into the page.
import { useState } from 'react';
import { all, download, post, type Json } from '../api.ts';
import { useLoad } from '../hooks.ts';
import { when } from '../format.ts';

export function EnvironmentsPage() {
  const envs = useLoad(() => all<Json>('/v1/environments', { limit: 100 }, 10), []);
  return (
    <section>
      <div className="page-head"><h1>Environments</h1></div>
      {envs.error ? <p className="error-text" role="alert">{envs.error}</p> : null}
      <div className="table-wrap">
        <table className="list" aria-label="environments">
          <thead><tr><th>Name</th><th>Type</th><th>Networking</th><th>Packages</th><th>Created</th></tr></thead>
          <tbody>
            {(envs.data ?? []).map((e) => (
              <tr key={e.id}>
                <td data-label="Name">{e.name}<div className="sub mono">{e.id}</div></td>
                <td data-label="Type">{e.config?.type ?? '—'}</td>
                <td data-label="Networking">{e.config?.networking?.type ?? '—'}</td>
                <td data-label="Packages">{Object.entries(e.config?.packages ?? {}).filter(([k, v]) => k !== 'type' && Array.isArray(v) && v.length).map(([k, v]) => `${k}: ${(v as string[]).join(' ')}`).join('; ') || '—'}</td>
                <td data-label="Created">{when(e.created_at)}</td>
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
    target: String(c.auth?.mcp_server_url ?? c.auth?.url ?? c.auth?.host ?? ''),
    created: String(c.created_at ?? ''),
    archived: Boolean(c.archived_at),
  };
}

function Credentials({ vaultId }: { vaultId: string }) {
  const creds = useLoad(() => all<Json>(`/v1/vaults/${encodeURIComponent(vaultId)}/credentials`, { limit: 100 }, 5), [vaultId]);
  if (creds.error) return <p className="error-text">{creds.error}</p>;
  const list = (creds.data ?? []).map(credentialSummary);
  if (creds.data && !list.length) return <p className="sub">No credentials.</p>;
  return (
    <ul className="creds" aria-label={`credentials of ${vaultId}`}>
      {list.map((c) => (
        <li key={c.id}><b>{c.name || c.id}</b> <span className="tag">{c.kind}</span> <span className="mono">{c.target}</span> <span className="sub">{when(c.created)}{c.archived ? ' · archived' : ''} · secret not shown</span></li>
      ))}
    </ul>
  );
}

export function VaultsPage() {
  const vaults = useLoad(() => all<Json>('/v1/vaults', { limit: 100 }, 10), []);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <div className="page-head"><h1>Vaults</h1></div>
      {vaults.error ? <p className="error-text" role="alert">{vaults.error}</p> : null}
      <ul className="cards">
        {(vaults.data ?? []).map((v) => (
          <li key={v.id} className="card">
            <div className="page-head">
              <div><b>{v.display_name ?? v.id}</b><div className="sub mono">{v.id}</div></div>
              <button className="ghost" aria-expanded={open === v.id} onClick={() => setOpen(open === v.id ? null : v.id)}>Credentials</button>
            </div>
            {open === v.id ? <Credentials vaultId={v.id} /> : null}
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
