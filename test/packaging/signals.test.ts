// The documented launch commands stop cleanly when their launcher is signalled: `npm start` and
// `npm run hangar -- worker` are spawned exactly as a user types them, and SIGTERM/SIGINT goes to
// npm's PID only (as systemd, docker stop or `kill <pid>` would send it), not to the process
// group. npm forwards the signal to the script's shell only, so this fails if the scripts stop
// `exec`-ing node or the server's shutdown hangs: node would be left running and listening.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startChildServer } from '../kit/child-server.ts';
import { startWorkRig, type WorkRig } from '../worker/work-kit.ts';
import {
  REPO_ROOT, commandOf, descendants, freePort, health, isAlive, launch, portIsFree, requireBuild, waitUntil, type Launched,
} from './launch-kit.ts';

const dirs: string[] = [];
const launched: Launched[] = [];
let up: FakeUpstream;

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

/** The node process npm is running the script in (a direct child once the script `exec`s). */
function nodeUnder(launcher: Launched): number {
  const nodes = descendants(launcher.pid).filter((p) => /(^|\/)node(\s|$)/.test(commandOf(p).split(' ')[0]) || commandOf(p).includes('dist/'));
  if (nodes.length === 0) throw new Error(`no node process under npm (${launcher.pid})\n${launcher.output()}`);
  return nodes[nodes.length - 1];
}

beforeAll(async () => {
  requireBuild();
  up = await startFakeUpstream();
});
afterEach(() => {
  for (const l of launched.splice(0)) l.killGroup();
});
afterAll(async () => {
  await up?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('`npm start` stops on a signal to npm', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: node exits, the port is freed and the data dir opens again with its sessions`, async () => {
      const dataDir = tempDir('hangar-signal-');
      const port = await freePort();
      const apiKey = `sk-signal-${randomBytes(12).toString('hex')}`;
      const url = `http://127.0.0.1:${port}`;
      const npm = launch('npm', ['start'], {
        cwd: REPO_ROOT,
        env: { HANGAR_HOST: '127.0.0.1', HANGAR_PORT: String(port), HANGAR_DATA_DIR: dataDir, HANGAR_API_KEY: apiKey, ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-upstream-test' },
      });
      launched.push(npm);
      await waitUntil(async () => (await health(url)) !== undefined, 30_000, `${url}/health\n${npm.output()}`);
      const client = new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });
      const agent = await client.beta.agents.create({ name: `signal-${randomBytes(3).toString('hex')}`, model: 'claude-sonnet-4-6' });
      const env = await client.beta.environments.create({ name: `signal-${randomBytes(3).toString('hex')}` });
      const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
      const node = nodeUnder(npm);

      process.kill(npm.pid, signal);
      await npm.exited;
      await waitUntil(() => !isAlive(node), 10_000, `node ${node} (${commandOf(node)}) to exit after ${signal} to npm`);
      expect(await portIsFree(port)).toBe(true);
      expect(npm.output()).toContain(`"signal":"${signal}"`);

      // A clean stop: the next server on the same data dir starts and still has the session.
      const next = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url, entry: 'dist/server/main.js' });
      try {
        expect((await next.client.beta.sessions.retrieve(session.id)).id).toBe(session.id);
      } finally {
        await next.stop();
      }
    });
  }
});

describe('`npm run hangar -- worker` stops on a signal to npm', () => {
  let rig: WorkRig;
  beforeAll(async () => {
    rig = await startWorkRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: the worker logs its stop and exits, leaving no node behind`, async () => {
      const npm = launch('npm', ['run', 'hangar', '--', 'worker', '--environment', rig.envId, '--url', rig.h.url, '--data-dir', tempDir('hangar-signal-worker-'), '--sandbox', 'unsafe-local'], {
        cwd: REPO_ROOT,
        env: { HANGAR_ENVIRONMENT_KEY: rig.envKey },
      });
      launched.push(npm);
      await npm.waitForLog('hangar worker polling');
      const node = nodeUnder(npm);

      process.kill(npm.pid, signal);
      const { code } = await npm.exited;
      await waitUntil(() => !isAlive(node), 10_000, `worker node ${node} (${commandOf(node)}) to exit after ${signal} to npm`);
      expect(npm.output()).toContain('worker stopped');
      expect(code).toBe(0);
    });
  }

  it('a worker started through npx stops when the shell npm ran it in dies', async () => {
    // What `npx hangar worker` looks like: npm runs `sh -c "hangar worker …"` (a shell that does
    // not exec its command; `; true` keeps dash from doing so) and signals only that shell.
    const cmd = `'${process.execPath}' dist/cli/main.js worker --environment ${rig.envId} --url ${rig.h.url} --data-dir '${tempDir('hangar-signal-npx-')}' --sandbox unsafe-local; true`;
    const sh = launch('sh', ['-c', cmd], { cwd: REPO_ROOT, env: { HANGAR_ENVIRONMENT_KEY: rig.envKey, npm_lifecycle_event: 'npx' } });
    launched.push(sh);
    await sh.waitForLog('hangar worker polling');
    const node = nodeUnder(sh);
    process.kill(sh.pid, 'SIGTERM');
    await sh.exited;
    await waitUntil(() => !isAlive(node), 10_000, `orphaned worker node ${node} to notice its launcher is gone`);
    expect(sh.output()).toContain('launcher exited');
    expect(sh.output()).toContain('worker stopped');
  });
});
