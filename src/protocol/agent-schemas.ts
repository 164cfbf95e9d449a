// Request bodies of the agents API (create, update) and the multiagent params they embed.
// Unknown top-level keys are ignored (zod strips them) so newer SDKs keep working; wrong types,
// unknown enum values and over-limit fields are rejected with the field named.
import { z } from 'zod';
import {
  executionIdentityParamSchema,
  mcpServersParamSchema,
  metadataPatchSchema,
  metadataSchema,
  modelParamSchema,
  skillsParamSchema,
  toolsParamSchema,
} from './common-schemas.ts';

export const AGENT_NAME_MAX = 256;
export const AGENT_DESCRIPTION_MAX = 2048;
export const SYSTEM_PROMPT_MAX = 100_000;

const agentIdString = z.string().min(1).max(256);
const agentRefSchema = z.object({ type: z.literal('agent'), id: agentIdString, version: z.number().int().min(1).nullish() });
const selfSchema = z.object({ type: z.literal('self') });
// The string form names the latest version of an agent; normalize it to the reference form.
const toAgentRef = (v: unknown) => (typeof v === 'string' ? { type: 'agent', id: v } : v);

export const rosterEntryParamSchema = z.preprocess(
  toAgentRef,
  z.discriminatedUnion('type', [agentRefSchema, selfSchema, z.object({ type: z.literal('advisor'), model: z.string().min(1).max(256) })]),
);
export type RosterEntryParam = z.output<typeof rosterEntryParamSchema>;

export const predefinedAgentParamSchema = z.preprocess(toAgentRef, z.discriminatedUnion('type', [agentRefSchema, selfSchema]));
export type PredefinedAgentParam = z.output<typeof predefinedAgentParamSchema>;

const enabledDisabled = z.discriminatedUnion('type', [z.object({ type: z.literal('enabled') }), z.object({ type: z.literal('disabled') })]);

const memberParamSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('enabled'),
    inline_agents: enabledDisabled.nullish(),
    predefined_agents: z.array(predefinedAgentParamSchema).max(20).nullish(),
  }),
  z.object({ type: z.literal('disabled') }),
]);
export type MultiagentMemberParam = z.output<typeof memberParamSchema>;

export const multiagentParamSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('coordinator'), agents: z.array(rosterEntryParamSchema).min(1).max(20) }),
  z.object({
    type: z.literal('multiagent_20261001'),
    advisor: z
      .discriminatedUnion('type', [z.object({ type: z.literal('enabled'), model: z.string().min(1).max(256) }), z.object({ type: z.literal('disabled') })])
      .nullish(),
    subagents: memberParamSchema.nullish(),
    workflows: memberParamSchema.nullish(),
  }),
]);
export type MultiagentParam = z.output<typeof multiagentParamSchema>;

export const agentCreateSchema = z.object({
  name: z.string({ error: 'name is required and must be a string' }).min(1).max(AGENT_NAME_MAX),
  model: modelParamSchema,
  description: z.string().max(AGENT_DESCRIPTION_MAX).nullish(),
  system: z.string().max(SYSTEM_PROMPT_MAX).nullish(),
  // The SDK never sends null for these on create; accept it as "none" rather than fail.
  tools: toolsParamSchema.nullish(),
  mcp_servers: mcpServersParamSchema.nullish(),
  skills: skillsParamSchema.nullish(),
  metadata: metadataSchema.nullish(),
  multiagent: multiagentParamSchema.nullish(),
  execution_identity: executionIdentityParamSchema.nullish(),
});
export type AgentCreateParams = z.output<typeof agentCreateSchema>;

export const agentUpdateSchema = z.object({
  version: z.number().int().min(1).optional(),
  name: z.string({ error: 'name cannot be cleared; send a non-empty string or omit it' }).min(1).max(AGENT_NAME_MAX).optional(),
  model: z.custom<unknown>((v) => v !== null, 'model cannot be cleared; send a model or omit it').pipe(modelParamSchema).optional(),
  description: z.string().max(AGENT_DESCRIPTION_MAX).nullish(),
  system: z.string().max(SYSTEM_PROMPT_MAX).nullish(),
  tools: toolsParamSchema.nullish(),
  mcp_servers: mcpServersParamSchema.nullish(),
  skills: skillsParamSchema.nullish(),
  metadata: metadataPatchSchema.nullish(),
  multiagent: multiagentParamSchema.nullish(),
  execution_identity: executionIdentityParamSchema.nullish(),
});
export type AgentUpdateParams = z.output<typeof agentUpdateSchema>;

/**
 * `{type:"agent_with_overrides", ...}` in a session create body: each given field replaces the
 * agent's value for that session (see `applySessionOverrides`). `model: null` is rejected there.
 */
export const agentWithOverridesSchema = z.object({
  type: z.literal('agent_with_overrides'),
  id: agentIdString,
  version: z.number().int().min(1).nullish(),
  model: modelParamSchema.nullish(),
  system: z.string().max(SYSTEM_PROMPT_MAX).nullish(),
  tools: toolsParamSchema.nullish(),
  mcp_servers: mcpServersParamSchema.nullish(),
  skills: skillsParamSchema.nullish(),
});
export type AgentWithOverridesParams = z.output<typeof agentWithOverridesSchema>;
