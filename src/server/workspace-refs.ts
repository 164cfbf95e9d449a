// The ids a session create names in its body (agent, environment, vaults, files), checked against
// the request's workspace: one of another workspace gets the same 404 as an unknown id.
import { ApiError, notFound } from '../protocol/errors.ts';
import type { CreateSessionParams } from '../protocol/session-schemas.ts';
import type { Store } from '../ports/store.ts';
import { assertOwned } from './workspace-scope.ts';

export async function sessionRefsInWorkspace(store: Store, workspaceId: string, params: CreateSessionParams): Promise<void> {
  const agent = typeof params.agent === 'string' ? { id: params.agent, version: undefined } : params.agent;
  await assertOwned(store, workspaceId, 'agent', agent.id, (id) => notFound(agent.version ? `agent ${id} version ${agent.version} not found` : `agent ${id} not found`));
  await assertOwned(store, workspaceId, 'environment', params.environment_id,
    (id) => new ApiError(404, 'not_found_error', `environment ${id} not found`, { errorCode: 'environment_not_found' }));
  for (const v of params.vault_ids ?? []) await assertOwned(store, workspaceId, 'vault', v, (id) => notFound(`no vault with id ${id}`));
  for (const r of params.resources ?? []) {
    if (r.type === 'file') await assertOwned(store, workspaceId, 'file', r.file_id, (id) => notFound(`file ${id} not found`));
  }
}
