// The quick start from a private directory: the real server (src/server/main.ts in a child
// process, as `npm start` runs it) with its data dir inside a 0700 directory, as a checkout under
// /root has. A bash tool call through the official SDK must write and read a file in /workspace,
// and the file on the host must belong to the sandbox's dedicated uid when the server runs as root.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';
import { DEFAULT_SANDBOX_HOST_ID } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { EventTap, isIdle, resultText, say, sendEvents, text, toolUse, MODEL, type Ev } from '../conformance/helpers.ts';
import { bwrapFixture } from './bwrap-fixture.ts';

const probe = bwrapFixture();
const skip = probe.unavailable !== undefined;
await probe.cleanup();

describe.skipIf(skip)('a server whose data dir is inside a 0700 directory', () => {
  let up: FakeUpstream;
  let server: ChildServer;
  let privateDir: string;
  let dataDir: string;

  beforeAll(async () => {
    privateDir = mkdtempSync(join(tmpdir(), 'hangar-private-'));
    chmodSync(privateDir, 0o700);
    dataDir = join(privateDir, 'checkout', '.hangar');
    mkdirSync(dataDir, { recursive: true });
    up = await startFakeUpstream();
    server = await startChildServer({ dataDir, apiKey: `sk-private-${randomBytes(12).toString('hex')}`, upstreamUrl: up.url });
  }, 40_000);
  afterAll(async () => {
    await server?.stop();
    await up?.close();
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('runs a bash tool call that writes and reads a file in /workspace', async () => {
    const client = server.client;
    const agent = await client.beta.agents.create({ name: `private-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
    const env = await client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    up.script({ content: [toolUse('bash', { command: 'echo from-the-sandbox > /workspace/note.txt && cat /workspace/note.txt && id -u' })] }, say('Done.'));
    const tap = await EventTap.open(client, session.id);
    let turn: Ev[];
    try {
      await sendEvents(client, session.id, text('write a note'));
      turn = await tap.until(isIdle, 30_000);
    } finally {
      tap.close();
    }
    const result = turn.find((e) => e.type === 'agent.tool_result');
    expect(result, server.output()).toBeDefined();
    expect(result!.is_error ?? false, resultText(result!)).toBe(false);
    expect(resultText(result!).trimEnd()).toBe('from-the-sandbox\n1000');
    expect((statSync(privateDir).mode & 0o777).toString(8)).toBe('700');
    const file = join(dataDir, 'sandboxes', session.id, 'workspace', 'note.txt');
    if (process.getuid?.() === 0) expect(statSync(file).uid).toBe(DEFAULT_SANDBOX_HOST_ID);
    // The sessions' directories stay private to the server.
    expect(statSync(join(dataDir, 'sandboxes')).mode & 0o077).toBe(0);
    expect(readdirSync(join(dataDir, 'sandboxes'))).toContain(session.id);
  }, 40_000);
});
