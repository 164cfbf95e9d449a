// Vault and credential domain rules without I/O: secrets split from wire objects, partial updates
// (immutable keys and types, kept vs replaced secrets, refresh settings), keys and redaction.
import { describe, expect, it } from 'vitest';
import {
  createCredential,
  credentialKey,
  normalizeServerUrl,
  redact,
  updateCredential,
  updateVault,
  createVault,
  type CredentialObject,
  type CredentialSecrets,
} from '../../src/domain/vaults.ts';
import { credentialCreateSchema, credentialUpdateSchema } from '../../src/protocol/vault-schemas.ts';
import { ApiError } from '../../src/protocol/errors.ts';

const NOW = '2026-06-01T00:00:00.000Z';
const LATER = '2026-06-01T01:00:00.000Z';

function make(auth: unknown): { credential: CredentialObject; secrets: CredentialSecrets } {
  return createCredential(credentialCreateSchema.parse({ auth }), { id: 'vcrd_1', vaultId: 'vlt_1', now: NOW });
}

function update(c: { credential: CredentialObject; secrets: CredentialSecrets }, body: unknown) {
  return updateCredential(c.credential, c.secrets, credentialUpdateSchema.parse(body), { now: LATER });
}

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

const oauth = {
  type: 'mcp_oauth',
  mcp_server_url: 'https://mcp.example.com/mcp',
  access_token: 'access-1',
  expires_at: LATER,
  refresh: { client_id: 'cid', refresh_token: 'refresh-1', token_endpoint: 'https://auth.example.com/token', token_endpoint_auth: { type: 'client_secret_basic', client_secret: 'cs-1' } },
};

describe('createCredential', () => {
  it('keeps every secret out of the wire object', () => {
    const c = make(oauth);
    expect(JSON.stringify(c.credential)).not.toMatch(/access-1|refresh-1|cs-1/);
    expect(c.secrets).toEqual({ type: 'mcp_oauth', access_token: 'access-1', refresh_token: 'refresh-1', client_secret: 'cs-1' });
    expect(c.credential.auth).toEqual({
      type: 'mcp_oauth', mcp_server_url: 'https://mcp.example.com/mcp', expires_at: LATER,
      refresh: { client_id: 'cid', token_endpoint: 'https://auth.example.com/token', token_endpoint_auth: { type: 'client_secret_basic' }, resource: null, scope: null },
    });
  });

  it('requires expires_at in the future', () => {
    expect(apiError(() => make({ ...oauth, expires_at: NOW })).message).toMatch(/expires_at: must be in the future/);
  });

  it('defaults injection to headers only and refuses turning both locations off', () => {
    const env = { type: 'environment_variable', secret_name: 'K', secret_value: 'v', networking: { type: 'unrestricted' } };
    expect(make(env).credential.auth).toMatchObject({ injection_location: { header: true, body: false } });
    expect(apiError(() => make({ ...env, injection_location: { header: false } })).status).toBe(400);
  });

  it('rejects URLs that are not absolute http(s) or carry userinfo', () => {
    for (const url of ['ftp://x.example.com', '/relative', 'https://user:pw@x.example.com/mcp']) {
      expect(credentialCreateSchema.safeParse({ auth: { type: 'static_bearer', mcp_server_url: url, token: 't' } }).success, url).toBe(false);
    }
  });
});

describe('updateCredential', () => {
  it('replaces given secrets and keeps omitted ones; an unchanged update changes nothing', () => {
    const c = make(oauth);
    const u = update(c, { auth: { type: 'mcp_oauth', access_token: 'access-2' } });
    expect(u.secrets).toEqual({ ...c.secrets, access_token: 'access-2' });
    expect(u.secretsChanged).toBe(true);
    expect(u.credential.updated_at).toBe(LATER);
    // A new access token without expires_at keeps the old expiry (SDK contract).
    expect(u.credential.auth).toMatchObject({ expires_at: LATER });
    const same = update(c, { auth: { type: 'mcp_oauth' }, metadata: {} });
    expect(same.changed).toBe(false);
    expect(same.credential).toBe(c.credential);
  });

  it('rejects a type change and a changed key, accepts the same key repeated', () => {
    const c = make({ type: 'static_bearer', mcp_server_url: 'https://a.example.com/mcp', token: 't' });
    expect(apiError(() => update(c, { auth: { type: 'mcp_oauth', access_token: 'x' } })).message).toMatch(/type cannot change/);
    expect(apiError(() => update(c, { auth: { type: 'static_bearer', mcp_server_url: 'https://b.example.com/mcp' } })).message).toMatch(/mcp_server_url: cannot be changed/);
    expect(update(c, { auth: { type: 'static_bearer', mcp_server_url: 'https://A.example.com/mcp' } }).changed).toBe(false);
  });

  it('updates refresh settings: secret kept or replaced, scope cleared by "", auth type fixed, removable with null', () => {
    const c = make({ ...oauth, refresh: { ...oauth.refresh, scope: 'a b' } });
    const u = update(c, { auth: { type: 'mcp_oauth', refresh: { scope: '', token_endpoint_auth: { type: 'client_secret_basic', client_secret: 'cs-2' } } } });
    expect(u.secrets).toMatchObject({ refresh_token: 'refresh-1', client_secret: 'cs-2' });
    expect(u.credential.auth).toMatchObject({ refresh: { scope: null } });
    expect(apiError(() => update(c, { auth: { type: 'mcp_oauth', refresh: { token_endpoint_auth: { type: 'client_secret_post' } } } })).message)
      .toMatch(/cannot change from "client_secret_basic"/);
    expect(apiError(() => update(c, { auth: { type: 'mcp_oauth', refresh: { client_id: 'other' } } })).message).toMatch(/client_id/);
    const removed = update(c, { auth: { type: 'mcp_oauth', refresh: null } });
    expect(removed.credential.auth).toMatchObject({ refresh: null });
    expect(removed.secrets).toMatchObject({ refresh_token: null, client_secret: null, access_token: 'access-1' });
    const plain = make({ type: 'mcp_oauth', mcp_server_url: 'https://x.example.com', access_token: 'a' });
    expect(apiError(() => update(plain, { auth: { type: 'mcp_oauth', refresh: { refresh_token: 'r' } } })).message).toMatch(/no refresh configuration/);
  });

  it('rejects updates to an archived credential', () => {
    const c = make({ type: 'static_bearer', mcp_server_url: 'https://a.example.com/mcp', token: 't' });
    const archived = { ...c, credential: { ...c.credential, archived_at: LATER } };
    expect(apiError(() => update(archived, { display_name: 'x' })).status).toBe(400);
  });
});

describe('vaults', () => {
  it('update patches metadata, keeps display_name on null and refuses archived vaults', () => {
    const v = createVault({ display_name: 'v', metadata: { a: '1' } }, { id: 'vlt_1', now: NOW });
    const u = updateVault(v, { display_name: null, metadata: { a: null, b: '2' } }, { now: LATER });
    expect(u.vault).toMatchObject({ display_name: 'v', metadata: { b: '2' }, updated_at: LATER });
    expect(apiError(() => updateVault({ ...v, archived_at: NOW }, { display_name: 'w' }, { now: LATER })).message).toMatch(/archived/);
  });
});

describe('keys and redaction', () => {
  it('normalizes MCP URLs only as far as URL serialization goes', () => {
    expect(normalizeServerUrl('HTTPS://Example.COM:443')).toBe('https://example.com/');
    expect(normalizeServerUrl('https://example.com/mcp/')).not.toBe(normalizeServerUrl('https://example.com/mcp'));
    expect(credentialKey({ type: 'static_bearer', mcp_server_url: 'https://EXAMPLE.com/mcp' })).toBe('mcp:https://example.com/mcp');
    expect(credentialKey({ type: 'environment_variable', secret_name: 'K', networking: { type: 'unrestricted' }, injection_location: { body: false, header: true } })).toBe('env:K');
  });

  it('redacts known secrets and conventional secret fields', () => {
    const text = '{"access_token":"abc\\"def","note":"token supersecret here","expires_in":3600}';
    const out = redact(text, ['supersecret']);
    expect(out).toBe('{"access_token":"[redacted]","note":"token [redacted] here","expires_in":3600}');
  });
});
