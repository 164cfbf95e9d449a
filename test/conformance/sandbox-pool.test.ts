// The warm sandbox pool (HANGAR_SANDBOX_POOL_SIZE), through the official SDK against a live Hangar
// with real bubblewrap sandboxes: creating a session warms a sandbox of its environment's shape,
// its first tool call adopts it (the workspace and outputs it writes are the session's own on the
// host, and outputs are captured), a pooled sandbox is never shared (each session starts empty),
// the pool refills after a take, and sessions with file mounts get a fresh sandbox instead.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { callTool, eventually, newSession, sandboxDir, startRig, toolset, type Rig } from './helpers.ts';
import type { SandboxToolRunner } from '../../src/tools/sandbox-tool-runner.ts';

const TOOLS = [toolset()];
let rig: Rig;
let client: Anthropic;
let runner: SandboxToolRunner;

beforeAll(async () => {
  rig = await startRig({ HANGAR_SANDBOX_POOL_SIZE: '1' });
  client = rig.client;
  runner = rig.h.hangar.tools as SandboxToolRunner;
});
beforeEach(() => rig.up.reset());
afterAll(async () => rig?.close());

const warmed = () => eventually(async () => runner.pool!.readyCount(), (n) => n >= 1, 20_000, 'a warm sandbox');

describe('the warm sandbox pool', () => {
  it('warms a sandbox when a session is created; the first call adopts it and writes land in the session\'s own workspace and outputs', async () => {
    expect(runner.pool).toBeDefined();
    const s = await newSession(rig, { tools: TOOLS });
    await warmed();
    const first = await callTool(rig, s.id, 'bash', { command: 'ls -A /workspace | wc -l; echo mine > /workspace/a.txt; echo out > /mnt/session/outputs/o.txt; echo done' });
    expect(first.result.is_error).toBe(false);
    expect(first.text).toMatch(/^0$/m);
    expect(runner.pool!.readyCount()).toBe(0); // taken, refilling in the background
    expect(readFileSync(join(sandboxDir(rig, s.id), 'workspace', 'a.txt'), 'utf8')).toBe('mine\n');
    // Later processes (a fresh exec for the read tool, or the same shell) see the adopted paths.
    const read = await callTool(rig, s.id, 'read', { file_path: '/workspace/a.txt' });
    expect(read.text).toContain('mine');
    const files = await eventually(async () => (await client.beta.files.list({ scope_id: s.id })).data, (d) => d.length === 1, 20_000, 'captured output');
    expect(files[0].filename).toBe('o.txt');
    await warmed(); // refilled
  });

  it('never shares a pooled sandbox: the next session starts with an empty workspace', async () => {
    const a = await newSession(rig, { tools: TOOLS });
    await warmed();
    await callTool(rig, a.id, 'bash', { command: 'echo secret-of-a > /workspace/a-only.txt' });
    const b = await newSession(rig, { tools: TOOLS });
    await warmed();
    const seen = await callTool(rig, b.id, 'bash', { command: 'ls -A /workspace | wc -l; cat /workspace/a-only.txt 2>&1 || true' });
    expect(seen.text).toMatch(/^0$/m);
    expect(seen.text).not.toContain('secret-of-a');
    expect(existsSync(join(sandboxDir(rig, b.id), 'workspace', 'a-only.txt'))).toBe(false);
  });

  it('gives a session with file mounts a fresh sandbox (the warm one has no mounts) and leaves the pool as it was', async () => {
    await warmed();
    const file = await client.beta.files.upload({ file: await toFile(Buffer.from('uploaded\n'), 'u.txt') });
    const s = await newSession(rig, { tools: TOOLS, resources: [{ type: 'file', file_id: file.id }] });
    const cat = await callTool(rig, s.id, 'bash', { command: `cat /mnt/session/uploads/${file.id}` });
    expect(cat.text.trim()).toBe('uploaded');
    expect(runner.pool!.readyCount()).toBeGreaterThanOrEqual(1);
  });
});
