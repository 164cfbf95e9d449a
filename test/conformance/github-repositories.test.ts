// `github_repository` session resources, driven through the official SDK against a live Hangar
// whose tool calls run in real bubblewrap sandboxes and whose repositories come from a real
// `git http-backend` server with basic-auth tokens (test/kit/git-server.ts): the repository is
// cloned on the host at the requested branch or commit into its mount path before the first tool
// call; its token is in no response, event, sandbox environment, clone file or the database in
// plain text; clone failures are `session.error` repository_* events (`retrying`) while the session
// goes on; token rotation reaches the next clone; and loopback addresses are refused unless
// HANGAR_GIT_ALLOW_PRIVATE=on.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { startGitServer, type GitServer } from '../kit/git-server.ts';
import { callTool, listEvents, newAgent, newSession, rejection, sandboxDir, startRig, toolset, type Ev, type Rig } from './helpers.ts';

const TOKEN = 'ghp_conformance_token_0123456789abcdef';
const TOOLS = [toolset()];
let rig: Rig;
let client: Anthropic;
let git: GitServer;
let sha: string;
let featureSha: string;

beforeAll(async () => {
  git = await startGitServer();
  sha = git.createRepo('demo', { 'README.md': 'hello from main\n' }, { branches: ['feature'] });
  featureSha = sha;
  git.tokens.add(TOKEN);
  rig = await startRig({ HANGAR_GIT_ALLOW_PRIVATE: 'on' });
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
  await git?.close();
});

const repoUrl = () => `${git.url}/demo.git`;
const errorsOf = (events: Ev[]) => events.filter((e) => e.type === 'session.error').map((e) => e.error);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).map((p) => join(dir, p)).filter((p) => statSync(p).isFile());
}

describe('a github_repository resource', () => {
  it('is cloned at its branch into /workspace/<repo> before the first tool call, and the token is nowhere the agent or a client can see', async () => {
    const s = await newSession(rig, {
      tools: TOOLS,
      resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: TOKEN, checkout: { type: 'branch', name: 'feature' } }],
    });
    expect(s.resources).toHaveLength(1);
    const r = s.resources[0] as Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResource;
    expect(r).toMatchObject({ type: 'github_repository', url: repoUrl(), mount_path: '/workspace/demo', checkout: { type: 'branch', name: 'feature' } });
    expect(r.id).toMatch(/^sesrsc_/);
    expect(JSON.stringify(s)).not.toContain(TOKEN);
    expect(JSON.stringify(await client.beta.sessions.resources.retrieve(r.id, { session_id: s.id }))).not.toContain(TOKEN);

    const cat = await callTool(rig, s.id, 'bash', { command: 'cat /workspace/demo/README.md && git -C /workspace/demo rev-parse --abbrev-ref HEAD && env && cat /workspace/demo/.git/config' });
    expect(cat.result.is_error).toBe(false);
    expect(cat.text).toContain('hello from main');
    expect(cat.text).toMatch(/^feature$/m);
    expect(cat.text).toContain(`url = ${repoUrl()}`);
    expect(cat.text).not.toContain(TOKEN);
    expect(errorsOf(cat.turn.turn)).toEqual([]);

    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    for (const file of filesUnder(join(sandboxDir(rig, s.id), 'workspace'))) {
      const bytes = readFileSync(file);
      expect(bytes.includes(TOKEN), file).toBe(false);
      expect(bytes.includes(basic), file).toBe(false);
    }
    const events = await listEvents(client, s.id);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(JSON.stringify(rig.up.requests.map((q) => q.body))).not.toContain(TOKEN);
    // Sealed at rest: the database file never holds the token in plain text.
    for (const name of readdirSync(rig.h.dataDir).filter((n) => n.includes('.db') || n.includes('.sqlite'))) {
      expect(readFileSync(join(rig.h.dataDir, name)).includes(TOKEN), name).toBe(false);
    }
    // The agent's files belong to the sandbox user: it can commit in the clone.
    const commit = await callTool(rig, s.id, 'bash', { command: 'cd /workspace/demo && echo more >> README.md && git -c user.name=a -c user.email=a@a commit -qam more && git log --oneline | wc -l' });
    expect(commit.result.is_error).toBe(false);
    expect(commit.text).toMatch(/^2$/m);
  });

  it('checks out a commit detached, at a custom mount path', async () => {
    const s = await newSession(rig, {
      tools: TOOLS,
      resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: TOKEN, checkout: { type: 'commit', sha: featureSha }, mount_path: '/workspace/src/app' }],
    });
    expect(s.resources[0].mount_path).toBe('/workspace/src/app');
    const head = await callTool(rig, s.id, 'bash', { command: 'git -C /workspace/src/app rev-parse HEAD && touch /workspace/src/other && echo ok' });
    expect(head.result.is_error).toBe(false);
    expect(head.text).toContain(sha);
    expect(head.text).toMatch(/^ok$/m);
  });

  it('reports a missing branch as repository_checkout_error (retrying) and the session goes on without the repository', async () => {
    const s = await newSession(rig, {
      tools: TOOLS,
      resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: TOKEN, checkout: { type: 'branch', name: 'no-such-branch' } }],
    });
    const ls = await callTool(rig, s.id, 'bash', { command: 'ls /workspace; echo listed' });
    expect(ls.result.is_error).toBe(false);
    expect(ls.text).toContain('listed');
    expect(ls.text).not.toContain('demo');
    expect(errorsOf(ls.turn.turn)).toEqual([expect.objectContaining({
      type: 'repository_checkout_error', repository_url: repoUrl(), retry_status: { type: 'retrying' },
    })]);
    expect(ls.turn.turn.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    // Reported once per token: the next call does not try (and report) again.
    const again = await callTool(rig, s.id, 'bash', { command: 'echo again' });
    expect(errorsOf(again.turn.turn)).toEqual([]);
  });

  it('maps a refused token to repository_forbidden_error, and a rotated token reaches the next clone', async () => {
    const wrong = 'ghp_wrong_token_fedcba9876543210';
    const s = await newSession(rig, { tools: TOOLS, resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: wrong }] });
    const first = await callTool(rig, s.id, 'bash', { command: 'test -d /workspace/demo && echo present || echo absent' });
    expect(first.text).toMatch(/^absent$/m);
    const [err] = errorsOf(first.turn.turn);
    expect(err).toMatchObject({ type: 'repository_forbidden_error', repository_url: repoUrl(), retry_status: { type: 'retrying' } });
    expect(JSON.stringify(err)).not.toContain(wrong);

    const before = s.resources[0] as Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResource;
    const rotated = (await client.beta.sessions.resources.update(before.id, { session_id: s.id, authorization_token: TOKEN })) as Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResource;
    expect(rotated).toMatchObject({ id: before.id, type: 'github_repository', url: repoUrl(), mount_path: '/workspace/demo' });
    expect(JSON.stringify(rotated)).not.toContain(TOKEN);
    expect(Date.parse(rotated.updated_at)).toBeGreaterThanOrEqual(Date.parse(before.updated_at));

    const second = await callTool(rig, s.id, 'bash', { command: 'cat /workspace/demo/README.md' });
    expect(second.result.is_error).toBe(false);
    expect(second.text).toContain('hello from main');
    expect(errorsOf(second.turn.turn)).toEqual([]);
    expect(JSON.stringify(await listEvents(client, s.id))).not.toContain(TOKEN);
  });

  it('never clones through a symlink the agent planted in the mount path (nothing lands outside the workspace)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'hangar-outside-'));
    chmodSync(outside, 0o777);
    try {
      const s = await newSession(rig, {
        tools: TOOLS,
        resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: 'ghp_wrong_first_0000000000', mount_path: '/workspace/src/app' }],
      });
      // The first clone fails (refused token); meanwhile the agent replaces the parent with a link to a host path.
      const plant = await callTool(rig, s.id, 'bash', { command: `rm -rf /workspace/src && ln -s ${outside} /workspace/src && echo planted` });
      expect(plant.text).toContain('planted');
      expect(errorsOf(plant.turn.turn).map((e) => e.type)).toEqual(['repository_forbidden_error']);
      const r = s.resources[0] as Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResource;
      await client.beta.sessions.resources.update(r.id, { session_id: s.id, authorization_token: TOKEN });
      const next = await callTool(rig, s.id, 'bash', { command: 'echo next' });
      const [err] = errorsOf(next.turn.turn);
      expect(err).toMatchObject({ type: 'repository_clone_error', repository_url: repoUrl() });
      expect(err.message).toMatch(/not a directory/);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('treats a clone renamed into place just before a crash as done (no error, not cloned again)', async () => {
    const s = await newSession(rig, { tools: TOOLS, resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: TOKEN }] });
    const rid = (s.resources[0] as Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResource).id;
    const root = sandboxDir(rig, s.id);
    // What a crash between the rename into place and the success marker leaves on disk.
    mkdirSync(join(root, 'repositories'), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, 'repositories', `${rid}.attempt`), 'x\n');
    mkdirSync(join(root, 'workspace', 'demo', '.git'), { recursive: true });
    writeFileSync(join(root, 'workspace', 'demo', 'README.md'), 'left by the interrupted clone\n');
    const call = await callTool(rig, s.id, 'bash', { command: 'cat /workspace/demo/README.md' });
    expect(errorsOf(call.turn.turn)).toEqual([]);
    expect(call.text).toContain('left by the interrupted clone');
    expect(existsSync(join(root, 'repositories', `${rid}.cloned`))).toBe(true);
  });

  it('maps a missing token to repository_authentication_error and an unknown repository to repository_not_found_error', async () => {
    const s = await newSession(rig, {
      tools: TOOLS,
      resources: [
        { type: 'github_repository', url: repoUrl() },
        { type: 'github_repository', url: `${git.url}/missing.git`, authorization_token: TOKEN },
      ],
    });
    const call = await callTool(rig, s.id, 'bash', { command: 'echo ran' });
    expect(call.text).toContain('ran');
    expect(errorsOf(call.turn.turn).map((e) => e.type)).toEqual(['repository_authentication_error', 'repository_not_found_error']);
  });

  it('rejects bad repository params with 400 and creates nothing', async () => {
    const agent = (await newAgent(client, { tools: TOOLS as never })).id;
    const before = (await client.beta.sessions.list({ limit: 100 })).data.length;
    const cases: Array<[Anthropic.Beta.Sessions.BetaManagedAgentsGitHubRepositoryResourceParams, RegExp]> = [
      [{ type: 'github_repository', url: 'ftp://example.com/a/b' }, /http and https/],
      [{ type: 'github_repository', url: 'not a url' }, /absolute http/],
      [{ type: 'github_repository', url: 'https://user:pw@example.com/a/b' }, /credentials/],
      [{ type: 'github_repository', url: 'https://example.com/a/b', mount_path: '/mnt/repo' }, /under \/workspace/],
      [{ type: 'github_repository', url: 'https://example.com/a/b', checkout: { type: 'commit', sha: 'abc' } }, /sha/],
      [{ type: 'github_repository', url: 'https://example.com/a/b', checkout: { type: 'branch', name: '--upload-pack=x' } }, /branch name/],
    ];
    for (const [resource, why] of cases) {
      const e = await rejection(client.beta.sessions.create({ agent, environment_id: rig.envId, resources: [resource] }));
      expect(e.status, JSON.stringify(resource)).toBe(400);
      expect(e.message).toMatch(why);
    }
    const clash = await rejection(client.beta.sessions.create({
      agent, environment_id: rig.envId,
      resources: [{ type: 'github_repository', url: 'https://example.com/a/b' }, { type: 'github_repository', url: 'https://example.com/c/b' }],
    }));
    expect(clash.status).toBe(400);
    expect(clash.message).toMatch(/already used/);
    expect((await client.beta.sessions.list({ limit: 100 })).data.length).toBe(before);
  });
});

describe('without HANGAR_GIT_ALLOW_PRIVATE', () => {
  let guarded: Rig;
  beforeAll(async () => {
    guarded = await startRig();
  });
  afterAll(async () => guarded?.close());

  it('refuses a repository on a loopback address with repository_clone_error, never contacting it', async () => {
    const seen = git.seenAuthorization.length;
    const s = await newSession(guarded, { tools: TOOLS, resources: [{ type: 'github_repository', url: repoUrl(), authorization_token: TOKEN }] });
    const call = await callTool(guarded, s.id, 'bash', { command: 'echo ran' });
    expect(call.text).toContain('ran');
    const [err] = errorsOf(call.turn.turn);
    expect(err).toMatchObject({ type: 'repository_clone_error', repository_url: repoUrl(), retry_status: { type: 'retrying' } });
    expect(err.message).toMatch(/HANGAR_GIT_ALLOW_PRIVATE/);
    expect(git.seenAuthorization.length).toBe(seen);
  });
});
