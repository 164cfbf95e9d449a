// HTTP routes of session resources (§4.6): list, add (`file` only, as the SDK's add params), retrieve,
// delete, and the github token rotation (the new token is sealed into the session's hidden token
// field and the resource's `updated_at` moves, so the next clone attempt uses it). Resources live
// in the session row's `resources` array, so the session object and these endpoints always agree.
// A change made while a sandbox runs takes effect when the next sandbox is provisioned.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../deps.ts';
import type { SessionRow } from '../../ports/store.ts';
import { isoAt } from '../../ports/clock.ts';
import { invalidRequest, notFound } from '../../protocol/errors.ts';
import { hasPrefix } from '../../protocol/ids.ts';
import { assertMountPathFree, mountPathsOf, type FileResource } from '../../domain/files.ts';
import { REPOSITORY_TOKENS_FIELD } from '../../domain/repositories.ts';
import { pageBody, pageParams, parseWith, queryOf } from '../http.ts';
import { assertOwned } from '../workspace-scope.ts';

type SessionParams = { Params: { id: string } };
type ResourceParams = { Params: { id: string; resourceId: string } };

const NOT_ADDABLE: Record<string, string> = {
  github_repository: 'github_repository resources can only be given at session create (resources add takes file resources)',
  memory_store: 'memory_store session resources are not supported by this server yet',
};

const addFileSchema = z.object({
  type: z.literal('file', { error: 'type: only "file" resources can be added to a session' }),
  file_id: z.string({ error: 'file_id is required' }).min(1),
  mount_path: z.string().nullish(),
});

const rotateSchema = z.object({ authorization_token: z.string({ error: 'authorization_token is required' }).min(1) });

type Resource = Record<string, unknown> & { id?: string };

const resourcesOf = (row: SessionRow) => (row.session.resources ?? []) as Resource[];

function findResource(row: SessionRow, resourceId: string): Resource {
  const found = hasPrefix(resourceId, 'sesrsc') ? resourcesOf(row).find((r) => r.id === resourceId) : undefined;
  if (!found) throw notFound(`resource ${resourceId} not found in session ${row.session.id}`);
  return found;
}

function assertWritable(row: SessionRow): void {
  if (row.session.archived_at) throw invalidRequest(`session ${row.session.id} is archived and read-only`);
}

export function registerSessionResourceRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, files } = deps;
  const now = () => isoAt(deps.clock.now());

  async function loadSession(id: string): Promise<SessionRow> {
    const row = hasPrefix(id, 'sesn') ? await store.sessions.get(id) : undefined;
    if (!row) throw notFound(`session ${id} not found`);
    return row;
  }

  /** Rewrites the session's resources in one transaction; `change` sees the current list and may throw. */
  async function updateResources(id: string, change: (current: Resource[]) => Resource[]): Promise<void> {
    const at = now();
    const result = await store.sessions.commit(id, (row) => {
      assertWritable(row);
      return { now: at, patch: { fields: { resources: change(resourcesOf(row)), updated_at: at } } };
    });
    if (!result) throw notFound(`session ${id} not found`);
  }

  // Positional cursor (1-based index of the last item returned): resources are append-only apart
  // from deletes, and a session holds few of them.
  app.get<SessionParams>('/v1/sessions/:id/resources', async (req) => {
    const row = await loadSession(req.params.id);
    const page = pageParams(queryOf(req), { order: 'asc' });
    const all = resourcesOf(row);
    const start = page.after ?? 0;
    const end = start + page.limit;
    return pageBody({ data: all.slice(start, end), next: end < all.length ? end : null }, page.order);
  });

  app.post<SessionParams>('/v1/sessions/:id/resources', async (req) => {
    const type = (req.body as { type?: unknown } | undefined)?.type;
    if (typeof type === 'string' && NOT_ADDABLE[type]) throw invalidRequest(NOT_ADDABLE[type]);
    const params = parseWith(addFileSchema, req.body);
    await assertOwned(store, req.principal.workspaceId, 'file', params.file_id, (id) => notFound(`file ${id} not found`));
    const row = await loadSession(req.params.id);
    assertWritable(row);
    const [resource] = await files.resolveSessionResources([params], resourcesOf(row));
    // Re-checked against the list as it is now: another add may have taken the path meanwhile.
    await updateResources(row.session.id, (current) => {
      assertMountPathFree(resource.mount_path, mountPathsOf(current));
      return [...current, resource as unknown as Resource];
    });
    return resource satisfies FileResource;
  });

  app.get<ResourceParams>('/v1/sessions/:id/resources/:resourceId', async (req) =>
    findResource(await loadSession(req.params.id), req.params.resourceId));

  app.post<ResourceParams>('/v1/sessions/:id/resources/:resourceId', async (req) => {
    const { authorization_token: token } = parseWith(rotateSchema, req.body);
    const row = await loadSession(req.params.id);
    const resource = findResource(row, req.params.resourceId);
    assertWritable(row);
    if (resource.type !== 'github_repository' || !deps.repositories) {
      throw invalidRequest(`authorization_token can only be rotated on github_repository resources; ${resource.id} is a ${String(resource.type)} resource`);
    }
    const sealed = await deps.repositories.seal(String(resource.id), token);
    const at = now();
    let updated: Resource | undefined;
    const result = await store.sessions.commit(row.session.id, (current) => {
      assertWritable(current);
      const list = resourcesOf(current);
      const i = list.findIndex((r) => r.id === resource.id);
      if (i < 0) throw notFound(`resource ${resource.id} not found in session ${row.session.id}`);
      updated = { ...list[i], updated_at: at };
      const tokens = { ...((current.session[REPOSITORY_TOKENS_FIELD] ?? {}) as Record<string, string>), [String(resource.id)]: sealed };
      const resources = list.map((r, j) => (j === i ? updated! : r));
      return { now: at, patch: { fields: { resources, [REPOSITORY_TOKENS_FIELD]: tokens, updated_at: at } } };
    });
    if (!result || !updated) throw notFound(`session ${row.session.id} not found`);
    return updated;
  });

  app.delete<ResourceParams>('/v1/sessions/:id/resources/:resourceId', async (req) => {
    const row = await loadSession(req.params.id);
    const target = findResource(row, req.params.resourceId);
    await updateResources(row.session.id, (current) => {
      if (!current.some((r) => r.id === target.id)) throw notFound(`resource ${target.id} not found in session ${row.session.id}`);
      return current.filter((r) => r.id !== target.id);
    });
    return { id: target.id, type: 'session_resource_deleted' };
  });
}
