// `hangar db migrate-to-postgres` end to end: an SQLite installation gets agents (two versions), an
// environment, a session with a finished turn, a vault with credentials and an uploaded file through
// the official SDK; the server stops; the command copies it into an empty PostgreSQL database; a node
// started on PostgreSQL (same master key, same files directory) serves all of it back through the
// SDK, unchanged, its vault secrets still decrypt, and the session goes on. A second import into the
// same database is refused and changes nothing (the decision: refuse, never merge; see the README).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import pg from 'pg';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../kit/postgres.ts';
import { eventually, isIdle, listEvents, say, text, type Ev } from '../conformance/helpers.ts';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const server = await postgresServerUrl();
const MCP_URL = 'https://mcp.example.com/mcp';
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;

async function hangarDb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_')));
  try {
    const { stdout, stderr } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'db', ...args], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of ['agents', 'agent_versions', 'environments', 'sessions', 'events', 'vaults', 'vault_credentials', 'files', 'api_keys']) {
      out[t] = Number((await c.query(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0].n);
    }
    return out;
  } finally {
    await c.end();
  }
}

describe.skipIf(!server)('hangar db migrate-to-postgres', () => {
  let dir: string;
  let db: TestDatabase;
  let up: FakeUpstream;
  let onPg: TestHangar | undefined;
  const before: {
    agent?: Anthropic.Beta.Agents.BetaManagedAgentsAgent; versions?: unknown[]; env?: unknown; session?: unknown; events?: Ev[];
    vault?: unknown; credentials?: unknown[]; file?: Anthropic.Beta.Files.BetaFileMetadata; sessionId?: string; vaultId?: string;
  } = {};
  const FILE_BYTES = Buffer.from(`migrated file ${randomBytes(8).toString('hex')}\n`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-migrate-'));
    chmodSync(dir, 0o755);
    db = await createTestDatabase(server!);
    up = await startFakeUpstream();
    // The SQLite installation, filled through the SDK.
    const h = await startHangar({ dataDir: dir, upstreamUrl: up.url });
    try {
      const c = h.client;
      const agent = await c.beta.agents.create({ name: 'to move', model: 'claude-sonnet-4-6', system: 'v1' });
      before.agent = await c.beta.agents.update(agent.id, { version: agent.version, system: 'v2' });
      before.versions = (await c.beta.agents.versions.list(agent.id)).data;
      const env = await c.beta.environments.create({ name: 'moving-env' });
      before.env = await c.beta.environments.retrieve(env.id);
      const vault = await c.beta.vaults.create({ display_name: 'moving vault' });
      before.vaultId = vault.id;
      await c.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: MCP_URL, token: TOKEN } });
      const archived = await c.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://old.example.com/mcp', token: 'old-token-123456' } });
      await c.beta.vaults.credentials.archive(archived.id, { vault_id: vault.id });
      before.vault = await c.beta.vaults.retrieve(vault.id);
      before.credentials = (await c.beta.vaults.credentials.list(vault.id, { include_archived: true })).data;
      before.file = await c.beta.files.upload({ file: await toFile(FILE_BYTES, 'notes.txt', { type: 'text/plain' }) });
      const session = await c.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id], title: 'moving session' });
      before.sessionId = session.id;
      up.script(say('first answer on SQLite'));
      await c.beta.sessions.events.send(session.id, { events: [text('hello from SQLite')] });
      before.events = await eventually(() => listEvents(c, session.id), (evs) => evs.some(isIdle), 10_000, 'the SQLite turn');
      before.session = await c.beta.sessions.retrieve(session.id);
    } finally {
      await h.close(); // keeps the data dir: it was given
    }
  }, 60_000);

  afterAll(async () => {
    await onPg?.close();
    await up?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('copies everything, and a node on PostgreSQL serves it back unchanged through the SDK', async () => {
    const copied = await hangarDb('migrate-to-postgres', '--from', dir, '--to', db.url);
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout).toMatch(/done: \d+ rows copied and verified \(1 agents, 1 sessions, \d+ events, 2 credentials\)/);
    expect(copied.stdout).toContain(`HANGAR_MASTER_KEY set to the key that sealed this data (the content of ${join(dir, 'master.key')})`);
    expect(copied.stdout).not.toContain(TOKEN);

    onPg = await startHangar({
      dataDir: dir, upstreamUrl: up.url,
      env: { HANGAR_DATABASE_URL: db.url, HANGAR_MASTER_KEY: readFileSync(join(dir, 'master.key'), 'utf8').trim() },
    });
    expect(onPg.hangar.store.constructor.name).toBe('PgStore');
    const c = onPg.client;
    expect(await c.beta.agents.retrieve(before.agent!.id)).toEqual(before.agent);
    expect((await c.beta.agents.versions.list(before.agent!.id)).data).toEqual(before.versions);
    expect(await c.beta.environments.retrieve((before.env as { id: string }).id)).toEqual(before.env);
    // duration_seconds is computed when read (now − created_at); everything else is stored.
    const sansDuration = (x: unknown) => ({ ...(x as object), stats: { ...(x as { stats: object }).stats, duration_seconds: 0 } });
    expect(sansDuration(await c.beta.sessions.retrieve(before.sessionId!))).toEqual(sansDuration(before.session));
    expect(await listEvents(c, before.sessionId!)).toEqual(before.events);
    expect(await c.beta.vaults.retrieve(before.vaultId!)).toEqual(before.vault);
    expect((await c.beta.vaults.credentials.list(before.vaultId!, { include_archived: true })).data).toEqual(before.credentials);
    expect(await c.beta.files.retrieveMetadata(before.file!.id)).toEqual(before.file);
    expect(Buffer.from(await (await c.beta.files.download(before.file!.id)).arrayBuffer())).toEqual(FILE_BYTES);
    // The secret sealed on SQLite opens on PostgreSQL with the same master key; the archived one stays purged.
    expect(await onPg.hangar.vaults.mcpCredential([before.vaultId!], MCP_URL)).toMatchObject({ vaultId: before.vaultId, token: TOKEN, expired: false });
    expect(await onPg.hangar.vaults.mcpCredential([before.vaultId!], 'https://old.example.com/mcp')).toBeUndefined();

    // The session goes on: new events come after the copied ones, and new rows get fresh sort keys.
    up.script(say('second answer on PostgreSQL'));
    await c.beta.sessions.events.send(before.sessionId!, { events: [text('hello from PostgreSQL')] });
    const after = await eventually(() => listEvents(c, before.sessionId!), (evs) => evs.filter(isIdle).length === 2, 10_000, 'the PostgreSQL turn');
    expect(after.slice(0, before.events!.length)).toEqual(before.events);
    expect(after.slice(before.events!.length).map((e) => e.type)).toContain('agent.message');
    const second = await c.beta.agents.create({ name: 'made on PostgreSQL', model: 'claude-sonnet-4-6' });
    expect((await c.beta.agents.list()).data.map((a) => a.id)).toEqual([second.id, before.agent!.id]);
  }, 60_000);

  it('refuses a second import into a database that holds Hangar data, changing nothing', async () => {
    const counts = await rowCounts(db.url);
    expect(counts.events).toBeGreaterThan(before.events!.length);
    const again = await hangarDb('migrate-to-postgres', '--from', dir, '--to', db.url);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the target database already holds Hangar data \(.*agents: 2.*\); migrate into an empty database/);
    expect(await rowCounts(db.url)).toEqual(counts);
  });

  it('refuses a data dir without an SQLite database, and an unreachable target', async () => {
    const nowhere = join(dir, 'nope');
    const missing = await hangarDb('migrate-to-postgres', '--from', nowhere, '--to', db.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no Hangar database at ${join(nowhere, 'hangar.db')}`);
    const unreachable = await hangarDb('migrate-to-postgres', '--from', dir, '--to', 'postgres://hangar@127.0.0.1:9/hangar');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:9\/hangar \(--to\): connection refused/);
  });
});
