// Request bodies of the vaults and credentials API (§4.7), following the SDK's `*Params` types.
// Unknown top-level keys are ignored; structural fields sent on update are checked by the domain
// (they are immutable) rather than silently dropped.
import { z } from 'zod';
import { metadataPatchSchema, metadataSchema } from './common-schemas.ts';

export const VAULT_DISPLAY_NAME_MAX = 255;
export const CREDENTIAL_DISPLAY_NAME_MAX = 255;
/** Upper bound for a token or client secret (generous; JWT access tokens can be several KB). */
export const SECRET_MAX = 16 * 1024;
export const SECRET_VALUE_MAX = 64 * 1024;
export const URL_MAX = 2048;
export const ALLOWED_HOSTS_MAX = 16;
export const SECRET_NAME_MAX = 256;

/** Absolute http(s) URL. Messages never echo the value (a URL may carry a secret in its query). */
export const httpUrlSchema = z.string().min(1).max(URL_MAX).refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL without credentials');

const secret = (max = SECRET_MAX) => z.string().min(1, 'must not be empty').max(max);

const rfc3339 = z.string().refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) && !Number.isNaN(Date.parse(v)), 'must be an RFC 3339 timestamp');

/** A bare host name, an IPv4 address, or `*.` plus a host name; no scheme, port, path or IPv6. */
const allowedHostSchema = z.string().min(1).max(253).regex(
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
  'must be a bare host name (api.example.com), an IPv4 address or a *. wildcard (*.example.com); URLs, ports, paths and IPv6 are not accepted',
);

export const credentialNetworkingSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('unrestricted') }),
  z.object({ type: z.literal('limited'), allowed_hosts: z.array(allowedHostSchema).min(1).max(ALLOWED_HOSTS_MAX) }),
]);
export type CredentialNetworkingParam = z.output<typeof credentialNetworkingSchema>;

const injectionLocationSchema = z.object({ body: z.boolean().optional(), header: z.boolean().optional() });

const tokenEndpointAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('client_secret_basic'), client_secret: secret() }),
  z.object({ type: z.literal('client_secret_post'), client_secret: secret() }),
]);

const refreshCreateSchema = z.object({
  client_id: z.string().min(1).max(1024),
  refresh_token: secret(),
  token_endpoint: httpUrlSchema,
  token_endpoint_auth: tokenEndpointAuthSchema,
  resource: z.string().max(URL_MAX).nullish(),
  scope: z.string().max(4096).nullish(),
});

export const credentialAuthCreateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('static_bearer'), mcp_server_url: httpUrlSchema, token: secret() }),
  z.object({
    type: z.literal('mcp_oauth'),
    mcp_server_url: httpUrlSchema,
    access_token: secret(),
    expires_at: rfc3339.nullish(),
    refresh: refreshCreateSchema.nullish(),
  }),
  z.object({
    type: z.literal('environment_variable'),
    secret_name: z.string().min(1).max(SECRET_NAME_MAX).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits and _, not starting with a digit)'),
    secret_value: secret(SECRET_VALUE_MAX),
    networking: credentialNetworkingSchema,
    injection_location: injectionLocationSchema.nullish(),
  }),
], { error: (issue) => (issue.code === 'invalid_union' ? 'auth.type must be "static_bearer", "mcp_oauth" or "environment_variable"' : undefined) });
export type CredentialAuthCreateParams = z.output<typeof credentialAuthCreateSchema>;

/** Structural fields may be repeated unchanged on update; the domain rejects a different value. */
const locked = z.unknown().optional();

export const credentialAuthUpdateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('static_bearer'), token: secret().nullish(), mcp_server_url: locked }),
  z.object({
    type: z.literal('mcp_oauth'),
    access_token: secret().nullish(),
    expires_at: rfc3339.nullish(),
    refresh: z.object({
      refresh_token: secret().nullish(),
      scope: z.string().max(4096).nullish(),
      token_endpoint_auth: z.discriminatedUnion('type', [
        z.object({ type: z.literal('none') }),
        z.object({ type: z.literal('client_secret_basic'), client_secret: secret().nullish() }),
        z.object({ type: z.literal('client_secret_post'), client_secret: secret().nullish() }),
      ]).optional(),
      client_id: locked,
      token_endpoint: locked,
      resource: locked,
    }).nullish(),
    mcp_server_url: locked,
  }),
  z.object({
    type: z.literal('environment_variable'),
    secret_value: secret(SECRET_VALUE_MAX).nullish(),
    networking: credentialNetworkingSchema.nullish(),
    injection_location: injectionLocationSchema.nullish(),
    secret_name: locked,
  }),
], { error: (issue) => (issue.code === 'invalid_union' ? 'auth.type must be "static_bearer", "mcp_oauth" or "environment_variable"' : undefined) });
export type CredentialAuthUpdateParams = z.output<typeof credentialAuthUpdateSchema>;

export const vaultCreateSchema = z.object({
  display_name: z.string({ error: 'display_name is required and must be a string' }).min(1).max(VAULT_DISPLAY_NAME_MAX),
  metadata: metadataSchema.nullish(),
});
export type VaultCreateParams = z.output<typeof vaultCreateSchema>;

export const vaultUpdateSchema = z.object({
  display_name: z.string().min(1).max(VAULT_DISPLAY_NAME_MAX).nullish(),
  metadata: metadataPatchSchema.nullish(),
});
export type VaultUpdateParams = z.output<typeof vaultUpdateSchema>;

export const credentialCreateSchema = z.object({
  auth: credentialAuthCreateSchema,
  display_name: z.string().max(CREDENTIAL_DISPLAY_NAME_MAX).nullish(),
  metadata: metadataSchema.nullish(),
});
export type CredentialCreateParams = z.output<typeof credentialCreateSchema>;

export const credentialUpdateSchema = z.object({
  auth: credentialAuthUpdateSchema.nullish(),
  display_name: z.string().max(CREDENTIAL_DISPLAY_NAME_MAX).nullish(),
  metadata: metadataPatchSchema.nullish(),
});
export type CredentialUpdateParams = z.output<typeof credentialUpdateSchema>;
