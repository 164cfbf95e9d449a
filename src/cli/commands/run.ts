// `hangar run <agent> "prompt"` creates a session (uploading --file paths as file resources) and
// watches its turn live; `hangar tail <session>` attaches to an existing session the same way.
// Without --env, run uses the cloud environment named `hangar-cli` (created on first use).
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { CliError, type Connection } from './connection.ts';
import { watchSession } from './session-stream.ts';

export const DEFAULT_ENVIRONMENT_NAME = 'hangar-cli';
export const UPLOAD_DIR = '/mnt/session/uploads';

export interface RunFlags {
  env?: string;
  file: string[];
  title?: string;
  nonInteractive: boolean;
  json: boolean;
}

/** `agent_…`, `agent_…@3` (a pinned version) or an agent's exact name. */
async function resolveAgent(client: Anthropic, ref: string): Promise<Anthropic.Beta.Sessions.SessionCreateParams['agent']> {
  const pinned = /^(agent_[A-Za-z0-9_-]+)@(\d+)$/.exec(ref);
  if (pinned) return { type: 'agent', id: pinned[1], version: Number(pinned[2]) };
  if (ref.startsWith('agent_')) return ref;
  const matches: string[] = [];
  for await (const a of client.beta.agents.list({ limit: 100 })) if (a.name === ref) matches.push(a.id);
  if (matches.length === 0) throw new CliError(`no agent is named "${ref}" (hangar agents list shows them)`);
  if (matches.length > 1) throw new CliError(`${matches.length} agents are named "${ref}" (${matches.join(', ')}); pass the id`);
  return matches[0];
}

/** The oldest live environment named `hangar-cli`, or a new cloud one. */
async function defaultEnvironment(client: Anthropic, say: (l: string) => void): Promise<string> {
  let found: { id: string; created_at: string } | undefined;
  for await (const e of client.beta.environments.list({ limit: 100 })) {
    if (e.name === DEFAULT_ENVIRONMENT_NAME && !e.archived_at && (!found || e.created_at < found.created_at)) found = e;
  }
  if (found) return found.id;
  const env = await client.beta.environments.create({
    name: DEFAULT_ENVIRONMENT_NAME,
    description: 'Default environment of the hangar CLI (hangar run without --env)',
    config: { type: 'cloud' },
  });
  say(`created environment ${env.id} (${DEFAULT_ENVIRONMENT_NAME}) for hangar run`);
  return env.id;
}

async function uploadFiles(client: Anthropic, paths: string[], say: (l: string) => void): Promise<Anthropic.Beta.Sessions.BetaManagedAgentsFileResourceParams[]> {
  const names = new Map<string, string>();
  for (const p of paths) {
    let isFile = false;
    try {
      isFile = statSync(p).isFile();
    } catch {
      throw new CliError(`--file ${p}: no such file`);
    }
    if (!isFile) throw new CliError(`--file ${p}: not a regular file`);
    const name = basename(p);
    if (names.has(name)) throw new CliError(`--file ${names.get(name)} and ${p} would both mount at ${UPLOAD_DIR}/${name}`, 2);
    names.set(name, p);
  }
  const resources: Anthropic.Beta.Sessions.BetaManagedAgentsFileResourceParams[] = [];
  for (const [name, p] of names) {
    const file = await client.beta.files.upload({ file: await toFile(createReadStream(p), name) });
    resources.push({ type: 'file', file_id: file.id, mount_path: `${UPLOAD_DIR}/${name}` });
    say(`uploaded ${p} as ${file.id} → ${UPLOAD_DIR}/${name}`);
  }
  return resources;
}

export async function runCommand(conn: Connection, agentRef: string, prompt: string, f: RunFlags): Promise<number> {
  const { client } = conn;
  const say = (l: string) => process.stderr.write(`${l}\n`);
  if (prompt.trim() === '') throw new CliError('the prompt is empty', 2);
  const agent = await resolveAgent(client, agentRef);
  const environmentId = f.env ?? (await defaultEnvironment(client, say));
  const resources = await uploadFiles(client, f.file, say);
  const session = await client.beta.sessions.create({
    agent,
    environment_id: environmentId,
    ...(f.title ? { title: f.title } : {}),
    ...(resources.length ? { resources } : {}),
  });
  say(`session ${session.id} (agent ${session.agent.name ?? session.agent.id} v${session.agent.version}, environment ${environmentId})`);
  return watchSession({
    client, url: conn.url, sessionId: session.id, nonInteractive: f.nonInteractive, json: f.json, history: false,
    firstEvent: { type: 'user.message', content: [{ type: 'text', text: prompt }] },
  });
}

export async function tailCommand(conn: Connection, sessionId: string, f: { nonInteractive: boolean; json: boolean }): Promise<number> {
  return watchSession({ client: conn.client, url: conn.url, sessionId, nonInteractive: f.nonInteractive, json: f.json, history: true });
}
