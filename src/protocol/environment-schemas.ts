// Request bodies of the environments API (create, update). Unknown top-level keys are ignored;
// wrong types, unknown config/network types and over-limit fields are rejected.
import { z } from 'zod';
import { metadataPatchSchema, metadataSchema } from './common-schemas.ts';

export const ENVIRONMENT_NAME_MAX = 256;
export const ENVIRONMENT_DESCRIPTION_MAX = 2048;

const hostSchema = z.string().min(1).max(253).regex(/^[^\s/]+$/, 'must be a host name or IP, without scheme or path');
const packageList = z.array(z.string().min(1).max(512)).nullish();

export const networkingParamSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('unrestricted') }),
  z.object({
    type: z.literal('limited'),
    allowed_hosts: z.array(hostSchema).nullish(),
    allow_mcp_servers: z.boolean().nullish(),
    allow_package_managers: z.boolean().nullish(),
  }),
]);
export type NetworkingParam = z.output<typeof networkingParamSchema>;

export const packagesParamSchema = z.object({
  type: z.literal('packages').optional(),
  apt: packageList,
  cargo: packageList,
  gem: packageList,
  go: packageList,
  npm: packageList,
  pip: packageList,
});
export type PackagesParam = z.output<typeof packagesParamSchema>;

export const environmentConfigParamSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cloud'), networking: networkingParamSchema.nullish(), packages: packagesParamSchema.nullish() }),
  z.object({ type: z.literal('self_hosted') }),
]);
export type EnvironmentConfigParam = z.output<typeof environmentConfigParamSchema>;

const scopeSchema = z.enum(['organization', 'account']);

export const environmentCreateSchema = z.object({
  name: z.string({ error: 'name is required and must be a string' }).min(1).max(ENVIRONMENT_NAME_MAX),
  config: environmentConfigParamSchema.nullish(),
  description: z.string().max(ENVIRONMENT_DESCRIPTION_MAX).nullish(),
  metadata: metadataSchema.nullish(),
  scope: scopeSchema.nullish(),
});
export type EnvironmentCreateParams = z.output<typeof environmentCreateSchema>;

export const environmentUpdateSchema = z.object({
  name: z.string().min(1).max(ENVIRONMENT_NAME_MAX).nullish(),
  config: environmentConfigParamSchema.nullish(),
  description: z.string().max(ENVIRONMENT_DESCRIPTION_MAX).nullish(),
  metadata: metadataPatchSchema.nullish(),
  scope: scopeSchema.nullish(),
});
export type EnvironmentUpdateParams = z.output<typeof environmentUpdateSchema>;
