// The resource commands (`agents`, `envs`, `sessions`, `vaults`), configuration (`config`, `login`,
// precedence of flags, HANGAR_* variables and the config file) and the exit-code contract, driven
// through the built command against a real Hangar and checked back through the official SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, MODEL, startCliRig, type CliRig } from './cli-kit.ts';

let rig: CliRig;
let dir: string;
beforeAll(async () => {
  rig = await startCliRig();
  dir = mkdtempSync(join(tmpdir(), 'hangar-cli-cmd-'));
});
afterAll(async () => {
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function ok(args: string[], env: Record<string, string> = rig.env, stdin?: string) {
  const r = await cli(args, env, stdin);
  expect(r.code, `hangar ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

describe('hangar agents', () => {
  it('create -f (YAML), update -f (JSON), versions and diff show the change', async () => {
    const created = await ok(['agents', 'create', '-f', file('agent.yaml', `name: reviewer\nmodel: ${MODEL}\nsystem: You review pull requests.\ntools:\n  - type: agent_toolset_20260401\n`)]);
    const id = /created (agent_\w+) \(reviewer, version 1\)/.exec(created.stdout)?.[1];
    expect(id, created.stdout).toBeDefined();
    const updated = await ok(['agents', 'update', id!, '-f', file('agent-v2.json', JSON.stringify({ system: 'You review pull requests strictly.' }))]);
    expect(updated.stdout).toContain(`updated ${id}: now version 2`);
    expect((await rig.h.client.beta.agents.retrieve(id!)).system).toBe('You review pull requests strictly.');

    const versions = await ok(['agents', 'versions', id!, '--json']);
    expect((JSON.parse(versions.stdout) as Array<{ version: number }>).map((v) => v.version).sort()).toEqual([1, 2]);

    const diff = await ok(['agents', 'diff', id!, '1', '2']);
    expect(diff.stdout).toContain(`--- ${id}@v1`);
    expect(diff.stdout).toContain(`+++ ${id}@v2`);
    expect(diff.stdout).toMatch(/^-system: You review pull requests\.$/m);
    expect(diff.stdout).toMatch(/^\+system: You review pull requests strictly\.$/m);
    expect(diff.stdout).toMatch(/^@@ /m);
    expect(diff.stdout).not.toMatch(/^[-+]name:/m); // unchanged lines are context, not changes
    expect(diff.stdout).not.toMatch(/\x1b\[/); // no color into a pipe

    const same = await ok(['agents', 'diff', id!, '2', '2']);
    expect(same.stdout.trim()).toBe(`versions 2 and 2 of ${id} are the same`);
    const json = JSON.parse((await ok(['agents', 'diff', id!, '1', '2', '--json'])).stdout);
    expect(json).toMatchObject({ id, from: 1, to: 2, changed: true });
  });

  it('get prints YAML that update -f takes back; a stale version is refused and changes nothing', async () => {
    const a = await rig.h.client.beta.agents.create({ name: 'round-trip', model: MODEL, system: 'one' });
    const got = await ok(['agents', 'get', a.id]);
    expect(got.stdout).toContain(`id: ${a.id}`);
    expect(got.stdout).toContain('version: 1');
    const edited = file('rt.yaml', got.stdout.replace('system: one', 'system: two'));
    await ok(['agents', 'update', a.id, '-f', edited]);
    expect((await rig.h.client.beta.agents.retrieve(a.id)).system).toBe('two');
    // The same file again still says version 1: the server refuses the overwrite.
    const stale = await cli(['agents', 'update', a.id, '-f', file('rt2.yaml', got.stdout.replace('system: one', 'system: three'))], rig.env);
    expect(stale.code).toBe(1);
    expect(stale.stderr.trim().split('\n')).toHaveLength(1);
    expect(stale.stderr).toMatch(/^hangar: \w+_error: /);
    expect((await rig.h.client.beta.agents.retrieve(a.id)).system).toBe('two');
    // A past version on request.
    expect((await ok(['agents', 'get', a.id, '--version', '1', '--json'])).stdout).toContain('"system": "one"');
  });

  it('list as a table and as JSON; archive', async () => {
    const a = await rig.h.client.beta.agents.create({ name: 'listed-agent', model: MODEL });
    const table = await ok(['agents', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+VERSION\s+MODEL\s+UPDATED/);
    expect(table.stdout).toMatch(new RegExp(`^${a.id}\\s+listed-agent\\s+1\\s+${MODEL}`, 'm'));
    const rows = JSON.parse((await ok(['agents', 'list', '--json'])).stdout) as Array<{ id: string }>;
    expect(rows.map((r) => r.id)).toContain(a.id);
    await ok(['agents', 'archive', a.id]);
    expect((await rig.h.client.beta.agents.retrieve(a.id)).archived_at).not.toBeNull();
    const after = JSON.parse((await ok(['agents', 'list', '--json'])).stdout) as Array<{ id: string }>;
    expect(after.map((r) => r.id)).not.toContain(a.id);
    const withArchived = JSON.parse((await ok(['agents', 'list', '--json', '--archived'])).stdout) as Array<{ id: string }>;
    expect(withArchived.map((r) => r.id)).toContain(a.id);
  });

  it('a file that is not an object, or not YAML, is refused before any request', async () => {
    const before = (await rig.h.client.beta.agents.list({ limit: 100 })).data.length;
    const list = await cli(['agents', 'create', '-f', file('list.yaml', '- a\n- b\n')], rig.env);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/must hold one object \(a mapping\), not a list/);
    const broken = await cli(['agents', 'create', '-f', file('broken.yaml', 'name: [unclosed\n')], rig.env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/is neither valid YAML nor JSON/);
    const missing = await cli(['agents', 'create', '-f', join(dir, 'nope.yaml')], rig.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read file .*nope\.yaml: ENOENT/);
    expect((await rig.h.client.beta.agents.list({ limit: 100 })).data.length).toBe(before);
  });

  it('an invalid agent comes back as the envelope type and message in one line, exit 1', async () => {
    const r = await cli(['agents', 'create', '-f', file('bad.yaml', 'name: no-model\n')], rig.env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hangar: invalid_request_error: .*model.*\(HTTP 400\)$/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('create -f - reads stdin', async () => {
    const r = await ok(['agents', 'create', '-f', '-', '--json'], rig.env, JSON.stringify({ name: 'from-stdin', model: MODEL }));
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'from-stdin', version: 1 });
  });
});

describe('hangar envs and sessions', () => {
  it('envs create, get, update, list, archive, delete', async () => {
    const created = JSON.parse((await ok(['envs', 'create', '-f', file('env.yaml', 'name: build-env\nconfig:\n  type: cloud\n'), '--json'])).stdout);
    expect(created).toMatchObject({ name: 'build-env', config: { type: 'cloud' } });
    expect((await ok(['envs', 'get', created.id])).stdout).toContain('name: build-env');
    await ok(['envs', 'update', created.id, '-f', file('env2.yaml', 'description: builds things\n')]);
    expect((await rig.h.client.beta.environments.retrieve(created.id)).description).toBe('builds things');
    expect((await ok(['envs', 'list'])).stdout).toMatch(new RegExp(`^${created.id}\\s+build-env\\s+cloud`, 'm'));
    await ok(['envs', 'archive', created.id]);
    expect((await rig.h.client.beta.environments.retrieve(created.id)).archived_at).not.toBeNull();
    expect((await ok(['envs', 'delete', created.id])).stdout).toContain(`deleted ${created.id}`);
    const gone = await cli(['envs', 'get', created.id], rig.env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^hangar: not_found_error: /);
  });

  it('sessions list (with filters), get, archive, delete', async () => {
    const a = await rig.h.client.beta.agents.create({ name: 'sess-agent', model: MODEL });
    const env = await rig.h.client.beta.environments.create({ name: 'sess-env' });
    const s = await rig.h.client.beta.sessions.create({ agent: a.id, environment_id: env.id, title: 'nightly job' });
    const table = await ok(['sessions', 'list', '--agent', a.id]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+AGENT\s+TITLE\s+UPDATED\s+TOKENS\s+COST$/);
    expect(table.stdout).toMatch(new RegExp(`^${s.id}\\s+idle\\s+sess-agent@v1\\s+nightly job`, 'm'));
    expect(JSON.parse((await ok(['sessions', 'list', '--status', 'running', '--agent', a.id, '--json'])).stdout)).toEqual([]);
    const bad = await cli(['sessions', 'list', '--status', 'sleeping'], rig.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown status "sleeping"');
    expect(JSON.parse((await ok(['sessions', 'get', s.id, '--json'])).stdout)).toMatchObject({ id: s.id, title: 'nightly job' });
    await ok(['sessions', 'archive', s.id]);
    expect((await rig.h.client.beta.sessions.retrieve(s.id)).archived_at).not.toBeNull();
    await ok(['sessions', 'delete', s.id]);
    expect((await cli(['sessions', 'get', s.id], rig.env)).code).toBe(1);
  });
});

describe('hangar vaults and credentials', () => {
  it('create a vault and a credential whose secret comes from stdin and is never printed; rotate; archive', async () => {
    const vault = JSON.parse((await ok(['vaults', 'create', '--name', 'team-secrets', '--json'])).stdout);
    expect(vault.display_name).toBe('team-secrets');
    const secret = 'ghp_supersecret_token_value_123';
    const cred = file('cred.yaml', 'display_name: github\nauth:\n  type: static_bearer\n  mcp_server_url: https://mcp.example.test/mcp\n');
    const created = await ok(['vaults', 'credentials', 'create', vault.id, '-f', cred, '--secret-file', '-', '--json'], rig.env, `${secret}\n`);
    expect(created.stdout).not.toContain(secret);
    expect(created.stderr).not.toContain(secret);
    const c = JSON.parse(created.stdout);
    expect(c).toMatchObject({ display_name: 'github', auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.test/mcp' } });

    const shown = await ok(['vaults', 'get', vault.id]);
    expect(shown.stdout).toMatch(new RegExp(`^${c.id}\\s+github\\s+static_bearer\\s+https://mcp.example.test/mcp`, 'm'));
    expect(shown.stdout).not.toContain(secret);

    const rotated = await ok(['vaults', 'credentials', 'rotate', vault.id, c.id, '--secret-file', file('new-secret.txt', 'ghp_rotated_value_456\n')]);
    expect(rotated.stdout).toContain(`rotated ${c.id}'s token`);
    expect(rotated.stdout).not.toContain('ghp_rotated_value_456');
    const after = await rig.h.client.beta.vaults.credentials.retrieve(c.id, { vault_id: vault.id });
    expect(Date.parse(after.updated_at)).toBeGreaterThanOrEqual(Date.parse(c.updated_at));

    await ok(['vaults', 'credentials', 'archive', vault.id, c.id]);
    expect((await rig.h.client.beta.vaults.credentials.retrieve(c.id, { vault_id: vault.id })).archived_at).not.toBeNull();
    expect((await ok(['vaults', 'list'])).stdout).toMatch(new RegExp(`^${vault.id}\\s+team-secrets`, 'm'));
    await ok(['vaults', 'archive', vault.id]);
    expect((await rig.h.client.beta.vaults.retrieve(vault.id)).archived_at).not.toBeNull();
  });

  it('a credential without its secret is a usage error (exit 2) and creates nothing', async () => {
    const vault = await rig.h.client.beta.vaults.create({ display_name: 'empty' });
    const r = await cli(['vaults', 'credentials', 'create', vault.id, '-f', file('nosecret.yaml', 'auth:\n  type: static_bearer\n  mcp_server_url: https://mcp.example.test/x\n')], rig.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--secret-file');
    expect((await rig.h.client.beta.vaults.credentials.list(vault.id)).data).toHaveLength(0);
  });
});

describe('configuration and exit codes', () => {
  const noEnv = (configHome: string) => ({ XDG_CONFIG_HOME: configHome });

  it('precedence: flag over HANGAR_* variable over config file over default', async () => {
    const home = mkdtempSync(join(dir, 'xdg-'));
    mkdirSync(join(home, 'hangar'));
    writeFileSync(join(home, 'hangar', 'config.json'), JSON.stringify({ url: rig.h.url, api_key: rig.h.apiKey }));
    const show = async (args: string[], env: Record<string, string>) => JSON.parse((await ok(['config', '--json', ...args], env)).stdout);

    expect(await show([], noEnv(home))).toMatchObject({ url: rig.h.url, url_source: 'config', api_key_source: 'config' });
    expect(await show([], { ...noEnv(home), HANGAR_URL: 'http://127.0.0.1:1' })).toMatchObject({ url: 'http://127.0.0.1:1', url_source: 'env', api_key_source: 'config' });
    expect(await show(['--url', 'http://127.0.0.1:2'], { ...noEnv(home), HANGAR_URL: 'http://127.0.0.1:1' })).toMatchObject({ url: 'http://127.0.0.1:2', url_source: 'flag' });
    const empty = mkdtempSync(join(dir, 'xdg-empty-'));
    expect(await show([], noEnv(empty))).toMatchObject({ url: 'http://127.0.0.1:8700', url_source: 'default', api_key_source: 'none' });

    // And the commands really use what wins: the config file alone reaches the rig…
    await ok(['agents', 'list'], noEnv(home));
    // …a wrong key in the environment overrides the good one in the file…
    const envWins = await cli(['agents', 'list'], { ...noEnv(home), HANGAR_API_KEY: 'sk-wrong' });
    expect(envWins.code).toBe(1);
    expect(envWins.stderr).toMatch(/^hangar: authentication_error: /);
    // …and a flag overrides the environment.
    await ok(['agents', 'list', '--api-key', rig.h.apiKey], { ...noEnv(home), HANGAR_API_KEY: 'sk-wrong' });
  });

  it('a bad API key is one line naming the error and exit 1', async () => {
    const r = await cli(['agents', 'list'], { ...rig.env, HANGAR_API_KEY: 'sk-not-a-key' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hangar: authentication_error: .+\(HTTP 401\)$/m);
    expect(r.stdout).toBe('');
  });

  it('no API key anywhere is a usage error (exit 2) that says where to put one', async () => {
    const r = await cli(['agents', 'list'], noEnv(mkdtempSync(join(dir, 'xdg-none-'))));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/an API key is needed: pass --api-key, set HANGAR_API_KEY, or run hangar login/);
  });

  it('an unreachable server is named in one line, exit 1', async () => {
    const r = await cli(['sessions', 'list'], { ...rig.env, HANGAR_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^hangar: could not reach the Hangar server at http:\/\/127\.0\.0\.1:9 \(.+\); start it/);
  });

  it('a broken config file is reported, not ignored', async () => {
    const home = mkdtempSync(join(dir, 'xdg-bad-'));
    mkdirSync(join(home, 'hangar'));
    writeFileSync(join(home, 'hangar', 'config.json'), JSON.stringify({ url: rig.h.url, apikey: 'typo' }));
    const r = await cli(['agents', 'list'], noEnv(home));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown key "apikey" (allowed: url, api_key)');
  });

  it('login checks the key, then writes the config file (0600) that later commands use', async () => {
    const home = mkdtempSync(join(dir, 'xdg-login-'));
    const bad = await cli(['login', '--url', rig.h.url, '--api-key-file', '-'], noEnv(home), 'sk-wrong\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/authentication_error/);
    expect(() => statSync(join(home, 'hangar', 'config.json'))).toThrow();
    const good = await ok(['login', '--url', rig.h.url, '--api-key-file', '-'], noEnv(home), `${rig.h.apiKey}\n`);
    expect(good.stdout).not.toContain(rig.h.apiKey);
    const path = join(home, 'hangar', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: rig.h.url, api_key: rig.h.apiKey });
    await ok(['agents', 'list'], noEnv(home));
  });

  it('an unknown command prints the usage, exit 2; a missing argument or bad number is exit 2', async () => {
    const unknown = await cli(['frobnicate'], rig.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(unknown.stderr).toContain('Usage: hangar [options] [command]');
    const missing = await cli(['agents', 'get'], rig.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'agent_id'");
    expect(missing.stderr).toContain('hangar agents get --help');
    const notNumber = await cli(['agents', 'diff', 'agent_x', 'one', '2'], rig.env);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toContain('version "one" must be a positive integer');
    const badLimit = await cli(['sessions', 'list', '--limit', '0'], rig.env);
    expect(badLimit.code).toBe(2);
  });

  it('--help lists the client commands and per-command help documents options and exit codes', async () => {
    const top = await ok(['--help']);
    for (const c of ['agents', 'envs', 'sessions', 'vaults', 'run', 'tail', 'login', 'config', 'serve', 'worker', 'env-key', 'keys']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const run = await ok(['run', '--help']);
    for (const m of ['--env', '--file', '--non-interactive', '--json', '--url', '--api-key', '130', 'config.json']) expect(run.stdout).toContain(m);
    const creds = await ok(['vaults', 'credentials', 'create', '--help']);
    expect(creds.stdout).toContain('--secret-file');
  });
});
