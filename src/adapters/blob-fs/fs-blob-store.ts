// Blob port on the local filesystem: one file per key under `<root>/`, written to `<root>/.tmp/`,
// fsynced and renamed into place, so a crash never leaves a partial blob under a real key.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobTooLarge, type BlobStore } from '../../ports/blob-store.ts';

const KEY = /^[A-Za-z0-9_-]{1,128}$/;
const TMP = '.tmp';
/** Temporaries older than this are crash leftovers (another process may be mid-write on younger ones). */
const STALE_TMP_MS = 60 * 60 * 1000;

export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(root: string, nowMs: number = Date.now()) {
    this.root = root;
    this.tmp = join(root, TMP);
    mkdirSync(this.tmp, { recursive: true, mode: 0o755 });
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
    try {
      try {
        for await (const chunk of source) {
          opts.signal?.throwIfAborted();
          size += chunk.byteLength;
          if (size > opts.maxBytes) throw new BlobTooLarge(opts.maxBytes);
          hash.update(chunk);
          await fh.write(chunk);
        }
        opts.signal?.throwIfAborted();
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
}
