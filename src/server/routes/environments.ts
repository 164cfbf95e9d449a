// HTTP routes of the environments API (§4.2): create, retrieve, partial update, list, delete,
// archive; plus `getLiveEnvironment` for code that starts sessions in an environment.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { UniqueViolation, type Json, type Store } from '../../ports/store.ts';
import { isoAt } from '../../ports/clock.ts';
import { conflict, invalidRequest, notFound } from '../../protocol/errors.ts';
import { hasPrefix, newId } from '../../protocol/ids.ts';
import { environmentCreateSchema, environmentUpdateSchema } from '../../protocol/environment-schemas.ts';
import {
  archiveEnvironment,
  assertNotArchived,
  createEnvironment,
  updateEnvironment,
  type EnvironmentObject,
} from '../../domain/environments.ts';
import { pageBody, pageParams, parseWith, queryBool, queryOf } from '../http.ts';

type IdParams = { Params: { id: string } };

const asJson = (e: EnvironmentObject) => e as unknown as Json & EnvironmentObject;

/** Loads an environment; 404 `environment_not_found` (the SDK's `BetaEnvironmentNotFoundError`) otherwise. */
export async function loadEnvironment(store: Store, id: string): Promise<EnvironmentObject> {
  const found = hasPrefix(id, 'env') ? await store.environments.get(id) : undefined;
  if (!found) throw notFound(`no environment with id ${id}`, 'environment_not_found');
  return found as unknown as EnvironmentObject;
}

/**
 * An environment new work may use: 404 `environment_not_found` when unknown, 400
 * `environment_archived` when archived. Sessions call this on create.
 */
export async function getLiveEnvironment(store: Store, id: string): Promise<EnvironmentObject> {
  const env = await loadEnvironment(store, id);
  assertNotArchived(env);
  return env;
}

/** Duplicate names are a semantic conflict: 409 with `x-should-retry: false`. */
async function writeUnique(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (err instanceof UniqueViolation) throw conflict(err.message);
    throw err;
  }
}

export function registerEnvironmentRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, packages } = deps;
  const now = () => isoAt(deps.clock.now());
  /** With the package build (`build`) when the server builds layers. */
  const present = (env: EnvironmentObject) => (packages ? packages.present(env) : env);
  const checkPackages = (env: EnvironmentObject) => {
    if (packages) packages.assertInstallable(env.config);
    else if (env.config.type === 'cloud' && Object.values(env.config.packages).some((l) => Array.isArray(l) && l.length > 0)) {
      throw invalidRequest('config.packages: this server does not install packages');
    }
  };

  app.post('/v1/environments', async (req) => {
    const env = createEnvironment(parseWith(environmentCreateSchema, req.body), { id: newId('env'), now: now() });
    checkPackages(env);
    await writeUnique(() => store.environments.insert(asJson(env), req.principal.workspaceId));
    await packages?.request(env);
    return present(env);
  });

  app.get<IdParams>('/v1/environments/:id', async (req) => present(await loadEnvironment(store, req.params.id)));

  // Read-modify-write without a version check: environment updates are last-write-wins (the API
  // offers no optimistic `version` for them) and only affect containers started afterwards.
  app.post<IdParams>('/v1/environments/:id', async (req) => {
    const params = parseWith(environmentUpdateSchema, req.body);
    const current = await loadEnvironment(store, req.params.id);
    const { environment, changed } = updateEnvironment(current, params, { now: now() });
    if (params.config != null) checkPackages(environment);
    if (changed) await writeUnique(() => store.environments.update(asJson(environment)));
    // Naming packages again retries a failed build of that list.
    if (params.config != null) await packages?.request(environment);
    return present(environment);
  });

  app.get('/v1/environments', async (req) => {
    const q = queryOf(req);
    const page = pageParams(q, { order: 'desc' });
    const result = await store.environments.list({ ...page, includeArchived: queryBool(q, 'include_archived') ?? false, workspaceId: req.principal.workspaceId });
    const data = await Promise.all(result.data.map((e) => present(e as unknown as EnvironmentObject)));
    return pageBody({ ...result, data: data as unknown as typeof result.data }, page.order);
  });

  // Deleting an environment that sessions still reference is allowed: those sessions keep their
  // `environment_id` (a dangling reference, like the hosted API) and new sessions cannot use it.
  app.delete<IdParams>('/v1/environments/:id', async (req) => {
    const env = await loadEnvironment(store, req.params.id);
    if (!(await store.environments.delete(env.id))) throw notFound(`no environment with id ${env.id}`, 'environment_not_found');
    return { id: env.id, type: 'environment_deleted' };
  });

  app.post<IdParams>('/v1/environments/:id/archive', async (req) => {
    const current = await loadEnvironment(store, req.params.id);
    const archived = archiveEnvironment(current, { now: now() });
    if (archived !== current) await store.environments.update(asJson(archived));
    return present(archived);
  });
}
