// Vaults and credentials driven through the official SDK against a live Hangar: CRUD for every
// credential type, key uniqueness and limits, immutable keys and types, archive purging secrets,
// mcp_oauth_validate against a local MCP-like server and token endpoint (each client auth type),
// and the at-rest guarantees: no secret in any response, in the database file or its WAL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startHangar, storedBytes, testStore, type TestHangar } from '../kit/hangar.ts';
import { rejection } from './helpers.ts';

type Credential = Anthropic.Beta.Vaults.BetaManagedAgentsCredential;

let h: TestHangar;
let client: Anthropic;
/** Every response body the SDK received in this file. */
const responses: string[] = [];
/** Every secret value sent to Hangar in this file. */
const secrets: string[] = [];
/** Every log line the server wrote (at trace level). */
const logLines: string[] = [];
let mcp: McpLike;
let tokens: TokenEndpoint;

const secret = (label: string) => {
  const s = `${label}-${randomBytes(12).toString('hex')}`;
  secrets.push(s);
  return s;
};

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHangar({ overrides: { logger: pino({ level: 'trace' }, sink) } });
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    responses.push(await res.clone().text());
    return res;
  };
  client = new Anthropic({ baseURL: h.url, apiKey: h.apiKey, maxRetries: 0, fetch: recordingFetch });
  mcp = await startMcpLike();
  tokens = await startTokenEndpoint();
});

afterAll(async () => {
  await h?.close();
  await mcp?.close();
  await tokens?.close();
});

const newVault = (name = 'team vault') => client.beta.vaults.create({ display_name: name });

async function listCredentialIds(vaultId: string, params: Anthropic.Beta.Vaults.CredentialListParams = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const c of client.beta.vaults.credentials.list(vaultId, params)) ids.push(c.id);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Local servers: an MCP-like endpoint that accepts a set of bearer tokens, and a token endpoint.

interface McpLike {
  url: string;
  valid: Set<string>;
  requests: Array<{ method: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function startMcpLike(): Promise<McpLike> {
  const valid = new Set<string>();
  const requests: McpLike['requests'] = [];
  const server = createServer(async (req, res) => {
    await readBody(req);
    requests.push({ method: req.method ?? '', authorization: req.headers.authorization });
    const presented = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (req.url === '/broken') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
      return;
    }
    if (!valid.has(presented)) {
      // A careless server that echoes the token it refused: validation must scrub it.
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' })
        .end(JSON.stringify({ error: 'invalid_token', presented }));
      return;
    }
    if (req.method === 'DELETE') {
      res.writeHead(200).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'probe-session' })
      .end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'mcp-like', version: '1' } } }));
  });
  const url = `${await listen(server)}/mcp`;
  return { url, valid, requests, close: () => new Promise((r) => server.close(() => r())) };
}

interface TokenRequest {
  authorization: string | undefined;
  form: Record<string, string>;
}

interface TokenEndpoint {
  url: string;
  requests: TokenRequest[];
  /** Decides the response; default: 400 invalid_grant. */
  respond: (r: TokenRequest) => { status: number; body: unknown };
  close(): Promise<void>;
}

async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const ep: TokenEndpoint = {
    url: '',
    requests: [],
    respond: () => ({ status: 400, body: { error: 'invalid_grant' } }),
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const r = { authorization: req.headers.authorization, form };
    ep.requests.push(r);
    const out = ep.respond(r);
    res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
  });
  ep.url = `${await listen(server)}/oauth/token`;
  ep.close = () => new Promise((r) => server.close(() => r()));
  return ep;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

// ---------------------------------------------------------------------------------------------

describe('vaults over the SDK', () => {
  it('creates, retrieves, updates, lists, archives and deletes a vault', async () => {
    const v = await client.beta.vaults.create({ display_name: 'Alice', metadata: { team: 'core', drop: 'me' } });
    expect(v.id).toMatch(/^vlt_/);
    expect(v).toMatchObject({ type: 'vault', display_name: 'Alice', metadata: { team: 'core', drop: 'me' }, archived_at: null });
    expect(await client.beta.vaults.retrieve(v.id)).toEqual(v);

    const u = await client.beta.vaults.update(v.id, { display_name: 'Alice (prod)', metadata: { drop: null, env: 'prod' } });
    expect(u).toMatchObject({ display_name: 'Alice (prod)', metadata: { team: 'core', env: 'prod' } });
    expect(u.metadata).not.toHaveProperty('drop');

    const ids: string[] = [];
    for await (const x of client.beta.vaults.list()) ids.push(x.id);
    expect(ids).toContain(v.id);

    const archived = await client.beta.vaults.archive(v.id);
    expect(archived.archived_at).not.toBeNull();
    expect((await client.beta.vaults.archive(v.id)).archived_at).toBe(archived.archived_at);
    const live: string[] = [];
    for await (const x of client.beta.vaults.list()) live.push(x.id);
    expect(live).not.toContain(v.id);
    const all: string[] = [];
    for await (const x of client.beta.vaults.list({ include_archived: true })) all.push(x.id);
    expect(all).toContain(v.id);
    expect(await rejection(client.beta.vaults.update(v.id, { display_name: 'nope' }))).toBeInstanceOf(Anthropic.BadRequestError);

    expect(await client.beta.vaults.delete(v.id)).toEqual({ id: v.id, type: 'vault_deleted' });
    expect(await rejection(client.beta.vaults.retrieve(v.id))).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('rejects a missing display_name and unknown vault ids', async () => {
    expect(await rejection(client.beta.vaults.create({} as never))).toBeInstanceOf(Anthropic.BadRequestError);
    expect(await rejection(client.beta.vaults.retrieve('vlt_doesnotexist'))).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await rejection(client.beta.vaults.credentials.list('vlt_doesnotexist').then((p) => p.data))).toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('credentials over the SDK', () => {
  it('static_bearer: create, retrieve, replace the token, archive, delete — the token never comes back', async () => {
    const v = await newVault();
    const token = secret('static');
    const c = await client.beta.vaults.credentials.create(v.id, {
      display_name: 'Linear', metadata: { owner: 'ops' }, auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.linear.app/mcp', token },
    });
    expect(c.id).toMatch(/^vcrd_/);
    expect(c).toEqual({
      type: 'vault_credential', id: c.id, vault_id: v.id, display_name: 'Linear', metadata: { owner: 'ops' },
      auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.linear.app/mcp' },
      created_at: c.created_at, updated_at: c.updated_at, archived_at: null,
    });
    expect(await client.beta.vaults.credentials.retrieve(c.id, { vault_id: v.id })).toEqual(c);

    const updated = await client.beta.vaults.credentials.update(c.id, { vault_id: v.id, auth: { type: 'static_bearer', token: secret('static2') }, display_name: null });
    expect(updated.auth).toEqual(c.auth);
    expect(updated.display_name).toBeNull();
    expect(await listCredentialIds(v.id)).toEqual([c.id]);

    const archived = await client.beta.vaults.credentials.archive(c.id, { vault_id: v.id });
    expect(archived.archived_at).not.toBeNull();
    expect(await listCredentialIds(v.id)).toEqual([]);
    expect(await listCredentialIds(v.id, { include_archived: true })).toEqual([c.id]);
    expect(await rejection(client.beta.vaults.credentials.update(c.id, { vault_id: v.id, display_name: 'x' }))).toBeInstanceOf(Anthropic.BadRequestError);

    expect(await client.beta.vaults.credentials.delete(c.id, { vault_id: v.id })).toEqual({ id: c.id, type: 'vault_credential_deleted' });
    expect(await rejection(client.beta.vaults.credentials.retrieve(c.id, { vault_id: v.id }))).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('mcp_oauth: shows expiry and refresh settings but no token, refresh token or client secret', async () => {
    const v = await newVault();
    const expires = inAnHour();
    const c = await client.beta.vaults.credentials.create(v.id, {
      auth: {
        type: 'mcp_oauth', mcp_server_url: 'https://mcp.example.com/mcp', access_token: secret('access'), expires_at: expires,
        refresh: {
          client_id: 'client-1', refresh_token: secret('refresh'), token_endpoint: 'https://auth.example.com/token',
          token_endpoint_auth: { type: 'client_secret_post', client_secret: secret('client-secret') }, scope: 'read write',
        },
      },
    });
    expect(c.auth).toEqual({
      type: 'mcp_oauth', mcp_server_url: 'https://mcp.example.com/mcp', expires_at: expires,
      refresh: { client_id: 'client-1', token_endpoint: 'https://auth.example.com/token', token_endpoint_auth: { type: 'client_secret_post' }, resource: null, scope: 'read write' },
    });
    expect(c.display_name).toBeNull();

    const u = await client.beta.vaults.credentials.update(c.id, {
      vault_id: v.id,
      auth: { type: 'mcp_oauth', access_token: secret('access2'), refresh: { scope: '', refresh_token: secret('refresh2'), token_endpoint_auth: { type: 'client_secret_post', client_secret: secret('cs2') } } },
    });
    expect(u.auth).toMatchObject({ expires_at: expires, refresh: { scope: null, client_id: 'client-1' } });

    const e = await rejection(client.beta.vaults.credentials.update(c.id, {
      vault_id: v.id, auth: { type: 'mcp_oauth', refresh: { token_endpoint_auth: { type: 'client_secret_basic', client_secret: 'x-should-not-matter' } } },
    }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect(e.message).toMatch(/token_endpoint_auth/);

    const noRefresh = await client.beta.vaults.credentials.update(c.id, { vault_id: v.id, auth: { type: 'mcp_oauth', refresh: null, expires_at: null } });
    expect(noRefresh.auth).toMatchObject({ expires_at: null, refresh: null });

    expect(await rejection(client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: 'https://other.example.com/mcp', access_token: secret('a'), expires_at: '2001-01-01T00:00:00Z' },
    }))).toBeInstanceOf(Anthropic.BadRequestError);

    await client.beta.vaults.credentials.archive(c.id, { vault_id: v.id });
    expect(await client.beta.vaults.credentials.delete(c.id, { vault_id: v.id })).toMatchObject({ type: 'vault_credential_deleted' });
  });

  it('environment_variable: stores networking and injection location; networking replaces, injection merges', async () => {
    const v = await newVault();
    const c = await client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'environment_variable', secret_name: 'STRIPE_KEY', secret_value: secret('sk_live'), networking: { type: 'limited', allowed_hosts: ['api.stripe.com', '*.Stripe.com', '192.0.2.1'] } },
    });
    expect(c.auth).toEqual({
      type: 'environment_variable', secret_name: 'STRIPE_KEY',
      networking: { type: 'limited', allowed_hosts: ['api.stripe.com', '*.stripe.com', '192.0.2.1'] },
      injection_location: { header: true, body: false },
    });
    const u = await client.beta.vaults.credentials.update(c.id, {
      vault_id: v.id, auth: { type: 'environment_variable', secret_value: secret('sk_live2'), networking: { type: 'unrestricted' }, injection_location: { body: true } },
    });
    expect(u.auth).toEqual({ type: 'environment_variable', secret_name: 'STRIPE_KEY', networking: { type: 'unrestricted' }, injection_location: { header: true, body: true } });
    expect(await rejection(client.beta.vaults.credentials.update(c.id, {
      vault_id: v.id, auth: { type: 'environment_variable', injection_location: { body: false, header: false } },
    }))).toBeInstanceOf(Anthropic.BadRequestError);

    for (const bad of [['https://api.stripe.com'], ['api.stripe.com:443'], ['::1'], []]) {
      const e = await rejection(client.beta.vaults.credentials.create(v.id, {
        auth: { type: 'environment_variable', secret_name: 'OTHER', secret_value: 'v', networking: { type: 'limited', allowed_hosts: bad } },
      }));
      expect(e, JSON.stringify(bad)).toBeInstanceOf(Anthropic.BadRequestError);
    }
    expect(await rejection(client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'environment_variable', secret_name: '1BAD', secret_value: 'v', networking: { type: 'unrestricted' } },
    }))).toBeInstanceOf(Anthropic.BadRequestError);

    await client.beta.vaults.credentials.archive(c.id, { vault_id: v.id });
    await client.beta.vaults.credentials.delete(c.id, { vault_id: v.id });
  });

  it('rejects a duplicate key among active credentials with 409 and x-should-retry: false; archived keys are free again', async () => {
    const v = await newVault();
    const url = 'https://dup.example.com/mcp';
    const first = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: url, token: secret('t') } });
    // The key is the URL whatever the MCP type; host case and a default port do not make it different.
    for (const auth of [
      { type: 'static_bearer' as const, mcp_server_url: url, token: 'x1x1x1' },
      { type: 'mcp_oauth' as const, mcp_server_url: 'https://DUP.example.com:443/mcp', access_token: 'x2x2x2' },
    ]) {
      const e = await rejection(client.beta.vaults.credentials.create(v.id, { auth }));
      expect(e).toBeInstanceOf(Anthropic.ConflictError);
      expect(e.headers?.get('x-should-retry')).toBe('false');
    }
    await client.beta.vaults.credentials.create(v.id, { auth: { type: 'environment_variable', secret_name: 'TOKEN', secret_value: secret('v'), networking: { type: 'unrestricted' } } });
    const dupEnv = await rejection(client.beta.vaults.credentials.create(v.id, { auth: { type: 'environment_variable', secret_name: 'TOKEN', secret_value: 'x3x3x3', networking: { type: 'unrestricted' } } }));
    expect(dupEnv).toBeInstanceOf(Anthropic.ConflictError);

    // Another vault may hold the same key.
    const other = await newVault();
    await client.beta.vaults.credentials.create(other.id, { auth: { type: 'static_bearer', mcp_server_url: url, token: secret('t') } });

    await client.beta.vaults.credentials.archive(first.id, { vault_id: v.id });
    const again = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: url, token: secret('t') } });
    expect(again.id).not.toBe(first.id);
  });

  it('keeps the key and the type immutable on update', async () => {
    const v = await newVault();
    const c = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://immutable.example.com/mcp', token: secret('t') } });
    const typeChange = await rejection(client.beta.vaults.credentials.update(c.id, { vault_id: v.id, auth: { type: 'mcp_oauth', access_token: 'x4x4x4' } }));
    expect(typeChange).toBeInstanceOf(Anthropic.BadRequestError);
    expect(typeChange.message).toMatch(/type/);
    const keyChange = await rejection(client.beta.vaults.credentials.update(c.id, {
      vault_id: v.id, auth: { type: 'static_bearer', mcp_server_url: 'https://elsewhere.example.com/mcp' } as never,
    }));
    expect(keyChange).toBeInstanceOf(Anthropic.BadRequestError);
    expect(keyChange.message).toMatch(/mcp_server_url/);
    // Repeating the stored key is fine.
    await client.beta.vaults.credentials.update(c.id, { vault_id: v.id, auth: { type: 'static_bearer', mcp_server_url: 'https://immutable.example.com/mcp' } as never });

    const e = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'environment_variable', secret_name: 'A', secret_value: secret('v'), networking: { type: 'unrestricted' } } });
    const nameChange = await rejection(client.beta.vaults.credentials.update(e.id, { vault_id: v.id, auth: { type: 'environment_variable', secret_name: 'B' } as never }));
    expect(nameChange).toBeInstanceOf(Anthropic.BadRequestError);
    expect(nameChange.message).toMatch(/secret_name/);
  });

  it('allows at most 20 active credentials per vault (400 beyond), counting only active ones', async () => {
    const v = await newVault();
    const made: Credential[] = [];
    for (let i = 0; i < 20; i++) {
      made.push(await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: `https://s${i}.example.com/mcp`, token: secret('t') } }));
    }
    const e = await rejection(client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://s20.example.com/mcp', token: 'x5x5x5' } }));
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect(e.message).toMatch(/20/);
    await client.beta.vaults.credentials.archive(made[0].id, { vault_id: v.id });
    await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://s20.example.com/mcp', token: secret('t') } });
    expect((await listCredentialIds(v.id)).length).toBe(20);
  });

  it('returns 404 for a credential addressed through another vault, and 400 for credentials in an archived vault', async () => {
    const a = await newVault();
    const b = await newVault();
    const c = await client.beta.vaults.credentials.create(a.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://x.example.com/mcp', token: secret('t') } });
    expect(await rejection(client.beta.vaults.credentials.retrieve(c.id, { vault_id: b.id }))).toBeInstanceOf(Anthropic.NotFoundError);
    await client.beta.vaults.archive(b.id);
    expect(await rejection(client.beta.vaults.credentials.create(b.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://x.example.com/mcp', token: 'x6x6x6' } })))
      .toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('archiving a vault archives its credentials and purges their ciphertext; deleting it removes them', async () => {
    const v = await newVault();
    const c1 = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://a.example.com/mcp', token: secret('t') } });
    const c2 = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'environment_variable', secret_name: 'K', secret_value: secret('v'), networking: { type: 'unrestricted' } } });
    const before = await h.hangar.store.vaults.getCredential(c1.id);
    expect(before?.sealed).toMatch(/^hsb1\./);

    const archived = await client.beta.vaults.archive(v.id);
    for (const id of [c1.id, c2.id]) {
      const c = await client.beta.vaults.credentials.retrieve(id, { vault_id: v.id });
      expect(c.archived_at).toBe(archived.archived_at);
      expect((await h.hangar.store.vaults.getCredential(id))?.sealed).toBeNull();
    }
    // The old ciphertext is gone from the database file and its WAL, not just unreferenced. PostgreSQL
    // keeps dead row versions in its pages and WAL until VACUUM FULL and WAL recycling (README,
    // "Running on PostgreSQL"): there it is gone from every row.
    expect((await storedBytes(h.dataDir, { rowsOnly: testStore() === 'postgres' })).includes(before!.sealed!)).toBe(false);

    await client.beta.vaults.delete(v.id);
    expect(await h.hangar.store.vaults.getCredential(c1.id)).toBeUndefined();
  });
});

describe('mcp_oauth_validate', () => {
  it('reports valid for a static_bearer token the MCP server accepts, and ends the probe session', async () => {
    const v = await newVault();
    const token = secret('good');
    mcp.valid.add(token);
    const c = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.url, token } });
    const before = mcp.requests.length;
    const r = await client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(r).toEqual({
      type: 'vault_credential_validation', credential_id: c.id, vault_id: v.id, status: 'valid',
      has_refresh_token: false, mcp_probe: null, refresh: null, validated_at: r.validated_at,
    });
    expect(mcp.requests.slice(before).map((q) => q.method)).toEqual(['POST', 'DELETE']);
    expect(mcp.requests[before].authorization).toBe(`Bearer ${token}`);
  });

  it('reports invalid with the scrubbed 401 when the token is refused and there is no refresh token', async () => {
    const v = await newVault();
    const token = secret('rejected');
    const c = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: token } });
    const r = await client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(r).toMatchObject({ status: 'invalid', has_refresh_token: false, refresh: { status: 'no_refresh_token', http_response: null } });
    expect(r.mcp_probe).toMatchObject({ method: 'initialize', http_response: { status_code: 401, content_type: 'application/json', body_truncated: false } });
    expect(r.mcp_probe!.http_response!.body).toContain('[redacted]');
    expect(r.mcp_probe!.http_response!.body).not.toContain(token);
  });

  it('reports unknown when the MCP server cannot be reached or answers with an error', async () => {
    const v = await newVault();
    const unreachable = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'http://127.0.0.1:9/mcp', token: secret('t') } });
    const r1 = await client.beta.vaults.credentials.mcpOAuthValidate(unreachable.id, { vault_id: v.id });
    expect(r1).toMatchObject({ status: 'unknown', mcp_probe: { method: 'initialize', http_response: null }, refresh: null });
    const broken = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.url.replace('/mcp', '/broken'), token: secret('t') } });
    const r2 = await client.beta.vaults.credentials.mcpOAuthValidate(broken.id, { vault_id: v.id });
    expect(r2).toMatchObject({ status: 'unknown', mcp_probe: { http_response: { status_code: 500, body: 'upstream exploded' } } });
  });

  for (const authType of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`refreshes a refused token with client auth ${authType}, stores the new tokens sealed, and reports valid`, async () => {
      const v = await newVault();
      const oldAccess = secret('old-access');
      const oldRefresh = secret('old-refresh');
      const clientSecret = authType === 'none' ? undefined : secret('client-secret');
      const newAccess = secret('new-access');
      const newRefresh = secret('new-refresh');
      mcp.valid.add(newAccess);
      tokens.respond = (req) =>
        req.form.refresh_token === oldRefresh
          ? { status: 200, body: { access_token: newAccess, token_type: 'Bearer', expires_in: 3600, refresh_token: newRefresh } }
          : { status: 400, body: { error: 'invalid_grant' } };
      const c = await client.beta.vaults.credentials.create(v.id, {
        auth: {
          type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: oldAccess,
          refresh: {
            client_id: 'my client', refresh_token: oldRefresh, token_endpoint: tokens.url, scope: 'mcp:tools', resource: 'https://mcp.example.com',
            token_endpoint_auth: authType === 'none' ? { type: 'none' } : { type: authType, client_secret: clientSecret! },
          },
        },
      });
      const before = tokens.requests.length;
      const r = await client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id });
      expect(r).toMatchObject({ status: 'valid', has_refresh_token: true, mcp_probe: null, refresh: { status: 'succeeded', http_response: null } });

      const sent = tokens.requests.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0].form).toMatchObject({ grant_type: 'refresh_token', refresh_token: oldRefresh, scope: 'mcp:tools', resource: 'https://mcp.example.com' });
      if (authType === 'client_secret_basic') {
        expect(sent[0].authorization).toBe(`Basic ${Buffer.from(`my+client:${clientSecret}`).toString('base64')}`);
        expect(sent[0].form).not.toHaveProperty('client_secret');
        expect(sent[0].form).not.toHaveProperty('client_id');
      } else {
        expect(sent[0].authorization).toBeUndefined();
        expect(sent[0].form.client_id).toBe('my client');
        if (authType === 'client_secret_post') expect(sent[0].form.client_secret).toBe(clientSecret);
        else expect(sent[0].form).not.toHaveProperty('client_secret');
      }

      const after = await client.beta.vaults.credentials.retrieve(c.id, { vault_id: v.id });
      expect(Date.parse((after.auth as { expires_at: string }).expires_at)).toBeGreaterThan(Date.now() + 3500_000);
      // The service hands out the refreshed token, and the rotated refresh token is used next time.
      expect(await h.hangar.vaults.mcpCredential([v.id], mcp.url)).toMatchObject({ token: newAccess, expired: false });
      tokens.respond = (req) =>
        req.form.refresh_token === newRefresh ? { status: 200, body: { access_token: secret('third'), expires_in: 60 } } : { status: 400, body: { error: 'invalid_grant' } };
      expect(await h.hangar.vaults.refreshMcpCredential(c.id)).toBeDefined();
    });
  }

  it('reports a failed refresh with the scrubbed token-endpoint response', async () => {
    const v = await newVault();
    const refresh = secret('doomed-refresh');
    tokens.respond = (req) => ({ status: 400, body: { error: 'invalid_grant', error_description: `refresh token ${req.form.refresh_token} revoked` } });
    const c = await client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: secret('a'), refresh: { client_id: 'c', refresh_token: refresh, token_endpoint: tokens.url, token_endpoint_auth: { type: 'none' } } },
    });
    const r = await client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(r).toMatchObject({ status: 'invalid', has_refresh_token: true, refresh: { status: 'failed', http_response: { status_code: 400, content_type: 'application/json' } } });
    expect(r.refresh!.http_response!.body).toContain('invalid_grant');
    expect(r.refresh!.http_response!.body).not.toContain(refresh);
    expect(await h.hangar.vaults.refreshMcpCredential(c.id)).toBeUndefined();
  });

  it('reports connect_error when the token endpoint cannot be reached', async () => {
    const v = await newVault();
    const c = await client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: secret('a'), refresh: { client_id: 'c', refresh_token: secret('r'), token_endpoint: 'http://127.0.0.1:9/token', token_endpoint_auth: { type: 'none' } } },
    });
    const r = await client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(r).toMatchObject({ status: 'invalid', refresh: { status: 'connect_error', http_response: null } });
  });

  it('rejects validating an environment_variable credential with 400', async () => {
    const v = await newVault();
    const c = await client.beta.vaults.credentials.create(v.id, { auth: { type: 'environment_variable', secret_name: 'X', secret_value: secret('v'), networking: { type: 'unrestricted' } } });
    expect(await rejection(client.beta.vaults.credentials.mcpOAuthValidate(c.id, { vault_id: v.id }))).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('service API for sessions and MCP', () => {
  it('refreshMcpCredential: concurrent callers share one token-endpoint exchange', async () => {
    const v = await newVault();
    const fresh = secret('shared-fresh');
    let calls = 0;
    tokens.respond = () => {
      calls++;
      return { status: 200, body: { access_token: fresh, expires_in: 600 } };
    };
    const c = await client.beta.vaults.credentials.create(v.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: 'https://shared.example.com/mcp', access_token: secret('stale'), refresh: { client_id: 'c', refresh_token: secret('r'), token_endpoint: tokens.url, token_endpoint_auth: { type: 'none' } } },
    });
    const results = await Promise.all([1, 2, 3].map(() => h.hangar.vaults.refreshMcpCredential(c.id)));
    expect(results).toEqual([{ token: fresh }, { token: fresh }, { token: fresh }]);
    expect(calls).toBe(1);
    // The refresh token was not rotated by the endpoint, so the stored one is kept for next time.
    expect(await h.hangar.vaults.mcpCredential([v.id], 'https://shared.example.com/mcp')).toMatchObject({ token: fresh, expired: false });
    expect(await h.hangar.vaults.refreshMcpCredential(c.id)).toEqual({ token: fresh });
    expect(calls).toBe(2);
  });

  it('assertUsable: 404 for an unknown vault, 400 for an archived one', async () => {
    const live = await newVault();
    const gone = await newVault();
    await client.beta.vaults.archive(gone.id);
    await expect(h.hangar.vaults.assertUsable([live.id])).resolves.toBeUndefined();
    await expect(h.hangar.vaults.assertUsable([live.id, 'vlt_nope'])).rejects.toMatchObject({ status: 404 });
    await expect(h.hangar.vaults.assertUsable([gone.id])).rejects.toMatchObject({ status: 400 });
  });

  it('mcpCredential: exact URL match, first vault in vault_ids order wins, rotation is seen at once', async () => {
    const a = await newVault();
    const b = await newVault();
    const url = 'https://order.example.com/mcp';
    const ta = secret('ta');
    const tb = secret('tb');
    await client.beta.vaults.credentials.create(a.id, { auth: { type: 'static_bearer', mcp_server_url: url, token: ta } });
    const cb = await client.beta.vaults.credentials.create(b.id, { auth: { type: 'mcp_oauth', mcp_server_url: url, access_token: tb, expires_at: new Date(Date.now() + 5_000).toISOString() } });
    expect(await h.hangar.vaults.mcpCredential([a.id, b.id], url)).toMatchObject({ vaultId: a.id, token: ta, expired: false });
    // Within the expiry skew an mcp_oauth token already counts as expired.
    expect(await h.hangar.vaults.mcpCredential([b.id, a.id], url)).toEqual({ vaultId: b.id, credentialId: cb.id, token: tb, expired: true });
    expect(await h.hangar.vaults.mcpCredential([a.id], 'https://order.example.com/mcp/')).toBeUndefined();
    expect(await h.hangar.vaults.mcpCredential([a.id], 'https://ORDER.example.com:443/mcp')).toMatchObject({ token: ta });
    expect(await h.hangar.vaults.mcpCredential([], url)).toBeUndefined();

    const tb2 = secret('tb2');
    await client.beta.vaults.credentials.update(cb.id, { vault_id: b.id, auth: { type: 'mcp_oauth', access_token: tb2, expires_at: inAnHour() } });
    expect(await h.hangar.vaults.mcpCredential([b.id], url)).toMatchObject({ token: tb2, expired: false });
    await client.beta.vaults.credentials.archive(cb.id, { vault_id: b.id });
    expect(await h.hangar.vaults.mcpCredential([b.id, a.id], url)).toMatchObject({ vaultId: a.id });
    expect(await h.hangar.vaults.refreshMcpCredential(cb.id)).toBeUndefined();
  });
});


describe('secrets at rest and on the wire', () => {
  it('never returns a secret in any response body', () => {
    expect(secrets.length).toBeGreaterThan(20);
    expect(responses.length).toBeGreaterThan(50);
    const leaked = secrets.filter((s) => responses.some((r) => r.includes(s)));
    expect(leaked).toEqual([]);
  });

  it('never writes a secret to the log, even at trace level', () => {
    expect(logLines.join('')).toMatch(/mcp_oauth token refresh failed/);
    const leaked = secrets.filter((s) => logLines.some((l) => l.includes(s)));
    expect(leaked).toEqual([]);
  });

  it('keeps no secret value in the database file or its WAL', async () => {
    const bytes = await storedBytes(h.dataDir);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes('hsb1.')).toBe(true); // ciphertext is there...
    const leaked = secrets.filter((s) => bytes.includes(s));
    expect(leaked).toEqual([]); // ...plaintext is not
  });

  it('creates the master key file with mode 0600 (on PostgreSQL none: the key comes from HANGAR_MASTER_KEY)', () => {
    if (testStore() === 'postgres') {
      expect(existsSync(join(h.dataDir, 'master.key'))).toBe(false);
      return;
    }
    const mode = statSync(join(h.dataDir, 'master.key')).mode & 0o777;
    expect(mode).toBe(0o600);
  });
});
