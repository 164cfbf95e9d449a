// Workspace selection and the route guard (src/server/workspace-scope.ts) over a real SQLite store:
// which workspace each kind of credential acts in, and which route patterns the guard covers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { assertInWorkspace, guardedResource, selectWorkspace } from '../../src/server/workspace-scope.ts';
import type { Principal } from '../../src/domain/work.ts';
import { ApiError } from '../../src/protocol/errors.ts';

let store: SqliteStore;
beforeEach(async () => {
  store = new SqliteStore(':memory:');
  await store.workspaces.insert({ type: 'workspace', id: 'wrkspc_a', created_at: 'x', archived_at: null });
  await store.workspaces.insert({ type: 'workspace', id: 'wrkspc_old', created_at: 'x', archived_at: 'y' });
});
afterEach(async () => {
  await store.close();
});

const org: Principal = { kind: 'api_key', workspaceId: 'wrkspc_default', keyId: 'key_o', role: 'admin', keyWorkspaceId: null };
const bound: Principal = { kind: 'api_key', workspaceId: 'wrkspc_a', keyId: 'key_b', role: 'developer', keyWorkspaceId: 'wrkspc_a' };
const envKey: Principal = { kind: 'environment_key', workspaceId: 'wrkspc_a', environmentId: 'env_1', keyId: 'envkey_1' };
const header = (v?: string): Record<string, string> => (v === undefined ? {} : { 'anthropic-workspace-id': v });

async function status(p: Principal, h: Record<string, string>, method = 'GET'): Promise<number | string> {
  try {
    return (await selectWorkspace(p, h, method, store)).workspaceId;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('selectWorkspace', () => {
  it('keeps the credential\'s workspace without a header', async () => {
    expect(await status(org, header())).toBe('wrkspc_default');
    expect(await status(bound, header())).toBe('wrkspc_a');
    expect(await status(envKey, header())).toBe('wrkspc_a');
  });

  it('lets an organization key select an existing workspace, read-only when archived', async () => {
    expect(await status(org, header('wrkspc_a'))).toBe('wrkspc_a');
    expect(await status(org, header('wrkspc_unknown'))).toBe(404);
    expect(await status(org, header('wrkspc_old'))).toBe('wrkspc_old');
    expect(await status(org, header('wrkspc_old'), 'POST')).toBe(403);
  });

  it('refuses a bound credential naming another workspace, and malformed values', async () => {
    expect(await status(bound, header('wrkspc_a'))).toBe('wrkspc_a');
    expect(await status(bound, header('wrkspc_default'))).toBe(403);
    expect(await status(envKey, header('wrkspc_default'))).toBe(403);
    for (const bad of ['', 'a', 'wrkspc_', 'wrkspc_a b', `wrkspc_${'x'.repeat(65)}`]) expect(await status(org, header(bad)), bad).toBe(400);
  });
});

describe('the route guard', () => {
  it('covers every route under a top-level resource, and nothing else', () => {
    expect(guardedResource('/v1/agents/:id/versions', { id: 'agent_1' })).toMatchObject({ kind: 'agent', id: 'agent_1' });
    expect(guardedResource('/v1/vaults/:vaultId/credentials/:credentialId', { vaultId: 'vlt_1', credentialId: 'vcrd_1' })).toMatchObject({ kind: 'vault', id: 'vlt_1' });
    expect(guardedResource('/v1/sessions/:id/threads/:threadId', { id: 'sesn_1' })).toMatchObject({ kind: 'session' });
    expect(guardedResource('/v1/environments/:id/work/poll', { id: 'env_1' })).toMatchObject({ kind: 'environment' });
    expect(guardedResource('/v1/agents', {})).toBeUndefined();
    expect(guardedResource('/v1/models/:id', { id: 'm' })).toBeUndefined();
    expect(guardedResource(undefined, {})).toBeUndefined();
  });

  it('answers unknown and other-workspace ids with the same 404', async () => {
    await store.agents.insert({ type: 'agent', id: 'agent_a', version: 1, created_at: 'x' }, 'wrkspc_a');
    const route = (id: string) => ({ method: 'GET', url: '/v1/agents/:id', params: { id } });
    await assertInWorkspace(store, 'wrkspc_a', route('agent_a'));
    const other = await assertInWorkspace(store, 'wrkspc_default', route('agent_a')).catch((e: ApiError) => e);
    const unknown = await assertInWorkspace(store, 'wrkspc_default', route('agent_zz')).catch((e: ApiError) => e);
    expect(other).toMatchObject({ status: 404, message: 'no agent with id agent_a' });
    expect(unknown).toMatchObject({ status: 404, message: 'no agent with id agent_zz' });
  });
});
