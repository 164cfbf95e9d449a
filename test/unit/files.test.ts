// File rules and the file service on a real SQLite store and blob directory: mount-path
// validation, MIME/expiry/filename rules, resource resolution, sandbox mounts, idempotent output
// capture, session cleanup, and the blob store's no-partial-files guarantee.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { FsBlobStore } from '../../src/adapters/blob-fs/fs-blob-store.ts';
import { FileService } from '../../src/harness/file-service.ts';
import { BlobTooLarge } from '../../src/ports/blob-store.ts';
import { ApiError } from '../../src/protocol/errors.ts';
import {
  assertMountPathFree, cleanFilename, contentDisposition, mimeTypeFor, parseExpiresIn, validateMountPath,
} from '../../src/domain/files.ts';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

async function apiRejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('mount path rules', () => {
  it('accepts normalized absolute paths strictly under /mnt/ or /workspace/', () => {
    for (const p of ['/mnt/session/uploads/file_1', '/mnt/data/x.csv', '/workspace/input/a b.txt', '/mnt/session/inputs']) {
      expect(validateMountPath(p)).toBe(p);
    }
  });

  it('rejects relative, unnormalized, out-of-tree and reserved paths', () => {
    for (const p of [
      'mnt/x', '', '/mnt', '/mnt/', '/workspace', '/etc/passwd', '/proc/self/x', '/dev/null', '/sys/x', '/usr/bin/x',
      '/mnt/./x', '/mnt/a/../b', '/mnt//x', '/mnt/x/', '/mnt/../etc/x', '/mntx/y', `/mnt/${'a'.repeat(1100)}`, '/mnt/a\nb',
      '/mnt/session/outputs', '/mnt/session/outputs/report.md', '/mnt/session', '/mnt/memory', '/mnt/memory/notes/x',
    ]) {
      const e = apiError(() => validateMountPath(p));
      expect(e.status, p).toBe(400);
      expect(e.message).toMatch(/^mount_path/);
    }
  });

  it('rejects a path equal to, inside, or containing one already taken', () => {
    const taken = ['/mnt/data/a.csv', '/workspace/in'];
    expect(() => assertMountPathFree('/mnt/data/b.csv', taken)).not.toThrow();
    expect(() => assertMountPathFree('/workspace/input', taken)).not.toThrow();
    for (const p of ['/mnt/data/a.csv', '/mnt/data', '/mnt/data/a.csv/x', '/workspace/in/x']) {
      expect(apiError(() => assertMountPathFree(p, taken)).status, p).toBe(400);
    }
  });
});

describe('file rules', () => {
  it('bounds expires_in_seconds to 3600..7776000', () => {
    expect(parseExpiresIn(undefined)).toBeUndefined();
    expect(parseExpiresIn('3600')).toBe(3600);
    expect(parseExpiresIn('7776000')).toBe(7_776_000);
    for (const bad of ['3599', '7776001', '-5', '1e4', 'abc', '', '3600.5']) expect(apiError(() => parseExpiresIn(bad)).status, bad).toBe(400);
  });

  it('prefers a declared content type and otherwise guesses from the extension', () => {
    expect(mimeTypeFor('a.txt', 'application/octet-stream')).toBe('text/plain');
    expect(mimeTypeFor('a.txt', 'text/x-custom; charset=utf-8')).toBe('text/x-custom');
    expect(mimeTypeFor('REPORT.PDF')).toBe('application/pdf');
    expect(mimeTypeFor('dir/notes.md')).toBe('text/markdown');
    expect(mimeTypeFor('Makefile')).toBe('application/octet-stream');
  });

  it('cleans filenames and quotes them safely in content-disposition', () => {
    expect(cleanFilename(undefined)).toBe('upload');
    expect(cleanFilename('  a.txt ')).toBe('a.txt');
    expect(apiError(() => cleanFilename('a\u0000b')).status).toBe(400);
    expect(contentDisposition('out/r"é.txt')).toBe(`attachment; filename="r__.txt"; filename*=UTF-8''r%22%C3%A9.txt`);
  });
});

describe('FileService', () => {
  let dir: string;
  let store: SqliteStore;
  let blobs: FsBlobStore;
  let files: FileService;
  let nowMs: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-files-'));
    store = new SqliteStore(':memory:');
    blobs = new FsBlobStore(join(dir, 'files'));
    nowMs = Date.parse('2026-06-01T00:00:00.000Z');
    files = new FileService({ store, blobs, clock: { now: () => nowMs } }, { maxUploadBytes: 1000, maxOutputBytes: 100 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const blobNames = () => readdirSync(join(dir, 'files')).filter((n) => n !== '.tmp');
  const tmpNames = () => readdirSync(join(dir, 'files', '.tmp'));

  describe('uploads', () => {
    it('stores bytes under the file id and lists the file once finished', async () => {
      const staged = await files.stageUpload(chunks('hel', 'lo'), { filename: 'a.txt' });
      expect((await files.list({ limit: 10 })).data).toEqual([]);
      const file = await files.finishUpload(staged, { expiresInSeconds: 3600 });
      expect(file).toMatchObject({ filename: 'a.txt', mime_type: 'text/plain', size_bytes: 5, expires_at: '2026-06-01T01:00:00.000Z', scope: null });
      expect(readFileSync(files.hostPathOf(file.id), 'utf8')).toBe('hello');
      expect((await files.list({ limit: 10 })).data).toEqual([file]);
    });

    it('413s past the limit or a truncated transport part, leaving no blob or temporary', async () => {
      const big = await apiRejection(files.stageUpload(chunks('x'.repeat(600), 'y'.repeat(600)), { filename: 'big' }));
      expect(big.status).toBe(413);
      const cut = await apiRejection(files.stageUpload(chunks('x'.repeat(1000)), { filename: 'cut', truncated: () => true }));
      expect(cut.status).toBe(413);
      expect(blobNames()).toEqual([]);
      expect(tmpNames()).toEqual([]);
    });

    it('abandoning a staged upload removes its bytes', async () => {
      const staged = await files.stageUpload(chunks('bye'), { filename: 'b.txt' });
      await files.abandonUpload(staged);
      expect(blobNames()).toEqual([]);
    });
  });

  describe('resolveSessionResources', () => {
    it('builds file resources with default and custom mount paths', async () => {
      const a = await files.upload(chunks('a'), { filename: 'a.txt' });
      const b = await files.upload(chunks('b'), { filename: 'b.txt' });
      const out = await files.resolveSessionResources([
        { type: 'file', file_id: a.id },
        { type: 'file', file_id: b.id, mount_path: '/workspace/b.txt' },
      ]);
      expect(out).toEqual([
        { id: expect.stringMatching(/^sesrsc_/), type: 'file', file_id: a.id, mount_path: `/mnt/session/uploads/${a.id}`, created_at: '2026-06-01T00:00:00.000Z', updated_at: '2026-06-01T00:00:00.000Z' },
        { id: expect.stringMatching(/^sesrsc_/), type: 'file', file_id: b.id, mount_path: '/workspace/b.txt', created_at: '2026-06-01T00:00:00.000Z', updated_at: '2026-06-01T00:00:00.000Z' },
      ]);
    });

    it('rejects clashes within the request and with existing resources', async () => {
      const a = await files.upload(chunks('a'), { filename: 'a.txt' });
      expect((await apiRejection(files.resolveSessionResources([{ type: 'file', file_id: a.id }, { type: 'file', file_id: a.id }]))).status).toBe(400);
      const existing = [{ type: 'file', id: 'sesrsc_1', file_id: 'file_x', mount_path: '/mnt/data' }];
      expect((await apiRejection(files.resolveSessionResources([{ type: 'file', file_id: a.id, mount_path: '/mnt/data/a' }], existing))).status).toBe(400);
    });

    it('404s an unknown or expired file and 400s unsupported resource types', async () => {
      expect((await apiRejection(files.resolveSessionResources([{ type: 'file', file_id: 'file_nope' }]))).status).toBe(404);
      const t = await files.upload(chunks('t'), { filename: 't.txt', expiresInSeconds: 3600 });
      nowMs += 3600_000;
      const expired = await apiRejection(files.resolveSessionResources([{ type: 'file', file_id: t.id }]));
      expect(expired.status).toBe(404);
      expect(expired.errorCode).toBe('file_expired');
      for (const type of ['github_repository', 'memory_store'] as const) {
        const e = await apiRejection(files.resolveSessionResources([{ type }]));
        expect(e.status).toBe(400);
        expect(e.message).toMatch(/not supported/);
      }
    });

    it('gives sandbox mounts for live files only', async () => {
      const a = await files.upload(chunks('a'), { filename: 'a.txt' });
      const b = await files.upload(chunks('b'), { filename: 'b.txt' });
      const resources = await files.resolveSessionResources([{ type: 'file', file_id: a.id }, { type: 'file', file_id: b.id, mount_path: '/mnt/b' }]);
      await files.delete(a.id);
      expect(await files.sandboxMounts([...resources, { type: 'memory_store', memory_store_id: 'memstore_1' }]))
        .toEqual([{ hostPath: files.hostPathOf(b.id), sandboxPath: '/mnt/b' }]);
    });
  });

  describe('captureOutputs', () => {
    const SESSION = 'sesn_capture';
    let outputs: string;
    beforeEach(() => {
      outputs = join(dir, 'outputs');
      mkdirSync(join(outputs, 'sub', 'deeper'), { recursive: true });
      writeFileSync(join(outputs, 'report.md'), '# report');
      writeFileSync(join(outputs, 'sub', 'deeper', 'data.json'), '{"a":1}');
    });

    const scoped = async () => (await files.list({ limit: 100, scopeId: SESSION })).data;

    it('captures regular files recursively as session-scoped files named by relative path', async () => {
      const created = await files.captureOutputs(SESSION, outputs);
      expect(created.map((f) => f.filename)).toEqual(['report.md', 'sub/deeper/data.json']);
      for (const f of created) expect(f).toMatchObject({ scope: { type: 'session', id: SESSION }, downloadable: true, expires_at: null });
      expect(created[1]).toMatchObject({ mime_type: 'application/json', size_bytes: 7 });
      expect(readFileSync(files.hostPathOf(created[1].id), 'utf8')).toBe('{"a":1}');
      expect((await files.list({ limit: 100, scopeId: 'sesn_other' })).data).toEqual([]);
    });

    it('is idempotent: unchanged or merely touched files are not captured again', async () => {
      await files.captureOutputs(SESSION, outputs);
      expect(await files.captureOutputs(SESSION, outputs)).toEqual([]);
      utimesSync(join(outputs, 'report.md'), new Date('2030-01-01'), new Date('2030-01-01'));
      expect(await files.captureOutputs(SESSION, outputs)).toEqual([]);
      expect(await scoped()).toHaveLength(2);
      expect(blobNames()).toHaveLength(2);
    });

    it('captures a changed file as a new version with a new id and deletes the old one', async () => {
      const [first] = await files.captureOutputs(SESSION, outputs);
      writeFileSync(join(outputs, 'report.md'), '# report v2, longer');
      const again = await files.captureOutputs(SESSION, outputs);
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ filename: 'report.md', size_bytes: 19 });
      expect(again[0].id).not.toBe(first.id);
      expect((await scoped()).map((f) => f.id)).not.toContain(first.id);
      expect(existsSync(files.hostPathOf(first.id))).toBe(false);
      expect(blobNames()).toHaveLength(2);
      expect(await files.captureOutputs(SESSION, outputs)).toEqual([]);
    });

    it('does not recapture a deleted capture whose source is unchanged', async () => {
      const created = await files.captureOutputs(SESSION, outputs);
      await files.delete(created[0].id);
      expect(await files.captureOutputs(SESSION, outputs)).toEqual([]);
    });

    it('ignores symlinks (to files and directories), oversize files and a missing directory', async () => {
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'host secret');
      mkdirSync(join(dir, 'hostdir'));
      writeFileSync(join(dir, 'hostdir', 'x.txt'), 'x');
      symlinkSync(secret, join(outputs, 'link.txt'));
      symlinkSync(join(dir, 'hostdir'), join(outputs, 'linkdir'));
      writeFileSync(join(outputs, 'huge.bin'), Buffer.alloc(101));
      const created = await files.captureOutputs(SESSION, outputs);
      expect(created.map((f) => f.filename)).toEqual(['report.md', 'sub/deeper/data.json']);
      expect(await files.captureOutputs(SESSION, join(dir, 'missing'))).toEqual([]);
    });

    it('serializes concurrent captures of one session without duplicates', async () => {
      const [a, b] = await Promise.all([files.captureOutputs(SESSION, outputs), files.captureOutputs(SESSION, outputs)]);
      expect(a.length + b.length).toBe(2);
      expect(await scoped()).toHaveLength(2);
    });

    it('deleteSessionFiles removes the session\'s files, bytes and capture history only', async () => {
      const mine = await files.captureOutputs(SESSION, outputs);
      const other = await files.captureOutputs('sesn_other', outputs);
      const upload = await files.upload(chunks('u'), { filename: 'u.txt' });
      expect(await files.deleteSessionFiles(SESSION)).toBe(2);
      expect(await scoped()).toEqual([]);
      for (const f of mine) expect(existsSync(files.hostPathOf(f.id))).toBe(false);
      expect((await files.list({ limit: 100 })).data.map((f) => f.id).sort()).toEqual([...other.map((f) => f.id), upload.id].sort());
      // History is gone too, and the deleted session's outputs are never captured again.
      expect(await store.files.capture(SESSION, 'report.md')).toBeUndefined();
      expect(await files.captureOutputs(SESSION, outputs)).toEqual([]);
      expect(await scoped()).toEqual([]);
    });
  });
});

describe('FsBlobStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-blobs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically and reports size and sha256', async () => {
    const blobs = new FsBlobStore(dir);
    const out = await blobs.write('file_a', chunks('abc'), { maxBytes: 10 });
    expect(out).toEqual({ sizeBytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    const read: Buffer[] = [];
    for await (const c of (await blobs.open('file_a'))!) read.push(Buffer.from(c));
    expect(Buffer.concat(read).toString()).toBe('abc');
    expect(await blobs.open('file_missing')).toBeUndefined();
    await blobs.delete('file_a');
    await blobs.delete('file_a');
    expect(await blobs.open('file_a')).toBeUndefined();
  });

  it('leaves nothing behind when the source fails, is too large, or the signal aborts', async () => {
    const blobs = new FsBlobStore(dir);
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('partial');
      throw new Error('source broke');
    }
    await expect(blobs.write('file_f', failing(), { maxBytes: 100 })).rejects.toThrow('source broke');
    await expect(blobs.write('file_big', chunks('123456'), { maxBytes: 5 })).rejects.toBeInstanceOf(BlobTooLarge);
    const ac = new AbortController();
    ac.abort();
    await expect(blobs.write('file_ab', chunks('x'), { maxBytes: 5, signal: ac.signal })).rejects.toThrow();
    expect(readdirSync(dir).filter((n) => n !== '.tmp')).toEqual([]);
    expect(readdirSync(join(dir, '.tmp'))).toEqual([]);
  });

  it('rejects keys that could escape its directory', async () => {
    const blobs = new FsBlobStore(dir);
    expect(() => blobs.pathOf('../x')).toThrow(/invalid blob key/);
    await expect(blobs.write('a/b', chunks('x'), { maxBytes: 5 })).rejects.toThrow(/invalid blob key/);
  });

  it('sweeps stale temporaries of a crashed writer on start', () => {
    mkdirSync(join(dir, '.tmp'), { recursive: true });
    writeFileSync(join(dir, '.tmp', 'file_old.123'), 'half');
    writeFileSync(join(dir, '.tmp', 'file_new.456'), 'in flight');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dir, '.tmp', 'file_old.123'), old, old);
    new FsBlobStore(dir);
    expect(readdirSync(join(dir, '.tmp'))).toEqual(['file_new.456']);
  });
});
