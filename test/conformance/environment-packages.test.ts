// Environment `config.packages`, driven through the official SDK against a live Hangar whose layers
// are built in real bubblewrap sandboxes from the real npm registry (the one registry this machine
// reaches besides Debian's; HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE=on because its name resolves to a
// non-public address here): the build shows on the environment object, a session created while it
// builds waits for it at its first tool call and then finds the package read-only under
// /opt/hangar/packages; a second environment with the same list reuses the layer (built once); a
// package that does not exist fails the build with the registry's reason and new sessions are
// refused with a 400; managers whose tools are missing are refused at create. pip runs against a
// local PEP 503 index (test/kit/pip-index.ts) through HANGAR_PIP_INDEX_URL, PyPI being unreachable.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { callTool, eventually, newAgent, rejection, startRig, toolset, type Rig } from './helpers.ts';
import { startPipIndex, type PipIndex } from '../kit/pip-index.ts';
import { canonicalPackages, layerKey } from '../../src/domain/package-specs.ts';

const TOOLS = [toolset()];
const BUILD_WAIT_MS = 180_000;
let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig({ HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE: 'on' });
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => rig?.close());

type Env = Anthropic.Beta.Environments.BetaEnvironment & { build?: Record<string, any> | null };
const name = () => `pkgs-${Math.random().toString(36).slice(2)}`;
const retrieve = async (id: string) => (await client.beta.environments.retrieve(id)) as Env;
const settled = (id: string) => eventually(() => retrieve(id), (e) => e.build?.status === 'ready' || e.build?.status === 'failed', BUILD_WAIT_MS, `environment ${id} build to finish`);

async function sessionIn(envId: string) {
  const agent = await newAgent(client, { tools: TOOLS as never });
  return client.beta.sessions.create({ agent: agent.id, environment_id: envId });
}

describe('environment packages (npm)', () => {
  let readyEnv: Env;

  it('builds the layer in the background; a session created meanwhile waits for it and gets the package read-only', async () => {
    const env = (await client.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { npm: ['is-number@7.0.0'] } } })) as Env;
    expect(env.config).toMatchObject({ type: 'cloud', packages: { npm: ['is-number@7.0.0'] } });
    expect(env.build).toMatchObject({ type: 'package_build', layer_key: expect.stringMatching(/^[0-9a-f]{32}$/), error: null });
    expect(['pending', 'building']).toContain(env.build!.status);

    const s = await sessionIn(env.id);
    const call = await callTool(rig, s.id, 'bash', {
      command: 'node -e "console.log(require(\'is-number\')(5))" && ls $HANGAR_PACKAGES/npm/lib/node_modules && (touch /opt/hangar/packages/npm/x 2>&1 || echo not-writable)',
    }, BUILD_WAIT_MS);
    expect(call.result.is_error).toBe(false);
    expect(call.text).toMatch(/^true$/m);
    expect(call.text).toMatch(/^is-number$/m);
    expect(call.text).toContain('not-writable');

    readyEnv = await retrieve(env.id);
    expect(readyEnv.build).toMatchObject({ status: 'ready', error: null, layer_key: env.build!.layer_key });
    expect(Date.parse(readyEnv.build!.finished_at)).toBeGreaterThanOrEqual(Date.parse(readyEnv.build!.started_at));
    expect(readyEnv.build!.log_tail).toContain('is-number');
    // The list shows it too.
    const listed: Env[] = [];
    for await (const e of client.beta.environments.list()) listed.push(e as Env);
    expect(listed.find((e) => e.id === env.id)?.build).toMatchObject({ status: 'ready' });
  }, BUILD_WAIT_MS + 30_000);

  it('reuses the layer for another environment with the same list: built once', async () => {
    const twin = (await client.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { npm: ['is-number@7.0.0'] } } })) as Env;
    expect(twin.build).toEqual(readyEnv.build);
    const s = await sessionIn(twin.id);
    const call = await callTool(rig, s.id, 'bash', { command: 'node -e "console.log(require(\'is-number\')(\'x\'))"' });
    expect(call.text).toMatch(/^false$/m);
  });

  it('takes over a build whose owner died (its lease expired) and finishes it', async () => {
    const packages = { type: 'packages' as const, apt: [], cargo: [], gem: [], go: [], npm: ['is-number@6.0.0'], pip: [] };
    const key = layerKey(packages);
    const store = rig.h.hangar.store;
    // A process that claimed the build and crashed: its lease ran out a minute ago.
    await store.packageLayers.request(key, canonicalPackages(packages), new Date().toISOString(), { retryFailed: false });
    expect(await store.packageLayers.claim(key, 'dead-node#1', Date.now() - 120_000, 60_000, new Date().toISOString())).toBe(true);
    const env = (await client.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { npm: ['is-number@6.0.0'] } } })) as Env;
    expect(env.build?.layer_key).toBe(key);
    const done = await settled(env.id);
    expect(done.build).toMatchObject({ status: 'ready', error: null });
    expect((await store.packageLayers.get(key))?.leaseOwner).toBeNull();
  }, BUILD_WAIT_MS + 30_000);

  it('fails the build of a package that does not exist, with the reason on the environment, and refuses new sessions with 400', async () => {
    const env = (await client.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { npm: ['hangar-no-such-package-zq9x@1.0.0'] } } })) as Env;
    const done = await settled(env.id);
    expect(done.build).toMatchObject({ status: 'failed', error: { type: 'package_build_failed', message: expect.stringMatching(/npm install failed.*(404|not found|Not Found)/i) } });
    expect(done.build!.log_tail).toMatch(/404|not found/i);
    const e = await rejection(sessionIn(env.id));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/packages failed to build/);
    expect(e.message).toContain('hangar-no-such-package-zq9x');
  }, BUILD_WAIT_MS + 30_000);

  it('refuses managers this server cannot install with 400, creating nothing', async () => {
    const missing = ['gem', 'go', 'cargo'].find((m) => !['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(`${d}/${m}`)));
    if (!missing) return; // every manager's tool is installed here: nothing to refuse
    const n = name();
    const e = await rejection(client.beta.environments.create({ name: n, config: { type: 'cloud', packages: { [missing]: ['x'] } } }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(new RegExp(`config\\.packages\\.${missing}: ${missing} packages cannot be installed by this server`));
    const names: string[] = [];
    for await (const env of client.beta.environments.list()) names.push(env.name);
    expect(names).not.toContain(n);
  });
});

describe('environment packages (pip, from a configured index)', () => {
  const pipUsable = ['/usr/bin', '/usr/local/bin'].some((d) => existsSync(`${d}/pip3`)) && existsSync('/usr/bin/python3');
  let index: PipIndex;
  let pipRig: Rig;
  beforeAll(async () => {
    if (!pipUsable) return;
    index = await startPipIndex();
    pipRig = await startRig({ HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE: 'on', HANGAR_PIP_INDEX_URL: index.url });
  });
  afterAll(async () => {
    await pipRig?.close();
    await index?.close();
  });

  it.skipIf(!pipUsable)('installs a pip package from HANGAR_PIP_INDEX_URL into the layer, importable in the session', async () => {
    const c = pipRig.client;
    const env = (await c.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { pip: ['hangar-demo==1.0.0'] } } })) as Env;
    const done = await eventually(async () => (await c.beta.environments.retrieve(env.id)) as Env, (e) => e.build?.status === 'ready' || e.build?.status === 'failed', BUILD_WAIT_MS, 'pip build');
    expect(done.build).toMatchObject({ status: 'ready', error: null });
    expect(index.downloads).toBe(1);
    const agent = await newAgent(c, { tools: TOOLS as never });
    const s = await c.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const call = await callTool(pipRig, s.id, 'bash', { command: 'python3 -c "import hangar_demo; print(hangar_demo.VALUE)"' });
    expect(call.result.is_error).toBe(false);
    expect(call.text).toMatch(/^42$/m);
  }, BUILD_WAIT_MS + 30_000);
});

describe('environment packages (apt, from the host\'s Debian sources)', () => {
  it('installs a Debian package the host lacks into the layer without root; its binary runs in the session', async () => {
    const env = (await client.beta.environments.create({ name: name(), config: { type: 'cloud', packages: { apt: ['hello'] } } })) as Env;
    const done = await settled(env.id);
    expect(done.build, done.build?.log_tail ?? '').toMatchObject({ status: 'ready', error: null });
    expect(done.build!.log_tail).toMatch(/unpacked .*hello/);
    const s = await sessionIn(env.id);
    const call = await callTool(rig, s.id, 'bash', { command: 'hello && command -v hello' });
    expect(call.result.is_error).toBe(false);
    expect(call.text).toContain('Hello, world!');
    expect(call.text).toContain('/opt/hangar/packages/apt/usr/bin/hello');
  }, BUILD_WAIT_MS + 30_000);
});

describe('environment packages with HANGAR_SANDBOX=unsafe-local', () => {
  let unsafe: Rig;
  beforeAll(async () => {
    unsafe = await startRig({ HANGAR_SANDBOX: 'unsafe-local' });
  });
  afterAll(async () => unsafe?.close());

  it('refuses packages with 400 (nothing would mount the layer) and creates nothing', async () => {
    const n = name();
    const e = await rejection(unsafe.client.beta.environments.create({ name: n, config: { type: 'cloud', packages: { npm: ['is-number@7.0.0'] } } }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/unsafe-local .*cannot mount package layers/);
    const names: string[] = [];
    for await (const env of unsafe.client.beta.environments.list()) names.push(env.name);
    expect(names).not.toContain(n);
  });
});
