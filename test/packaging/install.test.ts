// Installing Hangar the two ways a user does, on a machine whose only Node is one `engines` admits
// (first on PATH; the repository's pinned Node stays out of reach): the `npm pack` tarball
// installed into an empty directory runs `npx hangar serve` on the minimum Node, and a fresh copy of the
// repository set up with `npm ci --omit=dev` builds itself and runs `npm start`. Both answer
// /health and stop on Ctrl-C, and `npx hangar serve` also on a SIGTERM to the npx PID alone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT, commandOf, descendants, enginesMinimum, freePort, isAlive, officialNode, health, launch, portIsFree, requireBuild, waitUntil, type Launched } from './launch-kit.ts';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 240_000;
const dirs: string[] = [];
const launched: Launched[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/**
 * PATH for "a machine whose system node meets engines": the directory of `node` (default: this
 * runtime), then the rest of PATH without any node_modules/.bin.
 */
function userPath(node = process.execPath): string {
  const rest = (process.env.PATH ?? '').split(':').filter((p) => !p.includes('node_modules'));
  return [dirname(node), ...rest].join(':');
}

/** This process's environment without npm's per-script variables (a nested npm must not inherit them). */
function userEnv(node?: string): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_'))), PATH: userPath(node) };
}

/**
 * Starts `command args` in `cwd`, waits for /health, checks it, then stops it: with Ctrl-C (SIGINT
 * to the process group, as a terminal sends it) or with SIGTERM to the launcher's PID alone (as a
 * supervisor or `kill <pid>` sends it), and checks that no node is left and the port is free.
 */
async function serveAndStop(command: string, args: string[], cwd: string, opts: { node?: string; stop: 'ctrl-c' | 'sigterm-to-pid' }): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = launch(command, args, {
    cwd,
    env: {
      PATH: userPath(opts.node),
      HANGAR_HOST: '127.0.0.1', HANGAR_PORT: String(port), HANGAR_DATA_DIR: tempDir('hangar-install-data-'),
      HANGAR_API_KEY: `sk-install-${randomBytes(12).toString('hex')}`,
    },
  });
  launched.push(p);
  await waitUntil(async () => (await health(url)) !== undefined, 60_000, `${url}/health from "${command} ${args.join(' ')}"\n${p.output()}`);
  expect(await health(url)).toEqual({ status: 'ok' });
  const tree = descendants(p.pid);
  expect(tree.length).toBeGreaterThan(0);
  if (opts.stop === 'ctrl-c') process.kill(-p.pid, 'SIGINT');
  else process.kill(p.pid, 'SIGTERM');
  await p.exited;
  await waitUntil(() => tree.every((pid) => !isAlive(pid)), 10_000, `${tree.map((pid) => `${pid} (${commandOf(pid)})`).join(', ')} to exit\n${p.output()}`);
  expect(await portIsFree(port)).toBe(true);
}

beforeAll(() => {
  requireBuild();
});
afterEach(() => {
  for (const l of launched.splice(0)) l.killGroup();
});
// Each test leaves ~100 MB of node_modules; removing it can take a while on a busy machine.
const CLEANUP_TIMEOUT_MS = 120_000;
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, CLEANUP_TIMEOUT_MS);

describe('installing Hangar', () => {
  it('the npm pack tarball ships dist/, README and LICENSE only, installs and serves with `npx hangar serve` on the minimum Node', { timeout: INSTALL_TIMEOUT_MS }, async () => {
    const node = officialNode(enginesMinimum());
    const packDir = tempDir('hangar-pack-');
    // --ignore-scripts: dist/ is already built (requireBuild), and `prepare` rebuilding it here would
    // rewrite files that tests running in parallel are executing.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: REPO_ROOT, timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/server/main.js', 'dist/server/main.js.map', 'dist/cli/main.js']));
    expect(files.filter((f) => !f.startsWith('dist/') && !f.startsWith('console/dist/')).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);

    const app = tempDir('hangar-tarball-');
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'hangar-install-test', private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, packed.filename)], {
      cwd: app, timeout: INSTALL_TIMEOUT_MS, env: userEnv(node),
    });
    expect(readdirSync(join(app, 'node_modules', '.bin'))).toContain('hangar');
    // The pinned development Node is not a runtime dependency.
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('node');
    await serveAndStop('npx', ['hangar', 'serve'], app, { node, stop: 'ctrl-c' });
    // npm passes a SIGTERM only to the shell it runs `hangar serve` in; the server notices its
    // launcher is gone and stops, instead of staying behind as an orphan still listening.
    await serveAndStop('npx', ['hangar', 'serve'], app, { node, stop: 'sigterm-to-pid' });
  });

  it('a fresh copy of the repository: `npm ci --omit=dev` builds dist/ and `npm start` serves (Node 24 as the system node)', { timeout: INSTALL_TIMEOUT_MS }, async () => {
    const clone = tempDir('hangar-clone-');
    // The working tree as a fresh clone has it: no installs, builds, data, tests or git metadata.
    const skipped = new Set(['node_modules', 'dist', '.git', '.hangar', '.hangar-worker', 'test', 'bench', 'tmp']);
    for (const entry of readdirSync(REPO_ROOT)) {
      if (skipped.has(entry) || entry.endsWith('.log')) continue;
      cpSync(join(REPO_ROOT, entry), join(clone, entry), { recursive: true });
    }
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: clone, timeout: INSTALL_TIMEOUT_MS, env: userEnv() });
    expect(readdirSync(join(clone, 'dist', 'server'))).toContain('main.js');
    await serveAndStop('npm', ['start'], clone, { stop: 'ctrl-c' });
  });
});
