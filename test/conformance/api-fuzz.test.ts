// Seeded fuzz run of the whole HTTP API (issue 18): 10,000 requests over every route with malformed
// ids, bodies, query strings, headers, methods and content types against a live in-process Hangar.
// It asserts that no response is a 5xx, that every error uses the envelope and every response has a
// `request-id`, and that a rejected request changed nothing (a fingerprint of the stored state is
// taken around every state-changing request). The seed is fixed, so a failure reproduces exactly.
// Before the fixes of issue 18 this run got 74 responses with status 500 (malformed multipart on
// POST /v1/files) and 1,706 router rejections (414, 400) without the envelope or a request id.
import { DatabaseSync } from 'node:sqlite';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { secretOf } from '../worker/work-kit.ts';

const SEED = 0x5eed_0018;
const REQUESTS = 10_000;
const READ_CONCURRENCY = 16;
const BODY_LIMIT = 64 * 1024;

/** mulberry32: a tiny, fixed-seed PRNG so the run is the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let h: TestHangar;
let db: DatabaseSync;
const fx: Record<string, string> = {};

beforeAll(async () => {
  h = await startHangar({
    env: {
      HANGAR_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      HANGAR_MODEL_MAX_RETRIES: '0',
      // The fuzzer sends thousands of wrong keys from one address on purpose; the lockout has its own test.
      HANGAR_AUTH_FAIL_LIMIT: '1000000',
    },
    overrides: { files: { maxUploadBytes: 32 * 1024 } },
  });
  const c = h.client;
  const agent = await c.beta.agents.create({ name: 'fuzz-agent', model: 'claude-sonnet-4-6' });
  const env = await c.beta.environments.create({ name: 'fuzz-env' });
  const selfHosted = await c.beta.environments.create({ name: 'fuzz-self-hosted', config: { type: 'self_hosted' } as never });
  const session = await c.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  const file = await c.beta.files.upload({ file: new File(['hello fuzz'], 'fuzz.txt', { type: 'text/plain' }) });
  const vault = await c.beta.vaults.create({ display_name: 'fuzz-vault' } as never);
  const cred = await c.beta.vaults.credentials.create(vault.id, {
    auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: 'tok-fuzz-secret' },
  } as never);
  const envKey = await c.post<{ id: string; key: string }>(`/v1/environments/${selfHosted.id}/keys`);
  // A worker's session token for a session in the self-hosted environment (polled and acked).
  const workSession = await c.beta.sessions.create({ agent: agent.id, environment_id: selfHosted.id, initial_events: [text('hi') as never] });
  const worker = new Anthropic({ baseURL: h.url, apiKey: null, authToken: envKey.key, maxRetries: 0 });
  const item = (await worker.beta.environments.work.poll(selfHosted.id, { block_ms: 999 }))!;
  const sessionToken = secretOf(item).sessions_token;
  await worker.beta.environments.work.ack(item.id, { environment_id: selfHosted.id });
  const fuzzWorkspace = await c.beta.organization.workspaces.create({ name: 'fuzz-ws' });
  const fuzzKey = await c.post<{ id: string }>('/v1/organizations/api_keys', { body: { name: 'fuzz-key', role: 'viewer' } });
  const limit = await c.beta.organization.spendLimits.set({ amount: '100000000', scope: { type: 'workspace', workspace_id: fuzzWorkspace.id } });
  const destination = await c.beta.organization.telemetryDestinations.create({ endpoint_url: 'http://127.0.0.1:9', workspaces: { type: 'include', workspace_ids: [fuzzWorkspace.id] } });
  Object.assign(fx, {
    workspace: fuzzWorkspace.id, apiKeyId: fuzzKey.id, role: 'viewer',
    spendLimit: limit.id,
    destination: destination.id,
    agent: agent.id, env: env.id, selfHosted: selfHosted.id, session: session.id, file: file.id, vault: vault.id,
    cred: cred.id, envKeyId: envKey.id, envKey: envKey.key, work: item.id, workSession: workSession.id, sessionToken,
    resource: 'sesrsc_000000000000000000000000', thread: 'sthr_000000000000000000000000', model: 'claude-sonnet-4-6',
    consolePage: 'console-page',
  });
  db = new DatabaseSync(join(h.dataDir, 'hangar.db'));
  db.exec('PRAGMA busy_timeout = 5000');
  installWriteCounter();
});

afterAll(async () => {
  db?.close();
  await h?.close();
});

/**
 * What a rejected request must not change: every API-owned table, the sessions' own fields, user
 * events and the stored blobs. Triggers (test instrumentation in this throwaway database) count
 * every write to them, so a fingerprint is one read however large the tables grow. The harness
 * updates sessions' status and appends agent/session events in the background; those are not
 * counted, only the fields and events a request writes.
 */
const WATCHED = ['agents', 'agent_versions', 'environments', 'files', 'vaults', 'vault_credentials', 'api_keys', 'environment_keys', 'workspaces', 'spend_limits', 'telemetry_destinations'];
/** Authentication records a key's last use (once a minute): that is not a change a request made. */
const API_KEY_CHANGED = 'WHEN OLD.last_used_at IS NEW.last_used_at ';

function installWriteCounter(): void {
  const bump = 'BEGIN UPDATE fuzz_writes SET n = n + 1; END';
  const sessionFields = ['title', 'metadata', 'resources', 'vault_ids']
    .map((f) => `json_extract(OLD.data, '$.${f}') IS NOT json_extract(NEW.data, '$.${f}')`).join(' OR ');
  db.exec(`
    CREATE TABLE fuzz_writes (n INTEGER NOT NULL);
    INSERT INTO fuzz_writes VALUES (0);
    ${WATCHED.flatMap((t) => ['INSERT', 'UPDATE', 'DELETE'].map((op) => `CREATE TRIGGER fuzz_${t}_${op} AFTER ${op} ON ${t} ${op === 'UPDATE' && t === 'api_keys' ? API_KEY_CHANGED : ''}${bump};`)).join('\n')}
    CREATE TRIGGER fuzz_sessions_insert AFTER INSERT ON sessions ${bump};
    CREATE TRIGGER fuzz_sessions_delete AFTER DELETE ON sessions ${bump};
    CREATE TRIGGER fuzz_sessions_update AFTER UPDATE ON sessions WHEN OLD.archived_at IS NOT NEW.archived_at OR ${sessionFields} ${bump};
    CREATE TRIGGER fuzz_user_events AFTER INSERT ON events WHEN NEW.type LIKE 'user.%' ${bump};
    CREATE TRIGGER fuzz_events_delete AFTER DELETE ON events ${bump};
  `);
}

function fingerprint(): string {
  const writes = (db.prepare('SELECT n FROM fuzz_writes').get() as { n: number }).n;
  return `${writes} ${readdirSync(join(h.dataDir, 'files')).length} ${readdirSync(join(h.dataDir, 'files', '.tmp')).length}`;
}

type Gen = () => number;
const pick = <T>(r: Gen, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Gen, p: number) => r() < p;

function randomString(r: Gen, max = 40): string {
  const alphabet = [...'abcdefghijklmnopqrstuvwxyz0123456789_-.~ %/?#&=+;:@!$\'"()*,[]{}<>\\|^`\u00e9\u4e2d\u{1f600}\u0000\n'];
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** An id for a path slot: the right fixture, another kind's fixture, unknown, hostile or malformed. */
function idFor(r: Gen, kind: string): string {
  const x = r();
  if (x < 0.3) return encodeURIComponent((kind === 'session' && r() < 0.3 ? fx.workSession : fx[kind]) ?? kind);
  if (x < 0.4) return encodeURIComponent(pick(r, Object.values(fx)));
  if (x < 0.5) return `${(fx[kind] ?? 'x_').split('_')[0]}_${'0'.repeat(Math.floor(r() * 40))}`;
  if (x < 0.6) return 'a'.repeat(90 + Math.floor(r() * 40)); // around the 100-character id limit
  if (x < 0.65) return 'b'.repeat(2000 + Math.floor(r() * 4000));
  if (x < 0.75) return pick(r, ['%', '%zz', '%E0%A4%A', '%C0%AF', '%00', '%2F..%2F', '..', '%ff%fe', '%25', '%u0041']);
  if (x < 0.8) return '';
  return encodeURIComponent(randomString(r));
}

interface Route {
  method: string;
  path: (r: Gen) => string;
  body?: (r: Gen) => unknown;
  multipart?: boolean;
}

const text = (t: string) => ({ type: 'user.message', content: [{ type: 'text', text: t }] });

const ROUTES: Route[] = [
  { method: 'GET', path: () => '/health' },
  { method: 'GET', path: () => '/healthz' },
  { method: 'GET', path: () => '/readyz' },
  { method: 'GET', path: () => '/console' },
  { method: 'GET', path: (r) => `/console/${idFor(r, 'consolePage')}` },
  { method: 'POST', path: () => '/v1/agents', body: (r) => ({ name: `a-${Math.floor(r() * 1e6)}`, model: 'claude-sonnet-4-6' }) },
  { method: 'GET', path: () => '/v1/agents' },
  { method: 'GET', path: () => '/v1/models' },
  { method: 'GET', path: (r) => `/v1/models/${idFor(r, 'model')}` },
  { method: 'GET', path: (r) => `/v1/agents/${idFor(r, 'agent')}` },
  { method: 'POST', path: (r) => `/v1/agents/${idFor(r, 'agent')}`, body: () => ({ version: 1, description: 'changed' }) },
  { method: 'POST', path: (r) => `/v1/agents/${idFor(r, 'agent')}/archive` },
  { method: 'GET', path: (r) => `/v1/agents/${idFor(r, 'agent')}/versions` },
  { method: 'POST', path: () => '/v1/environments', body: (r) => ({ name: `e-${Math.floor(r() * 1e6)}` }) },
  { method: 'GET', path: () => '/v1/environments' },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'env')}` },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'env')}`, body: () => ({ description: 'changed' }) },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'env')}/archive` },
  { method: 'DELETE', path: (r) => `/v1/environments/${idFor(r, 'env')}` },
  { method: 'POST', path: () => '/v1/sessions', body: () => ({ agent: fx.agent, environment_id: fx.env }) },
  { method: 'GET', path: () => '/v1/sessions' },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}` },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}`, body: () => ({ title: 'changed', metadata: { k: 'v' } }) },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}/archive` },
  { method: 'DELETE', path: (r) => `/v1/sessions/${idFor(r, 'session')}` },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}/events`, body: () => ({ events: [text('hi')] }) },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/events` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/events/stream` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/threads` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/threads/${idFor(r, 'thread')}` },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}/threads/${idFor(r, 'thread')}/archive` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/threads/${idFor(r, 'thread')}/events` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/threads/${idFor(r, 'thread')}/stream` },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/resources` },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}/resources`, body: () => ({ type: 'file', file_id: fx.file }) },
  { method: 'GET', path: (r) => `/v1/sessions/${idFor(r, 'session')}/resources/${idFor(r, 'resource')}` },
  { method: 'POST', path: (r) => `/v1/sessions/${idFor(r, 'session')}/resources/${idFor(r, 'resource')}`, body: () => ({ authorization_token: 'x' }) },
  { method: 'DELETE', path: (r) => `/v1/sessions/${idFor(r, 'session')}/resources/${idFor(r, 'resource')}` },
  { method: 'POST', path: () => '/v1/files', multipart: true },
  { method: 'GET', path: () => '/v1/files' },
  { method: 'GET', path: (r) => `/v1/files/${idFor(r, 'file')}` },
  { method: 'GET', path: (r) => `/v1/files/${idFor(r, 'file')}/content` },
  { method: 'DELETE', path: (r) => `/v1/files/${idFor(r, 'file')}` },
  { method: 'POST', path: () => '/v1/vaults', body: () => ({ display_name: 'v' }) },
  { method: 'GET', path: () => '/v1/vaults' },
  { method: 'GET', path: (r) => `/v1/vaults/${idFor(r, 'vault')}` },
  { method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}`, body: () => ({ display_name: 'changed' }) },
  { method: 'DELETE', path: (r) => `/v1/vaults/${idFor(r, 'vault')}` },
  { method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/archive` },
  {
    method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials`,
    body: (r) => ({ auth: { type: 'static_bearer', mcp_server_url: `https://m${Math.floor(r() * 1e6)}.example.com/mcp`, token: 't' } }),
  },
  { method: 'GET', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials` },
  { method: 'GET', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials/${idFor(r, 'cred')}` },
  { method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials/${idFor(r, 'cred')}`, body: () => ({ display_name: 'c' }) },
  { method: 'DELETE', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials/${idFor(r, 'cred')}` },
  { method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials/${idFor(r, 'cred')}/archive` },
  { method: 'POST', path: (r) => `/v1/vaults/${idFor(r, 'vault')}/credentials/${idFor(r, 'cred')}/mcp_oauth_validate` },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/keys` },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/keys` },
  { method: 'DELETE', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/keys/${idFor(r, 'envKeyId')}` },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/poll` },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/stats` },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work` },
  { method: 'GET', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/${idFor(r, 'work')}` },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/${idFor(r, 'work')}`, body: () => ({ metadata: { a: 'b' } }) },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/${idFor(r, 'work')}/ack` },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/${idFor(r, 'work')}/heartbeat` },
  { method: 'POST', path: (r) => `/v1/environments/${idFor(r, 'selfHosted')}/work/${idFor(r, 'work')}/stop`, body: () => ({ force: true }) },
  { method: 'POST', path: () => '/v1/organizations/workspaces', body: (r) => ({ name: `w-${Math.floor(r() * 1e6)}`, display_color: '#123456', tags: { a: 'b' } }) },
  { method: 'GET', path: () => '/v1/organizations/workspaces' },
  { method: 'GET', path: (r) => `/v1/organizations/workspaces/${idFor(r, 'workspace')}` },
  { method: 'POST', path: (r) => `/v1/organizations/workspaces/${idFor(r, 'workspace')}`, body: () => ({ name: 'renamed', tags: { a: null } }) },
  { method: 'POST', path: (r) => `/v1/organizations/workspaces/${idFor(r, 'workspace')}/archive` },
  { method: 'POST', path: () => '/v1/organizations/api_keys', body: () => ({ name: 'k', role: 'viewer', workspace_id: fx.workspace }) },
  { method: 'GET', path: () => '/v1/organizations/api_keys' },
  { method: 'GET', path: (r) => `/v1/organizations/api_keys/${idFor(r, 'apiKeyId')}` },
  { method: 'POST', path: (r) => `/v1/organizations/api_keys/${idFor(r, 'apiKeyId')}`, body: () => ({ name: 'renamed', status: 'inactive' }) },
  { method: 'POST', path: (r) => `/v1/organizations/api_keys/${idFor(r, 'apiKeyId')}/rotate` },
  { method: 'GET', path: () => '/v1/organizations/rbac_roles' },
  { method: 'GET', path: (r) => `/v1/organizations/rbac_roles/${idFor(r, 'role')}` },
  { method: 'GET', path: (r) => `/v1/organizations/rbac_roles/${idFor(r, 'role')}/permissions` },
  { method: 'POST', path: () => '/v1/organizations/spend_limits', body: () => ({ amount: '100000000', scope: { type: 'workspace', workspace_id: 'wrkspc_fuzz' }, period: 'monthly' }) },
  { method: 'GET', path: () => '/v1/organizations/spend_limits' },
  { method: 'GET', path: () => '/v1/organizations/spend_limits/effective' },
  { method: 'GET', path: (r) => `/v1/organizations/spend_limits/${idFor(r, 'spendLimit')}` },
  { method: 'DELETE', path: (r) => `/v1/organizations/spend_limits/${idFor(r, 'spendLimit')}` },
  { method: 'GET', path: () => '/v1/audit_events' },
  { method: 'POST', path: () => '/v1/organizations/telemetry_destinations', body: () => ({ endpoint_url: 'http://127.0.0.1:9', workspaces: { type: 'include', workspace_ids: ['wrkspc_fuzz'] }, headers: { authorization: 'Bearer fuzz' } }) },
  { method: 'GET', path: () => '/v1/organizations/telemetry_destinations' },
  { method: 'GET', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}` },
  { method: 'POST', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}`, body: () => ({ display_name: 'changed', traces: { enabled: true } }) },
  { method: 'DELETE', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}` },
  { method: 'POST', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}/test` },
  { method: 'GET', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}/workspaces` },
  { method: 'POST', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}/workspaces/${idFor(r, 'workspace')}` },
  { method: 'DELETE', path: (r) => `/v1/organizations/telemetry_destinations/${idFor(r, 'destination')}/workspaces/${idFor(r, 'workspace')}` },
  { method: 'GET', path: (r) => `/v1/${randomString(r, 20).replace(/[?#]/g, '')}` },
];

const QUERY_PARTS = [
  'limit=-1', 'limit=0', 'limit=abc', 'limit=1e9', 'limit=5', 'limit=5&limit=6', 'page=garbage', 'page=', 'page=%zz',
  'order=sideways', 'order=asc', 'types[]=user.message', 'types[]=' + 'x'.repeat(300), 'types[]=a&types[]=b&types[]=c',
  'created_at[gt]=yesterday', 'created_at[gte]=2020-01-01T00:00:00Z', 'include_archived=maybe', 'include_archived=true',
  'ids[]=file_1', 'scope_id=' + 'z'.repeat(200), 'block_ms=5000', 'block_ms=1', 'block_ms=', 'reclaim_older_than_ms=-5',
  'desired_ttl_seconds=0', 'expected_last_heartbeat=x', 'event_deltas[]=nope', 'version=abc', 'version=1', 'beta=true',
  'scope_type[]=workspace', 'scope_type[]=user', 'workspace_id=wrkspc_fuzz', 'period[]=monthly', 'user_ids[]=user_1',
  'format=jsonl', 'format=xml', 'workspace_ids[]=wrkspc_fuzz', 'workspace_ids[]=bad', 'resource_type=agent', 'actor_id=key_x', 'created_at[lte]=2020-01-01T00:00:00Z',
  'a[b][c][d]=1', '%zz=1', 'x=%', '=', '&&&', 'agent_id=' + 'a'.repeat(150), 'a=' + 'q'.repeat(5000),
];

function queryFor(r: Gen): string {
  if (chance(r, 0.5)) return '';
  const n = 1 + Math.floor(r() * 3);
  return '?' + Array.from({ length: n }, () => (chance(r, 0.85) ? pick(r, QUERY_PARTS) : randomString(r, 30))).join('&');
}

/** Replaces, removes or adds fields of a valid body, or swaps it for another JSON value. */
function mutate(r: Gen, value: unknown, depth = 0): unknown {
  const odd = [null, true, 0, -1, 1e308, '', 'x'.repeat(300), [], {}, [1, 2], { type: 'nope' }, '\u0000', { __proto__: { polluted: 1 } }];
  if (value === null || typeof value !== 'object' || depth > 3 || chance(r, 0.15)) return chance(r, 0.7) ? pick(r, odd) : value;
  if (Array.isArray(value)) return value.map((v) => mutate(r, v, depth + 1)).concat(chance(r, 0.2) ? [pick(r, odd)] : []);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (chance(r, 0.2)) continue;
    out[k] = chance(r, 0.5) ? mutate(r, v, depth + 1) : v;
  }
  if (chance(r, 0.3)) out[pick(r, ['unknown_field', 'type', 'id', 'metadata', 'constructor', '__proto__'])] = pick(r, odd);
  return out;
}

function deepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

interface Shaped {
  body?: BodyInit;
  contentType?: string;
}

function bodyFor(r: Gen, route: Route): Shaped {
  if (route.multipart) return multipartFor(r);
  const valid = route.body?.(r) ?? {};
  const x = r();
  if (x < 0.15) return { body: JSON.stringify(valid), contentType: 'application/json' };
  if (x < 0.5) return { body: JSON.stringify(mutate(r, valid)), contentType: 'application/json' };
  if (x < 0.58) return { body: pick(r, ['{', '{"a":', 'nul', '[1,]', '\u0000', '{"a":1}}', '"str"', '12', deepJson(5000)]), contentType: 'application/json' };
  if (x < 0.63) return { body: JSON.stringify({ pad: 'p'.repeat(BODY_LIMIT + 10) }), contentType: 'application/json' };
  if (x < 0.7) return {};
  if (x < 0.78) return { body: JSON.stringify(valid), contentType: pick(r, ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'a/b;;;', 'application/json; charset=utf-16', '*/*', 'multipart/form-data']) };
  if (x < 0.85) return { body: multipartFor(r).body, contentType: pick(r, ['multipart/form-data; boundary=zz', 'multipart/form-data']) };
  if (x < 0.9) return { body: new Uint8Array(Array.from({ length: 64 }, () => Math.floor(r() * 256))), contentType: 'application/octet-stream' };
  return { body: JSON.stringify(valid) };
}

/** Well-formed and broken multipart bodies for POST /v1/files. */
function multipartFor(r: Gen): Shaped {
  const b = `fuzz${Math.floor(r() * 1e9)}`;
  const part = (name: string, value: string, filename?: string, type = 'text/plain') =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n${filename ? `Content-Type: ${type}\r\n` : ''}\r\n${value}\r\n`;
  const file = part('file', 'content', pick(r, ['a.txt', 'x.html', '../../etc/passwd', '"q".svg', 'é.bin', '']), pick(r, ['text/plain', 'text/html', 'image/svg+xml', '']));
  const shapes = [
    file + `--${b}--\r\n`,
    file + part('expires_in_seconds', pick(r, ['3600', '-1', 'abc', '1e99'])) + `--${b}--\r\n`,
    part('other', 'x') + `--${b}--\r\n`,
    file, // no closing boundary
    file.slice(0, Math.floor(r() * file.length)),
    `--${b}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${b}--\r\n`,
    `--${b}\r\n\r\n\r\n--${b}--`,
    `garbage without any boundary`,
    file + file + `--${b}--\r\n`,
    part('file', 'x'.repeat(40 * 1024), 'big.txt') + `--${b}--\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n`,
  ];
  const contentType = pick(r, [`multipart/form-data; boundary=${b}`, `multipart/form-data; boundary=${b}`, `multipart/form-data; boundary=other`, 'multipart/form-data', `multipart/mixed; boundary=${b}`]);
  return { body: pick(r, shapes), contentType };
}

function headersFor(r: Gen, shaped: Shaped): Record<string, string> {
  const headers: Record<string, string> = {};
  const x = r();
  if (x < 0.82) headers.authorization = `Bearer ${h.apiKey}`;
  else if (x < 0.85) headers['x-api-key'] = h.apiKey;
  else if (x < 0.87) headers.authorization = `Bearer ${fx.envKey}`;
  else if (x < 0.88) headers.authorization = `Bearer ${fx.sessionToken}`;
  else if (x < 0.91) headers.authorization = pick(r, ['Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'bearer sk-ant-oat01-unknown', 'Bearer sk-ant-req-unknown', 'Bearer ' + 'k'.repeat(5000)]);
  else if (x < 0.94) headers['x-api-key'] = randomString(r, 60).replace(/[^\x20-\x7e]/g, '') || 'k';
  // else: no credential at all
  if (shaped.contentType) headers['content-type'] = shaped.contentType;
  if (chance(r, 0.05)) headers['anthropic-worker-id'] = 'w'.repeat(pick(r, [1, 300]));
  if (chance(r, 0.04)) headers['anthropic-workspace-id'] = pick(r, [fx.workspace, 'wrkspc_default', 'wrkspc_unknown', 'nope', `wrkspc_${'x'.repeat(100)}`, '']);
  if (chance(r, 0.05)) headers.accept = pick(r, ['text/event-stream', 'application/xml', '*/*']);
  if (chance(r, 0.03)) headers['content-encoding'] = pick(r, ['gzip', 'br', 'bogus']);
  return headers;
}

interface Planned {
  method: string;
  url: string;
  init: RequestInit;
}

function plan(r: Gen): Planned {
  const route = pick(r, ROUTES);
  const method = chance(r, 0.9) ? route.method : pick(r, ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);
  const shaped = method === 'GET' || method === 'HEAD' ? (chance(r, 0.1) ? { contentType: 'application/json' } : {}) : bodyFor(r, route);
  const url = `${h.url}${route.path(r)}${queryFor(r)}`;
  return { method, url, init: { method, headers: headersFor(r, shaped), body: method === 'GET' || method === 'HEAD' ? undefined : shaped.body } };
}

interface Outcome {
  status: number;
  where: string;
  problem?: string;
}

async function send(p: Planned): Promise<Outcome> {
  const res = await fetch(p.url, { ...p.init, signal: AbortSignal.timeout(15_000) });
  const requestId = res.headers.get('request-id');
  const isStream = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const body = isStream ? (await res.body?.cancel(), '') : await res.text();
  const where = `${p.method} ${p.url.slice(h.url.length, h.url.length + 160)} → ${res.status}`;
  if (!requestId) return { status: res.status, where, problem: `${where}: no request-id header` };
  if (res.status >= 400 && p.method !== 'HEAD') {
    let envelope: any;
    try {
      envelope = JSON.parse(body);
    } catch {
      return { status: res.status, where, problem: `${where}: error body is not JSON: ${body.slice(0, 120)}` };
    }
    const ok = envelope?.type === 'error' && typeof envelope.error?.type === 'string' && typeof envelope.error?.message === 'string'
      && envelope.error.message.length > 0 && envelope.request_id === requestId;
    if (!ok) return { status: res.status, where, problem: `${where}: not the error envelope: ${body.slice(0, 160)}` };
  }
  return { status: res.status, where };
}

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Every `app.get|post|delete('/path')` the server registers, read from its route modules. */
function registeredRoutes(): string[] {
  const dir = join(import.meta.dirname, '../../src/server');
  const sources = [join(dir, 'app.ts'), ...readdirSync(join(dir, 'routes')).map((f) => join(dir, 'routes', f))];
  return sources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/app\.(get|post|delete|put|patch)(?:<[^>]*>)?\(\s*'([^']+)'/g)]
    .map((m) => `${m[1].toUpperCase()} ${m[2].replace(/:\w+/g, '*')}`));
}

describe('API fuzz (fixed seed)', () => {
  it('has a template for every route the server registers', () => {
    const ids = new Set(Object.values(fx).map((v) => encodeURIComponent(v)));
    const zero = () => 0; // picks each slot's own fixture
    const fuzzed = new Set(ROUTES.map((r) => `${r.method} ${r.path(zero).split('/').map((seg) => (ids.has(seg) ? '*' : seg)).join('/')}`));
    const routes = registeredRoutes();
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.filter((r) => !fuzzed.has(r))).toEqual([]);
  });


  it('notices a write through its fingerprint, and not a read', async () => {
    const before = fingerprint();
    await h.client.beta.agents.list();
    await h.client.beta.sessions.retrieve(fx.session);
    expect(fingerprint()).toBe(before);
    await h.client.beta.sessions.update(fx.session, { metadata: { probe: 'x' } });
    const afterUpdate = fingerprint();
    expect(afterUpdate).not.toBe(before);
    await h.client.beta.files.upload({ file: new File(['probe'], 'probe.txt', { type: 'text/plain' }) });
    expect(fingerprint()).not.toBe(afterUpdate);
  });

  it(`answers ${REQUESTS} hostile requests with no 5xx, always in the envelope, changing nothing when it rejects`, { timeout: 180_000 }, async () => {
    const r = prng(SEED);
    const planned = Array.from({ length: REQUESTS }, () => plan(r));
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    const record = (o: Outcome) => {
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      if (o.status >= 500) problems.push(`5xx: ${o.where}`);
      if (o.problem) problems.push(o.problem);
    };
    let rejectedWrites = 0;
    let i = 0;
    while (i < planned.length) {
      // Reads go in parallel; a write runs alone between two fingerprints.
      const reads: Planned[] = [];
      while (i < planned.length && READ_ONLY.has(planned[i].method) && reads.length < READ_CONCURRENCY) reads.push(planned[i++]);
      if (reads.length) {
        for (const o of await Promise.all(reads.map((p) => send(p).catch((err) => ({ status: 0, where: p.url, problem: `${p.method} ${p.url.slice(0, 200)}: ${err}` }))))) record(o);
        continue;
      }
      const p = planned[i++];
      const before = fingerprint();
      const o = await send(p).catch((err) => ({ status: 0, where: p.url, problem: `${p.method} ${p.url.slice(0, 200)}: ${err}` }));
      record(o);
      if (o.status >= 400) {
        rejectedWrites++;
        if (fingerprint() !== before) problems.push(`${p.method} ${p.url.slice(h.url.length, h.url.length + 160)} → ${o.status} changed stored state`);
      }
    }
    const summary = Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]));
    // FUZZ_DUMP=<file> writes the status counts and every problem found, for investigating a failure.
    if (process.env.FUZZ_DUMP) writeFileSync(process.env.FUZZ_DUMP, `${JSON.stringify(summary)}\n${problems.join('\n')}`);
    expect(problems.slice(0, 20), JSON.stringify(summary)).toEqual([]);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(REQUESTS);
    const fivexx = [...statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    expect(fivexx).toBe(0);
    // The run reached the paths it means to test, not just one rejection.
    for (const s of [200, 400, 401, 403, 404, 413, 414]) expect(statuses.get(s) ?? 0, `status ${s} in ${JSON.stringify(summary)}`).toBeGreaterThan(0);
    expect(rejectedWrites).toBeGreaterThan(1000);
  });
});
