// Request-body building blocks shared by agents, sessions and environments: metadata, model
// config, tool / MCP server / skill params. Shapes follow the SDK's `*Params` types; zod catches
// wrong types and enum values, while cross-field rules live in the domain modules.
import { z } from 'zod';
import { invalidRequest } from './errors.ts';

// ---------------------------------------------------------------------------------------------
// Metadata

export const METADATA_MAX_KEYS = 16;
export const METADATA_MAX_KEY_LENGTH = 64;
export const METADATA_MAX_VALUE_LENGTH = 512;

/** Create-time metadata: a map of strings. Limits are checked by `validateMetadata` so that they carry `invalid_metadata`. */
export const metadataSchema = z.record(z.string(), z.string({ error: 'metadata values must be strings' }));

/** Update-time metadata: a patch where a string upserts and null deletes. */
export const metadataPatchSchema = z.record(z.string(), z.string({ error: 'metadata values must be strings or null' }).nullable());

export type Metadata = Record<string, string>;
export type MetadataPatch = Record<string, string | null>;

const badMetadata = (msg: string) => invalidRequest(`metadata: ${msg}`, 'invalid_metadata');

function checkKey(key: string): void {
  if (key.length === 0) throw badMetadata('keys must not be empty');
  if (key.length > METADATA_MAX_KEY_LENGTH) throw badMetadata(`key "${key.slice(0, 20)}…" exceeds ${METADATA_MAX_KEY_LENGTH} characters`);
}

function checkValue(key: string, value: string): void {
  if (value.length > METADATA_MAX_VALUE_LENGTH) throw badMetadata(`value of "${key}" exceeds ${METADATA_MAX_VALUE_LENGTH} characters`);
}

/** Checks the documented limits (<=16 keys, key <=64, value <=512); throws 400 `invalid_metadata`. Returns a copy. */
export function validateMetadata(map: Metadata): Metadata {
  const keys = Object.keys(map);
  if (keys.length > METADATA_MAX_KEYS) throw badMetadata(`at most ${METADATA_MAX_KEYS} keys are allowed, got ${keys.length}`);
  for (const k of keys) {
    checkKey(k);
    checkValue(k, map[k]);
  }
  return { ...map };
}

/**
 * Applies an update patch: string values upsert, null deletes (and `""` deletes when
 * `emptyStringDeletes`, the environments rule). The result must still satisfy the limits.
 */
export function applyMetadataPatch(current: Metadata, patch: MetadataPatch, opts: { emptyStringDeletes: boolean }): Metadata {
  const next: Metadata = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || (opts.emptyStringDeletes && v === '')) {
      delete next[k];
      continue;
    }
    checkKey(k);
    checkValue(k, v);
    next[k] = v;
  }
  const count = Object.keys(next).length;
  if (count > METADATA_MAX_KEYS) throw badMetadata(`at most ${METADATA_MAX_KEYS} keys are allowed, the update would leave ${count}`);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Model

export const EFFORT_LEVELS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
export type EffortLevel = (typeof EFFORT_LEVELS)[number];

/** `"high"` or `{type:"high"}`; the string form is normalized to the object form. */
export const effortParamSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.object({ type: z.enum(EFFORT_LEVELS) }),
);

export const modelConfigParamSchema = z.object(
  {
    id: z.string().min(1).max(256),
    effort: effortParamSchema.nullish(),
    inference_geo: z.string().min(1).max(64).nullish(),
    speed: z.enum(['standard', 'fast']).nullish(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'expected a model id string or a model config object' : undefined) },
);

/** A model id string or a model config object; the string form is normalized to `{id}`. */
export const modelParamSchema = z.preprocess((v) => (typeof v === 'string' ? { id: v } : v), modelConfigParamSchema);
export type ModelParam = z.output<typeof modelParamSchema>;

// ---------------------------------------------------------------------------------------------
// Tools

export const permissionPolicySchema = z.object({ type: z.enum(['always_allow', 'always_ask', 'auto']) });
export type PermissionPolicy = z.output<typeof permissionPolicySchema>;

const defaultConfigParamSchema = z.object({
  enabled: z.boolean().nullish(),
  permission_policy: permissionPolicySchema.nullish(),
});

export const BUILTIN_TOOL_NAMES = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

const builtinConfigBase = <N extends BuiltinToolName>(name: N) =>
  z.object({
    name: z.literal(name),
    type: z.literal(name).optional(),
    enabled: z.boolean().nullish(),
    permission_policy: permissionPolicySchema.nullish(),
  });

// web_fetch hosts are bare hostnames; web_search also accepts a path suffix.
const fetchDomainSchema = z.string().min(1).max(253).regex(/^[^\s/:]+$/, 'must be a plain hostname (no scheme, port or path)');
const searchDomainSchema = z.string().min(1).max(2048).regex(/^[^\s:]+$/, 'must be a hostname with an optional path (no scheme or port)');
const domainList = (s: z.ZodString) => z.array(s).min(1, 'an empty list is rejected; omit the field instead').max(64);

const toolReferenceSchema = z.object({ name: z.string().min(1).max(128), type: z.literal('tool_reference') });
const toolRefList = z.array(toolReferenceSchema).min(1).max(128);
const shorthand = (v: unknown) => (v === 'all' || v === 'none' ? { type: v } : v);

export const urlSourceToolFilterSchema = z.preprocess(
  shorthand,
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('all') }),
    z.object({ type: z.literal('none') }),
    z.object({ type: z.literal('only'), tools: toolRefList }),
    z.object({ type: z.literal('except'), tools: toolRefList }),
  ]),
);
export const urlSourceUserInputSchema = z.preprocess(shorthand, z.object({ type: z.enum(['all', 'none']) }));

export const urlSourcesParamSchema = z.object({
  user_input: urlSourceUserInputSchema.nullish(),
  client_tool_results: urlSourceToolFilterSchema.nullish(),
  server_tool_results: urlSourceToolFilterSchema.nullish(),
});

export const userLocationSchema = z.object({
  type: z.literal('approximate'),
  city: z.string().max(255).nullish(),
  region: z.string().max(255).nullish(),
  country: z.string().max(255).nullish(),
  timezone: z.string().max(255).nullish(),
});

export const builtinToolConfigParamSchema = z.discriminatedUnion('name', [
  builtinConfigBase('bash'),
  builtinConfigBase('read'),
  builtinConfigBase('write'),
  builtinConfigBase('edit'),
  builtinConfigBase('glob'),
  builtinConfigBase('grep'),
  builtinConfigBase('web_fetch').extend({
    allowed_domains: domainList(fetchDomainSchema).optional(),
    blocked_domains: domainList(fetchDomainSchema).optional(),
    max_content_tokens: z.number().int().positive().nullish(),
    url_sources: urlSourcesParamSchema.nullish(),
  }),
  builtinConfigBase('web_search').extend({
    allowed_domains: domainList(searchDomainSchema).optional(),
    blocked_domains: domainList(searchDomainSchema).optional(),
    user_location: userLocationSchema.nullish(),
  }),
]);
export type BuiltinToolConfigParam = z.output<typeof builtinToolConfigParamSchema>;

export const agentToolsetParamSchema = z.object({
  type: z.literal('agent_toolset_20260401'),
  default_config: defaultConfigParamSchema.nullish(),
  configs: z.array(builtinToolConfigParamSchema).max(BUILTIN_TOOL_NAMES.length * 4).nullish(),
});

export const mcpToolsetParamSchema = z.object({
  type: z.literal('mcp_toolset'),
  mcp_server_name: z.string().min(1).max(255),
  default_config: defaultConfigParamSchema.nullish(),
  configs: z
    .array(z.object({ name: z.string().min(1).max(128), enabled: z.boolean().nullish(), permission_policy: permissionPolicySchema.nullish() }))
    .max(1024)
    .nullish(),
});

export const CUSTOM_TOOL_NAME = /^[A-Za-z0-9_-]{1,128}$/;

export const customToolParamSchema = z.object({
  type: z.literal('custom'),
  name: z.string().regex(CUSTOM_TOOL_NAME, 'must be 1-128 characters of letters, digits, underscores and hyphens'),
  description: z.string(),
  // A JSON Schema: keep every keyword the client sent, check only the envelope.
  input_schema: z.looseObject({
    type: z.literal('object'),
    properties: z.record(z.string(), z.unknown()).nullish(),
    required: z.array(z.string()).nullish(),
  }),
});

export const toolParamSchema = z.discriminatedUnion('type', [agentToolsetParamSchema, mcpToolsetParamSchema, customToolParamSchema]);
export type ToolParam = z.output<typeof toolParamSchema>;

export const MAX_TOOLS = 256;
export const toolsParamSchema = z.array(toolParamSchema).max(MAX_TOOLS, `at most ${MAX_TOOLS} tools are allowed`);

// ---------------------------------------------------------------------------------------------
// MCP servers, skills, execution identity

const httpUrl = z.string().max(2048).refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

export const MAX_MCP_SERVERS = 20;
export const mcpServerParamSchema = z.object({ type: z.literal('url'), name: z.string().min(1).max(255), url: httpUrl });
export const mcpServersParamSchema = z.array(mcpServerParamSchema).max(MAX_MCP_SERVERS, `at most ${MAX_MCP_SERVERS} MCP servers are allowed`);
export type McpServerParam = z.output<typeof mcpServerParamSchema>;

export const skillParamSchema = z.object({
  type: z.enum(['anthropic', 'custom']),
  skill_id: z.string().min(1).max(256),
  version: z.string().min(1).max(64).nullish(),
});
export const skillsParamSchema = z.array(skillParamSchema);
export type SkillParam = z.output<typeof skillParamSchema>;

export const executionIdentityParamSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('service_account') }),
  z.object({ type: z.literal('aws_role'), role_arn: z.string().min(1).max(2048) }),
]);
export type ExecutionIdentityParam = z.output<typeof executionIdentityParamSchema>;
