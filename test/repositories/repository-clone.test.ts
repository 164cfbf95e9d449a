// Host-side clone of github_repository resources against a real `git http-backend` server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneRepository, repositoryName, repositoryUrlProblem } from '../../src/adapters/git-clone/repository-clone.ts';
import { startGitServer, type GitServer } from '../kit/git-server.ts';

const TOKEN = 'ghp_testtoken_0123456789abcdef';
let server: GitServer;
let sha: string;

beforeAll(async () => {
  server = await startGitServer();
  sha = server.createRepo('demo', { 'README.md': 'hello from demo\n' }, { branches: ['feature'] });
  server.tokens.add(TOKEN);
});
afterAll(async () => server?.close());

function dirs() {
  const base = mkdtempSync(join(tmpdir(), 'hangar-clone-test-'));
  return { targetDir: join(base, 'demo'), scratchDir: base };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).map((p) => join(dir, p)).filter((p) => statSync(p).isFile());
}

describe('cloneRepository', () => {
  it('clones with a token, and the token is nowhere in the clone (config keeps the plain URL)', async () => {
    const d = dirs();
    const result = await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, ...d, allowPrivate: true });
    expect(result).toEqual({ ok: true });
    expect(readFileSync(join(d.targetDir, 'README.md'), 'utf8')).toBe('hello from demo\n');
    const config = readFileSync(join(d.targetDir, '.git', 'config'), 'utf8');
    expect(config).toContain(`url = ${server.url}/demo.git`);
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    expect(server.seenAuthorization).toContain(`Basic ${basic}`);
    for (const file of allFiles(d.targetDir)) {
      const bytes = readFileSync(file);
      expect(bytes.includes(TOKEN), file).toBe(false);
      expect(bytes.includes(basic), file).toBe(false);
    }
  });

  it('checks out a branch and a commit', async () => {
    const b = dirs();
    expect(await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, checkout: { type: 'branch', name: 'feature' }, ...b, allowPrivate: true })).toEqual({ ok: true });
    expect(readFileSync(join(b.targetDir, '.git', 'HEAD'), 'utf8').trim()).toBe('ref: refs/heads/feature');
    const c = dirs();
    expect(await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, checkout: { type: 'commit', sha }, ...c, allowPrivate: true })).toEqual({ ok: true });
    expect(readFileSync(join(c.targetDir, '.git', 'HEAD'), 'utf8').trim()).toBe(sha);
  });

  it('a missing branch is a repository_checkout_error, retrying, and leaves nothing behind', async () => {
    const d = dirs();
    const result = await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, checkout: { type: 'branch', name: 'nope' }, ...d, allowPrivate: true });
    expect(result).toMatchObject({ ok: false, error: { type: 'repository_checkout_error', repository_url: `${server.url}/demo.git`, retry_status: { type: 'retrying' } } });
    expect(readdirSync(d.scratchDir)).toEqual([]);
  });

  it('a missing commit is a repository_checkout_error', async () => {
    const result = await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, checkout: { type: 'commit', sha: 'f'.repeat(40) }, ...dirs(), allowPrivate: true });
    expect(result).toMatchObject({ ok: false, error: { type: 'repository_checkout_error' } });
  });

  it('a refused token is repository_forbidden_error; no token is repository_authentication_error; never quoting the token', async () => {
    const refused = await cloneRepository({ url: `${server.url}/demo.git`, token: 'wrong-token-value', ...dirs(), allowPrivate: true });
    expect(refused).toMatchObject({ ok: false, error: { type: 'repository_forbidden_error' } });
    expect(JSON.stringify(refused)).not.toContain('wrong-token-value');
    const none = await cloneRepository({ url: `${server.url}/demo.git`, ...dirs(), allowPrivate: true });
    expect(none).toMatchObject({ ok: false, error: { type: 'repository_authentication_error' } });
  });

  it('a rotated token makes the next clone work', async () => {
    server.tokens.add('rotated-token-abcdef');
    server.tokens.delete(TOKEN);
    try {
      expect(await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, ...dirs(), allowPrivate: true })).toMatchObject({ ok: false });
      expect(await cloneRepository({ url: `${server.url}/demo.git`, token: 'rotated-token-abcdef', ...dirs(), allowPrivate: true })).toEqual({ ok: true });
    } finally {
      server.tokens.add(TOKEN);
      server.tokens.delete('rotated-token-abcdef');
    }
  });

  it('an unknown repository is repository_not_found_error', async () => {
    const result = await cloneRepository({ url: `${server.url}/missing.git`, token: TOKEN, ...dirs(), allowPrivate: true });
    expect(result).toMatchObject({ ok: false, error: { type: 'repository_not_found_error' } });
  });

  it('refuses loopback and private addresses unless allowed, without contacting them', async () => {
    const before = server.seenAuthorization.length;
    const result = await cloneRepository({ url: `${server.url}/demo.git`, token: TOKEN, ...dirs(), allowPrivate: false });
    expect(result).toMatchObject({ ok: false, error: { type: 'repository_clone_error' } });
    expect((result as { error: { message: string } }).error.message).toContain('HANGAR_GIT_ALLOW_PRIVATE');
    expect(server.seenAuthorization.length).toBe(before);
    const named = await cloneRepository({
      url: 'https://git.example.test/a/b.git', ...dirs(), allowPrivate: false,
      lookup: async () => [{ address: '10.1.2.3', family: 4 }],
    });
    expect(named).toMatchObject({ ok: false, error: { type: 'repository_clone_error' } });
  });
});

describe('repository URLs', () => {
  it('accepts http(s) only, without credentials, and names the directory after the repository', () => {
    expect(repositoryUrlProblem('https://github.com/o/r.git')).toBeUndefined();
    expect(repositoryUrlProblem('git@github.com:o/r.git')).toMatch(/http/);
    expect(repositoryUrlProblem('ssh://github.com/o/r')).toMatch(/only http and https/);
    expect(repositoryUrlProblem('file:///etc')).toMatch(/only http and https/);
    expect(repositoryUrlProblem('https://u:p@github.com/o/r')).toMatch(/credentials/);
    expect(repositoryName('https://github.com/o/hangar.git')).toBe('hangar');
    expect(repositoryName('https://github.com/o/hangar/')).toBe('hangar');
  });
});
