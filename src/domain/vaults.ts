// Vault and credential rules, free of I/O: wire objects without secret material, the secret part
// kept apart (sealed by the service), partial updates with immutable keys and types, and the
// credential key that must be unique among a vault's active credentials.
import { invalidRequest } from '../protocol/errors.ts';
import { SecretScrubber } from './secret-scrubber.ts';
import { applyMetadataPatch, validateMetadata, type Metadata } from '../protocol/common-schemas.ts';
import type {
  CredentialAuthCreateParams,
  CredentialAuthUpdateParams,
  CredentialCreateParams,
  CredentialNetworkingParam,
  CredentialUpdateParams,
  VaultCreateParams,
  VaultUpdateParams,
} from '../protocol/vault-schemas.ts';

/** At most this many active credentials per vault. */
export const MAX_ACTIVE_CREDENTIALS = 20;

export interface VaultObject {
  type: 'vault';
  id: string;
  display_name: string;
  metadata: Metadata;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export type TokenEndpointAuthType = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface McpOAuthRefresh {
  client_id: string;
  token_endpoint: string;
  token_endpoint_auth: { type: TokenEndpointAuthType };
  resource: string | null;
  scope: string | null;
}

export type CredentialNetworking = { type: 'unrestricted' } | { type: 'limited'; allowed_hosts: string[] };

/** The non-secret part of a credential's auth: exactly what responses show. */
export type CredentialAuth =
  | { type: 'static_bearer'; mcp_server_url: string }
  | { type: 'mcp_oauth'; mcp_server_url: string; expires_at: string | null; refresh: McpOAuthRefresh | null }
  | { type: 'environment_variable'; secret_name: string; networking: CredentialNetworking; injection_location: { body: boolean; header: boolean } };

export type CredentialType = CredentialAuth['type'];

export interface CredentialObject {
  type: 'vault_credential';
  id: string;
  vault_id: string;
  display_name: string | null;
  auth: CredentialAuth;
  metadata: Metadata;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

/** The secret part, sealed as one JSON value per credential and never part of a wire object. */
export type CredentialSecrets =
  | { type: 'static_bearer'; token: string }
  | { type: 'mcp_oauth'; access_token: string; refresh_token: string | null; client_secret: string | null }
  | { type: 'environment_variable'; secret_value: string };

// ---------------------------------------------------------------------------------------------
// Vaults

export function createVault(params: VaultCreateParams, ctx: { id: string; now: string }): VaultObject {
  return {
    type: 'vault',
    id: ctx.id,
    display_name: params.display_name,
    metadata: validateMetadata(params.metadata ?? {}),
    created_at: ctx.now,
    updated_at: ctx.now,
    archived_at: null,
  };
}

export function assertVaultLive(vault: { id: string; archived_at: string | null }): void {
  if (vault.archived_at) throw invalidRequest(`vault ${vault.id} is archived`);
}

/** Partial update: omitted or null `display_name` keeps it; `metadata` is a patch (null deletes). */
export function updateVault(current: VaultObject, params: VaultUpdateParams, ctx: { now: string }): { vault: VaultObject; changed: boolean } {
  assertVaultLive(current);
  const next: VaultObject = {
    ...current,
    display_name: params.display_name ?? current.display_name,
    metadata: params.metadata == null ? current.metadata : applyMetadataPatch(current.metadata, params.metadata, { emptyStringDeletes: false }),
  };
  if (JSON.stringify(next) === JSON.stringify(current)) return { vault: current, changed: false };
  return { vault: { ...next, updated_at: ctx.now }, changed: true };
}

// ---------------------------------------------------------------------------------------------
// Credentials

/**
 * Normalizes an MCP server URL for exact matching (WHATWG serialization: lower-case scheme and
 * host, default port dropped, `/` path for a bare origin). Anything else must match exactly.
 */
export function normalizeServerUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** The key unique among a vault's active credentials: the MCP server URL, or the variable name. */
export function credentialKey(auth: CredentialAuth): string {
  return auth.type === 'environment_variable' ? `env:${auth.secret_name}` : `mcp:${normalizeServerUrl(auth.mcp_server_url)}`;
}

/** Human-readable form of a credential's key, for conflict messages. */
export function describeKey(auth: CredentialAuth): string {
  return auth.type === 'environment_variable' ? `secret_name "${auth.secret_name}"` : `mcp_server_url ${auth.mcp_server_url}`;
}

function assertFuture(expiresAt: string, now: string): string {
  if (Date.parse(expiresAt) <= Date.parse(now)) throw invalidRequest('auth.expires_at: must be in the future');
  return new Date(Date.parse(expiresAt)).toISOString();
}

function networkingOf(p: CredentialNetworkingParam): CredentialNetworking {
  if (p.type === 'unrestricted') return { type: 'unrestricted' };
  return { type: 'limited', allowed_hosts: [...new Set(p.allowed_hosts.map((h) => h.toLowerCase()))] };
}

function injectionOf(p: { body?: boolean; header?: boolean } | null | undefined, stored?: { body: boolean; header: boolean }) {
  // Headers only by default: the safer choice (a secret substituted into bodies can be echoed back).
  const base = stored ?? { body: false, header: true };
  const out = { body: p?.body ?? base.body, header: p?.header ?? base.header };
  if (!out.body && !out.header) throw invalidRequest('auth.injection_location: at least one of header or body must be enabled');
  return out;
}

function authFromCreate(a: CredentialAuthCreateParams, now: string): { auth: CredentialAuth; secrets: CredentialSecrets } {
  switch (a.type) {
    case 'static_bearer':
      return { auth: { type: a.type, mcp_server_url: a.mcp_server_url }, secrets: { type: a.type, token: a.token } };
    case 'mcp_oauth': {
      const r = a.refresh ?? null;
      const clientSecret = r && r.token_endpoint_auth.type !== 'none' ? r.token_endpoint_auth.client_secret : null;
      return {
        auth: {
          type: a.type,
          mcp_server_url: a.mcp_server_url,
          expires_at: a.expires_at == null ? null : assertFuture(a.expires_at, now),
          refresh: r && {
            client_id: r.client_id,
            token_endpoint: r.token_endpoint,
            token_endpoint_auth: { type: r.token_endpoint_auth.type },
            resource: r.resource ?? null,
            scope: r.scope ?? null,
          },
        },
        secrets: { type: a.type, access_token: a.access_token, refresh_token: r?.refresh_token ?? null, client_secret: clientSecret },
      };
    }
    case 'environment_variable':
      return {
        auth: { type: a.type, secret_name: a.secret_name, networking: networkingOf(a.networking), injection_location: injectionOf(a.injection_location) },
        secrets: { type: a.type, secret_value: a.secret_value },
      };
  }
}

export function createCredential(
  params: CredentialCreateParams,
  ctx: { id: string; vaultId: string; now: string },
): { credential: CredentialObject; secrets: CredentialSecrets } {
  const { auth, secrets } = authFromCreate(params.auth, ctx.now);
  return {
    credential: {
      type: 'vault_credential',
      id: ctx.id,
      vault_id: ctx.vaultId,
      display_name: params.display_name ?? null,
      auth,
      metadata: validateMetadata(params.metadata ?? {}),
      created_at: ctx.now,
      updated_at: ctx.now,
      archived_at: null,
    },
    secrets,
  };
}

function assertUnchanged(field: string, sent: unknown, stored: unknown): void {
  if (sent === undefined || sent === null) return;
  const same = typeof sent === 'string' && typeof stored === 'string' && (field.endsWith('url') ? normalizeServerUrl(sent) === normalizeServerUrl(stored) : sent === stored);
  if (!same) throw invalidRequest(`auth.${field}: cannot be changed after the credential is created; create a new credential instead`);
}

/**
 * Partial update. The auth `type` must match the stored one; keys (`mcp_server_url`,
 * `secret_name`) and structural refresh fields are immutable; secrets given are replaced, secrets
 * omitted (or null) are kept. `expires_at`: omitted keeps, null clears. `refresh: null` removes the
 * refresh configuration and its secrets. `injection_location` merges per key. Archived → 400.
 */
export function updateCredential(
  current: CredentialObject,
  secrets: CredentialSecrets,
  params: CredentialUpdateParams,
  ctx: { now: string },
): { credential: CredentialObject; secrets: CredentialSecrets; changed: boolean; secretsChanged: boolean } {
  if (current.archived_at) throw invalidRequest(`credential ${current.id} is archived`);
  let auth: CredentialAuth = current.auth;
  let nextSecrets: CredentialSecrets = secrets;
  const a = params.auth;
  if (a) {
    if (a.type !== current.auth.type) {
      throw invalidRequest(`auth.type: a credential's type cannot change (stored "${current.auth.type}", got "${a.type}"); create a new credential instead`);
    }
    ({ auth, secrets: nextSecrets } = applyAuthUpdate(current.auth, secrets, a, ctx.now));
  }
  const next: CredentialObject = {
    ...current,
    auth,
    display_name: params.display_name === undefined ? current.display_name : params.display_name,
    metadata: params.metadata == null ? current.metadata : applyMetadataPatch(current.metadata, params.metadata, { emptyStringDeletes: false }),
  };
  const secretsChanged = JSON.stringify(nextSecrets) !== JSON.stringify(secrets);
  const changed = secretsChanged || JSON.stringify(next) !== JSON.stringify(current);
  if (!changed) return { credential: current, secrets, changed: false, secretsChanged: false };
  return { credential: { ...next, updated_at: ctx.now }, secrets: nextSecrets, changed: true, secretsChanged };
}

function applyAuthUpdate(
  stored: CredentialAuth,
  secrets: CredentialSecrets,
  a: CredentialAuthUpdateParams,
  now: string,
): { auth: CredentialAuth; secrets: CredentialSecrets } {
  if (a.type === 'static_bearer' && stored.type === 'static_bearer' && secrets.type === 'static_bearer') {
    assertUnchanged('mcp_server_url', a.mcp_server_url, stored.mcp_server_url);
    return { auth: stored, secrets: { ...secrets, token: a.token ?? secrets.token } };
  }
  if (a.type === 'environment_variable' && stored.type === 'environment_variable' && secrets.type === 'environment_variable') {
    assertUnchanged('secret_name', a.secret_name, stored.secret_name);
    return {
      auth: {
        ...stored,
        networking: a.networking == null ? stored.networking : networkingOf(a.networking),
        injection_location: injectionOf(a.injection_location, stored.injection_location),
      },
      secrets: { ...secrets, secret_value: a.secret_value ?? secrets.secret_value },
    };
  }
  if (a.type === 'mcp_oauth' && stored.type === 'mcp_oauth' && secrets.type === 'mcp_oauth') {
    assertUnchanged('mcp_server_url', a.mcp_server_url, stored.mcp_server_url);
    const expires_at = a.expires_at === undefined ? stored.expires_at : a.expires_at === null ? null : assertFuture(a.expires_at, now);
    let refresh = stored.refresh;
    let nextSecrets: CredentialSecrets = { ...secrets, access_token: a.access_token ?? secrets.access_token };
    if (a.refresh === null) {
      refresh = null;
      nextSecrets = { ...nextSecrets, refresh_token: null, client_secret: null };
    } else if (a.refresh !== undefined) {
      const r = a.refresh;
      if (!stored.refresh) {
        throw invalidRequest('auth.refresh: this credential has no refresh configuration to update (client_id and token_endpoint are set only at creation); create a new credential instead');
      }
      assertUnchanged('refresh.client_id', r.client_id, stored.refresh.client_id);
      assertUnchanged('refresh.token_endpoint', r.token_endpoint, stored.refresh.token_endpoint);
      assertUnchanged('refresh.resource', r.resource, stored.refresh.resource ?? '');
      let clientSecret = nextSecrets.client_secret;
      if (r.token_endpoint_auth) {
        if (r.token_endpoint_auth.type !== stored.refresh.token_endpoint_auth.type) {
          throw invalidRequest(
            `auth.refresh.token_endpoint_auth.type: cannot change from "${stored.refresh.token_endpoint_auth.type}" to "${r.token_endpoint_auth.type}"; create a new credential instead`,
          );
        }
        if (r.token_endpoint_auth.type !== 'none') clientSecret = r.token_endpoint_auth.client_secret ?? clientSecret;
      }
      refresh = {
        ...stored.refresh,
        scope: r.scope === undefined || r.scope === null ? stored.refresh.scope : r.scope === '' ? null : r.scope,
      };
      nextSecrets = { ...nextSecrets, refresh_token: r.refresh_token ?? nextSecrets.refresh_token, client_secret: clientSecret };
    }
    return { auth: { ...stored, expires_at, refresh }, secrets: nextSecrets };
  }
  throw invalidRequest(`auth.type: a credential's type cannot change (stored "${stored.type}", got "${a.type}")`);
}

/** Archive is permanent and idempotent; the service purges the sealed secrets alongside. */
export function archiveCredential(current: CredentialObject, ctx: { now: string }): CredentialObject {
  if (current.archived_at) return current;
  return { ...current, archived_at: ctx.now, updated_at: ctx.now };
}

/** The bearer token an MCP credential supplies, or undefined for other types. */
export function mcpToken(secrets: CredentialSecrets): string | undefined {
  if (secrets.type === 'static_bearer') return secrets.token;
  if (secrets.type === 'mcp_oauth') return secrets.access_token;
  return undefined;
}

/** Every secret string in `secrets` (for scrubbing text that might echo one). */
export function secretStrings(secrets: CredentialSecrets): string[] {
  switch (secrets.type) {
    case 'static_bearer':
      return [secrets.token];
    case 'mcp_oauth':
      return [secrets.access_token, secrets.refresh_token, secrets.client_secret].filter((s): s is string => !!s);
    case 'environment_variable':
      return [secrets.secret_value];
  }
}

const SECRET_NAMES = 'access_token|refresh_token|id_token|client_secret|token|secret|password';
const SECRET_FIELDS = new RegExp(`("(?:${SECRET_NAMES})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
/** The same fields in a form body or query string (`refresh_token=…&client_secret=…`). */
const SECRET_FORM_FIELDS = new RegExp(`((?:^|[?&\\s;,])(?:${SECRET_NAMES})=)[^&\\s;,"]*`, 'gi');

/**
 * Replaces every occurrence of the given secrets (and their encodings, see `SecretScrubber`), and
 * the values of JSON or form fields that conventionally hold secrets (`access_token`,
 * `refresh_token`, `client_secret`, ...), with `[redacted]`. Used on captured HTTP bodies, which
 * come from the very endpoint that was sent these secrets, so secrets from 4 characters count.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const out = new SecretScrubber(secrets, { marker: '[redacted]', minLength: 4 }).text(text);
  return out.replace(SECRET_FIELDS, '$1"[redacted]"').replace(SECRET_FORM_FIELDS, '$1[redacted]');
}
