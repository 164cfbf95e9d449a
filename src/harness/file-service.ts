// File use-cases: uploads, lookups with lazy expiry, deletes, session file resources, sandbox
// mounts, and capturing a session's outputs directory as session-scoped files.
// Bytes go through the blob port, metadata through the store port; a row is written only after
// its blob is complete and deleted before its blob, so a crash never leaves a row without bytes.
// Disk use is bounded: a session's captured outputs by a quota on their apparent size, only the
// latest version of each output path is kept, and below a free-space floor nothing new is stored.
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { hasPrefix, newId } from '../protocol/ids.ts';
import { ApiError, invalidRequest, notFound, tooLarge } from '../protocol/errors.ts';
import {
  assertMountPathFree, cleanFilename, defaultMountPath, mimeTypeFor, mountPathsOf, validateMountPath,
  type FileObject, type FileResource, type SessionResourceParam,
} from '../domain/files.ts';
import { BlobTooLarge, type BlobStore } from '../ports/blob-store.ts';
import type { OutputCapture, Page, Store } from '../ports/store.ts';
import type { SandboxMount } from '../ports/sandbox.ts';
import { isoAt, type Clock } from '../ports/clock.ts';

const MB = 1024 * 1024;

export interface FileServiceOptions {
  /** Largest accepted upload in bytes (default 500 MB); larger ones get 413. */
  maxUploadBytes?: number;
  /** Largest output file captured from a session (default: `maxUploadBytes`); larger ones are skipped. */
  maxOutputBytes?: number;
  /** Most regular files one capture looks at (default 1000); the rest are skipped. */
  maxOutputFiles?: number;
  /** Deepest directory level a capture descends into (default 32). */
  maxOutputDepth?: number;
  /** Most bytes (apparent size) of captured outputs kept per session (default 2 GiB); the rest is skipped. */
  sessionQuotaBytes?: number;
  /** Free space on the blob storage below which uploads (507) and captures are refused (default 512 MiB). */
  minFreeBytes?: number;
  /** Reads the free space (default: the blob store's statfs); tests inject a fixed value. */
  freeBytes?: () => Promise<number>;
}

/** Why an output was not captured (reported through `onSkipped`). */
export type OutputSkipReason = 'too_large' | 'session_quota' | 'disk_full';

export interface OutputSkip {
  path: string;
  sizeBytes: number;
  reason: OutputSkipReason;
}

/** 507 Insufficient Storage: the SDK surfaces it as an `InternalServerError` (an `APIError`). */
export const storageFull = (message: string) => new ApiError(507, 'api_error', message);

/** Sessions whose files were deleted, remembered so a late capture cannot recreate them. */
const DELETED_SESSIONS_REMEMBERED = 10_000;

/** Bytes of an upload already on disk under `id`, not yet visible until `finishUpload`. */
export interface StagedUpload {
  readonly id: string;
  readonly filename: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

interface OutputEntry {
  rel: string;
  abs: string;
  stat: Stats;
}

export class FileService {
  readonly maxUploadBytes: number;
  private readonly maxOutputBytes: number;
  private readonly maxOutputFiles: number;
  private readonly maxOutputDepth: number;
  private readonly sessionQuotaBytes: number;
  private readonly minFreeBytes: number;
  private readonly readFreeBytes: () => Promise<number>;
  private readonly store: Store;
  private readonly blobs: BlobStore;
  private readonly clock: Clock;
  /** Serializes captures per session within this process (the harness lease covers other processes). */
  private readonly capturing = new Map<string, Promise<unknown>>();
  /** Aborts the running capture of a session (so a delete need not wait for a long copy). */
  private readonly captureAborts = new Map<string, AbortController>();
  private readonly deletedSessions = new Set<string>();

  constructor(deps: { store: Store; blobs: BlobStore; clock: Clock }, opts: FileServiceOptions = {}) {
    this.store = deps.store;
    this.blobs = deps.blobs;
    this.clock = deps.clock;
    this.maxUploadBytes = opts.maxUploadBytes ?? 500 * MB;
    this.maxOutputBytes = opts.maxOutputBytes ?? this.maxUploadBytes;
    this.maxOutputFiles = opts.maxOutputFiles ?? 1000;
    this.maxOutputDepth = opts.maxOutputDepth ?? 32;
    this.sessionQuotaBytes = opts.sessionQuotaBytes ?? 2048 * MB;
    this.minFreeBytes = opts.minFreeBytes ?? 512 * MB;
    this.readFreeBytes = opts.freeBytes ?? (() => this.blobs.freeBytes());
  }

  /** Bytes that may still be stored before the free-space floor is reached (≤ 0: none). */
  private async room(): Promise<number> {
    return (await this.readFreeBytes()) - this.minFreeBytes;
  }

  private now(): string {
    return isoAt(this.clock.now());
  }

  // ---- uploads ----------------------------------------------------------------------------------

  /**
   * Streams an upload's bytes to storage under a fresh file id. 413 past `maxUploadBytes` (or when
   * `truncated()` reports the transport cut the part at the limit); 400 on a bad filename. Follow
   * with `finishUpload` or `abandonUpload`.
   */
  async stageUpload(
    content: AsyncIterable<Uint8Array>,
    meta: { filename?: string; mimeType?: string; truncated?: () => boolean },
  ): Promise<StagedUpload> {
    const filename = cleanFilename(meta.filename);
    const id = newId('file');
    const limitError = () => tooLarge(`file exceeds the ${this.maxUploadBytes} byte upload limit`);
    const fullError = () => storageFull('the server is low on disk space and cannot store this file; free space on the server or try again later');
    const room = await this.room();
    if (room <= 0) throw fullError();
    let written: { sizeBytes: number; sha256: string };
    try {
      written = await this.blobs.write(id, content, { maxBytes: Math.min(this.maxUploadBytes, room) });
    } catch (err) {
      if (err instanceof BlobTooLarge) throw room < this.maxUploadBytes ? fullError() : limitError();
      throw err;
    }
    if (meta.truncated?.()) {
      await this.blobs.delete(id);
      throw limitError();
    }
    return { id, filename, mimeType: mimeTypeFor(filename, meta.mimeType), ...written };
  }

  /** Makes a staged upload a listed file (`expiresInSeconds` already validated by the caller). */
  async finishUpload(staged: StagedUpload, opts: { expiresInSeconds?: number; workspaceId?: string } = {}): Promise<FileObject> {
    const nowMs = this.clock.now();
    const expiresAt = opts.expiresInSeconds === undefined ? null : isoAt(nowMs + opts.expiresInSeconds * 1000);
    const file: FileObject = {
      type: 'file', id: staged.id, filename: staged.filename, mime_type: staged.mimeType, size_bytes: staged.sizeBytes,
      created_at: isoAt(nowMs), downloadable: true, expires_at: expiresAt, scope: null,
    };
    try {
      await this.store.files.insert({ file: { ...file }, scopeId: null, expiresAt, sha256: staged.sha256, workspaceId: opts.workspaceId });
    } catch (err) {
      await this.blobs.delete(staged.id);
      throw err;
    }
    return file;
  }

  async abandonUpload(staged: StagedUpload): Promise<void> {
    await this.blobs.delete(staged.id);
  }

  /** Stage + finish in one call, for callers that know every field up front. */
  async upload(
    content: AsyncIterable<Uint8Array>,
    meta: { filename?: string; mimeType?: string; expiresInSeconds?: number },
  ): Promise<FileObject> {
    return this.finishUpload(await this.stageUpload(content, meta), meta);
  }

  // ---- reads and deletes ------------------------------------------------------------------------

  /**
   * The file's metadata. 404 `not_found_error` for unknown or wrong-prefix ids; an expired file is
   * deleted on the spot and reported as 404 `file_expired` (the SDK's `FileExpiredError`).
   */
  async get(id: string): Promise<FileObject> {
    const row = hasPrefix(id, 'file') ? await this.store.files.get(id) : undefined;
    if (!row) throw notFound(`file ${id} not found`);
    if (row.expiresAt !== null && row.expiresAt <= this.now()) {
      await this.remove(id);
      throw notFound(`file ${id} has expired`, 'file_expired');
    }
    return row.file as unknown as FileObject;
  }

  /** Metadata plus a stream of the bytes (404 as `get`). */
  async open(id: string): Promise<{ file: FileObject; content: AsyncIterable<Uint8Array> }> {
    const file = await this.get(id);
    const content = await this.blobs.open(id);
    if (!content) throw notFound(`file ${id} has no stored content`);
    return { file, content };
  }

  /**
   * Newest first. With `ids`, exactly those (that exist and are live) in one page, ignoring
   * `limit`/`after`; `scopeId` keeps only files captured from that session's outputs.
   */
  async list(q: { limit: number; after?: number; ids?: string[]; scopeId?: string; workspaceId?: string }): Promise<Page<FileObject>> {
    await this.purgeExpired();
    const liveAt = this.now();
    const ws = q.workspaceId;
    const page = q.ids
      ? await this.store.files.list({ order: 'desc', limit: Math.max(1, q.ids.length), ids: q.ids.filter((i) => hasPrefix(i, 'file')), scopeId: q.scopeId, liveAt, workspaceId: ws })
      : await this.store.files.list({ order: 'desc', limit: q.limit, after: q.after, scopeId: q.scopeId, liveAt, workspaceId: ws });
    return { data: page.data.map((r) => r.file as unknown as FileObject), next: q.ids ? null : page.next };
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.remove(id);
  }

  /** Deletes up to `limit` expired files; returns how many. Called lazily by `list`. */
  async purgeExpired(limit = 100): Promise<number> {
    const ids = await this.store.files.expired(this.now(), limit);
    for (const id of ids) await this.remove(id);
    return ids.length;
  }

  /** Deletes every file captured from the session's outputs, and its capture ledger. Returns the count. */
  async deleteSessionFiles(sessionId: string): Promise<number> {
    // A capture in flight would insert files after the sweep below: stop it and wait for it, and
    // refuse later captures of this session (it is gone; ids are never reused).
    this.deletedSessions.add(sessionId);
    if (this.deletedSessions.size > DELETED_SESSIONS_REMEMBERED) this.deletedSessions.delete(this.deletedSessions.values().next().value!);
    this.captureAborts.get(sessionId)?.abort(new Error(`session ${sessionId} was deleted`));
    await this.capturing.get(sessionId)?.catch(() => undefined);
    let count = 0;
    for (;;) {
      const page = await this.store.files.list({ order: 'asc', limit: 100, scopeId: sessionId });
      if (!page.data.length) break;
      for (const r of page.data) await this.remove(r.file.id);
      count += page.data.length;
    }
    await this.store.files.deleteCaptures(sessionId);
    return count;
  }

  private async remove(id: string): Promise<void> {
    await this.store.files.delete(id);
    await this.blobs.delete(id);
  }

  // ---- session resources and sandbox mounts -----------------------------------------------------

  /**
   * Turns session-create / resources-add params into `file` resource objects. 400 for
   * `github_repository` / `memory_store` (not supported yet) and for bad or clashing mount paths
   * (checked against each other and `existing`, the session's current resources); 404 for an
   * unknown or expired file. `mount_path` defaults to `/mnt/session/uploads/<file_id>`.
   */
  async resolveSessionResources(
    params: readonly SessionResourceParam[],
    existing: readonly unknown[] = [],
  ): Promise<FileResource[]> {
    const now = this.now();
    const taken = mountPathsOf(existing);
    const out: FileResource[] = [];
    for (const p of params) {
      if (p.type !== 'file') throw invalidRequest(`${p.type} session resources are not supported by this server yet`);
      const file = await this.get(p.file_id);
      const mountPath = p.mount_path == null ? defaultMountPath(file.id) : validateMountPath(p.mount_path);
      assertMountPathFree(mountPath, taken);
      taken.push(mountPath);
      out.push({ id: newId('sesrsc'), type: 'file', file_id: file.id, mount_path: mountPath, created_at: now, updated_at: now });
    }
    return out;
  }

  /** On-disk path of a file's bytes, to bind read-only into a sandbox. Does not check existence. */
  hostPathOf(fileId: string): string {
    return this.blobs.pathOf(fileId);
  }

  /** Read-only mounts for a session's `file` resources; files deleted or expired since are skipped. */
  async sandboxMounts(resources: readonly unknown[]): Promise<SandboxMount[]> {
    const now = this.now();
    const mounts: SandboxMount[] = [];
    for (const r of resources as Array<Partial<FileResource>>) {
      if (r.type !== 'file' || !r.file_id || !r.mount_path) continue;
      const row = await this.store.files.get(r.file_id);
      if (!row || (row.expiresAt !== null && row.expiresAt <= now)) continue;
      mounts.push({ hostPath: this.blobs.pathOf(r.file_id), sandboxPath: r.mount_path });
    }
    return mounts;
  }

  // ---- session outputs --------------------------------------------------------------------------

  /**
   * Captures every regular file under `hostOutputsDir` (recursively; symlinks, fifos, sockets and
   * devices ignored, never opened; files over `maxOutputBytes` or beyond `maxOutputFiles` skipped)
   * as a file scoped to the session, `filename` = its `/`-separated path relative to the directory.
   * Idempotent: a file whose size and mtime (or, failing that, content hash) match the last capture
   * of the same path is not captured again; changed content becomes a new file (new id) and the
   * previous version is deleted. Sizes are checked by apparent size before copying: a file that
   * would take the session's captured bytes past `sessionQuotaBytes`, or the free space below
   * `minFreeBytes`, is skipped (reported to `onSkipped`). Returns only the files created by this
   * call. A missing directory, or a session whose files were deleted, captures nothing.
   */
  async captureOutputs(
    sessionId: string, hostOutputsDir: string,
    opts: { signal?: AbortSignal; onSkipped?: (skip: OutputSkip) => void } = {},
  ): Promise<FileObject[]> {
    const previous = this.capturing.get(sessionId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      if (this.deletedSessions.has(sessionId)) return [];
      const abort = new AbortController();
      this.captureAborts.set(sessionId, abort);
      try {
        const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
        return await this.captureNow(sessionId, hostOutputsDir, signal, opts.onSkipped ?? (() => {}));
      } catch (err) {
        if (this.deletedSessions.has(sessionId)) return []; // stopped by the session's deletion
        throw err;
      } finally {
        if (this.captureAborts.get(sessionId) === abort) this.captureAborts.delete(sessionId);
      }
    });
    this.capturing.set(sessionId, run);
    try {
      return await run;
    } finally {
      if (this.capturing.get(sessionId) === run) this.capturing.delete(sessionId);
    }
  }

  private async captureNow(
    sessionId: string, dir: string, signal: AbortSignal, onSkipped: (skip: OutputSkip) => void,
  ): Promise<FileObject[]> {
    let root: string;
    try {
      root = await realpath(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries = await this.walk(root, signal);
    const created: FileObject[] = [];
    let used = await this.store.files.scopeBytes(sessionId);
    for (const e of entries) {
      signal.throwIfAborted();
      const skip = (reason: OutputSkipReason) => onSkipped({ path: e.rel, sizeBytes: e.stat.size, reason });
      if (e.stat.size > this.maxOutputBytes) {
        skip('too_large');
        continue;
      }
      const prev = await this.store.files.capture(sessionId, e.rel);
      if (prev && prev.sizeBytes === e.stat.size && prev.mtimeMs === e.stat.mtimeMs) continue;
      // The previous version is replaced, so its bytes do not count against the new one.
      const prevRow = prev ? await this.store.files.get(prev.fileId) : undefined;
      const prevBytes = prevRow ? Number(prevRow.file.size_bytes) : 0;
      if (used - prevBytes + e.stat.size > this.sessionQuotaBytes) {
        skip('session_quota');
        continue;
      }
      if ((await this.room()) < e.stat.size) {
        skip('disk_full');
        continue;
      }
      const file = await this.captureOne(sessionId, root, e, prev, prevRow?.file.id, signal);
      if (!file) continue;
      created.push(file);
      used += file.size_bytes - prevBytes;
      // The old row went with the insert (one transaction); its bytes follow. A crash in between
      // leaves only an unlisted blob, never two listed versions.
      if (prevRow) await this.blobs.delete(prevRow.file.id);
    }
    return created;
  }

  /** Lists regular files under `root`, sorted by relative path, never following symlinks. */
  private async walk(root: string, signal: AbortSignal | undefined): Promise<OutputEntry[]> {
    const out: OutputEntry[] = [];
    const visit = async (abs: string, rel: string, depth: number): Promise<void> => {
      if (depth > this.maxOutputDepth) return;
      let names: string[];
      try {
        names = (await readdir(abs)).sort();
      } catch {
        return; // removed or unreadable meanwhile: not an output
      }
      for (const name of names) {
        if (out.length >= this.maxOutputFiles) return;
        signal?.throwIfAborted();
        const childAbs = join(abs, name);
        const childRel = rel ? `${rel}/${name}` : name;
        let stat: Stats;
        try {
          stat = await lstat(childAbs);
        } catch {
          continue;
        }
        if (stat.isDirectory()) await visit(childAbs, childRel, depth + 1);
        else if (stat.isFile()) out.push({ rel: childRel, abs: childAbs, stat });
      }
    };
    await visit(root, '', 0);
    return out;
  }

  /**
   * Copies one output into a new blob. The sandbox may still be writing or may swap paths for
   * symlinks, so the opened descriptor must be the very file the walk saw (same device and inode,
   * O_NOFOLLOW, and on Linux really inside `root`) and unchanged across the copy; otherwise it is
   * skipped until the next capture.
   */
  private async captureOne(
    sessionId: string, root: string, e: OutputEntry, prev: OutputCapture | undefined, replaces: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<FileObject | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(e.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const id = newId('file');
    let written: { sizeBytes: number; sha256: string };
    let before: Stats;
    try {
      before = await fh.stat();
      if (!before.isFile() || before.dev !== e.stat.dev || before.ino !== e.stat.ino || before.size !== e.stat.size) return undefined;
      if (!(await this.fdInside(fh.fd, root))) return undefined;
      try {
        // Capped at the size the quota checks saw: a file growing during the copy is skipped.
        written = await this.blobs.write(id, fh.createReadStream({ autoClose: false, highWaterMark: MB }), { maxBytes: e.stat.size, signal });
      } catch (err) {
        if (err instanceof BlobTooLarge) return undefined;
        throw err;
      }
      const after = await fh.stat();
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || written.sizeBytes !== before.size) {
        await this.blobs.delete(id);
        return undefined;
      }
    } finally {
      await fh.close();
    }
    const capture = { sessionId, path: e.rel, sizeBytes: before.size, mtimeMs: before.mtimeMs, sha256: written.sha256 };
    if (prev && prev.sha256 === written.sha256) {
      // Touched but identical: remember the new size/mtime so the next capture skips it unhashed.
      await this.blobs.delete(id);
      await this.store.files.putCapture({ ...capture, fileId: prev.fileId });
      return undefined;
    }
    const file: FileObject = {
      type: 'file', id, filename: e.rel, mime_type: mimeTypeFor(e.rel), size_bytes: written.sizeBytes,
      created_at: this.now(), downloadable: true, expires_at: null, scope: { type: 'session', id: sessionId },
    };
    try {
      await this.store.files.insert({ file: { ...file }, scopeId: sessionId, expiresAt: null, sha256: written.sha256 }, { ...capture, fileId: id }, replaces);
    } catch (err) {
      await this.blobs.delete(id);
      throw err;
    }
    return file;
  }

  /** Where /proc exposes it, checks that an open descriptor resolves inside `root`. */
  private async fdInside(fd: number, root: string): Promise<boolean> {
    let target: string;
    try {
      target = await readlink(`/proc/self/fd/${fd}`);
    } catch {
      return true; // no /proc: the dev/inode check against the walk stands alone
    }
    return target.startsWith(root.endsWith(sep) ? root : root + sep);
  }
}
