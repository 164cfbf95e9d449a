// The output-capture attack through a real bubblewrap sandbox, over the official SDK: an agent
// makes three sparse files in /mnt/session/outputs (a few kB on disk), then appends one byte to
// each (100 MB each here to keep the suite fast; test/unit/disk-limits.test.ts uses 300 MB). Captures are capped by apparent size per session (HANGAR_SESSION_DISK_MB), only
// the latest version of each path is kept, and the stored blobs take no more disk than the
// sandbox's outputs did. Also: deleting a session while its outputs are being captured (the copy
// held at a gate) leaves no file listed, downloadable or on disk.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import {
  callTool, eventually, newSession, rejection, sandboxDir, startRig, toolset, TOOL_WAIT_MS, type Rig,
} from './helpers.ts';
import { startFakeUpstream } from '../kit/fake-upstream.ts';
import { startHangar } from '../kit/hangar.ts';
import type { BlobStore } from '../../src/ports/blob-store.ts';

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
    // The old version's row went with the new one's insert; its bytes follow right after.
    await eventually(async () => readdirSync(blobDir), (names) => !names.includes(first[0].id), TOOL_WAIT_MS, 'the old version\'s blob removed');
    const stored = second.reduce((n, f) => n + statSync(join(blobDir, f.id)).blocks * 512, 0);
    const written = allocated(join(sandboxDir(rig, s.id), 'outputs'));
    console.log(`sandbox sparse outputs: ${written} bytes on disk in outputs, ${stored} bytes on disk stored, ${storedApparent} apparent bytes stored`);
    expect(stored).toBeLessThanOrEqual(written);
  }, 90_000);
});

describe('deleting a session while its outputs are captured', () => {
  it('waits for or stops the capture and leaves no file behind', async () => {
    // Blob writes pass a gate the test controls while armed: the capture that follows the idle
    // is held mid-copy, deterministically, while the session is deleted.
    let armed = false;
    let entered!: () => void;
    const captureHeld = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const keys: string[] = [];
    const wrapBlobs = (inner: BlobStore): BlobStore => ({
      async write(key, source, opts) {
        if (armed) {
          keys.push(key);
          entered();
          await gate;
        }
        return inner.write(key, source, opts);
      },
      open: (k) => inner.open(k),
      pathOf: (k) => inner.pathOf(k),
      delete: (k) => inner.delete(k),
      freeBytes: () => inner.freeBytes(),
    });
    const up = await startFakeUpstream();
    const h = await startHangar({ upstreamUrl: up.url, overrides: { wrapBlobs } });
    try {
      const environment = await h.client.beta.environments.create({ name: `env-${Math.random().toString(36).slice(2)}` });
      const gated: Rig = { h, up, client: h.client, envId: environment.id, close: async () => {} };
      const s = await newSession(gated, { tools: [toolset()] });
      armed = true;
      await callTool(gated, s.id, 'bash', { command: 'echo report > /mnt/session/outputs/report.txt' });
      await captureHeld;
      const deletion = h.client.beta.sessions.delete(s.id);
      // The delete is under way (the session is gone) while the capture is still held.
      await eventually(() => h.client.beta.sessions.retrieve(s.id).then(() => 200, (e) => e.status), (st) => st === 404, TOOL_WAIT_MS, 'the session row deleted');
      release();
      await deletion;
      expect(keys).toHaveLength(1);
      const [fileId] = keys;
      const files: string[] = [];
      for await (const f of h.client.beta.files.list()) files.push(f.id);
      expect(files).toEqual([]);
      expect((await rejection(h.client.beta.files.retrieveMetadata(fileId))).status).toBe(404);
      expect((await rejection(h.client.beta.files.download(fileId))).status).toBe(404);
      // Give a capture that wrongly outlived the delete the time to land, then look again.
      await new Promise((r) => setTimeout(r, 300));
      expect((await h.client.beta.files.list()).data).toEqual([]);
      expect(readdirSync(join(h.dataDir, 'files')).filter((n) => n !== '.tmp')).toEqual([]);
    } finally {
      release();
      await h.close();
      await up.close();
    }
  }, 60_000);
});
