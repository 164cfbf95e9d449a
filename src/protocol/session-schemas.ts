// Wire schemas for session create/update bodies (docs/API-SPEC.md §4.4).
import { z } from 'zod';
import { metadataPatchSchema, metadataSchema, modelParamSchema, toolParamSchema } from './common-schemas.ts';
import { userDefineOutcomeSchema, userMessageSchema } from './event-schemas.ts';

const mcpServerSchema = z.object({ type: z.literal('url'), name: z.string().min(1).max(255), url: z.url() });
const skillSchema = z.object({ type: z.enum(['anthropic', 'custom']), skill_id: z.string().min(1), version: z.string().nullish() });

const agentRefSchema = z.union([
  z.string().min(1),
  z.object({ type: z.literal('agent'), id: z.string().min(1), version: z.number().int().min(1).optional() }),
  z.object({
    type: z.literal('agent_with_overrides'),
    id: z.string().min(1),
    version: z.number().int().min(1).optional(),
    model: modelParamSchema.optional(),
    system: z.string().max(100_000).nullish(),
    tools: z.array(toolParamSchema).max(256).nullish(),
    mcp_servers: z.array(mcpServerSchema).max(20).nullish(),
    skills: z.array(skillSchema).nullish(),
  }),
], { error: 'agent must be an agent id, {type:"agent", id, version?} or {type:"agent_with_overrides", id, ...}' });

const budgetSchema = z.object({
  type: z.literal('limit'),
  max_list_cost: z.object({ amount: z.string().regex(/^\d+$/, 'amount must be a whole number of cents as a string'), currency: z.literal('USD') }),
});

/** Branch names and shas are passed to git as arguments: no leading `-`, no control characters. */
const refName = z.string().min(1).max(255).regex(/^[^-\s\u0000-\u001f\u007f~^:?*[\\][^\s\u0000-\u001f\u007f~^:?*[\\]*$/, 'checkout.name: not a valid branch name');
export const checkoutSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('branch'), name: refName }),
  z.object({ type: z.literal('commit'), sha: z.string().regex(/^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$/, 'checkout.sha: must be a full 40-character (or 64-character) commit sha') }),
], { error: 'checkout must be {type:"branch", name} or {type:"commit", sha}' });

const resourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), file_id: z.string().min(1), mount_path: z.string().nullish() }),
  z.object({
    type: z.literal('github_repository'),
    url: z.string({ error: 'url is required' }).min(1).max(2048),
    authorization_token: z.string().min(1).max(4096).optional(),
    checkout: checkoutSchema.nullish(),
    mount_path: z.string().nullish(),
  }),
  z.object({ type: z.literal('memory_store'), memory_store_id: z.string().min(1), access: z.enum(['read_write', 'read_only']).nullish(), instructions: z.string().max(4096).nullish() }),
]);

export const createSessionSchema = z.object({
  agent: agentRefSchema,
  environment_id: z.string({ error: 'environment_id is required' }).min(1),
  title: z.string().max(500).nullish(),
  metadata: metadataSchema.optional(),
  vault_ids: z.array(z.string()).max(50).optional(),
  budget: budgetSchema.optional(),
  resources: z.array(resourceSchema).max(500).optional(),
  initial_events: z.array(z.discriminatedUnion('type', [userMessageSchema, userDefineOutcomeSchema], {
    error: (issue) => (issue.code === 'invalid_union' ? 'initial_events accepts only user.message and user.define_outcome' : undefined),
  })).max(50).optional(),
});
export type CreateSessionParams = z.output<typeof createSessionSchema>;

export const updateSessionSchema = z.object({
  title: z.string().max(500).nullish(),
  metadata: metadataPatchSchema.nullish(),
  agent: z.object({ tools: z.array(toolParamSchema).max(256).optional(), mcp_servers: z.array(mcpServerSchema).max(20).optional() }).optional(),
  budget: budgetSchema.nullish(),
  vault_ids: z.array(z.string()).optional(),
});
export type UpdateSessionParams = z.output<typeof updateSessionSchema>;
