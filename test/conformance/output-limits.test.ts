// The output-capture attack through a real bubblewrap sandbox, over the official SDK: an agent
// makes three sparse files in /mnt/session/outputs (a few kB on disk), then appends one byte to
// each (100 MB each here to keep the suite fast; test/unit/disk-limits.test.ts uses 300 MB). Captures are capped by apparent size per session (HANGAR_SESSION_DISK_MB), only
// the latest version of each path is kept, and the stored blobs take no more disk than the
// sandbox's outputs did.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { callTool, eventually, newSession, sandboxDir, startRig, toolset, TOOL_WAIT_MS, type Rig } from './helpers.ts';

const MB = 1024 * 1024;
let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig({ HANGAR_SESSION_DISK_MB: '150' });
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

async function scopedFiles(sessionId: string): Promise<Anthropic.Beta.BetaFileMetadata[]> {
  const out: Anthropic.Beta.BetaFileMetadata[] = [];
  for await (const f of client.beta.files.list({ scope_id: sessionId })) out.push(f);
  return out;
}

/** Bytes allocated on disk by the regular files directly in `dir`. */
function allocated(dir: string): number {
  return readdirSync(dir).map((n) => statSync(join(dir, n))).filter((s) => s.isFile()).reduce((t, s) => t + s.blocks * 512, 0);
}

describe('sparse files in outputs', () => {
  it('are stored within the session quota, latest version only, sparse on the host', async () => {
    const s = await newSession(rig, { tools: [toolset()] });
    const O = '/mnt/session/outputs';
    const made = await callTool(rig, s.id, 'bash', { command: `for f in a b c; do truncate -s 100M ${O}/$f.bin; done; du -k ${O}` });
    expect(made.result.is_error).toBe(false);
    const first = await eventually(() => scopedFiles(s.id), (fs) => fs.length >= 1, TOOL_WAIT_MS, 'the first capture');
    // 150 MB quota: one 100 MB file fits, the other two are skipped.
    expect(first.map((f) => f.filename)).toEqual(['a.bin']);

    await callTool(rig, s.id, 'bash', { command: `for f in a b c; do printf y >> ${O}/$f.bin; done` });
    const second = await eventually(
      () => scopedFiles(s.id), (fs) => fs.length === 1 && fs[0].size_bytes === 100 * MB + 1, TOOL_WAIT_MS, 'the second capture');
    expect(second.map((f) => f.filename)).toEqual(['a.bin']);
    expect(second[0].id).not.toBe(first[0].id); // the old version is gone, not kept beside it
    const storedApparent = second.reduce((n, f) => n + f.size_bytes, 0);
    expect(storedApparent).toBeLessThanOrEqual(150 * MB);

    const blobDir = join(rig.h.dataDir, 'files');
    expect(readdirSync(blobDir).filter((n) => n !== '.tmp').sort()).toEqual(expect.arrayContaining(second.map((f) => f.id).sort()));
    for (const f of first) expect(readdirSync(blobDir)).not.toContain(f.id);
    const stored = second.reduce((n, f) => n + statSync(join(blobDir, f.id)).blocks * 512, 0);
    const written = allocated(join(sandboxDir(rig, s.id), 'outputs'));
    console.log(`sandbox sparse outputs: ${written} bytes on disk in outputs, ${stored} bytes on disk stored, ${storedApparent} apparent bytes stored`);
    expect(stored).toBeLessThanOrEqual(written);
  }, 90_000);
});
