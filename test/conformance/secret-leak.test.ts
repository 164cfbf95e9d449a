// The secret-leak test (issue 5): after sessions that used every credential type — a static_bearer
// token and an mcp_oauth credential (expired access token refreshed with its refresh token and
// client secret, the new tokens used) against real MCP servers, an environment_variable secret in
// an attached vault, a rotation, refusals from careless servers that echo what they were sent, and
// mcp_oauth_validate — no secret value may appear in the database file or its -wal/-shm, in any
// event of any session listed through the API, in any API response body, in the log output
// (trace level) or in any request the model upstream received. Secrets legitimately reach the MCP
// servers and the token endpoint; those are the only places they may go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, chmodSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startTestMcpServer, type TestMcpServer } from '../kit/mcp-server.ts';
import { modelToolName } from '../../src/ports/mcp.ts';
import { EventTap, MODEL, isIdle, isType, listEvents, resultText, say, sendEvents, text, toolUse, TOOL_WAIT_MS, type Ev } from './helpers.ts';

/** Every secret value handed to Hangar or minted by the token endpoint, by label. */
const secrets = new Map<string, string>();
const secret = (label: string): string => {
  const s = `${label}-${randomBytes(16).toString('hex')}`;
  secrets.set(label, s);
  return s;
};

/** Every API response body (and headers) the SDK received; streams are captured as they arrive. */
const responses: Array<{ url: string; status: number; headers: string; body: string }> = [];
const pendingReads: Array<Promise<void>> = [];
/** Every line the server logged at trace level. */
const logLines: string[] = [];

let dataDir: string;
let h: TestHangar;
let up: FakeUpstream;
let client: Anthropic;
let envId: string;
let staticMcp: TestMcpServer;
let oauthMcp: TestMcpServer;
let tokenEp: { url: string; requests: Array<Record<string, string>>; server: Server };
let careless: { url: string; server: Server; seen: string[] };
const servers: Server[] = [];
let closed = false;

const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const entry = { url: String(input instanceof Request ? input.url : input), status: res.status, headers: JSON.stringify([...res.headers]), body: '' };
  responses.push(entry);
  const copy = res.clone();
  // Read the copy alongside the caller (an event stream never "ends" on its own), keeping every
  // chunk, so aborted streams are captured up to where they were cut.
  pendingReads.push((async () => {
    if (!copy.body) return;
    const reader = copy.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        entry.body += dec.decode(value, { stream: true });
      }
    } catch {
      // aborted by the caller: what arrived is kept
    }
  })());
  return res;
};

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-leak-'));
  chmodSync(dataDir, 0o755);
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  up = await startFakeUpstream();
  h = await startHangar({ upstreamUrl: up.url, dataDir, overrides: { logger: pino({ level: 'trace' }, sink) } });
  client = new Anthropic({ baseURL: h.url, apiKey: h.apiKey, maxRetries: 0, timeout: 20_000, fetch: recordingFetch });
  envId = (await client.beta.environments.create({ name: `leak-env-${Math.random().toString(36).slice(2)}` })).id;

  // Secrets handed to Hangar.
  secret('static_bearer.token');
  secret('static_bearer.rotated_token');
  secret('static_bearer.wrong_token');
  secret('mcp_oauth.access_token');
  secret('mcp_oauth.refresh_token');
  secret('mcp_oauth.client_secret');
  secret('mcp_oauth_failing.access_token');
  secret('mcp_oauth_failing.refresh_token');
  secret('mcp_oauth_failing.client_secret');
  secret('environment_variable.secret_value');
  secret('environment_variable.rotated_value');
  // Secrets the token endpoint mints (Hangar stores them; they are secrets too).
  secret('minted.access_token');
  secret('minted.refresh_token');

  staticMcp = await startTestMcpServer({ token: secrets.get('static_bearer.token')! });
  oauthMcp = await startTestMcpServer({ token: secrets.get('minted.access_token')! });

  // A token endpoint: the good client gets fresh tokens; the failing one gets an error that
  // carelessly echoes everything it was sent (Hangar must not pass that on anywhere).
  const requests: Array<Record<string, string>> = [];
  const tokenServer = createServer(async (req, res) => {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    requests.push(form);
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (form.client_id === 'leak-client' && form.client_secret === secrets.get('mcp_oauth.client_secret')
      && form.grant_type === 'refresh_token' && form.refresh_token === secrets.get('mcp_oauth.refresh_token')) {
      return reply(200, { token_type: 'Bearer', access_token: secrets.get('minted.access_token'), refresh_token: secrets.get('minted.refresh_token'), expires_in: 3600 });
    }
    return reply(400, { error: 'invalid_grant', error_description: `refused ${JSON.stringify(form)}` });
  });
  tokenEp = { url: `${await listen(tokenServer)}/oauth/token`, requests, server: tokenServer };

  // A careless MCP server that refuses every token and echoes it back in its body and headers.
  const seen: string[] = [];
  const carelessServer = createServer(async (req, res) => {
    await readBody(req);
    const auth = req.headers.authorization ?? '';
    seen.push(auth);
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer error="invalid_token", error_description="bad token ${auth.replace(/"/g, '')}"` })
      .end(JSON.stringify({ error: 'invalid_token', presented: auth }));
  });
  careless = { url: `${await listen(carelessServer)}/mcp`, server: carelessServer, seen };
});

afterAll(async () => {
  if (!closed) await h?.close();
  await up?.close();
  await staticMcp?.close();
  await oauthMcp?.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

async function mcpAgent(servers_: Array<{ name: string; url: string }>) {
  return client.beta.agents.create({
    name: `leak-agent-${Math.random().toString(36).slice(2)}`,
    model: MODEL,
    mcp_servers: servers_.map((s) => ({ type: 'url' as const, name: s.name, url: s.url })),
    tools: [
      { type: 'agent_toolset_20260401' as const },
      ...servers_.map((s) => ({ type: 'mcp_toolset' as const, mcp_server_name: s.name, default_config: { permission_policy: { type: 'always_allow' as const } } })),
    ],
  });
}

async function turn(sessionId: string, calls: Array<[string, Record<string, unknown>]>): Promise<Ev[]> {
  up.script(...calls.map(([name, input]) => ({ content: [toolUse(name, input)] })), say('Done.'));
  const tap = await EventTap.open(client, sessionId);
  try {
    await sendEvents(client, sessionId, text('use your tools'));
    return await tap.until(isIdle, TOOL_WAIT_MS);
  } finally {
    tap.close();
  }
}

const results = (t: Ev[]) => t.filter(isType('agent.mcp_tool_result'));
const errors = (t: Ev[]) => t.filter(isType('session.error')).map((e) => e.error);

/** Where each secret shows up in `haystack` (label list), for readable failures. */
function leaks(haystack: string): string[] {
  return [...secrets].filter(([, value]) => haystack.includes(value)).map(([label]) => label);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

describe('secrets never leak', () => {
  it('runs sessions that use every credential type, then finds no secret anywhere Hangar writes or answers', async () => {
    // --- Vaults with every credential type.
    const vault = await client.beta.vaults.create({ display_name: 'leak vault' });
    const staticCred = await client.beta.vaults.credentials.create(vault.id, {
      display_name: 'static', auth: { type: 'static_bearer', mcp_server_url: staticMcp.url, token: secrets.get('static_bearer.token')! },
    });
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const oauthCred = await client.beta.vaults.credentials.create(vault.id, {
      display_name: 'oauth',
      auth: {
        type: 'mcp_oauth', mcp_server_url: oauthMcp.url, access_token: secrets.get('mcp_oauth.access_token')!, expires_at: expiresAt,
        refresh: {
          client_id: 'leak-client', refresh_token: secrets.get('mcp_oauth.refresh_token')!, token_endpoint: tokenEp.url,
          token_endpoint_auth: { type: 'client_secret_post', client_secret: secrets.get('mcp_oauth.client_secret')! },
        },
      },
    });
    const envCred = await client.beta.vaults.credentials.create(vault.id, {
      display_name: 'env', auth: { type: 'environment_variable', secret_name: 'LEAK_API_KEY', secret_value: secrets.get('environment_variable.secret_value')!, networking: { type: 'unrestricted' } },
    });
    // A second vault with credentials that fail: a wrong static token for the careless server and
    // an mcp_oauth credential whose refresh is refused (the endpoint echoes what it got).
    const badVault = await client.beta.vaults.create({ display_name: 'bad vault' });
    await client.beta.vaults.credentials.create(badVault.id, {
      auth: { type: 'static_bearer', mcp_server_url: careless.url, token: secrets.get('static_bearer.wrong_token')! },
    });
    const failingUrl = `${careless.url.replace(/\/mcp$/, '')}/oauth-mcp`;
    const failingCred = await client.beta.vaults.credentials.create(badVault.id, {
      auth: {
        type: 'mcp_oauth', mcp_server_url: failingUrl, access_token: secrets.get('mcp_oauth_failing.access_token')!,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        refresh: {
          client_id: 'failing-client', refresh_token: secrets.get('mcp_oauth_failing.refresh_token')!, token_endpoint: tokenEp.url,
          token_endpoint_auth: { type: 'client_secret_basic', client_secret: secrets.get('mcp_oauth_failing.client_secret')! },
        },
      },
    });

    // --- A session using the static and oauth credentials (the oauth token has expired by then).
    const agent = await mcpAgent([{ name: 'docs', url: staticMcp.url }, { name: 'tracker', url: oauthMcp.url }]);
    const s1 = await client.beta.sessions.create({ agent: agent.id, environment_id: envId, vault_ids: [vault.id] });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now()) + 100));
    const t1 = await turn(s1.id, [[modelToolName('docs', 'echo'), { text: 'static ok' }], [modelToolName('tracker', 'add'), { a: 1, b: 2 }]]);
    expect(errors(t1)).toEqual([]);
    expect(results(t1).map(resultText)).toEqual(['static ok', '3']);
    expect(tokenEp.requests.filter((r) => r.client_id === 'leak-client')).toHaveLength(1);

    // Rotate the static token and the environment variable; the running session uses the new token.
    staticMcp.setToken(secrets.get('static_bearer.rotated_token')!);
    await client.beta.vaults.credentials.update(staticCred.id, { vault_id: vault.id, auth: { type: 'static_bearer', token: secrets.get('static_bearer.rotated_token')! } });
    await client.beta.vaults.credentials.update(envCred.id, { vault_id: vault.id, auth: { type: 'environment_variable', secret_value: secrets.get('environment_variable.rotated_value')! } });
    const t2 = await turn(s1.id, [[modelToolName('docs', 'echo'), { text: 'rotated ok' }], [modelToolName('tracker', 'echo'), { text: 'oauth ok' }]]);
    expect(errors(t2)).toEqual([]);
    expect(results(t2).map(resultText)).toEqual(['rotated ok', 'oauth ok']);

    // The sandbox of a session with these vaults sees none of their secrets either (its output
    // lands in the event log, which is scanned below, and its files in the data dir).
    up.script({ content: [toolUse('bash', { command: 'env | sort; echo ---; cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n"; echo ---; ls -la /workspace' })] }, say('Looked.'));
    const tapB = await EventTap.open(client, s1.id);
    let t2b: Ev[];
    try {
      await sendEvents(client, s1.id, text('look around'));
      t2b = await tapB.until(isIdle, TOOL_WAIT_MS);
    } finally {
      tapB.close();
    }
    const bash = t2b.filter(isType('agent.tool_result'));
    expect(bash).toHaveLength(1);
    expect(bash[0].is_error).toBe(false);
    expect(resultText(bash[0])).toMatch(/PATH=/);
    expect(leaks(resultText(bash[0])), 'sandbox environment').toEqual([]);

    // --- A session whose credentials are refused by careless servers (errors must be scrubbed).
    const badAgent = await mcpAgent([{ name: 'careless', url: careless.url }, { name: 'failing', url: failingUrl }]);
    const s2 = await client.beta.sessions.create({ agent: badAgent.id, environment_id: envId, vault_ids: [badVault.id, vault.id] });
    const t3 = await turn(s2.id, []);
    expect(errors(t3).map((e) => [e.type, e.mcp_server_name]).sort()).toEqual([
      ['mcp_authentication_failed_error', 'careless'], ['mcp_authentication_failed_error', 'failing'],
    ]);
    expect(careless.seen).toContain(`Bearer ${secrets.get('static_bearer.wrong_token')}`);
    expect(tokenEp.requests.some((r) => r.grant_type === 'refresh_token')).toBe(true);

    // --- Validation probes, retrievals and listings (all of their responses are recorded).
    await client.beta.vaults.credentials.mcpOAuthValidate(staticCred.id, { vault_id: vault.id });
    await client.beta.vaults.credentials.mcpOAuthValidate(oauthCred.id, { vault_id: vault.id });
    await client.beta.vaults.credentials.mcpOAuthValidate(failingCred.id, { vault_id: badVault.id });
    for (const v of [vault, badVault]) {
      for await (const c of client.beta.vaults.credentials.list(v.id)) await client.beta.vaults.credentials.retrieve(c.id, { vault_id: v.id });
    }
    await client.beta.sessions.retrieve(s1.id);

    // --- 1. Every event of every session, listed through the API.
    const sessionIds: string[] = [];
    for await (const s of client.beta.sessions.list()) sessionIds.push(s.id);
    expect(sessionIds.sort()).toEqual([s1.id, s2.id].sort());
    for (const id of sessionIds) {
      const events = await listEvents(client, id);
      expect(events.length).toBeGreaterThan(0);
      expect(leaks(JSON.stringify(events)), `events of ${id}`).toEqual([]);
    }

    // --- 2. Every API response body (streams included) and header.
    await Promise.race([Promise.all(pendingReads), new Promise((r) => setTimeout(r, 2_000))]);
    expect(responses.length).toBeGreaterThan(20);
    const streams = responses.filter((r) => r.url.endsWith('/events/stream'));
    expect(streams).toHaveLength(4);
    expect(streams.filter((r) => r.body.includes('agent.mcp_tool_result'))).toHaveLength(2);
    for (const r of responses) expect(leaks(r.headers + r.body), `response of ${r.url}`).toEqual([]);

    // --- 3. Every request the model upstream received (bodies and headers).
    expect(up.requests.length).toBeGreaterThanOrEqual(8);
    for (const r of up.requests) expect(leaks(JSON.stringify(r)), `upstream request ${r.path}`).toEqual([]);

    // --- 4. The log output at trace level.
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.some((l) => l.includes('mcp_oauth token refreshed'))).toBe(true);
    expect(leaks(logLines.join('\n')), 'log output').toEqual([]);

    // --- 5. The database file, its WAL and shared memory, read as bytes, while running ...
    const dbFiles = ['hangar.db', 'hangar.db-wal', 'hangar.db-shm'].map((f) => join(dataDir, f));
    expect(existsSync(dbFiles[0])).toBe(true);
    const scanDb = (when: string) => {
      for (const f of dbFiles.filter(existsSync)) expect(leaks(readFileSync(f).toString('latin1')), `${f} (${when})`).toEqual([]);
    };
    scanDb('running');
    // ... and every other file in the data dir.
    for (const f of filesUnder(dataDir)) expect(leaks(readFileSync(f).toString('latin1')), f).toEqual([]);

    // ... and after shutdown (the WAL is checkpointed into the main file).
    await h.close();
    closed = true;
    scanDb('after close');
    for (const f of filesUnder(dataDir)) expect(leaks(readFileSync(f).toString('latin1')), `${f} (after close)`).toEqual([]);

    // The secrets did reach the places they are meant for (so the checks above were not vacuous),
    // and the detector finds them there.
    expect(leaks(JSON.stringify(staticMcp.stats.authorizationHeaders))).toEqual(['static_bearer.token', 'static_bearer.rotated_token']);
    expect(leaks(JSON.stringify(tokenEp.requests))).toEqual(expect.arrayContaining(['mcp_oauth.refresh_token', 'mcp_oauth.client_secret']));
    expect(staticMcp.stats.authorizationHeaders).toContain(`Bearer ${secrets.get('static_bearer.token')}`);
    expect(staticMcp.stats.authorizationHeaders).toContain(`Bearer ${secrets.get('static_bearer.rotated_token')}`);
    expect(oauthMcp.stats.authorizationHeaders).toContain(`Bearer ${secrets.get('minted.access_token')}`);
  });
});
