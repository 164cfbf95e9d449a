// The ids a request body names (a session's agent, environment, vaults and files, an outcome's
// rubric file), checked against the request's workspace: one of another workspace gets the same
// answer as an unknown id (404, or the 400 an unknown rubric file gets).
import { ApiError, invalidRequest, notFound } from '../protocol/errors.ts';
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
  await rubricFilesInWorkspace(store, workspaceId, params.initial_events ?? []);
}

/** The grader reads a rubric file's content: it must be a file of the session's workspace. */
export async function rubricFilesInWorkspace(store: Store, workspaceId: string, events: ReadonlyArray<{ type: string; rubric?: unknown }>): Promise<void> {
  for (const e of events) {
    const rubric = e.rubric as { type?: string; file_id?: unknown } | undefined;
    if (e.type !== 'user.define_outcome' || rubric?.type !== 'file' || typeof rubric.file_id !== 'string') continue;
    await assertOwned(store, workspaceId, 'file', rubric.file_id, (id) => invalidRequest(`rubric.file_id: file ${id} not found`));
  }
}
