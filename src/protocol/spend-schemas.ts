// Wire schemas of the spend-limit API (`client.beta.organization.spendLimits`, issue 11). Hangar
// enforces monthly organization and workspace limits; the SDK's other scopes (user, seat tier, …)
// and periods (daily, weekly) are refused with a 400 naming what is supported, never ignored.
import { z } from 'zod';

/** Non-negative integer decimal string in cents ("50000" is $500.00). */
const amountSchema = z.string().regex(/^(0|[1-9]\d{0,14})$/, { error: 'must be a non-negative integer decimal string of cents, e.g. "50000" for $500.00' });

const scopeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('organization') }).strict(),
  z.object({ type: z.literal('workspace'), workspace_id: z.string().regex(/^wrkspc_[A-Za-z0-9_]+$/, { error: 'must be a workspace id (wrkspc_…)' }) }).strict(),
], { error: 'scope.type must be "organization" or "workspace" (Hangar has no user, seat-tier or group limits)' });

export const spendLimitSetSchema = z.object({
  amount: amountSchema.nullable(),
  scope: scopeSchema,
  period: z.literal('monthly', { error: 'only "monthly" limits are enforced (daily and weekly periods are not supported)' }).optional(),
}).strict();

export type SpendLimitSetParams = z.output<typeof spendLimitSetSchema>;

/** The SDK's `scope_type` values; those Hangar has no limits of are a 400, as the hosted API does. */
export const SPEND_SCOPE_TYPES = ['organization', 'workspace'] as const;
export const SDK_SPEND_SCOPE_TYPES = ['organization', 'organization_service', 'rbac_group', 'seat_tier', 'usage_tier', 'user', 'workspace'] as const;
export const SDK_SPEND_PERIODS = ['daily', 'monthly', 'weekly'] as const;
