// Files meeting sessions, driven only through the official SDK against a live Hangar whose tool
// calls run in real bubblewrap sandboxes (plus the data dir for on-disk checks): an uploaded file
// attached as a session resource is readable, and read-only, inside the sandbox; what the agent
// writes under /mnt/session/outputs becomes session-scoped files once the session goes idle (and
// only once per unchanged file); deleting the session removes those files and its sandbox
// directory; a session that never calls a tool never gets a sandbox directory.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import {
  EventTap, callTool, eventually, isIdle, newSession, rejection, sandboxDir, say, sendEvents, startRig, text, toolset,
  TOOL_WAIT_MS, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await rig?.close();
});

const TOOLS = [toolset()];
const OUTPUTS = '/mnt/session/outputs';

const upload = async (content: string, name: string) => client.beta.files.upload({ file: await toFile(Buffer.from(content), name) });

/** Every file scoped to the session, via the SDK's auto-pagination. */
async function scopedFiles(sessionId: string): Promise<Anthropic.Beta.BetaFileMetadata[]> {
  const out: Anthropic.Beta.BetaFileMetadata[] = [];
  for await (const f of client.beta.files.list({ scope_id: sessionId })) out.push(f);
  return out;
}

/** Outputs are captured shortly after the idle: poll (bounded) until `check` holds. */
const scopedFilesUntil = (sessionId: string, check: (files: Anthropic.Beta.BetaFileMetadata[]) => boolean, what: string) =>
  eventually(() => scopedFiles(sessionId), check, TOOL_WAIT_MS, what);

const download = async (fileId: string) => (await client.beta.files.download(fileId)).text();

describe('an uploaded file as a session resource', () => {
  it('is mounted at the resource mount_path, readable with read and bash, and read-only', async () => {
    const file = await upload('hello from upload\n', 'note.txt');
    const s = await newSession(rig, { tools: TOOLS, resources: [{ type: 'file', file_id: file.id }] });
    expect(s.resources).toHaveLength(1);
    const mount = s.resources[0].mount_path;
    expect(s.resources[0]).toMatchObject({ type: 'file', file_id: file.id });
    expect(mount).toBe(`/mnt/session/uploads/${file.id}`);

    const read = await callTool(rig, s.id, 'read', { file_path: mount });
    expect(read.result.is_error).toBe(false);
    expect(read.text).toContain('hello from upload');

    const cat = await callTool(rig, s.id, 'bash', { command: `cat ${mount}` });
    expect(cat.result.is_error).toBe(false);
    expect(cat.text.trim()).toBe('hello from upload');

    const write = await callTool(rig, s.id, 'write', { file_path: mount, content: 'overwritten\n' });
    expect(write.result.is_error).toBe(true);
    expect(write.text).toMatch(/read-only|permission denied/i);

    const shellWrite = await callTool(rig, s.id, 'bash', { command: `echo clobber > ${mount}` });
    expect(shellWrite.text).toMatch(/read-only|permission denied/i);
    expect(shellWrite.text).toMatch(/\[exit code [1-9]\d*\]/);

    const again = await callTool(rig, s.id, 'read', { file_path: mount });
    expect(again.result.is_error).toBe(false);
    expect(again.text).toContain('hello from upload');
    expect(again.text).not.toMatch(/overwritten|clobber/);
    // The upload itself is untouched.
    expect(await download(file.id)).toBe('hello from upload\n');
  });
});

describe('session outputs', () => {
  it('captures files written under /mnt/session/outputs as session-scoped files after the idle, once per unchanged file', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    const made = await callTool(rig, s.id, 'bash', { command: `mkdir -p ${OUTPUTS}/sub && echo report > ${OUTPUTS}/sub/r.txt` });
    expect(made.result.is_error).toBe(false);

    const [captured] = await scopedFilesUntil(s.id, (fs) => fs.length > 0, 'the captured output');
    expect(await scopedFiles(s.id)).toHaveLength(1);
    expect(captured).toMatchObject({
      type: 'file', id: expect.stringMatching(/^file_/), scope: { type: 'session', id: s.id }, size_bytes: 'report\n'.length,
      downloadable: true,
    });
    expect(captured.filename).toMatch(/(^|\/)r\.txt$/);
    expect(await download(captured.id)).toBe('report\n');
    expect(await client.beta.files.retrieveMetadata(captured.id)).toEqual(captured);

    // A second idle with r.txt unchanged: a new output (walked after sub/r.txt) proves that capture ran; r.txt is not repeated.
    await callTool(rig, s.id, 'bash', { command: `echo second > ${OUTPUTS}/z-second.txt` });
    const after = await scopedFilesUntil(s.id, (fs) => fs.length >= 2, 'the second capture');
    expect(after).toHaveLength(2);
    const reports = after.filter((f) => /(^|\/)r\.txt$/.test(f.filename));
    expect(reports.map((f) => f.id)).toEqual([captured.id]);
    const second = after.find((f) => f.id !== captured.id)!;
    expect(second.scope).toEqual({ type: 'session', id: s.id });
    expect(await download(second.id)).toBe('second\n');

    // A third idle with nothing new (no tool call at all) captures nothing either.
    rig.up.script(say('Nothing else.'));
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('anything else?'));
    await tap.until(isIdle);
    tap.close();
    await new Promise((r) => setTimeout(r, 300));
    expect((await scopedFiles(s.id)).map((f) => f.id).sort()).toEqual([captured.id, second.id].sort());

    // Scoped listing is per session: another session's listing does not see these.
    const other = await newSession(rig, { tools: TOOLS });
    expect(await scopedFiles(other.id)).toEqual([]);
  });
});

describe('deleting a session', () => {
  it('removes its scoped files and its sandbox directory, but not the files it had as resources', async () => {
    const file = await upload('input\n', 'input.txt');
    const s = await newSession(rig, { tools: TOOLS, resources: [{ type: 'file', file_id: file.id }] });
    await callTool(rig, s.id, 'bash', { command: `echo one > ${OUTPUTS}/one.txt && mkdir -p ${OUTPUTS}/d && echo two > ${OUTPUTS}/d/two.txt` });
    const captured = await scopedFilesUntil(s.id, (fs) => fs.length >= 2, 'both captured outputs');
    expect(captured).toHaveLength(2);
    expect(existsSync(sandboxDir(rig, s.id))).toBe(true);

    await client.beta.sessions.delete(s.id);

    expect(await scopedFiles(s.id)).toEqual([]);
    for (const f of captured) {
      const e = await rejection(client.beta.files.retrieveMetadata(f.id));
      expect(e.status, f.filename).toBe(404);
      expect((await rejection(client.beta.files.download(f.id))).status, f.filename).toBe(404);
    }
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
    // The uploaded file was only attached, not owned.
    expect(await client.beta.files.retrieveMetadata(file.id)).toMatchObject({ id: file.id, scope: null });
    expect(await download(file.id)).toBe('input\n');
  });
});

describe('lazy provisioning', () => {
  it('never creates a sandbox directory for a session that never calls a tool', async () => {
    const s = await newSession(rig, { tools: TOOLS });
    rig.up.script(say('No tools needed.'), say('Still none.'));
    const tap = await EventTap.open(client, s.id);
    await sendEvents(client, s.id, text('hi'));
    await tap.until(isIdle, TOOL_WAIT_MS);
    await sendEvents(client, s.id, text('and again'));
    await tap.until(isIdle, TOOL_WAIT_MS);
    tap.close();
    // Settling after the idle (output capture) must not create it either.
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
    expect(await scopedFiles(s.id)).toEqual([]);

    await client.beta.sessions.delete(s.id);
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);
  });
});
