// Environments API driven only through the official SDK against a live Hangar: CRUD, unique
// names, config rules, archive/delete, and the error subclasses the SDK picks by error_code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import {
  BetaEnvironmentArchivedError,
  BetaEnvironmentNotFoundError,
  BetaInvalidConfigTypeChangeError,
  BetaInvalidMetadataError,
} from '@anthropic-ai/sdk/resources/beta/environments/environments';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { rejection } from './helpers.ts';

let h: TestHangar;
let client: Anthropic;
let n = 0;
const uniqueName = () => `env-${process.pid}-${++n}`;

beforeAll(async () => {
  h = await startHangar();
  client = h.client;
});
afterAll(async () => {
  await h.close();
});

const errorCode = (e: APIError) => (e.error as { error?: { details?: { error_code?: string } } }).error?.details?.error_code;

async function listIds(params: Anthropic.Beta.Environments.EnvironmentListParams = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of client.beta.environments.list(params)) ids.push(e.id);
  return ids;
}

describe('environments over the SDK', () => {
  it('creates a cloud environment with the default config and retrieves it', async () => {
    const env = await client.beta.environments.create({ name: uniqueName(), metadata: { team: 'core' } });
    expect(env.id).toMatch(/^env_/);
    expect(env).toMatchObject({
      type: 'environment',
      description: null,
      metadata: { team: 'core' },
      config: { type: 'cloud', networking: { type: 'unrestricted' }, packages: { apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] } },
      archived_at: null,
    });
    expect(await client.beta.environments.retrieve(env.id)).toEqual(env);
  });

  it('resolves limited networking and rejects packages it cannot install', async () => {
    const env = await client.beta.environments.create({
      name: uniqueName(),
      config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['api.example.com'], allow_package_managers: true }, packages: { pip: ['requests'] } },
    });
    expect(env.config).toMatchObject({
      networking: { type: 'limited', allowed_hosts: ['api.example.com'], allow_mcp_servers: false, allow_package_managers: true },
      packages: { pip: ['requests'], npm: [] },
    });
    const e = await rejection(
      client.beta.environments.create({ name: uniqueName(), config: { type: 'cloud', networking: { type: 'limited' }, packages: { npm: ['x'] } } }),
    );
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect(e.message).toMatch(/allow_package_managers/);
  });

  it('raises ConflictError for a duplicate name, on create and on rename', async () => {
    const name = uniqueName();
    const first = await client.beta.environments.create({ name });
    const dup = await rejection(client.beta.environments.create({ name }));
    expect(dup).toBeInstanceOf(Anthropic.ConflictError);
    expect(dup.headers?.get('x-should-retry')).toBe('false');
    const other = await client.beta.environments.create({ name: uniqueName() });
    expect(await rejection(client.beta.environments.update(other.id, { name: first.name }))).toBeInstanceOf(Anthropic.ConflictError);
  });

  it('updates partially and patches metadata where null and "" delete', async () => {
    const env = await client.beta.environments.create({ name: uniqueName(), description: 'd', metadata: { a: '1', b: '2', c: '3' } });
    const updated = await client.beta.environments.update(env.id, { description: 'new', metadata: { a: null, b: '', d: '4' } });
    expect(updated).toMatchObject({ name: env.name, description: 'new', metadata: { c: '3', d: '4' }, config: env.config });
    const same = await client.beta.environments.update(env.id, { name: env.name });
    expect(same.updated_at).toBe(updated.updated_at);
  });

  it('rejects a config type change with BetaInvalidConfigTypeChangeError', async () => {
    const env = await client.beta.environments.create({ name: uniqueName() });
    const e = await rejection(client.beta.environments.update(env.id, { config: { type: 'self_hosted' } }));
    expect(e).toBeInstanceOf(BetaInvalidConfigTypeChangeError);
    expect(errorCode(e)).toBe('invalid_config_type_change');
  });

  it('rejects metadata beyond the limits with BetaInvalidMetadataError', async () => {
    const e = await rejection(client.beta.environments.create({ name: uniqueName(), metadata: { k: 'v'.repeat(513) } }));
    expect(e).toBeInstanceOf(BetaInvalidMetadataError);
    expect(errorCode(e)).toBe('invalid_metadata');
  });

  it('rejects invalid bodies with BadRequestError naming the field', async () => {
    const bad = (body: unknown) => rejection(client.beta.environments.create(body as Anthropic.Beta.Environments.EnvironmentCreateParams));
    for (const [body, message] of [
      [{}, /name/],
      [{ name: 7 }, /name/],
      [{ name: uniqueName(), config: { type: 'docker' } }, /config\.type/],
      [{ name: uniqueName(), config: { type: 'cloud', networking: { type: 'none' } } }, /config\.networking\.type/],
    ] as Array<[unknown, RegExp]>) {
      const e = await bad(body);
      expect(e).toBeInstanceOf(Anthropic.BadRequestError);
      expect(e.message).toMatch(message);
    }
  });

  it('archives: read-only afterwards and hidden from the default list', async () => {
    const env = await client.beta.environments.create({ name: uniqueName() });
    const archived = await client.beta.environments.archive(env.id);
    expect(archived.archived_at).not.toBeNull();
    const e = await rejection(client.beta.environments.update(env.id, { description: 'x' }));
    expect(e).toBeInstanceOf(BetaEnvironmentArchivedError);
    expect(await listIds()).not.toContain(env.id);
    expect(await listIds({ include_archived: true, limit: 1 })).toContain(env.id);
  });

  it('deletes an environment, after which it is not found', async () => {
    const env = await client.beta.environments.create({ name: uniqueName() });
    expect(await client.beta.environments.delete(env.id)).toEqual({ id: env.id, type: 'environment_deleted' });
    const e = await rejection(client.beta.environments.retrieve(env.id));
    expect(e).toBeInstanceOf(BetaEnvironmentNotFoundError);
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await rejection(client.beta.environments.delete(env.id))).toBeInstanceOf(Anthropic.NotFoundError);
    expect(await rejection(client.beta.environments.retrieve('agent_wrongprefix'))).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('lists newest first across pages', async () => {
    const a = await client.beta.environments.create({ name: uniqueName() });
    const b = await client.beta.environments.create({ name: uniqueName() });
    const ids = await listIds({ limit: 2 });
    expect(ids.indexOf(b.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
