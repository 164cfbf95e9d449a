// The compiled server (`dist/`, what `npm start`, the `hangar` bin and the tarball run) starts and
// serves, on the current Node and on the minimum `engines.node` states — an official Node binary of
// exactly that version, fetched from the registry — and the release just below that minimum does
// not start (and says why in one line), so `engines` is the real minimum and not a guess.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';
import { REPO_ROOT, enginesMinimum, health, officialNode, requireBuild } from './launch-kit.ts';

// The last release before the minimum: node:sqlite still needed --experimental-sqlite there.
const BELOW_MINIMUM = '22.12.0';
const FETCH_TIMEOUT_MS = 240_000;

let up: FakeUpstream;
const dirs: string[] = [];
const children: ChildServer[] = [];

beforeAll(async () => {
  requireBuild();
  up = await startFakeUpstream();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});
afterAll(async () => {
  await up?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startBuilt(node?: string): Promise<ChildServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hangar-built-'));
  dirs.push(dataDir);
  const child = await startChildServer({ dataDir, apiKey: `sk-built-${randomBytes(12).toString('hex')}`, upstreamUrl: up.url, entry: 'dist/server/main.js', node });
  children.push(child);
  return child;
}

/** /health, then a real write and read through the SDK (SQLite, routes, validation). */
async function exercise(child: ChildServer): Promise<void> {
  expect(await health(child.url)).toEqual({ status: 'ok' });
  const agent = await child.client.beta.agents.create({ name: `built-${randomBytes(3).toString('hex')}`, model: 'claude-sonnet-4-6' });
  expect((await child.client.beta.agents.retrieve(agent.id)).name).toBe(agent.name);
}

function semverLess(a: string, b: string): boolean {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

describe('the built server', () => {
  it('starts from dist/ and answers /health and the API', async () => {
    await exercise(await startBuilt());
  });

  it('runs on the minimum Node that engines.node states', { timeout: FETCH_TIMEOUT_MS }, async () => {
    const min = enginesMinimum();
    const node = officialNode(min);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${min}`);
    await exercise(await startBuilt(node));
  });

  it(`refuses Node ${BELOW_MINIMUM}, below that minimum, in one line naming the versions`, { timeout: FETCH_TIMEOUT_MS }, async () => {
    expect(semverLess(BELOW_MINIMUM, enginesMinimum())).toBe(true);
    const node = officialNode(BELOW_MINIMUM);
    const r = spawnSync(node, ['dist/cli/main.js', 'serve'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`hangar: Node.js v${BELOW_MINIMUM} has no node:sqlite; the server needs Node.js ^22.13.0 || >=24 (see engines in package.json)`]);
    // And the message states what package.json says.
    expect(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).engines.node).toBe('^22.13.0 || >=24');
  });
});
