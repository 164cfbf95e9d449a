// Clones a `github_repository` session resource on the host, outside the sandbox. The token is
// handed to the host's git process only, as an `http.extraHeader` through GIT_CONFIG_* environment
// variables (never argv, never a file): the clone's .git/config keeps the plain URL, and nothing
// the sandbox can read holds the token. The host is vetted like sandbox egress (loopback, private,
// link-local and metadata addresses refused unless allowed) and git is pinned to the vetted address
// (`http.curloptResolve`), with redirects and every non-http(s) transport off. Failures map onto the
// `repository_*_error` types of `session.error` (always `retrying`: the session goes on without it).
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, lstat, lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decideEgress, systemLookup, type EgressLookup } from '../egress-proxy/egress-gate.ts';
import { normalizeHost } from '../egress-proxy/address-policy.ts';
import type { CloneRequest as PortCloneRequest, CloneResult, RepositoryCloner, RepositoryErrorType } from '../../ports/repository.ts';
import { repositoryName, repositoryUrlProblem } from '../../domain/repositories.ts';

export { repositoryName, repositoryUrlProblem };

export type { CloneResult, RepositoryCheckout, RepositoryErrorType } from '../../ports/repository.ts';

export interface CloneRequest extends PortCloneRequest {
  /** HANGAR_GIT_ALLOW_PRIVATE: allow loopback/private addresses (tests, private git servers). */
  allowPrivate: boolean;
  lookup?: EgressLookup;
  timeoutMs?: number;
  gitPath?: string;
}

/** The port over `cloneRepository`, with the address policy fixed at construction. */
export class GitRepositoryCloner implements RepositoryCloner {
  private readonly opts: { allowPrivate: boolean; lookup?: EgressLookup; timeoutMs?: number; gitPath?: string };
  constructor(opts: { allowPrivate: boolean; lookup?: EgressLookup; timeoutMs?: number; gitPath?: string }) {
    this.opts = opts;
  }

  clone(req: PortCloneRequest): Promise<CloneResult> {
    return cloneRepository({ ...req, ...this.opts });
  }
}

export async function cloneRepository(req: CloneRequest): Promise<CloneResult> {
  const url = new URL(req.url);
  const fail = (type: RepositoryErrorType, message: string): CloneResult => ({
    ok: false, error: { type, message, repository_url: req.url, retry_status: { type: 'retrying' } },
  });
  const host = normalizeHost(url.hostname);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const decision = await decideEgress({ host, port }, { allowedHosts: null }, {
    lookup: req.lookup ?? systemLookup, dnsTimeoutMs: 10_000, allowPrivateAddresses: req.allowPrivate,
  });
  if (!decision.ok) {
    const hint = decision.reason === 'forbidden_address' ? ' (set HANGAR_GIT_ALLOW_PRIVATE=on to allow private git servers)' : '';
    return fail('repository_clone_error', `cannot clone ${req.url}: ${decision.message}${hint}`);
  }
  const address = decision.addresses[0].address;
  const pinned = address.includes(':') ? `[${address}]` : address;

  const work = await mkdtemp(join(req.scratchDir, 'clone-'));
  const dest = join(work, 'repo');
  try {
    const args = [
      '-c', `http.curloptResolve=${host}:${port}:${pinned}`,
      '-c', 'http.followRedirects=false',
      '-c', 'protocol.allow=never', '-c', 'protocol.http.allow=always', '-c', 'protocol.https.allow=always',
      '-c', 'core.hooksPath=/dev/null',
      'clone', '--no-recurse-submodules', '--quiet',
    ];
    if (req.checkout?.type === 'branch') args.push('--branch', req.checkout.name, '--single-branch');
    args.push('--', req.url, dest);
    const clone = await runGit(req, args, work);
    if (clone.code !== 0) return classify(clone.stderr, req, fail);
    if (req.checkout?.type === 'commit') {
      const co = await runGit(req, ['-c', 'core.hooksPath=/dev/null', '-C', dest, 'checkout', '--quiet', '--detach', req.checkout.sha, '--'], work);
      if (co.code !== 0) return fail('repository_checkout_error', `commit ${req.checkout.sha} does not exist in ${req.url}`);
    }
    if (req.owner) await chownTree(dest, req.owner);
    // Never replaces what is there (the path lies in a workspace the agent writes).
    if (await lstat(req.targetDir).then(() => true, () => false)) {
      return fail('repository_clone_error', `cannot clone ${req.url}: its mount path already exists in the workspace`);
    }
    await rename(dest, req.targetDir);
    return { ok: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function classify(stderr: string, req: CloneRequest, fail: (t: RepositoryErrorType, m: string) => CloneResult): CloneResult {
  // git's messages quote the plain URL (the token was never part of it); keep only its first lines.
  const detail = stderr.trim().split('\n').slice(0, 3).join('; ').slice(0, 500);
  if (req.checkout?.type === 'branch' && /Remote branch .* not found/i.test(stderr)) {
    return fail('repository_checkout_error', `branch ${req.checkout.name} does not exist in ${req.url}`);
  }
  if (/returned error: 403|error: 403/.test(stderr)) return fail('repository_forbidden_error', `the repository host refused access to ${req.url}: ${detail}`);
  if (/returned error: 404|not found/i.test(stderr)) return fail('repository_not_found_error', `repository ${req.url} was not found: ${detail}`);
  if (/Authentication failed|could not read Username|returned error: 401|terminal prompts disabled/i.test(stderr)) {
    return fail('repository_authentication_error', `the repository host rejected the credentials for ${req.url}`);
  }
  return fail('repository_clone_error', `cloning ${req.url} failed: ${detail}`);
}

function runGit(req: CloneRequest, args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: cwd,
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
  };
  if (req.token) {
    // Basic with the x-access-token user is what GitHub accepts for every token kind.
    const basic = Buffer.from(`x-access-token:${req.token}`, 'utf8').toString('base64');
    Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
  }
  return new Promise((resolve) => {
    const child = spawn(req.gitPath ?? 'git', args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 16_384) stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), req.timeoutMs ?? 300_000);
    const onAbort = () => child.kill('SIGKILL');
    req.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stderr: `git could not run: ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      resolve({ code, stderr });
    });
  });
}

/** chown -R without following symlinks (the tree was just written by git, in a private directory). */
async function chownTree(root: string, owner: { uid: number; gid: number }): Promise<void> {
  const st = await lstat(root);
  await lchown(root, owner.uid, owner.gid);
  if (st.isDirectory()) for (const name of await readdir(root)) await chownTree(join(root, name), owner);
}

