// Blob port on the local filesystem: one file per key under `<root>/`, written to `<root>/.tmp/`,
// fsynced and renamed into place, so a crash never leaves a partial blob under a real key.
// Blocks of zeros are not written but skipped (the blob stays sparse), so a sparse source, such as
// a 300 MB file a sandbox made with one `truncate`, costs the host what it cost the sandbox.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobTooLarge, type BlobStore } from '../../ports/blob-store.ts';

const KEY = /^[A-Za-z0-9_-]{1,128}$/;
const TMP = '.tmp';
/** Temporaries older than this are crash leftovers (another process may be mid-write on younger ones). */
const STALE_TMP_MS = 60 * 60 * 1000;
/** Granularity of hole detection: the usual filesystem block size. */
const BLOCK = 4096;
/** Compared against whole chunks first: a long hole is then skipped in one native comparison. */
const ZEROS = Buffer.alloc(1024 * 1024);

export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(root: string, nowMs: number = Date.now()) {
    this.root = root;
    this.tmp = join(root, TMP);
    // Private to the service user: a sandbox never reaches a blob by path (as root its mounts are
    // bound in a private mount namespace before it drops privileges; otherwise it runs as us).
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
    chmodSync(this.tmp, 0o700);
    for (const name of readdirSync(this.tmp)) {
      const p = join(this.tmp, name);
      try {
        if (nowMs - statSync(p).mtimeMs > STALE_TMP_MS) rmSync(p, { force: true });
      } catch {
        // raced with another process cleaning up; nothing to do
      }
    }
  }

  private path(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return join(this.root, key);
  }

  async write(key: string, source: AsyncIterable<Uint8Array>, opts: { maxBytes: number; signal?: AbortSignal }) {
    const final = this.path(key);
    const temp = join(this.tmp, `${key}.${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(temp, 'wx', 0o644);
    // Readable by the sandbox user once bound into a sandbox, whatever the umask (e.g. systemd's
    // UMask=0077); the 0700 directory keeps everyone else out.
    await fh.chmod(0o644);
    try {
      try {
        for await (const chunk of source) {
          opts.signal?.throwIfAborted();
          if (size + chunk.byteLength > opts.maxBytes) throw new BlobTooLarge(opts.maxBytes);
          hash.update(chunk);
          await writeSparse(fh, chunk, size);
          size += chunk.byteLength;
        }
        opts.signal?.throwIfAborted();
        await fh.truncate(size); // a trailing hole still counts towards the blob's size
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await this.syncDir();
    return { sizeBytes: size, sha256: hash.digest('hex') };
  }

  /** Makes the rename durable (best effort: some filesystems refuse to fsync a directory). */
  private async syncDir(): Promise<void> {
    try {
      const dir = await open(this.root, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // durability of the directory entry is best effort
    }
  }

  async open(key: string) {
    try {
      const fh = await open(this.path(key), 'r');
      return fh.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  pathOf(key: string): string {
    return this.path(key);
  }

  async delete(key: string) {
    await rm(this.path(key), { force: true });
  }

  async freeBytes() {
    const st = await statfs(this.root);
    return st.bavail * st.bsize;
  }
}

/** Writes `chunk` at `position`, leaving whole zero blocks (aligned to the file) unwritten. */
async function writeSparse(fh: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (buf.length <= ZEROS.length && buf.equals(ZEROS.subarray(0, buf.length))) return;
  let runStart = -1; // start (in buf) of the pending run of non-zero blocks
  let i = 0;
  while (i < buf.length) {
    // Block boundaries follow file offsets, so holes line up with the filesystem's blocks.
    const end = Math.min(buf.length, i + BLOCK - ((position + i) % BLOCK));
    const zero = buf.subarray(i, end).equals(ZEROS.subarray(0, end - i));
    if (zero && runStart >= 0) {
      await fh.write(buf, runStart, i - runStart, position + runStart);
      runStart = -1;
    } else if (!zero && runStart < 0) {
      runStart = i;
    }
    i = end;
  }
  if (runStart >= 0) await fh.write(buf, runStart, buf.length - runStart, position + runStart);
}
