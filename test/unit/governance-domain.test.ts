// The pure parts of issue 11: the ledger delta of a session commit, the admission check, the
// wire form of period-to-date spend, waits, audit resources from route patterns, and destination
// coverage and updates.
import { describe, expect, it } from 'vitest';
import { SpendLimitReached, admit, centsString, spendDelta, spendScopesOf, waitIsOver, type SpendLimitRow } from '../../src/domain/spend.ts';
import { auditedResource, createdIdOf, isAudited } from '../../src/domain/audit.ts';
import { covers, newDestination, tracesUrl, updateDestination } from '../../src/domain/telemetry-destinations.ts';

const limit = (scopeKey: string, amount: string | null): SpendLimitRow => ({
  scopeKey,
  limit: { type: 'spend_limit', id: `spl_${scopeKey}`, amount, currency: 'USD', is_enabled: true, period: 'monthly', scope: { type: 'organization' }, created_at: '', updated_at: '' },
});

describe('spend ledger', () => {
  it('derives reservations added and dropped and spend from a commit', () => {
    expect(spendDelta({ _reserved: { a: 5 } }, { _reserved: { a: 5 } })).toBeUndefined();
    expect(spendDelta({ _reserved: { a: 5 } }, { _reserved: { a: 5, b: 7 } })).toEqual({ reserve: 7, release: 0, spent: 0 });
    expect(spendDelta({ _reserved: { a: 5 }, _cost_micros: 10 }, { _reserved: {}, _cost_micros: 13 })).toEqual({ reserve: 0, release: 5, spent: 3 });
    expect(spendDelta({ _reserved: { a: 5 } }, undefined)).toEqual({ reserve: 0, release: 5, spent: 0 });
    expect(spendDelta({}, { _reserved: { a: 4 } })).toEqual({ reserve: 4, release: 0, spent: 0 });
  });

  it('scopes a session to the organization and its workspace (default when unrecorded)', () => {
    expect(spendScopesOf({ _workspace_id: 'wrkspc_a' })).toEqual(['organization', 'workspace:wrkspc_a']);
    expect(spendScopesOf({})).toEqual(['organization', 'workspace:wrkspc_default']);
  });

  it('admits a reservation only while spent + reserved + new stays within every limit', () => {
    const ledger = [{ scope: 'organization', month: '2026-05', spentMicros: 60_000, reservedMicros: 30_000 }];
    const limits = [limit('organization', '10')]; // 100 000 micro-USD
    expect(() => admit({ reserve: 10_000, release: 0, spent: 0 }, ledger, limits, '2026-05')).not.toThrow();
    expect(() => admit({ reserve: 10_001, release: 0, spent: 0 }, ledger, limits, '2026-05')).toThrow(SpendLimitReached);
    // A release in the same commit makes room; last month's spend does not count.
    expect(() => admit({ reserve: 20_000, release: 10_000, spent: 0 }, ledger, limits, '2026-05')).not.toThrow();
    expect(() => admit({ reserve: 60_000, release: 0, spent: 0 }, ledger, limits, '2026-06')).not.toThrow();
    expect(() => admit({ reserve: 10 ** 9, release: 0, spent: 0 }, ledger, [limit('organization', null)], '2026-05')).not.toThrow();
    const err = (() => { try { admit({ reserve: 50_000, release: 0, spent: 0 }, ledger, limits, '2026-05'); } catch (e) { return e as SpendLimitReached; } })()!;
    expect(err.message).toContain('spl_organization');
    expect(err).toMatchObject({ neededMicros: 50_000, spentMicros: 60_000, reservedMicros: 30_000, month: '2026-05' });
  });

  it('ends a wait when the need fits, the limit is gone, or the month rolled over', () => {
    const wait = { limit_id: 'spl_x', scope: 'organization', month: '2026-05', needed_micros: 20_000 };
    const ledger = [{ scope: 'organization', month: '2026-05', spentMicros: 90_000, reservedMicros: 0 }];
    expect(waitIsOver(wait, ledger, [limit('organization', '10')], '2026-05')).toBe(false);
    expect(waitIsOver(wait, ledger, [limit('organization', '11')], '2026-05')).toBe(true);
    expect(waitIsOver(wait, ledger, [], '2026-05')).toBe(true);
    expect(waitIsOver(wait, ledger, [limit('organization', '10')], '2026-06')).toBe(true);
  });

  it('writes spend in cents with up to three decimals', () => {
    expect(centsString(0)).toBe('0');
    expect(centsString(10_000)).toBe('1');
    expect(centsString(1_205_050)).toBe('120.505');
    expect(centsString(1_205_000)).toBe('120.5');
    expect(centsString(9)).toBe('0');
  });
});

describe('audit resources', () => {
  it('audits state changes but not reads or worker heartbeats', () => {
    expect(isAudited('POST', '/v1/agents')).toBe(true);
    expect(isAudited('DELETE', '/v1/files/:id')).toBe(true);
    expect(isAudited('GET', '/v1/agents')).toBe(false);
    expect(isAudited('POST', '/v1/environments/:id/work/:workId/heartbeat')).toBe(false);
    expect(isAudited('POST', undefined)).toBe(false);
  });

  it('names the resource and its parent from the route, and a create by the id it returned', () => {
    expect(auditedResource('/v1/agents', {}, 'agent_1')).toEqual({ resource: { type: 'agent', id: 'agent_1' }, parent: null });
    expect(auditedResource('/v1/agents/:id/archive', { id: 'agent_1' }, undefined)).toEqual({ resource: { type: 'agent', id: 'agent_1' }, parent: null });
    expect(auditedResource('/v1/vaults/:vaultId/credentials', { vaultId: 'vlt_1' }, 'vcrd_1'))
      .toEqual({ resource: { type: 'vault_credential', id: 'vcrd_1' }, parent: { type: 'vault', id: 'vlt_1' } });
    expect(auditedResource('/v1/sessions/:id/events', { id: 'sesn_1' }, undefined)).toEqual({ resource: { type: 'session', id: 'sesn_1' }, parent: null });
    expect(auditedResource('/v1/organizations/spend_limits', {}, 'spl_1').resource).toEqual({ type: 'spend_limit', id: 'spl_1' });
  });

  it('reads only a top-level id from a response body', () => {
    expect(createdIdOf('{"id":"agent_1","name":"x"}')).toBe('agent_1');
    expect(createdIdOf('{"data":[{"id":"sevt_1"}]}')).toBeUndefined();
    expect(createdIdOf('not json')).toBeUndefined();
    expect(createdIdOf(undefined)).toBeUndefined();
  });
});

describe('telemetry destinations', () => {
  const base = newDestination({ endpoint_url: 'https://otel.example.com/', headers: { authorization: 'x' }, workspaces: { type: 'exclude', workspace_ids: ['wrkspc_b'] } }, { id: 'tdst_1', now: 't0' });

  it('covers workspaces by all, include or exclude, only while enabled', () => {
    expect(covers(base, 'wrkspc_a')).toBe(true);
    expect(covers(base, 'wrkspc_b')).toBe(false);
    const off = updateDestination(base, {}, { state: { type: 'disabled' } }, 't1').destination;
    expect(covers(off, 'wrkspc_a')).toBe(false);
    const include = updateDestination(base, {}, { workspaces: { type: 'include', workspace_ids: ['wrkspc_b'] } }, 't1').destination;
    expect([covers(include, 'wrkspc_a'), covers(include, 'wrkspc_b')]).toEqual([false, true]);
    expect(tracesUrl(base)).toBe('https://otel.example.com/v1/traces');
  });

  it('drops headers when the endpoint moves to another host or port, keeps them for a new path', () => {
    const headers = { authorization: 'x' };
    expect(updateDestination(base, headers, { endpoint_url: 'https://otel.example.com/other' }, 't1').headers).toBeUndefined();
    const moved = updateDestination(base, headers, { endpoint_url: 'https://otel.example.com:8443' }, 't1');
    expect(moved.headers).toEqual({});
    expect(moved.destination.header_names).toEqual([]);
    expect(updateDestination(base, headers, { headers: { Authorization: 'y', 'x-b': '1' } }, 't1').headers).toEqual({ Authorization: 'y', 'x-b': '1' });
  });
});
