// HTTP routes of spend limits (`client.beta.organization.spendLimits`, issue 11): set (upsert on
// scope and period), retrieve, list, delete, and the effective report (`effective.list`).
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { invalidRequest, notFound } from '../../protocol/errors.ts';
import { hasPrefix } from '../../protocol/ids.ts';
import { SDK_SPEND_PERIODS, SDK_SPEND_SCOPE_TYPES, SPEND_SCOPE_TYPES, spendLimitSetSchema } from '../../protocol/spend-schemas.ts';
import { pageBody, pageParams, parseWith, queryArray, queryOf, queryString } from '../http.ts';
import { requestActor } from '../request-workspace.ts';
import { inlineAuditEvent, markAudited } from '../audit-log.ts';

type IdParams = { Params: { id: string } };

const WORKSPACE_ID = /^wrkspc_[A-Za-z0-9_]+$/;

function workspaceFilter(q: Record<string, string | string[] | undefined>): string | undefined {
  const ws = queryString(q, 'workspace_id');
  if (ws !== undefined && !WORKSPACE_ID.test(ws)) throw invalidRequest('workspace_id: must be a workspace id (wrkspc_…)');
  return ws;
}

export function registerSpendLimitRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { spend } = deps;

  // Changes append their audit record in their own transaction (src/server/audit-log.ts).
  app.post('/v1/organizations/spend_limits', async (req) => {
    const params = parseWith(spendLimitSetSchema, req.body);
    const audit = inlineAuditEvent(req, deps);
    const limit = await spend.set({ amount: params.amount, scope: params.scope }, (id) => audit({ type: 'spend_limit', id }));
    markAudited(req);
    return limit;
  });

  app.get('/v1/organizations/spend_limits/effective', async (req) => {
    const q = queryOf(req);
    if (queryArray(q, 'user_ids')) throw invalidRequest('user_ids: Hangar has no members; effective limits are reported per organization and workspace');
    const periods = queryArray(q, 'period');
    const bad = periods?.find((p) => !(SDK_SPEND_PERIODS as readonly string[]).includes(p));
    if (bad !== undefined) throw invalidRequest(`period: "${bad}" is not one of ${SDK_SPEND_PERIODS.join(', ')}`);
    const page = pageParams(q, { order: 'desc' });
    const actor = requestActor(req);
    // Only monthly limits exist: asking for other periods only is an empty report.
    if (periods && !periods.includes('monthly')) return { data: [], next_page: null };
    return pageBody(await spend.effective({ ...page, workspaceId: workspaceFilter(q) }, actor.keyId ?? 'unknown'), page.order);
  });

  app.get<IdParams>('/v1/organizations/spend_limits/:id', async (req) => {
    if (!hasPrefix(req.params.id, 'spl')) throw notFound(`no spend limit with id ${req.params.id}`);
    return (await spend.get(req.params.id)).limit;
  });

  app.get('/v1/organizations/spend_limits', async (req) => {
    const q = queryOf(req);
    const scopeTypes = queryArray(q, 'scope_type');
    for (const t of scopeTypes ?? []) {
      if (!(SDK_SPEND_SCOPE_TYPES as readonly string[]).includes(t)) throw invalidRequest(`scope_type: "${t}" is not a spend limit scope type`);
      if (!(SPEND_SCOPE_TYPES as readonly string[]).includes(t)) throw invalidRequest(`scope_type: "${t}" does not apply here; Hangar has ${SPEND_SCOPE_TYPES.join(' and ')} limits`);
    }
    const page = pageParams(q, { order: 'desc' });
    const result = await spend.list({ ...page, scopeTypes, workspaceId: workspaceFilter(q) });
    return pageBody({ data: result.data.map((r) => r.limit), next: result.next }, page.order);
  });

  app.delete<IdParams>('/v1/organizations/spend_limits/:id', async (req) => {
    if (!hasPrefix(req.params.id, 'spl')) throw notFound(`no spend limit with id ${req.params.id}`);
    const audit = inlineAuditEvent(req, deps);
    const deleted = await spend.delete(req.params.id, audit({ type: 'spend_limit', id: req.params.id }));
    markAudited(req);
    return deleted;
  });
}
