// `hangar agents|envs|sessions|vaults …`: list, get, create, update, archive and delete through the
// official SDK's `client.beta.*` calls — exactly what a user would script. Tables for people,
// `--json` for scripts; `get` prints YAML that `update -f` accepts back.
import { createTwoFilesPatch } from 'diff';
import type Anthropic from '@anthropic-ai/sdk';
import { CliError } from './connection.ts';
import { printObject, readDocument, readSecret, toYaml, withoutServerFields, type Output } from './io.ts';
import { money, table } from '../render/table.ts';

type Client = Anthropic;
type Obj = Record<string, any>;

async function collect<T>(page: AsyncIterable<T>, limit: number): Promise<T[]> {
  const rows: T[] = [];
  for await (const row of page) {
    rows.push(row);
    if (rows.length >= limit) break;
  }
  return rows;
}

function printList(o: Output, rows: Obj[], render: (rows: Obj[]) => string, empty: string): void {
  if (o.json) o.out(JSON.stringify(rows, null, 2));
  else o.out(rows.length === 0 ? empty : render(rows));
}

const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z') : '-');

// ── agents ───────────────────────────────────────────────────────────────────────────────────

export interface ListFlags {
  limit: number;
  archived?: boolean;
}

export async function agentsList(c: Client, o: Output, f: ListFlags): Promise<void> {
  const rows = await collect(c.beta.agents.list({ limit: Math.min(f.limit, 100), ...(f.archived ? { include_archived: true } : {}) }), f.limit);
  printList(o, rows, (r) => table(r, [
    { header: 'ID', value: (a) => a.id, max: 40 },
    { header: 'NAME', value: (a) => a.name, max: 32 },
    { header: 'VERSION', value: (a) => a.version },
    { header: 'MODEL', value: (a) => (typeof a.model === 'string' ? a.model : a.model?.id) },
    { header: 'UPDATED', value: (a) => when(a.updated_at) },
    { header: 'ARCHIVED', value: (a) => (a.archived_at ? 'yes' : '') },
  ]), 'no agents');
}

export async function agentsGet(c: Client, o: Output, id: string, version?: number): Promise<void> {
  printObject(o, await c.beta.agents.retrieve(id, version === undefined ? {} : { version }));
}

export async function agentsCreate(c: Client, o: Output, file: string): Promise<void> {
  const agent = await c.beta.agents.create(withoutServerFields(readDocument(file)) as unknown as Anthropic.Beta.Agents.AgentCreateParams);
  if (o.json) printObject(o, agent);
  else o.out(`created ${agent.id} (${agent.name}, version ${agent.version})`);
}

/** A `version` in the file (as `get` prints it) guards against overwriting someone else's change. */
export async function agentsUpdate(c: Client, o: Output, id: string, file: string): Promise<void> {
  const doc = readDocument(file);
  if (doc.id !== undefined && doc.id !== id) throw new CliError(`${file} describes ${String(doc.id)}, not ${id}`);
  const agent = await c.beta.agents.update(id, withoutServerFields(doc, ['version']) as unknown as Anthropic.Beta.Agents.AgentUpdateParams);
  if (o.json) printObject(o, agent);
  else o.out(`updated ${agent.id}: now version ${agent.version}`);
}

export async function agentsVersions(c: Client, o: Output, id: string, limit: number): Promise<void> {
  const rows = await collect(c.beta.agents.versions.list(id, { limit: Math.min(limit, 100) }), limit);
  printList(o, rows, (r) => table(r, [
    { header: 'VERSION', value: (a) => a.version },
    { header: 'NAME', value: (a) => a.name, max: 32 },
    { header: 'MODEL', value: (a) => (typeof a.model === 'string' ? a.model : a.model?.id) },
    { header: 'UPDATED', value: (a) => when(a.updated_at) },
  ]), `no versions of ${id}`);
}

/** The configuration a version holds, without the fields that differ on every version anyway. */
function versionDocument(agent: Obj): string {
  const { created_at: _c, updated_at: _u, archived_at: _a, version: _v, ...rest } = agent;
  return toYaml(rest);
}

export async function agentsDiff(c: Client, o: Output, id: string, v1: number, v2: number, color: boolean): Promise<void> {
  const [a, b] = await Promise.all([c.beta.agents.retrieve(id, { version: v1 }), c.beta.agents.retrieve(id, { version: v2 })]);
  const patch = createTwoFilesPatch(`${id}@v${v1}`, `${id}@v${v2}`, versionDocument(a), versionDocument(b), undefined, undefined, { context: 3 });
  if (o.json) {
    o.out(JSON.stringify({ id, from: v1, to: v2, changed: patch.includes('\n@@'), patch }, null, 2));
    return;
  }
  if (!patch.includes('\n@@')) {
    o.out(`versions ${v1} and ${v2} of ${id} are the same`);
    return;
  }
  const body = patch.split('\n').filter((l) => !l.startsWith('====')).map((l) => {
    if (!color) return l;
    if (l.startsWith('+++') || l.startsWith('---')) return `\x1b[1m${l}\x1b[0m`;
    if (l.startsWith('+')) return `\x1b[32m${l}\x1b[0m`;
    if (l.startsWith('-')) return `\x1b[31m${l}\x1b[0m`;
    if (l.startsWith('@@')) return `\x1b[36m${l}\x1b[0m`;
    return l;
  });
  o.out(body.join('\n'));
}

export async function agentsArchive(c: Client, o: Output, id: string): Promise<void> {
  const agent = await c.beta.agents.archive(id);
  if (o.json) printObject(o, agent);
  else o.out(`archived ${agent.id}`);
}

// ── environments ─────────────────────────────────────────────────────────────────────────────

export async function envsList(c: Client, o: Output, f: ListFlags): Promise<void> {
  const rows = await collect(c.beta.environments.list({ limit: Math.min(f.limit, 100), ...(f.archived ? { include_archived: true } : {}) }), f.limit);
  printList(o, rows, (r) => table(r, [
    { header: 'ID', value: (e) => e.id, max: 40 },
    { header: 'NAME', value: (e) => e.name, max: 32 },
    { header: 'TYPE', value: (e) => e.config?.type },
    { header: 'CREATED', value: (e) => when(e.created_at) },
    { header: 'ARCHIVED', value: (e) => (e.archived_at ? 'yes' : '') },
  ]), 'no environments');
}

export async function envsGet(c: Client, o: Output, id: string): Promise<void> {
  printObject(o, await c.beta.environments.retrieve(id));
}

export async function envsCreate(c: Client, o: Output, file: string): Promise<void> {
  const env = await c.beta.environments.create(withoutServerFields(readDocument(file)) as unknown as Anthropic.Beta.EnvironmentCreateParams);
  if (o.json) printObject(o, env);
  else o.out(`created ${env.id} (${env.name})`);
}

export async function envsUpdate(c: Client, o: Output, id: string, file: string): Promise<void> {
  const env = await c.beta.environments.update(id, withoutServerFields(readDocument(file)) as unknown as Anthropic.Beta.EnvironmentUpdateParams);
  if (o.json) printObject(o, env);
  else o.out(`updated ${env.id}`);
}

export async function envsArchive(c: Client, o: Output, id: string): Promise<void> {
  const env = await c.beta.environments.archive(id);
  if (o.json) printObject(o, env);
  else o.out(`archived ${env.id}`);
}

export async function envsDelete(c: Client, o: Output, id: string): Promise<void> {
  const gone = await c.beta.environments.delete(id);
  if (o.json) printObject(o, gone);
  else o.out(`deleted ${id}`);
}

// ── sessions ─────────────────────────────────────────────────────────────────────────────────

export interface SessionListFlags extends ListFlags {
  agent?: string;
  status?: string[];
}

const SESSION_STATUSES = ['idle', 'running', 'rescheduling', 'terminated'];

export async function sessionsList(c: Client, o: Output, f: SessionListFlags): Promise<void> {
  for (const s of f.status ?? []) if (!SESSION_STATUSES.includes(s)) throw new CliError(`unknown status "${s}" (one of ${SESSION_STATUSES.join(', ')})`, 2);
  const params: Obj = { limit: Math.min(f.limit, 100) };
  if (f.archived) params.include_archived = true;
  if (f.agent) params.agent_id = f.agent;
  if (f.status?.length) params.statuses = f.status;
  const rows = await collect(c.beta.sessions.list(params), f.limit);
  printList(o, rows, (r) => table(r, [
    { header: 'ID', value: (s) => s.id, max: 40 },
    { header: 'STATUS', value: (s) => s.status },
    { header: 'AGENT', value: (s) => (s.agent ? `${s.agent.name ?? s.agent.id}@v${s.agent.version}` : '-'), max: 32 },
    { header: 'TITLE', value: (s) => s.title, max: 32 },
    { header: 'UPDATED', value: (s) => when(s.updated_at) },
    { header: 'TOKENS', value: (s) => (s.usage ? `${s.usage.input_tokens ?? 0}/${s.usage.output_tokens ?? 0}` : '-') },
    { header: 'COST', value: (s) => money(s.usage?.list_cost) },
  ]), 'no sessions');
}

export async function sessionsGet(c: Client, o: Output, id: string): Promise<void> {
  printObject(o, await c.beta.sessions.retrieve(id));
}

export async function sessionsArchive(c: Client, o: Output, id: string): Promise<void> {
  const s = await c.beta.sessions.archive(id);
  if (o.json) printObject(o, s);
  else o.out(`archived ${s.id}`);
}

export async function sessionsDelete(c: Client, o: Output, id: string): Promise<void> {
  const gone = await c.beta.sessions.delete(id);
  if (o.json) printObject(o, gone);
  else o.out(`deleted ${id}`);
}

// ── vaults and credentials ───────────────────────────────────────────────────────────────────

export async function vaultsList(c: Client, o: Output, f: ListFlags): Promise<void> {
  const rows = await collect(c.beta.vaults.list({ limit: Math.min(f.limit, 100), ...(f.archived ? { include_archived: true } : {}) }), f.limit);
  printList(o, rows, (r) => table(r, [
    { header: 'ID', value: (v) => v.id, max: 40 },
    { header: 'NAME', value: (v) => v.display_name, max: 32 },
    { header: 'CREATED', value: (v) => when(v.created_at) },
    { header: 'ARCHIVED', value: (v) => (v.archived_at ? 'yes' : '') },
  ]), 'no vaults');
}

export async function vaultsGet(c: Client, o: Output, id: string): Promise<void> {
  const vault = await c.beta.vaults.retrieve(id);
  if (o.json) {
    printObject(o, vault);
    return;
  }
  o.out(toYaml(vault));
  const creds = await collect(c.beta.vaults.credentials.list(id, { limit: 100 }), 1000);
  o.out(creds.length === 0 ? 'no credentials' : credentialTable(creds));
}

export async function vaultsCreate(c: Client, o: Output, f: { file?: string; name?: string }): Promise<void> {
  if (!f.file && !f.name) throw new CliError('give -f <file> or --name <display name>', 2);
  const params = f.file ? withoutServerFields(readDocument(f.file)) : { display_name: f.name };
  if (f.file && f.name) params.display_name = f.name;
  const vault = await c.beta.vaults.create(params as unknown as Anthropic.Beta.VaultCreateParams);
  if (o.json) printObject(o, vault);
  else o.out(`created ${vault.id} (${vault.display_name})`);
}

export async function vaultsArchive(c: Client, o: Output, id: string): Promise<void> {
  const vault = await c.beta.vaults.archive(id);
  if (o.json) printObject(o, vault);
  else o.out(`archived ${vault.id}`);
}

function credentialTable(rows: Obj[]): string {
  return table(rows, [
    { header: 'ID', value: (x) => x.id, max: 40 },
    { header: 'NAME', value: (x) => x.display_name, max: 32 },
    { header: 'TYPE', value: (x) => x.auth?.type },
    { header: 'TARGET', value: (x) => x.auth?.mcp_server_url ?? x.auth?.secret_name, max: 48 },
    { header: 'UPDATED', value: (x) => when(x.updated_at) },
    { header: 'ARCHIVED', value: (x) => (x.archived_at ? 'yes' : '') },
  ]);
}

/** The write-only field that holds each credential type's secret. */
const SECRET_FIELD: Record<string, string> = { static_bearer: 'token', environment_variable: 'secret_value', mcp_oauth: 'access_token' };

function secretField(type: unknown): string {
  const field = SECRET_FIELD[String(type)];
  if (!field) throw new CliError(`unknown credential auth.type "${String(type)}" (one of ${Object.keys(SECRET_FIELD).join(', ')})`);
  return field;
}

export async function credentialsList(c: Client, o: Output, vaultId: string, f: ListFlags): Promise<void> {
  const rows = await collect(c.beta.vaults.credentials.list(vaultId, { limit: Math.min(f.limit, 100), ...(f.archived ? { include_archived: true } : {}) }), f.limit);
  printList(o, rows, credentialTable, `no credentials in ${vaultId}`);
}

/**
 * The file describes the credential (auth.type, mcp_server_url or secret_name, networking, …); the
 * secret itself comes from --secret-file (a path, or `-` for stdin) so it never sits in the file.
 */
export async function credentialsCreate(c: Client, o: Output, vaultId: string, f: { file: string; secretFile?: string }): Promise<void> {
  const doc = withoutServerFields(readDocument(f.file));
  const auth = doc.auth as Obj | undefined;
  if (!auth || typeof auth !== 'object') throw new CliError(`${f.file} needs an auth mapping with a type (${Object.keys(SECRET_FIELD).join(', ')})`);
  const field = secretField(auth.type);
  if (f.secretFile) auth[field] = readSecret(f.secretFile);
  else if (typeof auth[field] !== 'string') throw new CliError(`the ${auth.type} secret (auth.${field}) is missing: pass --secret-file <path> or --secret-file - to read it from stdin`, 2);
  const cred = await c.beta.vaults.credentials.create(vaultId, doc as unknown as Anthropic.Beta.Vaults.CredentialCreateParams);
  if (o.json) printObject(o, cred);
  else o.out(`created ${cred.id} in ${vaultId} (${cred.auth.type})`);
}

/** Replaces a credential's secret with one read from a file or stdin. */
export async function credentialsRotate(c: Client, o: Output, vaultId: string, credentialId: string, secretFile: string): Promise<void> {
  const current = await c.beta.vaults.credentials.retrieve(credentialId, { vault_id: vaultId });
  const field = secretField(current.auth.type);
  const secret = readSecret(secretFile);
  const cred = await c.beta.vaults.credentials.update(credentialId, { vault_id: vaultId, auth: { type: current.auth.type, [field]: secret } as any });
  if (o.json) printObject(o, cred);
  else o.out(`rotated ${cred.id}'s ${field}`);
}

export async function credentialsArchive(c: Client, o: Output, vaultId: string, credentialId: string): Promise<void> {
  const cred = await c.beta.vaults.credentials.archive(credentialId, { vault_id: vaultId });
  if (o.json) printObject(o, cred);
  else o.out(`archived ${cred.id}`);
}
