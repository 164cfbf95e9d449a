// Secrets echoed back are scrubbed before they are stored or sent (issue 18): an MCP server that
// echoes the vault's bearer token in its tool result — raw (twice), as a `Bearer` header, base64 of
// the whole header, base64url and URL-encoded — and an upstream error that quotes a credential
// reach the event log, its stream, the events API and the next model request only as the marker
// (and no log line at all);
// mcp_oauth_validate does not pass on a token endpoint's echo of the form body and Basic header.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type Anthropic from '@anthropic-ai/sdk';
import { startTestMcpServer, type TestMcpServer } from '../kit/mcp-server.ts';
import { startHangar } from '../kit/hangar.ts';
import { startFakeUpstream } from '../kit/fake-upstream.ts';
import { modelToolName } from '../../src/ports/mcp.ts';
import { VAULT_MARKER, secretForms } from '../../src/domain/secret-scrubber.ts';
import {
  EventTap, MODEL, isIdle, isTerminalStatus, isType, listEvents, resultText, say, sendEvents, text, toolResults, toolUse,
  TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;
let mcp: TestMcpServer;
// `/` and `+` make the URL-encoded form differ from the raw one.
const token = `s3cr3t/${randomBytes(12).toString('hex')}+tok`;

/** Every line the server logged, at trace level. */
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const up = await startFakeUpstream();
  const h = await startHangar({ upstreamUrl: up.url, overrides: { logger: pino({ level: 'trace' }, sink) } });
  const envId = (await h.client.beta.environments.create({ name: `echo-env-${Math.random().toString(36).slice(2)}` })).id;
  rig = { h, up, client: h.client, envId, close: async () => { await h.close(); await up.close(); } };
  client = rig.client;
  mcp = await startTestMcpServer({ token, echoCredentials: true });
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await mcp?.close();
  await rig?.close();
});

/** Every form of the token a careless server might echo (what `whoami` sends back). */
const forms = () => [
  token,
  encodeURIComponent(token),
  Buffer.from(token).toString('base64'),
  Buffer.from(token).toString('base64url'),
  Buffer.from(`Authorization: Bearer ${token}`).toString('base64'),
];
const leaked = (haystack: string) => forms().filter((f) => haystack.includes(f));
const markers = (s: string) => s.split(VAULT_MARKER).length - 1;

async function sessionWithVault(): Promise<string> {
  const vault = await client.beta.vaults.create({ display_name: 'echo vault' });
  await client.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.url, token } });
  const agent = await client.beta.agents.create({
    name: `echo-agent-${Math.random().toString(36).slice(2)}`,
    model: MODEL,
    mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
    tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: { type: 'always_allow' } } }],
  });
  return (await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId, vault_ids: [vault.id] })).id;
}

async function turnUntil(sessionId: string, done: (e: Ev) => boolean): Promise<Ev[]> {
  const tap = await EventTap.open(client, sessionId);
  try {
    await sendEvents(client, sessionId, text('go'));
    return await tap.until(done, TOOL_WAIT_MS);
  } finally {
    tap.close();
  }
}

describe('secrets echoed back are scrubbed', () => {
  it('an MCP result echoing the vault token (twice, and encoded) carries only the marker in the log, the API and the next model request', async () => {
    const sessionId = await sessionWithVault();
    rig.up.script({ content: [toolUse(modelToolName('docs', 'whoami'), {})] }, say('Done.'));
    const streamed = await turnUntil(sessionId, isIdle);

    // The server really got (and echoed) the token, so the checks below are not vacuous.
    expect(mcp.stats.authorizationHeaders).toContain(`Bearer ${token}`);

    const [result] = streamed.filter(isType('agent.mcp_tool_result'));
    expect(result.is_error).toBe(false);
    const lines = resultText(result).split('\n');
    expect(lines[0]).toBe(`you sent: Bearer ${VAULT_MARKER}`);
    expect(lines[1]).toBe(`token again: ${VAULT_MARKER}`);
    expect(lines[2]).toMatch(/^base64 header: \S*\[redacted:vault_credential\]\S*$/);
    expect(lines[3]).toBe(`base64url token: ${VAULT_MARKER}`);
    expect(lines[4]).toBe(`url-encoded: https://example.invalid/cb?access_token=${VAULT_MARKER}&x=1`);

    // The stream, the events API and the next model request: markers, never the token.
    expect(leaked(JSON.stringify(streamed))).toEqual([]);
    const listed = JSON.stringify(await listEvents(client, sessionId));
    expect(markers(listed)).toBe(5);
    expect(leaked(listed)).toEqual([]);
    const next = rig.up.requests[1];
    expect(resultText(toolResults(next)[0])).toBe(resultText(result));
    expect(leaked(JSON.stringify(next.body))).toEqual([]);
    expect(markers(JSON.stringify(next.body))).toBe(5);

    // Nor did any log line carry it (the session did log its turn, so the sink was live).
    expect(logLines.some((l) => l.includes(sessionId))).toBe(true);
    expect(leaked(logLines.join('\n'))).toEqual([]);
  });

  it('a session.error quoting a credential (here an upstream error message) is scrubbed', async () => {
    const sessionId = await sessionWithVault();
    const b64 = Buffer.from(token).toString('base64');
    rig.up.script({ kind: 'error', status: 400, type: 'invalid_request_error', message: `rejected header value ${b64} (raw ${token})` });
    const streamed = await turnUntil(sessionId, isTerminalStatus);
    const [error] = streamed.filter(isType('session.error'));
    expect(error.error.message).toContain(`${VAULT_MARKER} (raw ${VAULT_MARKER})`);
    const listed = JSON.stringify(await listEvents(client, sessionId));
    expect(leaked(listed)).toEqual([]);
    expect(markers(listed)).toBeGreaterThanOrEqual(2);
  });

  it('a session without vaults is not scrubbed (nothing to scrub)', async () => {
    const agent = await client.beta.agents.create({ name: `plain-${Math.random().toString(36).slice(2)}`, model: MODEL });
    const { id } = await client.beta.sessions.create({ agent: agent.id, environment_id: rig.envId });
    rig.up.script(say(`the token is ${token}`));
    const streamed = await turnUntil(id, isIdle);
    expect(resultText(streamed.filter(isType('agent.message'))[0])).toBe(`the token is ${token}`);
  });
});

describe('mcp_oauth_validate with a token endpoint that echoes what it was sent', () => {
  let endpoint: Server | undefined;
  afterAll(async () => {
    endpoint?.closeAllConnections();
    await new Promise<void>((r) => (endpoint ? endpoint.close(() => r()) : r()));
  });

  it('reports the refused refresh without the refresh token or client secret in any encoding', async () => {
    const refreshToken = `rt/${randomBytes(10).toString('hex')}+=`;
    const clientSecret = `cs ${randomBytes(10).toString('hex')}/+`;
    const received: string[] = [];
    endpoint = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      received.push(body, String(req.headers.authorization));
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`invalid_grant: you sent ${body} with ${req.headers.authorization}`);
    });
    await new Promise<void>((r) => endpoint!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`;
    const vault = await client.beta.vaults.create({ display_name: 'oauth echo vault' });
    const credential = await client.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'mcp_oauth', mcp_server_url: mcp.url, access_token: `expired-${randomBytes(8).toString('hex')}`,
        refresh: { client_id: 'echo-client', refresh_token: refreshToken, token_endpoint: url, token_endpoint_auth: { type: 'client_secret_basic', client_secret: clientSecret } },
      },
    });
    const r = await client.beta.vaults.credentials.mcpOAuthValidate(credential.id, { vault_id: vault.id });
    expect(r).toMatchObject({ status: 'invalid', refresh: { status: 'failed', http_response: { status_code: 400 } } });
    // The endpoint did receive (and echo) both secrets, form-encoded and inside the Basic header.
    expect(received.join(' ')).toContain(new URLSearchParams({ refresh_token: refreshToken }).toString());
    expect(received.join(' ')).toContain('Basic ');
    const body = r.refresh!.http_response!.body;
    expect(body).toContain('refresh_token=[redacted]');
    expect(body).toContain('Basic ');
    const json = JSON.stringify(r);
    for (const f of [...secretForms(refreshToken), ...secretForms(clientSecret)]) expect(json).not.toContain(f);
  });
});
