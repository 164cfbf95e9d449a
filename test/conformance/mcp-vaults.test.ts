// MCP toolsets with vault credentials, end to end through the official SDK against a live Hangar,
// a scripted upstream and a real MCP server (test/kit/mcp-server.ts) that requires a bearer token:
// a static_bearer credential attached through `vault_ids` lets the agent's call through; no vault,
// a wrong token or an unreachable server become `session.error` and the turn goes on without the
// server's tools; an expired `mcp_oauth` token is refreshed against a local token endpoint (and a
// revoked one on the server's 401); MCP tools default to `always_ask`; a rotated credential reaches
// a running session.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar } from '../kit/hangar.ts';
import { startTestMcpServer, type TestMcpServer, type TestMcpServerOptions } from '../kit/mcp-server.ts';
import type { FakeBlock, RecordedRequest } from '../kit/fake-upstream.ts';
import { modelToolName } from '../../src/ports/mcp.ts';
import {
  EventTap, MODEL, isIdle, isType, listEvents, resultText, say, sendEvents, startRig, text, toolResults, toolUse, types,
  TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const rand = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

async function mcpServer(opts: TestMcpServerOptions = {}): Promise<TestMcpServer> {
  const s = await startTestMcpServer(opts);
  cleanups.push(() => s.close());
  return s;
}

type Policy = { type: 'always_allow' | 'always_ask' | 'auto' };
const ALLOW: Policy = { type: 'always_allow' };

/** An agent with one MCP server `docs` at `url` and its toolset (always_allow unless told). */
async function mcpAgent(url: string, policy: Policy | null = ALLOW) {
  return client.beta.agents.create({
    name: `mcp-agent-${Math.random().toString(36).slice(2)}`,
    model: MODEL,
    mcp_servers: [{ type: 'url', name: 'docs', url }],
    tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', ...(policy ? { default_config: { permission_policy: policy } } : {}) }],
  });
}

async function vaultWith(auth: Anthropic.Beta.Vaults.CredentialCreateParams['auth']) {
  const vault = await client.beta.vaults.create({ display_name: `vault-${Math.random().toString(36).slice(2)}` });
  const credential = await client.beta.vaults.credentials.create(vault.id, { auth });
  return { vault, credential };
}

async function session(agentId: string, vaultIds?: string[]) {
  return client.beta.sessions.create({ agent: agentId, environment_id: rig.envId, ...(vaultIds ? { vault_ids: vaultIds } : {}) });
}

interface Turn {
  turn: Ev[];
  requests: RecordedRequest[];
  uses: Ev[];
  results: Ev[];
  errors: Ev[];
}

/** One user turn: the model makes `rounds` of tool calls (one response each), then says `final`. */
async function runTurn(sessionId: string, rounds: FakeBlock[][], final = 'Done.'): Promise<Turn> {
  rig.up.script(...rounds.map((content) => ({ content })), say(final));
  const before = rig.up.requests.length;
  const tap = await EventTap.open(client, sessionId);
  let turn: Ev[];
  try {
    await sendEvents(client, sessionId, text('go'));
    turn = await tap.until(isIdle, TOOL_WAIT_MS);
  } finally {
    tap.close();
  }
  return {
    turn,
    requests: rig.up.requests.slice(before),
    uses: turn.filter(isType('agent.mcp_tool_use')),
    results: turn.filter(isType('agent.mcp_tool_result')),
    errors: turn.filter(isType('session.error')),
  };
}

const offeredNames = (r: RecordedRequest): string[] => ((r.body.tools ?? []) as Array<{ name: string }>).map((t) => t.name).sort();
const mcpNames = (r: RecordedRequest) => offeredNames(r).filter((n) => n.startsWith('mcp__'));
const ECHO = modelToolName('docs', 'echo');
const ADD = modelToolName('docs', 'add');
const SERVER_TOOLS = ['add', 'echo', 'fail', 'image', 'resource', 'slow'];

/** The turn ran to its end (the model answered after the failure) and nothing is pending. */
function expectTurnContinued(t: Turn, final: string): void {
  const idle = t.turn.at(-1)!;
  expect(idle.stop_reason).toEqual({ type: 'end_turn' });
  const message = t.turn.filter(isType('agent.message')).at(-1);
  expect(resultText(message ?? {})).toBe(final);
}

describe('MCP toolset with a static_bearer credential', () => {
  it('(a) with the vault attached: the model is offered the MCP tools and its call runs as agent.mcp_tool_use → agent.mcp_tool_result', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);
    expect(s.vault_ids).toEqual([vault.id]);

    expect(ECHO).toBe('mcp__docs__echo');
    const t = await runTurn(s.id, [[toolUse(ECHO, { text: 'hello from docs' })]], 'It echoed.');
    expect(t.errors).toEqual([]);
    expect(types(t.turn)).toEqual([
      'user.message', 'session.status_running', 'span.model_request_start', 'agent.mcp_tool_use', 'span.model_request_end',
      'agent.mcp_tool_result', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle',
    ]);

    // The first model request offered every tool of the server under its stable name, with its schema.
    expect(mcpNames(t.requests[0])).toEqual(SERVER_TOOLS.map((n) => modelToolName('docs', n)).sort());
    const echoDef = (t.requests[0].body.tools as Array<Record<string, any>>).find((d) => d.name === ECHO)!;
    expect(echoDef.description).toBe('Echoes the text back.');
    expect(echoDef.input_schema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });

    const [use] = t.uses;
    expect(use).toMatchObject({
      type: 'agent.mcp_tool_use', mcp_server_name: 'docs', name: 'echo', input: { text: 'hello from docs' },
      evaluated_permission: 'allow', evaluation: { type: 'always_allow' },
    });
    const [result] = t.results;
    expect(result).toMatchObject({ type: 'agent.mcp_tool_result', mcp_tool_use_id: use.id, is_error: false });
    expect(result.content).toEqual([{ type: 'text', text: 'hello from docs' }]);

    // The server really ran the call with the vault's token, and the model got its answer.
    expect(mcp.stats.toolCalls).toEqual([{ name: 'echo', args: { text: 'hello from docs' } }]);
    expect(new Set(mcp.stats.authorizationHeaders)).toEqual(new Set([`Bearer ${token}`]));
    expect(mcp.stats.unauthorized).toBe(0);
    const modelToolUseId = (t.requests[1].body.messages as Array<{ content: any }>)
      .flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b: any) => b.type === 'tool_use')?.id;
    const [block] = toolResults(t.requests[1]);
    expect(block).toMatchObject({ tool_use_id: modelToolUseId });
    expect(block.is_error ?? false).toBe(false);
    expect(resultText(block)).toBe('hello from docs');
    expectTurnContinued(t, 'It echoed.');

    // The persisted log has the same pair.
    const log = await listEvents(client, s.id);
    expect(log.filter(isType('agent.mcp_tool_use')).map((e) => e.id)).toEqual([use.id]);
    expect(log.filter(isType('agent.mcp_tool_result')).map((e) => e.mcp_tool_use_id)).toEqual([use.id]);
  });

  it('(a′) reuses the MCP connection across calls and turns of a session', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);
    const first = await runTurn(s.id, [[toolUse(ADD, { a: 2, b: 3 })], [toolUse(ECHO, { text: 'x' })]]);
    const second = await runTurn(s.id, [[toolUse(ADD, { a: 40, b: 2 })]]);
    expect(first.results.map(resultText)).toEqual(['5', 'x']);
    expect(second.results.map(resultText)).toEqual(['42']);
    expect(mcp.stats.initializes).toBe(1);
  });

  it('(b) without a vault: session.error mcp_authentication_failed_error for docs, and the turn continues without its tools', async () => {
    const mcp = await mcpServer({ token: rand('static') });
    const agent = await mcpAgent(mcp.url);
    const s = await session(agent.id);
    const t = await runTurn(s.id, [], 'Carrying on without docs.');

    expect(t.errors.length).toBeGreaterThanOrEqual(1);
    expect(t.errors[0].error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(typeof t.errors[0].error.message).toBe('string');
    expect(types(t.turn).indexOf('session.error')).toBeLessThan(types(t.turn).indexOf('span.model_request_start'));
    expect(t.requests).toHaveLength(1);
    expect(mcpNames(t.requests[0])).toEqual([]);
    expectTurnContinued(t, 'Carrying on without docs.');
    // It went out unauthenticated and was refused; nothing ran.
    expect(mcp.stats.authorizationHeaders).toEqual([]);
    expect(mcp.stats.unauthorized).toBeGreaterThanOrEqual(1);
    expect(mcp.stats.toolCalls).toEqual([]);
    expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
  });

  it('(c) with a wrong token: the same session.error, and the wrong token was what the server saw', async () => {
    const mcp = await mcpServer({ token: rand('right') });
    const wrong = rand('wrong');
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token: wrong });
    const s = await session(agent.id, [vault.id]);
    const t = await runTurn(s.id, [], 'No docs today.');

    expect(t.errors.length).toBeGreaterThanOrEqual(1);
    expect(t.errors[0].error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(JSON.stringify(t.errors)).not.toContain(wrong);
    expect(mcpNames(t.requests[0])).toEqual([]);
    expectTurnContinued(t, 'No docs today.');
    expect(mcp.stats.authorizationHeaders.length).toBeGreaterThanOrEqual(1);
    expect(new Set(mcp.stats.authorizationHeaders)).toEqual(new Set([`Bearer ${wrong}`]));
    expect(mcp.stats.toolCalls).toEqual([]);
  });

  it('matches the credential by exact URL: a credential for another path of the same server is not used', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url.replace(/\/mcp$/, '/other'), token });
    const s = await session(agent.id, [vault.id]);
    const t = await runTurn(s.id, [], 'ok');
    expect(t.errors[0]?.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(mcp.stats.authorizationHeaders).toEqual([]);
  });

  it('uses the first matching credential in vault_ids order', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url);
    const good = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const bad = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token: rand('bad') });
    const ok = await runTurn((await session(agent.id, [good.vault.id, bad.vault.id])).id, [[toolUse(ECHO, { text: 'first wins' })]]);
    expect(ok.errors).toEqual([]);
    expect(ok.results.map(resultText)).toEqual(['first wins']);
    const refused = await runTurn((await session(agent.id, [bad.vault.id, good.vault.id])).id, [], 'ok');
    expect(refused.errors[0]?.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
  });

  it('a rotated token reaches a running session (credentials are resolved per call)', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url);
    const { vault, credential } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);
    expect((await runTurn(s.id, [[toolUse(ECHO, { text: 'before' })]])).results.map(resultText)).toEqual(['before']);

    const rotated = rand('rotated');
    mcp.setToken(rotated);
    await client.beta.vaults.credentials.update(credential.id, { vault_id: vault.id, auth: { type: 'static_bearer', token: rotated } });
    const after = await runTurn(s.id, [[toolUse(ECHO, { text: 'after' })]]);
    expect(after.errors).toEqual([]);
    expect(after.results.map(resultText)).toEqual(['after']);
    expect(mcp.stats.authorizationHeaders.at(-1)).toBe(`Bearer ${rotated}`);
  });
});

// ---------------------------------------------------------------------------------------------
// mcp_oauth: a local token endpoint implementing the refresh_token grant.

interface TokenEndpoint {
  url: string;
  requests: Array<{ authorization: string | undefined; contentType: string | undefined; form: Record<string, string> }>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Accepts `grant_type=refresh_token` with `refreshToken` from `clientId` authenticated by
 * `client_secret_post` with `clientSecret`, and answers with `issue()` (a fresh access token the
 * MCP server accepts). Anything else: 400 invalid_grant / 401 invalid_client.
 */
async function tokenEndpoint(expect_: { clientId: string; clientSecret: string; refreshToken: () => string }, issue: () => { access_token: string; refresh_token?: string; expires_in?: number }): Promise<TokenEndpoint> {
  const requests: TokenEndpoint['requests'] = [];
  const server = createServer(async (req, res) => {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    requests.push({ authorization: req.headers.authorization, contentType: req.headers['content-type'], form });
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/oauth/token') return reply(404, { error: 'not_found' });
    if (form.client_id !== expect_.clientId || form.client_secret !== expect_.clientSecret) return reply(401, { error: 'invalid_client' });
    if (form.grant_type !== 'refresh_token' || form.refresh_token !== expect_.refreshToken()) return reply(400, { error: 'invalid_grant' });
    return reply(200, { token_type: 'Bearer', ...issue() });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ep: TokenEndpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  cleanups.push(() => ep.close());
  return ep;
}

describe('MCP toolset with an mcp_oauth credential', () => {
  it('(d) refreshes an expired access token against the token endpoint, stores the new one, and the call succeeds', async () => {
    const stale = rand('stale-access');
    const fresh = rand('fresh-access');
    const refreshToken = rand('refresh');
    const rotatedRefresh = rand('refresh-rotated');
    const clientSecret = rand('client-secret');
    let currentRefresh = refreshToken;
    const mcp = await mcpServer({ token: fresh });
    const ep = await tokenEndpoint({ clientId: 'hangar-client', clientSecret, refreshToken: () => currentRefresh }, () => {
      currentRefresh = rotatedRefresh;
      return { access_token: fresh, refresh_token: rotatedRefresh, expires_in: 3600 };
    });
    const agent = await mcpAgent(mcp.url);
    // The API refuses an expires_at in the past, so the credential is created just before expiry and
    // used after it has passed.
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const { vault, credential } = await vaultWith({
      type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: stale, expires_at: expiresAt,
      refresh: {
        client_id: 'hangar-client', refresh_token: refreshToken, token_endpoint: ep.url,
        token_endpoint_auth: { type: 'client_secret_post', client_secret: clientSecret },
      },
    });
    const s = await session(agent.id, [vault.id]);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now()) + 100));

    const t = await runTurn(s.id, [[toolUse(ADD, { a: 2, b: 3 })]], 'Five.');
    expect(t.errors).toEqual([]);
    expect(mcpNames(t.requests[0])).toContain(ADD);
    expect(t.uses[0]).toMatchObject({ mcp_server_name: 'docs', name: 'add', input: { a: 2, b: 3 }, evaluated_permission: 'allow' });
    expect(t.results[0]).toMatchObject({ mcp_tool_use_id: t.uses[0].id, is_error: false });
    expect(resultText(t.results[0])).toBe('5');
    expectTurnContinued(t, 'Five.');

    // The token endpoint was called once with the refresh_token grant and the client's credentials.
    expect(ep.requests).toHaveLength(1);
    expect(ep.requests[0].contentType).toMatch(/application\/x-www-form-urlencoded/);
    expect(ep.requests[0].form).toMatchObject({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'hangar-client', client_secret: clientSecret });
    // The token was known to be expired, so the stale one never went to the MCP server.
    expect(mcp.stats.authorizationHeaders).not.toContain(`Bearer ${stale}`);
    expect(new Set(mcp.stats.authorizationHeaders)).toEqual(new Set([`Bearer ${fresh}`]));

    // The refreshed expiry is stored (tokens are not shown), and later turns do not refresh again.
    const after = await client.beta.vaults.credentials.retrieve(credential.id, { vault_id: vault.id });
    const auth = after.auth as { type: string; expires_at: string | null };
    expect(auth.type).toBe('mcp_oauth');
    expect(Date.parse(auth.expires_at!)).toBeGreaterThan(Date.now() + 3000_000);
    const again = await runTurn(s.id, [[toolUse(ECHO, { text: 'still fresh' })]]);
    expect(again.results.map(resultText)).toEqual(['still fresh']);
    expect(ep.requests).toHaveLength(1);
  });

  it('(d′) refreshes on the server\'s 401 when a not-yet-expired access token was revoked', async () => {
    const revoked = rand('revoked-access');
    const fresh = rand('fresh-access');
    const refreshToken = rand('refresh');
    const clientSecret = rand('client-secret');
    const mcp = await mcpServer({ token: fresh });
    const ep = await tokenEndpoint({ clientId: 'c2', clientSecret, refreshToken: () => refreshToken }, () => ({ access_token: fresh, expires_in: 3600 }));
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({
      type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: revoked, expires_at: new Date(Date.now() + 3600_000).toISOString(),
      refresh: { client_id: 'c2', refresh_token: refreshToken, token_endpoint: ep.url, token_endpoint_auth: { type: 'client_secret_post', client_secret: clientSecret } },
    });
    const s = await session(agent.id, [vault.id]);
    const t = await runTurn(s.id, [[toolUse(ECHO, { text: 'after a 401' })]]);
    expect(t.errors).toEqual([]);
    expect(t.results.map(resultText)).toEqual(['after a 401']);
    expect(ep.requests).toHaveLength(1);
    expect(mcp.stats.authorizationHeaders[0]).toBe(`Bearer ${revoked}`);
    expect(mcp.stats.authorizationHeaders.at(-1)).toBe(`Bearer ${fresh}`);
  });

  it('reports mcp_authentication_failed_error when the refresh is refused', async () => {
    const mcp = await mcpServer({ token: rand('unobtainable') });
    const ep = await tokenEndpoint({ clientId: 'c3', clientSecret: 'cs', refreshToken: () => 'not-this-one' }, () => ({ access_token: 'never' }));
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({
      type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: rand('access'), expires_at: new Date(Date.now() + 3600_000).toISOString(),
      refresh: { client_id: 'c3', refresh_token: rand('refresh'), token_endpoint: ep.url, token_endpoint_auth: { type: 'client_secret_post', client_secret: 'cs' } },
    });
    const s = await session(agent.id, [vault.id]);
    const t = await runTurn(s.id, [], 'ok');
    expect(t.errors[0]?.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(ep.requests.length).toBeGreaterThanOrEqual(1);
    expectTurnContinued(t, 'ok');
  });
});

describe('MCP permissions and failures', () => {
  it('(e) defaults to always_ask: evaluated_permission ask, requires_action, then allow runs the call', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url, null);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);

    rig.up.script({ content: [toolUse(ECHO, { text: 'may I?' })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const paused = await tap.until(isIdle, TOOL_WAIT_MS);
      const use = paused.find(isType('agent.mcp_tool_use'))!;
      expect(use).toMatchObject({ mcp_server_name: 'docs', name: 'echo', input: { text: 'may I?' }, evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
      expect(paused.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
      expect(paused.filter(isType('agent.mcp_tool_result'))).toEqual([]);
      expect(mcp.stats.toolCalls).toEqual([]);
      expect(rig.up.requests).toHaveLength(1);

      rig.up.script(say('Echoed.'));
      const [echo] = await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' });
      expect(echo).toMatchObject({ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' });
      const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
      const result = resumed.find(isType('agent.mcp_tool_result'))!;
      expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: false });
      expect(resultText(result)).toBe('may I?');
      expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
      expect(mcp.stats.toolCalls).toEqual([{ name: 'echo', args: { text: 'may I?' } }]);
      expect(resultText(toolResults(rig.up.requests[1])[0])).toBe('may I?');
    } finally {
      tap.close();
    }
  });

  it('(e′) always_ask with deny: the call never reaches the server and the model is told', async () => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url, { type: 'always_ask' });
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);

    rig.up.script({ content: [toolUse(ECHO, { text: 'no' })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const paused = await tap.until(isIdle, TOOL_WAIT_MS);
      const use = paused.find(isType('agent.mcp_tool_use'))!;
      expect(use.evaluated_permission).toBe('ask');
      rig.up.script(say('Fine.'));
      await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny', deny_message: 'not that server' });
      const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
      const result = resumed.find(isType('agent.mcp_tool_result'))!;
      expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: true });
      expect(resultText(result)).toContain('not that server');
      expect(mcp.stats.toolCalls).toEqual([]);
    } finally {
      tap.close();
    }
  });

  it.each(['allow', 'deny'] as const)('(e″) auto asks for MCP tools (opaque to its rule set): nothing reaches the server unasked; %s is obeyed', async (answer) => {
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const agent = await mcpAgent(mcp.url, { type: 'auto' });
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);

    // Even a call that looks harmless (echo) is not allowed by auto: MCP tools' effects are unknown.
    rig.up.script({ content: [toolUse(ECHO, { text: 'harmless?' })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const paused = await tap.until(isIdle, TOOL_WAIT_MS);
      const use = paused.find(isType('agent.mcp_tool_use'))!;
      expect(use).toMatchObject({
        name: 'echo', evaluated_permission: 'ask',
        evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } },
      });
      expect(paused.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
      expect(paused.filter(isType('agent.mcp_tool_result'))).toEqual([]);
      expect(mcp.stats.toolCalls).toEqual([]);

      rig.up.script(say('ok'));
      await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: use.id, result: answer });
      const resumed = await tap.until(isIdle, TOOL_WAIT_MS);
      const result = resumed.find(isType('agent.mcp_tool_result'))!;
      expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: answer === 'deny' });
      expect(mcp.stats.toolCalls).toEqual(answer === 'allow' ? [{ name: 'echo', args: { text: 'harmless?' } }] : []);
      expect(resumed.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    } finally {
      tap.close();
    }
  });

  it('(f) MCP server down: session.error mcp_connection_failed_error for docs, and the turn continues', async () => {
    const token = rand('static');
    const gone = await startTestMcpServer({ token });
    const url = gone.url;
    await gone.close(); // nothing listens on that port any more
    const agent = await mcpAgent(url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: url, token });
    const s = await session(agent.id, [vault.id]);
    const t = await runTurn(s.id, [], 'The docs server is down.');

    expect(t.errors.length).toBeGreaterThanOrEqual(1);
    expect(t.errors[0].error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'docs' });
    expect(JSON.stringify(t.errors)).not.toContain(token);
    expect(mcpNames(t.requests[0])).toEqual([]);
    expectTurnContinued(t, 'The docs server is down.');
  });

  it('(f′) a server that goes away between turns: session.error while it is down, and the session recovers when it is back', async () => {
    const token = rand('static');
    const first = await startTestMcpServer({ token });
    const port = first.port;
    const agent = await mcpAgent(first.url);
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: first.url, token });
    const s = await session(agent.id, [vault.id]);
    expect((await runTurn(s.id, [[toolUse(ECHO, { text: 'up' })]])).results.map(resultText)).toEqual(['up']);
    await first.close();

    // The tool list may come from the live connection's cache, so the model may still be offered
    // the tools; calling one must then fail as a tool error plus session.error, not hang or crash.
    const down = await runTurn(s.id, [[toolUse(ECHO, { text: 'down' })]], 'down');
    expect(down.errors[0]?.error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'docs' });
    expect(down.results).toHaveLength(1);
    expect(down.results[0]).toMatchObject({ mcp_tool_use_id: down.uses[0].id, is_error: true });
    // The next model request of the turn goes on without the unreachable server's tools.
    expect(mcpNames(down.requests.at(-1)!)).toEqual([]);
    expectTurnContinued(down, 'down');

    await mcpServer({ token, port });
    const back = await runTurn(s.id, [[toolUse(ECHO, { text: 'back' })]]);
    expect(back.errors).toEqual([]);
    expect(back.results.map(resultText)).toEqual(['back']);
  });
});

describe('MCP toolset details', () => {
  async function ready(opts: TestMcpServerOptions = {}, tools?: Anthropic.Beta.Agents.AgentCreateParams['tools'], name = 'docs') {
    const token = rand('static');
    const mcp = await mcpServer({ token, ...opts });
    const agent = await client.beta.agents.create({
      name: `mcp-agent-${Math.random().toString(36).slice(2)}`,
      model: MODEL,
      mcp_servers: [{ type: 'url', name, url: mcp.url }],
      tools: tools ?? [{ type: 'mcp_toolset', mcp_server_name: name, default_config: { permission_policy: ALLOW } }],
    });
    const { vault, credential } = await vaultWith({ type: 'static_bearer', mcp_server_url: mcp.url, token });
    const s = await session(agent.id, [vault.id]);
    return { mcp, agent, vault, credential, s };
  }

  it('per-tool configs disable tools and override the default policy', async () => {
    const { mcp, s } = await ready({}, [{
      type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: ALLOW },
      configs: [{ name: 'slow', enabled: false }, { name: 'image', enabled: false }, { name: 'add', permission_policy: { type: 'always_ask' } }],
    }]);
    rig.up.script({ content: [toolUse(ECHO, { text: 'free' }), toolUse(ADD, { a: 1, b: 1 })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const paused = await tap.until(isIdle, TOOL_WAIT_MS);
      expect(mcpNames(rig.up.requests[0])).toEqual(['add', 'echo', 'fail', 'resource'].map((n) => modelToolName('docs', n)).sort());
      const [echoUse, addUse] = paused.filter(isType('agent.mcp_tool_use'));
      expect(echoUse).toMatchObject({ name: 'echo', evaluated_permission: 'allow' });
      expect(addUse).toMatchObject({ name: 'add', evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
      expect(paused.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [addUse.id] });
      rig.up.script(say('ok'));
      await sendEvents(client, s.id, { type: 'user.tool_confirmation', tool_use_id: addUse.id, result: 'allow' });
      const rest = await tap.until(isIdle, TOOL_WAIT_MS);
      expect(rest.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
      const all = [...paused, ...rest].filter(isType('agent.mcp_tool_result'));
      expect(Object.fromEntries(all.map((r) => [r.mcp_tool_use_id, resultText(r)]))).toEqual({ [echoUse.id]: 'free', [addUse.id]: '2' });
      expect(mcp.stats.toolCalls.map((c) => c.name).sort()).toEqual(['add', 'echo']);
    } finally {
      tap.close();
    }
  });

  it('a disabled MCP tool the model calls anyway is denied without reaching the server', async () => {
    const { mcp, s } = await ready({}, [{
      type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: ALLOW }, configs: [{ name: 'echo', enabled: false }],
    }]);
    const t = await runTurn(s.id, [[toolUse(ECHO, { text: 'sneaky' })]]);
    expect(mcpNames(t.requests[0])).not.toContain(ECHO);
    expect(mcp.stats.toolCalls).toEqual([]);
    const use = t.turn.find((e) => e.type === 'agent.tool_use' || e.type === 'agent.mcp_tool_use')!;
    expect(use.evaluated_permission).toBe('deny');
    expectTurnContinued(t, 'Done.');
  });

  it('carries tool errors, images and resources through agent.mcp_tool_result', async () => {
    const { s } = await ready();
    const t = await runTurn(s.id, [[
      toolUse(modelToolName('docs', 'fail'), { message: 'nope' }),
      toolUse(modelToolName('docs', 'image'), {}),
      toolUse(modelToolName('docs', 'resource'), {}),
    ]]);
    expect(t.errors).toEqual([]);
    const byName = Object.fromEntries(t.uses.map((u) => [u.name, t.results.find((r) => r.mcp_tool_use_id === u.id)!]));
    expect(byName.fail).toMatchObject({ is_error: true });
    expect(resultText(byName.fail)).toBe('nope');
    expect(byName.image.is_error).toBe(false);
    expect(byName.image.content).toEqual([
      { type: 'text', text: 'here is an image' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: expect.any(String) } },
    ]);
    expect(resultText(byName.resource)).toContain('resource body');
  });

  it('falls back to the old HTTP+SSE transport', async () => {
    const { mcp, s } = await ready({ mode: 'sse-only' });
    const t = await runTurn(s.id, [[toolUse(ECHO, { text: 'over sse' })]]);
    expect(t.errors).toEqual([]);
    expect(t.results.map(resultText)).toEqual(['over sse']);
    expect(mcp.stats.toolCalls).toEqual([{ name: 'echo', args: { text: 'over sse' } }]);
  });

  it('offers tools of a server whose name needs sanitizing under a stable name, and routes calls back', async () => {
    const { s } = await ready({}, [{ type: 'mcp_toolset', mcp_server_name: 'team.docs v2', default_config: { permission_policy: ALLOW } }], 'team.docs v2');
    const name = modelToolName('team.docs v2', 'echo');
    expect(name).toMatch(/^[a-zA-Z0-9_-]{1,128}$/);
    const t = await runTurn(s.id, [[toolUse(name, { text: 'sanitized' })]]);
    expect(mcpNames(t.requests[0])).toContain(name);
    expect(t.uses[0]).toMatchObject({ mcp_server_name: 'team.docs v2', name: 'echo' });
    expect(t.results.map(resultText)).toEqual(['sanitized']);
  });

  it('archiving the credential mid-session: the next turn connects unauthenticated and reports the failure', async () => {
    const { mcp, vault, credential, s } = await ready();
    expect((await runTurn(s.id, [[toolUse(ECHO, { text: 'ok' })]])).results.map(resultText)).toEqual(['ok']);
    await client.beta.vaults.credentials.archive(credential.id, { vault_id: vault.id });
    const t = await runTurn(s.id, [], 'no docs');
    expect(t.errors[0]?.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(mcpNames(t.requests[0])).toEqual([]);
    expect(mcp.stats.toolCalls).toHaveLength(1);
  });

  it('closes the session\'s MCP connection when the session is deleted', async () => {
    const { mcp, s } = await ready();
    await runTurn(s.id, [[toolUse(ECHO, { text: 'ok' })]]);
    expect(mcp.sessionCount()).toBe(1);
    await client.beta.sessions.delete(s.id);
    const deadline = Date.now() + 5_000;
    while (mcp.sessionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(mcp.sessionCount()).toBe(0);
    expect(mcp.stats.terminated).toBe(1);
  });

  it('closes the session\'s MCP connection when the session is archived', async () => {
    const { mcp, s } = await ready();
    await runTurn(s.id, [[toolUse(ECHO, { text: 'ok' })]]);
    expect(mcp.sessionCount()).toBe(1);
    await client.beta.sessions.archive(s.id);
    const deadline = Date.now() + 5_000;
    while (mcp.sessionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(mcp.sessionCount()).toBe(0);
  });

  it('closes an MCP connection after HANGAR_MCP_IDLE_MS without calls, and reconnects on the next turn', async () => {
    const h2 = await startHangar({ upstreamUrl: rig.up.url, ...rig.hangarOptions, env: { ...rig.hangarOptions?.env, HANGAR_MCP_IDLE_MS: '1000' } });
    cleanups.push(() => h2.close());
    const c2 = h2.client;
    const token = rand('static');
    const mcp = await mcpServer({ token });
    const env = await c2.beta.environments.create({ name: `idle-${Math.random().toString(36).slice(2)}` });
    const agent = await c2.beta.agents.create({
      name: 'idle-agent', model: MODEL, mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: ALLOW } }],
    });
    const vault = await c2.beta.vaults.create({ display_name: 'idle' });
    await c2.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.url, token } });
    const s = await c2.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id] });
    const turnOn = async (word: string) => {
      rig.up.script({ content: [toolUse(ECHO, { text: word })] }, say('ok'));
      const tap = await EventTap.open(c2, s.id);
      try {
        await sendEvents(c2, s.id, text('go'));
        return (await tap.until(isIdle, TOOL_WAIT_MS)).filter(isType('agent.mcp_tool_result')).map(resultText);
      } finally {
        tap.close();
      }
    };
    expect(await turnOn('one')).toEqual(['one']);
    expect(mcp.sessionCount()).toBe(1);
    const deadline = Date.now() + 5_000;
    while (mcp.sessionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(mcp.sessionCount()).toBe(0);
    expect(mcp.stats.terminated).toBe(1);
    expect(await turnOn('two')).toEqual(['two']);
    expect(mcp.stats.initializes).toBe(2);
  });

  it('an interrupt during a long MCP call ends the turn promptly and answers the call', async () => {
    const { mcp, s } = await ready();
    rig.up.script({ content: [toolUse(modelToolName('docs', 'slow'), { ms: 15_000 })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const upToUse = await tap.until(isType('agent.mcp_tool_use'), TOOL_WAIT_MS);
      const use = upToUse.at(-1)!;
      const deadline = Date.now() + 5_000;
      while (mcp.stats.toolCalls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      await sendEvents(client, s.id, { type: 'user.interrupt' });
      const rest = await tap.until(isIdle, 5_000);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await client.beta.sessions.retrieve(s.id)).status).toBe('idle');
      // An MCP call is answered by agent.mcp_tool_result{mcp_tool_use_id} (docs/API-SPEC.md §5.2 flow 5),
      // never by agent.tool_result{tool_use_id}.
      expect(types(rest).filter((t) => t !== 'span.model_request_end')).toEqual(['user.interrupt', 'agent.mcp_tool_result', 'session.status_idle']);
      const answer = rest.find((e) => e.type === 'agent.mcp_tool_result' && e.mcp_tool_use_id === use.id);
      expect(answer, JSON.stringify(types(rest))).toMatchObject({ is_error: true });
      expect(resultText(answer!)).toMatch(/interrupted/i);
    } finally {
      tap.close();
    }
  });

  it('an interrupt while an MCP call awaits confirmation answers it with agent.mcp_tool_result', async () => {
    const { mcp, s } = await ready({}, [{ type: 'mcp_toolset', mcp_server_name: 'docs' }]);
    rig.up.script({ content: [toolUse(ECHO, { text: 'pending' })] });
    const tap = await EventTap.open(client, s.id);
    try {
      await sendEvents(client, s.id, text('go'));
      const paused = await tap.until(isIdle, TOOL_WAIT_MS);
      const use = paused.find(isType('agent.mcp_tool_use'))!;
      expect(paused.at(-1)!.stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
      await sendEvents(client, s.id, { type: 'user.interrupt' });
      const rest = await tap.until(isIdle, 5_000);
      expect(rest.filter(isType('agent.tool_result')), 'answered with agent.tool_result').toEqual([]);
      const answer = rest.find((e) => e.type === 'agent.mcp_tool_result' && e.mcp_tool_use_id === use.id);
      expect(answer, JSON.stringify(types(rest))).toMatchObject({ is_error: true });
      expect(mcp.stats.toolCalls).toEqual([]);
    } finally {
      tap.close();
    }
  });

  it('refuses a session naming an archived vault', async () => {
    const { vault } = await vaultWith({ type: 'static_bearer', mcp_server_url: 'https://archived.example.com/mcp', token: rand('t') });
    await client.beta.vaults.archive(vault.id);
    const agent = await mcpAgent('https://archived.example.com/mcp');
    const err = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, vault_ids: [vault.id] }).then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('a token refreshed on 401 is stored: a new session uses it without refreshing again', async () => {
    const revoked = rand('revoked');
    const fresh = rand('fresh');
    const refreshToken = rand('refresh');
    const mcp = await mcpServer({ token: fresh });
    const ep = await tokenEndpoint({ clientId: 'c4', clientSecret: 'cs4', refreshToken: () => refreshToken }, () => ({ access_token: fresh, expires_in: 3600 }));
    const agent = await mcpAgent(mcp.url);
    const { vault } = await vaultWith({
      type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: revoked, expires_at: new Date(Date.now() + 3600_000).toISOString(),
      refresh: { client_id: 'c4', refresh_token: refreshToken, token_endpoint: ep.url, token_endpoint_auth: { type: 'client_secret_post', client_secret: 'cs4' } },
    });
    const first = await runTurn((await session(agent.id, [vault.id])).id, [[toolUse(ECHO, { text: 'one' })]]);
    expect(first.results.map(resultText)).toEqual(['one']);
    const unauthorizedBefore = mcp.stats.unauthorized;
    const second = await runTurn((await session(agent.id, [vault.id])).id, [[toolUse(ECHO, { text: 'two' })]]);
    expect(second.errors).toEqual([]);
    expect(second.results.map(resultText)).toEqual(['two']);
    expect(ep.requests).toHaveLength(1);
    expect(mcp.stats.unauthorized).toBe(unauthorizedBefore);
  });
});
