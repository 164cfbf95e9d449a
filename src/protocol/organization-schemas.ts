// Request bodies of the organization routes (issue 11): workspaces (the SDK's WorkspaceCreateParams
// / WorkspaceUpdateParams) and API keys (APIKeyUpdateParams, plus Hangar's create extension).
// Fields Hangar cannot honour (customer-managed keys, user profiles, other data residency) are
// refused with a 400 rather than stored and ignored.
import { z } from 'zod';

/** The built-in roles' names as the wire spells them (what each grants: src/domain/roles.ts). */
export const ROLE_NAMES = ['admin', 'developer', 'runner', 'viewer'] as const;

const notSupported = (field: string, why: string) =>
  z.null({ error: `${field}: ${why}` }).optional();

const tagsSchema = <V extends z.ZodType>(values: V) => z.record(
  z.string().min(1).max(64).refine((k) => !k.toLowerCase().startsWith('anthropic'), { message: 'tags: keys may not begin with "anthropic"' }),
  values,
).refine((t) => Object.keys(t).length <= 50, { message: 'tags: at most 50 tags' });

/** Hangar serves every request from this machine: only the default residency can be true. */
const residency = z.object({
  workspace_geo: z.literal('us').nullish(),
  allowed_inference_geos: z.literal('unrestricted', { error: 'data_residency.allowed_inference_geos: only "unrestricted" (Hangar does not pin inference geos)' }).nullish(),
  default_inference_geo: z.literal('global', { error: 'data_residency.default_inference_geo: only "global" (Hangar does not pin inference geos)' }).nullish(),
}).strict().nullish();

const name = z.string({ error: 'name is required' }).trim().min(1, { message: 'name must not be empty' }).max(40, { message: 'name: at most 40 characters' });
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, { message: 'display_color: a hex color like "#6C5BB9"' });

export const workspaceCreateSchema = z.object({
  name,
  display_color: color.nullish(),
  tags: tagsSchema(z.string().max(256)).nullish(),
  data_residency: residency,
  external_key_id: notSupported('external_key_id', 'customer-managed encryption keys are not supported by Hangar'),
  user_profile_id: notSupported('user_profile_id', 'user profiles are not supported by Hangar'),
}).strict();

export const workspaceUpdateSchema = z.object({
  name: name.optional(),
  display_color: color.optional(),
  /** A null value removes that tag. */
  tags: tagsSchema(z.string().max(256).nullable()).nullish(),
  data_residency: residency,
  external_key_id: notSupported('external_key_id', 'customer-managed encryption keys are not supported by Hangar'),
  user_profile_id: notSupported('user_profile_id', 'user profiles are not supported by Hangar'),
}).strict();

export const apiKeyUpdateSchema = z.object({
  name: z.string().trim().min(1, { message: 'name must not be empty' }).max(500).nullish(),
  status: z.enum(['active', 'inactive', 'archived'], { error: 'status: one of "active", "inactive", "archived"' }).nullish(),
}).strict();

/** Hangar's extension: `POST /v1/organizations/api_keys`. */
export const apiKeyCreateSchema = z.object({
  name: z.string({ error: 'name is required' }).trim().min(1, { message: 'name must not be empty' }).max(500),
  /** Omitted: the request's workspace. null: an organization key (organization keys only). */
  workspace_id: z.string().nullish(),
  role: z.enum(ROLE_NAMES, { error: `role: one of ${ROLE_NAMES.map((r) => `"${r}"`).join(', ')}` }).optional(),
  expires_at: z.iso.datetime({ offset: true, error: 'expires_at: an RFC 3339 date-time' }).nullish(),
}).strict();

export type WorkspaceCreateParams = z.output<typeof workspaceCreateSchema>;
export type WorkspaceUpdateParams = z.output<typeof workspaceUpdateSchema>;
export type ApiKeyCreateParams = z.output<typeof apiKeyCreateSchema>;
