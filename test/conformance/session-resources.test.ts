// Session resources driven only through the official SDK against a live Hangar: add/list/
// retrieve/delete of file resources, mount-path rules, 404s, the read-only archived session, and
// the session object's `resources` staying in step with the resources endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic, { APIError, toFile } from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { rejection } from './helpers.ts';

let h: TestHangar;
let client: Anthropic;
let agentId: string;
let envId: string;

beforeAll(async () => {
  h = await startHangar();
  client = h.client;
  agentId = (await client.beta.agents.create({ name: 'resources-agent', model: 'claude-sonnet-4-6' })).id;
  envId = (await client.beta.environments.create({ name: `resources-env-${process.pid}` })).id;
});
afterAll(async () => {
  await h.close();
});

const newSession = () => client.beta.sessions.create({ agent: agentId, environment_id: envId });
const newFile = async (name = 'input.txt') => client.beta.files.upload({ file: await toFile(Buffer.from(`content of ${name}`), name) });

async function listAll(sessionId: string, params: Anthropic.Beta.Sessions.ResourceListParams = {}) {
  const out = [];
  for await (const r of client.beta.sessions.resources.list(sessionId, params)) out.push(r);
  return out;
}

describe('session resources over the SDK', () => {
  it('adds a file at the default mount path, lists, retrieves and deletes it, mirrored in the session', async () => {
    const session = await newSession();
    expect(session.resources).toEqual([]);
    const file = await newFile();

    const added = await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id });
    expect(added).toEqual({
      id: expect.stringMatching(/^sesrsc_/), type: 'file', file_id: file.id, mount_path: `/mnt/session/uploads/${file.id}`,
      created_at: expect.any(String), updated_at: expect.any(String),
    });
    expect(await listAll(session.id)).toEqual([added]);
    expect(await client.beta.sessions.resources.retrieve(added.id, { session_id: session.id })).toEqual(added);
    expect((await client.beta.sessions.retrieve(session.id)).resources).toEqual([added]);

    expect(await client.beta.sessions.resources.delete(added.id, { session_id: session.id }))
      .toEqual({ id: added.id, type: 'session_resource_deleted' });
    expect(await listAll(session.id)).toEqual([]);
    expect((await client.beta.sessions.retrieve(session.id)).resources).toEqual([]);
    const gone = await rejection(client.beta.sessions.resources.retrieve(added.id, { session_id: session.id }));
    expect(gone.status).toBe(404);
    expect(gone.type).toBe('not_found_error');
    expect((await rejection(client.beta.sessions.resources.delete(added.id, { session_id: session.id }))).status).toBe(404);
  });

  it('accepts a custom mount path under /mnt/ or /workspace/ and rejects bad, reserved or clashing ones', async () => {
    const session = await newSession();
    const file = await newFile('data.csv');
    const custom = await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id, mount_path: '/workspace/data/input.csv' });
    expect(custom.mount_path).toBe('/workspace/data/input.csv');

    for (const mount_path of [
      'relative/path', '/etc/passwd', '/usr/local/x', '/mnt/../etc/x', '/mnt/a//b', '/mnt/a/', '/mnt',
      '/mnt/session/outputs/x', '/mnt/memory/notes', '/workspace/data/input.csv', '/workspace/data', '/workspace/data/input.csv/more',
    ]) {
      const e = await rejection(client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id, mount_path }));
      expect(e.status, mount_path).toBe(400);
      expect(e.type).toBe('invalid_request_error');
      expect(e.message).toMatch(/mount_path/);
    }
    // The default path for the same file is still free, but only once.
    await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id });
    const twice = await rejection(client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id }));
    expect(twice.status).toBe(400);
    expect(await listAll(session.id)).toHaveLength(2);
  });

  it('pages through resources in the order they were added', async () => {
    const session = await newSession();
    const added = [];
    for (let i = 0; i < 5; i++) {
      const file = await newFile(`f${i}.txt`);
      added.push(await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id }));
    }
    expect((await listAll(session.id, { limit: 2 })).map((r) => (r as { id: string }).id)).toEqual(added.map((r) => r.id));
    const first = await client.beta.sessions.resources.list(session.id, { limit: 5 });
    expect(first.data).toHaveLength(5);
    expect(first.next_page).toBeNull();
  });

  it('returns 404 for unknown sessions, resources and files', async () => {
    const session = await newSession();
    const file = await newFile();
    for (const sid of ['sesn_unknown', 'file_wrongprefix']) {
      expect((await rejection(client.beta.sessions.resources.add(sid, { type: 'file', file_id: file.id }))).status).toBe(404);
      expect((await rejection(client.beta.sessions.resources.list(sid))).status).toBe(404);
    }
    const noFile = await rejection(client.beta.sessions.resources.add(session.id, { type: 'file', file_id: 'file_unknown' }));
    expect(noFile.status).toBe(404);
    expect(noFile.type).toBe('not_found_error');
    for (const rid of ['sesrsc_unknown', 'file_wrongprefix']) {
      expect((await rejection(client.beta.sessions.resources.retrieve(rid, { session_id: session.id }))).status).toBe(404);
      expect((await rejection(client.beta.sessions.resources.delete(rid, { session_id: session.id }))).status).toBe(404);
    }
    expect(await listAll(session.id)).toEqual([]);
  });

  it('rejects resource types other than file, and token rotation on a file resource, with 400', async () => {
    const session = await newSession();
    const add = client.beta.sessions.resources.add as (id: string, body: unknown) => Promise<unknown>;
    const github = await rejection(add.call(client.beta.sessions.resources, session.id, { type: 'github_repository', url: 'https://github.com/a/b' }));
    expect(github.status).toBe(400);
    expect(github.message).toMatch(/only be given at session create/);
    const file = await newFile();
    const r = await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id });
    const rotate = await rejection(client.beta.sessions.resources.update(r.id, { session_id: session.id, authorization_token: 'ghp_x' }));
    expect(rotate.status).toBe(400);
    expect(rotate.message).toMatch(/github_repository/);
  });

  it('keeps an archived session read-only: listing works, adding and deleting are 400', async () => {
    const session = await newSession();
    const file = await newFile();
    const r = await client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id });
    await client.beta.sessions.archive(session.id);
    expect(await listAll(session.id)).toEqual([r]);
    const add = await rejection(client.beta.sessions.resources.add(session.id, { type: 'file', file_id: file.id, mount_path: '/mnt/other' }));
    expect(add.status).toBe(400);
    expect(add.message).toMatch(/archived/);
    expect((await rejection(client.beta.sessions.resources.delete(r.id, { session_id: session.id }))).status).toBe(400);
    expect(await listAll(session.id)).toEqual([r]);
  });
});
