// Files API driven only through the official SDK against a live Hangar: upload (multipart, as the
// SDK sends it), metadata, download, list (pages, ids[], scope_id), delete, expiry and the 413 limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic, { APIError, toFile } from '@anthropic-ai/sdk';
import { FileExpiredError } from '@anthropic-ai/sdk/resources/files';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { rejection } from './helpers.ts';

let h: TestHangar;
let client: Anthropic;

beforeAll(async () => {
  h = await startHangar({ overrides: { files: { maxUploadBytes: 64 * 1024 } } });
  client = h.client;
});
afterAll(async () => {
  await h.close();
});

const upload = async (content: string | Buffer, name: string, extra: { expires_in_seconds?: number; type?: string } = {}) =>
  client.beta.files.upload({
    file: await toFile(typeof content === 'string' ? Buffer.from(content) : content, name, extra.type ? { type: extra.type } : undefined),
    ...(extra.expires_in_seconds !== undefined ? { expires_in_seconds: extra.expires_in_seconds } : {}),
  });

async function listAll(params: Anthropic.Beta.Files.FileListParams = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const f of client.beta.files.list(params)) ids.push(f.id);
  return ids;
}

describe('files over the SDK', () => {
  it('uploads, lists, retrieves, downloads the same bytes, and deletes', async () => {
    const file = await upload('hello, hangar\n', 'a.txt');
    expect(file).toEqual({
      type: 'file', id: expect.stringMatching(/^file_/), filename: 'a.txt', mime_type: 'text/plain', size_bytes: 14,
      created_at: expect.any(String), downloadable: true, expires_at: null, scope: null,
    });
    expect(Date.parse(file.created_at)).not.toBeNaN();
    expect(await client.beta.files.retrieveMetadata(file.id)).toEqual(file);
    expect(await listAll()).toContain(file.id);

    const response = await client.beta.files.download(file.id);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="a.txt"; filename*=UTF-8''a.txt`);
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('hello, hangar\n');

    expect(await client.beta.files.delete(file.id)).toEqual({ id: file.id, type: 'file_deleted' });
    expect(existsSync(h.hangar.files.hostPathOf(file.id))).toBe(false);
    const gone = await rejection(client.beta.files.retrieveMetadata(file.id));
    expect(gone.status).toBe(404);
    expect(gone.type).toBe('not_found_error');
    expect((await rejection(client.beta.files.download(file.id))).status).toBe(404);
    expect((await rejection(client.beta.files.delete(file.id))).status).toBe(404);
    expect(await listAll()).not.toContain(file.id);
  });

  it('round-trips binary content and keeps a declared content type', async () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    const file = await upload(bytes, 'blob.bin', { type: 'image/png' });
    expect(file).toMatchObject({ mime_type: 'image/png', size_bytes: 5000 });
    const body = Buffer.from(await (await client.beta.files.download(file.id)).arrayBuffer());
    expect(body.equals(bytes)).toBe(true);
  });

  it('guesses the MIME type from the name when the part has none, with a UTF-8 content-disposition', async () => {
    const file = await upload('{"a":1}', 'données.json');
    expect(file).toMatchObject({ filename: 'données.json', mime_type: 'application/json' });
    const unknown = await upload('x', 'noext');
    expect(unknown.mime_type).toBe('application/octet-stream');
    const response = await client.beta.files.download(file.id);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="donn_es.json"; filename*=UTF-8''donn%C3%A9es.json`);
  });

  it('sets expires_at from expires_in_seconds and rejects values outside 3600..7776000', async () => {
    const before = Date.now();
    const file = await upload('temp', 'temp.txt', { expires_in_seconds: 3600 });
    const expires = Date.parse(file.expires_at!);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    for (const bad of [60, 7_776_001]) {
      const e = await rejection(upload('temp', 'temp.txt', { expires_in_seconds: bad }));
      expect(e.status).toBe(400);
      expect(e.message).toMatch(/expires_in_seconds/);
    }
  });

  it('rejects an upload over the size limit with 413 in the error envelope and stores nothing', async () => {
    const before = await listAll();
    const e = await rejection(upload(Buffer.alloc(200 * 1024, 1), 'big.bin'));
    expect(e.status).toBe(413);
    expect(e.constructor.name).toBe('ContentTooLargeError');
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringMatching(/65536 byte/) } });
    expect(await listAll()).toEqual(before);
    // Exactly at the limit is fine.
    const atLimit = await upload(Buffer.alloc(64 * 1024, 2), 'edge.bin');
    expect(atLimit.size_bytes).toBe(64 * 1024);
  });

  it('returns 404 not_found_error for unknown and wrong-prefix ids', async () => {
    for (const id of ['file_doesnotexist', 'sesn_abc', 'nope']) {
      const e = await rejection(client.beta.files.retrieveMetadata(id));
      expect(e.status).toBe(404);
      expect(e.type).toBe('not_found_error');
      expect((await rejection(client.beta.files.download(id))).status).toBe(404);
      expect((await rejection(client.beta.files.delete(id))).status).toBe(404);
    }
  });

  it('lists exactly the requested ids[] in one page, newest first', async () => {
    const a = await upload('a', 'a.txt');
    const b = await upload('b', 'b.txt');
    const c = await upload('c', 'c.txt');
    const page = await client.beta.files.list({ ids: [a.id, c.id, 'file_unknown', 'sesn_wrong'], limit: 1 });
    expect(page.data.map((f) => f.id)).toEqual([c.id, a.id]);
    expect(page.next_page).toBeNull();
    expect(page.data.map((f) => f.id)).not.toContain(b.id);
    const tooMany = await rejection(client.beta.files.list({ ids: Array.from({ length: 101 }, (_, i) => `file_${i}`) }));
    expect(tooMany.status).toBe(400);
  });

  it('pages through every file newest first and ends with next_page null', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await upload(`p${i}`, `p${i}.txt`)).id);
    const all = await listAll({ limit: 2 });
    expect(new Set(all).size).toBe(all.length);
    expect(all.slice(0, 5)).toEqual([...mine].reverse());
    let page = await client.beta.files.list({ limit: 2 });
    let pages = 1;
    while (page.hasNextPage()) {
      expect(page.data).toHaveLength(2);
      page = await page.getNextPage();
      pages++;
    }
    expect(page.next_page).toBeNull();
    expect(pages).toBe(Math.ceil(all.length / 2));
  });

  it('lists a session\'s captured outputs with scope_id, scoped to that session', async () => {
    const agent = await client.beta.agents.create({ name: 'files-agent', model: 'claude-sonnet-4-6' });
    const env = await client.beta.environments.create({ name: `files-env-${process.pid}` });
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const outputs = mkdtempSync(join(tmpdir(), 'hangar-outputs-'));
    try {
      mkdirSync(join(outputs, 'reports'));
      writeFileSync(join(outputs, 'summary.md'), '# done\n');
      writeFileSync(join(outputs, 'reports', 'data.csv'), 'a,b\n1,2\n');
      const captured = await h.hangar.files.captureOutputs(session.id, outputs);
      expect(captured.map((f) => f.filename).sort()).toEqual(['reports/data.csv', 'summary.md']);

      const scoped = [];
      for await (const f of client.beta.files.list({ scope_id: session.id })) scoped.push(f);
      expect(scoped.map((f) => f.filename).sort()).toEqual(['reports/data.csv', 'summary.md']);
      for (const f of scoped) expect(f.scope).toEqual({ type: 'session', id: session.id });
      const csv = scoped.find((f) => f.filename === 'reports/data.csv')!;
      expect(csv.mime_type).toBe('text/csv');
      expect(Buffer.from(await (await client.beta.files.download(csv.id)).arrayBuffer()).toString()).toBe('a,b\n1,2\n');

      expect(await listAll({ scope_id: 'sesn_other' })).toEqual([]);
      expect(await h.hangar.files.captureOutputs(session.id, outputs)).toEqual([]);
      expect(await listAll({ scope_id: session.id })).toHaveLength(2);
    } finally {
      rmSync(outputs, { recursive: true, force: true });
    }
  });
});

describe('file expiry', () => {
  let t: TestHangar;
  let nowMs = Date.parse('2026-06-01T00:00:00.000Z');
  const clock: Clock = { now: () => nowMs };

  beforeAll(async () => {
    t = await startHangar({ overrides: { clock } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports an expired file as 404 file_expired once, then as unknown, and drops it from lists', async () => {
    const file = await t.client.beta.files.upload({ file: await toFile(Buffer.from('bye'), 'bye.txt'), expires_in_seconds: 3600 });
    const keep = await t.client.beta.files.upload({ file: await toFile(Buffer.from('stay'), 'stay.txt') });
    expect(file.expires_at).toBe('2026-06-01T01:00:00.000Z');
    nowMs += 3600_000 - 1;
    expect((await t.client.beta.files.retrieveMetadata(file.id)).id).toBe(file.id);
    nowMs += 1;

    const expired = await rejection(t.client.beta.files.retrieveMetadata(file.id));
    expect(expired).toBeInstanceOf(FileExpiredError);
    expect(expired.status).toBe(404);
    expect(existsSync(t.hangar.files.hostPathOf(file.id))).toBe(false);
    const later = await rejection(t.client.beta.files.retrieveMetadata(file.id));
    expect(later.status).toBe(404);
    expect(later).not.toBeInstanceOf(FileExpiredError);

    const other = await t.client.beta.files.upload({ file: await toFile(Buffer.from('x'), 'x.txt'), expires_in_seconds: 3600 });
    nowMs += 3600_000;
    const ids = [];
    for await (const f of t.client.beta.files.list()) ids.push(f.id);
    expect(ids).toEqual([keep.id]);
    expect(existsSync(t.hangar.files.hostPathOf(other.id))).toBe(false);
  });
});
