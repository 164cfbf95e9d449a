// Sign-in: the API key is checked with one API call, then kept in this tab's sessionStorage only.
import { useState } from 'react';
import { request, signIn } from '../api.ts';

export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await request('GET', '/v1/sessions?limit=1', undefined, key.trim());
      signIn(key.trim());
    } catch (err) {
      setError(String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} className="card">
        <h1>Hangar console</h1>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" autoFocus value={key} onChange={(e) => setKey(e.target.value)} placeholder="sk-…" />
        <button className="primary" disabled={busy || !key.trim()}>Sign in</button>
        {error ? <p className="error-text" role="alert">{error}</p> : null}
        <p className="sub">The key stays in this browser tab (session storage) and is sent only to this server.</p>
      </form>
    </main>
  );
}
