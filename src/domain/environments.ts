// Environment rules, free of I/O: create with a resolved config, partial update (config type is
// fixed, archived environments are read-only), and the cloud config defaults.
import { invalidRequest } from '../protocol/errors.ts';
import { applyMetadataPatch, validateMetadata, type Metadata } from '../protocol/common-schemas.ts';
import type {
  EnvironmentConfigParam,
  EnvironmentCreateParams,
  EnvironmentUpdateParams,
  NetworkingParam,
  PackagesParam,
} from '../protocol/environment-schemas.ts';
import { assertValidPackages } from './package-specs.ts';

export type Networking =
  | { type: 'unrestricted' }
  | { type: 'limited'; allowed_hosts: string[]; allow_mcp_servers: boolean; allow_package_managers: boolean };

export const PACKAGE_MANAGERS = ['apt', 'cargo', 'gem', 'go', 'npm', 'pip'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];
export type Packages = Record<PackageManager, string[]> & { type: 'packages' };

export type CloudConfig = { type: 'cloud'; networking: Networking; packages: Packages };
export type EnvironmentConfig = CloudConfig | { type: 'self_hosted' };

export interface EnvironmentObject {
  type: 'environment';
  id: string;
  name: string;
  description: string | null;
  config: EnvironmentConfig;
  metadata: Metadata;
  scope: 'organization' | 'account';
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

const emptyPackages = (): Packages => ({ type: 'packages', apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] });

/**
 * Networking from a param. When the stored networking is also `limited`, fields the param omits
 * keep their stored value (the SDK documents the false defaults as applying "on creation");
 * null and fresh objects take the defaults (no hosts, no MCP, no package managers).
 */
function resolveNetworking(param: NetworkingParam, stored: Networking | undefined): Networking {
  if (param.type === 'unrestricted') return { type: 'unrestricted' };
  const base = stored?.type === 'limited' ? stored : undefined;
  return {
    type: 'limited',
    allowed_hosts: [...(param.allowed_hosts === undefined ? (base?.allowed_hosts ?? []) : (param.allowed_hosts ?? []))],
    allow_mcp_servers: param.allow_mcp_servers === undefined ? (base?.allow_mcp_servers ?? false) : (param.allow_mcp_servers ?? false),
    allow_package_managers:
      param.allow_package_managers === undefined ? (base?.allow_package_managers ?? false) : (param.allow_package_managers ?? false),
  };
}

/** Packages merge per manager the same way: omitted keeps the stored list, null empties it. */
function resolvePackages(param: PackagesParam, stored: Packages | undefined): Packages {
  const out = emptyPackages();
  for (const m of PACKAGE_MANAGERS) {
    const v = param[m];
    out[m] = [...(v === undefined ? (stored?.[m] ?? []) : (v ?? []))];
  }
  return out;
}

/**
 * Resolves a config param, merging into `stored` on update (omitted networking/packages keep
 * their value). No config means the cloud default: unrestricted networking, no packages.
 */
export function resolveEnvironmentConfig(param: EnvironmentConfigParam | null | undefined, stored?: EnvironmentConfig): EnvironmentConfig {
  if (param == null) return stored ? structuredClone(stored) : { type: 'cloud', networking: { type: 'unrestricted' }, packages: emptyPackages() };
  if (param.type === 'self_hosted') return { type: 'self_hosted' };
  const base = stored?.type === 'cloud' ? stored : undefined;
  const networking = param.networking == null ? (base ? structuredClone(base.networking) : { type: 'unrestricted' as const }) : resolveNetworking(param.networking, base?.networking);
  const packages = param.packages == null ? (base ? structuredClone(base.packages) : emptyPackages()) : resolvePackages(param.packages, base?.packages);
  assertValidPackages(packages);
  const hasPackages = PACKAGE_MANAGERS.some((m) => packages[m].length > 0);
  if (networking.type === 'limited' && hasPackages && !networking.allow_package_managers) {
    throw invalidRequest('config.packages: under limited networking, packages require networking.allow_package_managers to be true');
  }
  return { type: 'cloud', networking, packages };
}

export function createEnvironment(params: EnvironmentCreateParams, ctx: { id: string; now: string }): EnvironmentObject {
  return {
    type: 'environment',
    id: ctx.id,
    name: params.name,
    description: params.description ?? null,
    config: resolveEnvironmentConfig(params.config),
    metadata: validateMetadata(params.metadata ?? {}),
    // A self-hosted server has one organization; `account` is accepted and echoed for clients that send it.
    scope: params.scope ?? 'organization',
    created_at: ctx.now,
    updated_at: ctx.now,
    archived_at: null,
  };
}

export function assertNotArchived(env: { id: string; archived_at?: unknown }): void {
  if (env.archived_at) throw invalidRequest(`environment ${env.id} is archived`, 'environment_archived');
}

/**
 * Partial update: omitted or null `name`/`config`/`scope` keep their value; `description` null
 * clears while "" is stored as "" (SDK contract); `metadata` is a patch where null and "" delete.
 * Changing `config.type` is 400 `invalid_config_type_change`; archived is 400
 * `environment_archived`. `updated_at` moves only when something changed.
 */
export function updateEnvironment(
  current: EnvironmentObject,
  params: EnvironmentUpdateParams,
  ctx: { now: string },
): { environment: EnvironmentObject; changed: boolean } {
  assertNotArchived(current);
  if (params.config != null && params.config.type !== current.config.type) {
    throw invalidRequest(
      `config.type: an environment's config type cannot change (stored "${current.config.type}", got "${params.config.type}"); create a new environment instead`,
      'invalid_config_type_change',
    );
  }
  const next: EnvironmentObject = {
    ...current,
    name: params.name ?? current.name,
    description: params.description === undefined ? current.description : params.description,
    config: resolveEnvironmentConfig(params.config, current.config),
    metadata: params.metadata == null ? current.metadata : applyMetadataPatch(current.metadata, params.metadata, { emptyStringDeletes: true }),
    scope: params.scope ?? current.scope,
  };
  const changed = JSON.stringify(next) !== JSON.stringify(current);
  if (!changed) return { environment: current, changed: false };
  return { environment: { ...next, updated_at: ctx.now }, changed: true };
}

/** Archive is permanent and idempotent: archiving again returns the environment unchanged. */
export function archiveEnvironment(current: EnvironmentObject, ctx: { now: string }): EnvironmentObject {
  if (current.archived_at) return current;
  return { ...current, archived_at: ctx.now, updated_at: ctx.now };
}
