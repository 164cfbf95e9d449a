// Environment domain rules, driven through the request schemas as the routes use them: config
// defaults and validation, partial updates (type changes, archived, metadata patch), archive.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/protocol/errors.ts';
import { parseWith } from '../../src/server/http.ts';
import { environmentCreateSchema, environmentUpdateSchema } from '../../src/protocol/environment-schemas.ts';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { getLiveEnvironment } from '../../src/server/routes/environments.ts';
import { archiveEnvironment, createEnvironment, updateEnvironment, type EnvironmentObject } from '../../src/domain/environments.ts';

const T0 = '2026-05-01T00:00:00.000Z';
const T1 = '2026-05-01T00:01:00.000Z';
const NO_PACKAGES = { type: 'packages', apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] };

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

const create = (body: Record<string, unknown>) =>
  createEnvironment(parseWith(environmentCreateSchema, { name: 'env', ...body }), { id: 'env_test1', now: T0 });
const update = (current: EnvironmentObject, body: Record<string, unknown>) =>
  updateEnvironment(current, parseWith(environmentUpdateSchema, body), { now: T1 });

describe('environment create', () => {
  it('defaults to a cloud config with unrestricted networking and no packages', () => {
    expect(create({})).toEqual({
      type: 'environment',
      id: 'env_test1',
      name: 'env',
      description: null,
      config: { type: 'cloud', networking: { type: 'unrestricted' }, packages: NO_PACKAGES },
      metadata: {},
      scope: 'organization',
      created_at: T0,
      updated_at: T0,
      archived_at: null,
    });
    expect(create({ config: null }).config.type).toBe('cloud');
  });

  it('stores a self-hosted config as is', () => {
    expect(create({ config: { type: 'self_hosted' } }).config).toEqual({ type: 'self_hosted' });
  });

  it('resolves limited networking and packages with their defaults', () => {
    expect(create({ config: { type: 'cloud', networking: { type: 'limited' } } }).config).toEqual({
      type: 'cloud',
      networking: { type: 'limited', allowed_hosts: [], allow_mcp_servers: false, allow_package_managers: false },
      packages: NO_PACKAGES,
    });
    expect(create({ config: { type: 'cloud', packages: { type: 'packages', pip: ['requests==2.32.0'], apt: null } } }).config).toEqual({
      type: 'cloud',
      networking: { type: 'unrestricted' },
      packages: { ...NO_PACKAGES, pip: ['requests==2.32.0'] },
    });
  });

  it('rejects packages under limited networking unless package managers are allowed', () => {
    const limited = (allow: boolean) => ({ type: 'cloud', networking: { type: 'limited', allow_package_managers: allow }, packages: { npm: ['left-pad'] } });
    expect(errorOf(() => create({ config: limited(false) })).message).toMatch(/allow_package_managers/);
    expect(create({ config: limited(true) }).config).toMatchObject({ packages: { npm: ['left-pad'] } });
  });

  it.each([
    [{ name: undefined }, /^name/],
    [{ name: '' }, /^name/],
    [{ config: { type: 'kubernetes' } }, /^config\.type/],
    [{ config: { type: 'cloud', networking: { type: 'open' } } }, /^config\.networking\.type/],
    [{ config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['https://x.com/'] } } }, /^config\.networking\.allowed_hosts\.0/],
    [{ config: { type: 'cloud', packages: { pip: 'requests' } } }, /^config\.packages\.pip/],
    [{ scope: 'planet' }, /^scope/],
  ])('rejects %j with a 400 naming the field', (body, message) => {
    const e = errorOf(() => create(body));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(message);
  });

  it('rejects metadata beyond the limits with invalid_metadata', () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(errorOf(() => create({ metadata: many })).errorCode).toBe('invalid_metadata');
    expect(errorOf(() => create({ metadata: { k: 'v'.repeat(513) } })).errorCode).toBe('invalid_metadata');
  });
});

describe('environment update', () => {
  const base = () =>
    create({
      description: 'd',
      metadata: { a: '1', b: '2' },
      config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['api.example.com'], allow_package_managers: true }, packages: { pip: ['x'] } },
    });

  it('changes only the given fields and moves updated_at', () => {
    const r = update(base(), { name: 'renamed' });
    expect(r.changed).toBe(true);
    expect(r.environment).toMatchObject({ name: 'renamed', description: 'd', created_at: T0, updated_at: T1 });
    expect(r.environment.config).toEqual(base().config);
  });

  it('reports no change and keeps updated_at when nothing differs', () => {
    const env = base();
    const r = update(env, { name: 'env', name_typo: 'x', config: null, metadata: { a: '1' } });
    expect(r.changed).toBe(false);
    expect(r.environment.updated_at).toBe(T0);
  });

  it('clears the description with null and stores an empty string as given', () => {
    expect(update(base(), { description: null }).environment.description).toBeNull();
    expect(update(base(), { description: '' }).environment.description).toBe('');
  });

  it('rejects a config type change with invalid_config_type_change', () => {
    const e = errorOf(() => update(base(), { config: { type: 'self_hosted' } }));
    expect([e.status, e.errorCode]).toEqual([400, 'invalid_config_type_change']);
  });

  it('rejects any update of an archived environment with environment_archived', () => {
    const e = errorOf(() => update({ ...base(), archived_at: T0 }, { name: 'x' }));
    expect([e.status, e.errorCode]).toEqual([400, 'environment_archived']);
  });

  it('keeps networking and packages the update omits', () => {
    const r = update(base(), { config: { type: 'cloud' } });
    expect(r.changed).toBe(false);
    expect(update(base(), { config: { type: 'cloud', packages: { npm: ['y'] } } }).environment.config).toMatchObject({
      networking: { type: 'limited', allowed_hosts: ['api.example.com'], allow_package_managers: true },
      packages: { pip: ['x'], npm: ['y'] },
    });
  });

  it('merges limited networking fields into stored limited networking', () => {
    const r = update(base(), { config: { type: 'cloud', networking: { type: 'limited', allow_mcp_servers: true } } });
    expect(r.environment.config).toMatchObject({
      networking: { type: 'limited', allowed_hosts: ['api.example.com'], allow_mcp_servers: true, allow_package_managers: true },
    });
  });

  it('validates the merged config: packages stay invalid without package managers', () => {
    const e = errorOf(() => update(base(), { config: { type: 'cloud', networking: { type: 'limited', allow_package_managers: false } } }));
    expect(e.message).toMatch(/allow_package_managers/);
    expect(update(base(), { config: { type: 'cloud', networking: { type: 'unrestricted' } } }).environment.config).toMatchObject({ networking: { type: 'unrestricted' } });
  });

  it('patches metadata: strings upsert, null and empty string delete', () => {
    expect(update(base(), { metadata: { a: null, b: '', c: '3' } }).environment.metadata).toEqual({ c: '3' });
    const e = errorOf(() => update(base(), { metadata: { ['k'.repeat(65)]: 'v' } }));
    expect(e.errorCode).toBe('invalid_metadata');
  });
});

describe('environment archive', () => {
  it('sets archived_at once and is idempotent', () => {
    const archived = archiveEnvironment(create({}), { now: T1 });
    expect(archived.archived_at).toBe(T1);
    expect(archiveEnvironment(archived, { now: '2030-01-01T00:00:00.000Z' })).toBe(archived);
  });
});

describe('getLiveEnvironment', () => {
  it('returns a live environment, 404 environment_not_found when unknown, 400 environment_archived when archived', async () => {
    const store = new SqliteStore(':memory:');
    try {
      const env = create({});
      await store.environments.insert({ ...env });
      expect(await getLiveEnvironment(store, env.id)).toEqual(env);

      for (const id of ['env_missing', 'agent_wrongprefix']) {
        const missing = await getLiveEnvironment(store, id).catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(ApiError);
        expect(missing).toMatchObject({ status: 404, type: 'not_found_error', errorCode: 'environment_not_found' });
      }

      await store.environments.update({ ...archiveEnvironment(env, { now: T1 }) });
      expect(await getLiveEnvironment(store, env.id).catch((e: unknown) => e)).toMatchObject({ status: 400, errorCode: 'environment_archived' });
    } finally {
      await store.close();
    }
  });
});
