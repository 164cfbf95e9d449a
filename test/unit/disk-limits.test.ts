// Disk limits of the file service and the sandbox tool runner, reproducing the attacks of the
// hardening issue: sparse outputs copied at full size and every version kept, special files in the
// outputs, uploads and captures with the disk nearly full, a session deleted mid-capture, and a
// workspace over its quota. Real SQLite, real blob directory, real files (sparse via truncate).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { FsBlobStore } from '../../src/adapters/blob-fs/fs-blob-store.ts';
import { FileService, type FileServiceOptions, type OutputSkip } from '../../src/harness/file-service.ts';
import type { BlobStore } from '../../src/ports/blob-store.ts';
import { ApiError } from '../../src/protocol/errors.ts';
import { SandboxToolRunner, diskUsage } from '../../src/tools/sandbox-tool-runner.ts';
import { UnsafeLocalSandboxProvider } from '../../src/adapters/sandbox-unsafe-local/unsafe-local-provider.ts';

const MB = 1024 * 1024;
const SESSION = 'sesn_disk';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

/** Bytes allocated on disk under `dir` (what the host really pays). */
function allocated(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    if (st.isFile()) total += st.blocks * 512;
  }
  return total;
}

let dir: string;
let store: SqliteStore;
let outputs: string;
let blobDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-disk-'));
  store = new SqliteStore(':memory:');
  outputs = join(dir, 'outputs');
  blobDir = join(dir, 'files');
  mkdirSync(outputs);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function service(opts: FileServiceOptions, blobs: BlobStore = new FsBlobStore(blobDir)): FileService {
  return new FileService({ store, blobs, clock: { now: () => Date.now() } }, opts);
}

const scoped = async (files: FileService) => (await files.list({ limit: 100, scopeId: SESSION })).data;
const blobNames = () => readdirSync(blobDir).filter((n) => n !== '.tmp');

describe('sparse outputs', () => {
  it('caps stored bytes by apparent size, keeps only the latest version, and stores no more than was written', async () => {
    const quota = 400 * MB; // room for one of the three, so the test hashes only 600 MB
    const skipped: OutputSkip[] = [];
    const files = service({ maxUploadBytes: 500 * MB, sessionQuotaBytes: quota });
    // The attack: three 300 MB sparse files (a few kB on disk each), then one byte appended to each.
    for (const n of ['a', 'b', 'c']) {
      writeFileSync(join(outputs, `${n}.bin`), 'x');
      truncateSync(join(outputs, `${n}.bin`), 300 * MB);
    }
    const first = await files.captureOutputs(SESSION, outputs, { onSkipped: (s) => skipped.push(s) });
    expect(first.map((f) => f.filename)).toEqual(['a.bin']);
    expect(skipped).toEqual([
      { path: 'b.bin', sizeBytes: 300 * MB, reason: 'session_quota' },
      { path: 'c.bin', sizeBytes: 300 * MB, reason: 'session_quota' },
    ]);

    for (const n of ['a', 'b', 'c']) appendFileSync(join(outputs, `${n}.bin`), 'y');
    const second = await files.captureOutputs(SESSION, outputs);
    expect(second.map((f) => f.filename)).toEqual(['a.bin']);
    expect(second[0]).toMatchObject({ size_bytes: 300 * MB + 1 });

    const kept = await scoped(files);
    expect(kept.map((f) => f.id).sort()).toEqual(second.map((f) => f.id).sort()); // old versions are gone
    expect(blobNames().sort()).toEqual(second.map((f) => f.id).sort());
    const storedApparent = kept.reduce((n, f) => n + Number(f.size_bytes), 0);
    expect(storedApparent).toBeLessThanOrEqual(quota);
    expect(await store.files.scopeBytes(SESSION)).toBe(storedApparent);

    // Stored bytes per byte written: blobs stay sparse, so the host pays no more than the sandbox did.
    const written = allocated(outputs);
    const stored = allocated(blobDir);
    console.log(`sparse outputs: ${written} bytes on disk in outputs, ${stored} bytes on disk stored (${(stored / written).toFixed(3)} stored per byte written), ${storedApparent} apparent bytes stored (quota ${quota})`);
    expect(stored).toBeLessThanOrEqual(written);
  }, 60_000);

  it('reads a sparse blob back byte for byte', async () => {
    const files = service({ maxUploadBytes: 10 * MB });
    const p = join(outputs, 'holes.bin');
    writeFileSync(p, 'head');
    truncateSync(p, 3 * MB);
    appendFileSync(p, 'tail');
    const [f] = await files.captureOutputs(SESSION, outputs);
    const { content } = await files.open(f.id);
    const parts: Buffer[] = [];
    for await (const c of content) parts.push(Buffer.from(c));
    const back = Buffer.concat(parts);
    expect(back.length).toBe(3 * MB + 4);
    expect(back.subarray(0, 4).toString()).toBe('head');
    expect(back.subarray(3 * MB).toString()).toBe('tail');
    expect(back.subarray(4, 3 * MB).every((b) => b === 0)).toBe(true);
    expect(statSync(files.hostPathOf(f.id)).blocks * 512).toBeLessThan(64 * 1024);
  });

  it('reports files over the per-file limit as too large', async () => {
    const skipped: OutputSkip[] = [];
    const files = service({ maxUploadBytes: 10, maxOutputBytes: 10 });
    writeFileSync(join(outputs, 'big.txt'), 'x'.repeat(11));
    expect(await files.captureOutputs(SESSION, outputs, { onSkipped: (s) => skipped.push(s) })).toEqual([]);
    expect(skipped).toEqual([{ path: 'big.txt', sizeBytes: 11, reason: 'too_large' }]);
  });
});

describe('special files in outputs', () => {
  it('skips a fifo without opening it (no hang) and captures the regular files beside it', async () => {
    const files = service({});
    execFileSync('mkfifo', [join(outputs, 'pipe')]);
    writeFileSync(join(outputs, 'ok.txt'), 'ok');
    const created = await files.captureOutputs(SESSION, outputs);
    expect(created.map((f) => f.filename)).toEqual(['ok.txt']);
  });
});

describe('free-space floor', () => {
  it('refuses uploads with a 507 and captures with disk_full below the floor, storing nothing', async () => {
    const skipped: OutputSkip[] = [];
    let free = 100 * MB;
    const files = service({ minFreeBytes: 200 * MB, freeBytes: async () => free });
    const err = await files.upload(chunks('hello'), { filename: 'a.txt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 507, type: 'api_error' });
    expect((err as Error).message).toMatch(/low on disk space/);
    writeFileSync(join(outputs, 'out.txt'), 'out');
    expect(await files.captureOutputs(SESSION, outputs, { onSkipped: (s) => skipped.push(s) })).toEqual([]);
    expect(skipped).toEqual([{ path: 'out.txt', sizeBytes: 3, reason: 'disk_full' }]);
    expect(blobNames()).toEqual([]);
    expect(readdirSync(join(blobDir, '.tmp'))).toEqual([]);
    expect((await files.list({ limit: 10 })).data).toEqual([]);

    // Above the floor both work again; an upload larger than the room left is refused mid-stream.
    free = 200 * MB + 10;
    expect(await files.upload(chunks('hello'), { filename: 'a.txt' })).toMatchObject({ size_bytes: 5 });
    const big = await files.upload(chunks('x'.repeat(11)), { filename: 'big.txt' }).catch((e: unknown) => e);
    expect(big).toMatchObject({ status: 507 });
    expect(await files.captureOutputs(SESSION, outputs)).toHaveLength(1);
    expect(blobNames()).toHaveLength(2);
  });

  it('measures free space with statfs by default', async () => {
    const blobs = new FsBlobStore(blobDir);
    const free = await blobs.freeBytes();
    expect(free).toBeGreaterThan(0);
    // A floor above the disk's real free space refuses uploads through the default reader.
    const files = service({ minFreeBytes: free + 1024 * 1024 * MB }, blobs);
    await expect(files.upload(chunks('x'), { filename: 'x.txt' })).rejects.toMatchObject({ status: 507 });
  });
});

describe('deleting a session during capture', () => {
  it('stops or waits for the capture and leaves no file, row or blob behind', async () => {
    const inner = new FsBlobStore(blobDir);
    let entered!: () => void;
    const writeStarted = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A slow capture, made deterministic: the copy blocks until the test releases it.
    const gated: BlobStore = {
      async write(key, source, opts) {
        entered();
        await gate;
        return inner.write(key, source, opts);
      },
      open: (k) => inner.open(k),
      pathOf: (k) => inner.pathOf(k),
      delete: (k) => inner.delete(k),
      freeBytes: () => inner.freeBytes(),
    };
    const files = service({}, gated);
    writeFileSync(join(outputs, 'report.md'), '# report');
    const capture = files.captureOutputs(SESSION, outputs);
    await writeStarted;
    const deletion = files.deleteSessionFiles(SESSION);
    release();
    const [captured] = await Promise.all([capture, deletion]);
    expect(captured).toEqual([]);
    expect(await scoped(files)).toEqual([]);
    expect((await files.list({ limit: 100 })).data).toEqual([]);
    expect(blobNames()).toEqual([]);
    expect(readdirSync(join(blobDir, '.tmp'))).toEqual([]);
    expect(await store.files.capture(SESSION, 'report.md')).toBeUndefined();
  });

  it('removes a file the capture finished writing before the delete got to it', async () => {
    const inner = new FsBlobStore(blobDir);
    let entered!: () => void;
    const written = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // Here the copy completes (ignoring the abort) and the capture stalls just before its insert.
    const gated: BlobStore = {
      async write(key, source, opts) {
        const out = await inner.write(key, source, { maxBytes: opts.maxBytes });
        entered();
        await gate;
        return out;
      },
      open: (k) => inner.open(k),
      pathOf: (k) => inner.pathOf(k),
      delete: (k) => inner.delete(k),
      freeBytes: () => inner.freeBytes(),
    };
    const files = service({}, gated);
    writeFileSync(join(outputs, 'report.md'), '# report');
    const capture = files.captureOutputs(SESSION, outputs);
    await written;
    const deletion = files.deleteSessionFiles(SESSION);
    release();
    await Promise.all([capture, deletion]);
    expect((await files.list({ limit: 100 })).data).toEqual([]);
    expect(blobNames()).toEqual([]);
  });
});

describe('per-session workspace quota', () => {
  it('refuses writing tools with a clear tool error while over quota, and recovers once under it', async () => {
    const dataDir = join(dir, 'data');
    const logged: string[] = [];
    const logger = { warn: (_o: object, m: string) => logged.push(m), error: (_o: object, m: string) => logged.push(m) };
    const runner = new SandboxToolRunner({
      provider: new UnsafeLocalSandboxProvider({ logger }),
      store, files: service({}), dataDir, logger,
      limits: { memoryBytes: 512 * MB, pids: 64, cpus: 1 }, idleReleaseMs: 60_000,
      sessionDiskBytes: 1 * MB,
    });
    const session = { id: SESSION, environment_id: 'env_none', resources: [] };
    const signal = new AbortController().signal;
    try {
      const ok = await runner.run(session, { id: 'toolu_1', name: 'bash', input: { command: 'head -c 2097152 /dev/urandom > big.bin && echo done' } }, { signal });
      expect(ok.isError).toBeFalsy();
      // No turn end yet: the background measurement after the writing call notices (bounded wait).
      const deadline = Date.now() + 10_000;
      while (!(await runner.overQuota(SESSION)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await runner.overQuota(SESSION)).toMatch(/over its 1 MB quota/);
      const workspace = join(dataDir, 'sandboxes', SESSION, 'workspace');
      // Private to the server: no other local user (nor a sandbox uid, which reaches its own
      // workspace through the bubblewrap adapter's stage) can walk into sessions' trees.
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      expect([mode(join(dataDir, 'sandboxes')), mode(join(dataDir, 'sandboxes', SESSION)), mode(workspace)]).toEqual(['700', '700', '700']);
      expect(mode(join(dataDir, 'sandboxes', SESSION, 'outputs'))).toBe('700');
      expect(await diskUsage(join(dataDir, 'sandboxes', SESSION))).toBeGreaterThan(1 * MB);

      for (const name of ['bash', 'write', 'edit']) {
        const refused = await runner.run(session, { id: `toolu_${name}`, name, input: { command: 'echo more', file_path: '/workspace/x', content: 'x', old_string: 'a', new_string: 'b' } }, { signal });
        expect(refused.isError, name).toBe(true);
        expect(JSON.stringify(refused.content)).toMatch(/over its 1 MB quota/);
      }
      expect(existsSync(join(workspace, 'x'))).toBe(false);
      const read = await runner.run(session, { id: 'toolu_glob', name: 'glob', input: { pattern: '*.bin' } }, { signal });
      expect(read.isError).toBeFalsy();

      rmSync(join(workspace, 'big.bin'));
      await runner.settle(session); // the turn-end measurement sees the space freed
      expect(await runner.overQuota(SESSION)).toBeUndefined();
      const again = await runner.run(session, { id: 'toolu_2', name: 'bash', input: { command: 'echo back' } }, { signal });
      expect(again.isError).toBeFalsy();
      expect(JSON.stringify(again.content)).toMatch(/back/);
    } finally {
      await runner.close();
    }
  });

  it('counts sparse files by the blocks they use, not their apparent size', async () => {
    writeFileSync(join(outputs, 'sparse'), 'x');
    truncateSync(join(outputs, 'sparse'), 500 * MB);
    expect(await diskUsage(outputs)).toBeLessThan(1 * MB);
    writeFileSync(join(outputs, 'dense'), Buffer.alloc(2 * MB, 1));
    expect(await diskUsage(outputs)).toBeGreaterThanOrEqual(2 * MB);
  });
});
