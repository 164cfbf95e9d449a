// Configuration, parsed once at start-up from the environment (the contract in docs/DESIGN.md).
// Only entry points call `loadConfig(process.env)`; everything else receives the parsed object.
import { z } from 'zod';
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { parsePriceOverrides, type ModelPrice } from '../domain/pricing.ts';
import { loadModelsSettings, ModelsFileError, type ModelsSettings } from './models-config.ts';
import { parseTelemetryConfig, type TelemetryConfig } from './telemetry-config.ts';

function parsePricing(json: string | undefined): Record<string, ModelPrice> {
  if (!json) return {};
  try {
    return parsePriceOverrides(json);
  } catch (err) {
    throw new ConfigError(`invalid configuration: HANGAR_PRICING: ${(err as Error).message}`);
  }
}

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  HANGAR_HOST: z.string().default('127.0.0.1'),
  HANGAR_PORT: int(8700, 0, 65535),
  HANGAR_DATA_DIR: z.string().default('./.hangar'),
  HANGAR_DATABASE_URL: z.string().optional(),
  HANGAR_DATABASE_CONNECT_TIMEOUT_MS: int(5_000, 100, 600_000),
  HANGAR_DATABASE_STATEMENT_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  HANGAR_API_KEY: z.string().min(16, 'HANGAR_API_KEY must be at least 16 characters').optional(),
  HANGAR_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HANGAR_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be "json" (the default) or "pretty"' }).default('json'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1' }).optional(),
  HANGAR_MODELS: z.string().optional(),
  HANGAR_LEASE_TTL_MS: int(15_000, 500, 600_000),
  HANGAR_MODEL_MAX_RETRIES: int(5, 0, 50),
  HANGAR_RETRY_BASE_MS: int(1_000, 1, 600_000),
  HANGAR_RETRY_MAX_MS: int(60_000, 1, 3_600_000),
  HANGAR_MAX_OUTPUT_TOKENS: int(8_192, 1, 1_000_000),
  HANGAR_CONTEXT_WINDOW_TOKENS: z.coerce.number().int().min(1_024).max(100_000_000).optional(),
  HANGAR_COMPACTION_THRESHOLD: z.coerce.number().gt(0.1, 'must be a share of the context window above 0.1').max(0.95, 'must be at most 0.95 (room is needed for the answer)').default(0.8),
  HANGAR_SSE_PING_MS: int(15_000, 10, 600_000),
  HANGAR_BODY_LIMIT_BYTES: int(32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  HANGAR_SANDBOX: z.enum(['bwrap', 'unsafe-local'], { error: 'HANGAR_SANDBOX must be "bwrap" or "unsafe-local"' }).default('bwrap'),
  HANGAR_SANDBOX_MEMORY_MB: int(2048, 16, 1024 * 1024),
  HANGAR_SANDBOX_PIDS: int(512, 8, 1_000_000),
  HANGAR_SANDBOX_CPUS: z.coerce.number().min(0.05).max(1024).default(1),
  HANGAR_SANDBOX_IDLE_RELEASE_MS: int(600_000, 1_000, 86_400_000),
  HANGAR_SANDBOX_UID: z.coerce.number().int().min(1, 'HANGAR_SANDBOX_UID must not be 0 (root)').max(4_294_967_294).optional(),
  HANGAR_SANDBOX_GID: z.coerce.number().int().min(1, 'HANGAR_SANDBOX_GID must not be 0 (root)').max(4_294_967_294).optional(),
  HANGAR_SANDBOX_PROVISION_CONCURRENCY: int(8, 1, 1024),
  HANGAR_FILE_MAX_BYTES: int(500 * 1024 * 1024, 1, 64 * 1024 * 1024 * 1024),
  HANGAR_SESSION_DISK_MB: int(2048, 1, 16 * 1024 * 1024),
  HANGAR_MIN_FREE_DISK_MB: int(512, 0, 16 * 1024 * 1024),
  HANGAR_MASTER_KEY: z.string().optional(),
  HANGAR_PRICING: z.string().optional(),
  HANGAR_GRADER_MODEL: z.string().min(1).optional(),
  HANGAR_OUTCOME_ONGOING_MS: int(10_000, 10, 600_000),
  HANGAR_WEB_SEARCH_SEARXNG_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of a SearXNG instance, e.g. http://127.0.0.1:8888' }).optional(),
  HANGAR_MCP_IDLE_MS: int(600_000, 1_000, 86_400_000),
  HANGAR_MCP_EGRESS_GUARD: z.enum(['on', 'off'], { error: 'HANGAR_MCP_EGRESS_GUARD must be "on" or "off"' }).default('off'),
  HANGAR_GIT_ALLOW_PRIVATE: z.enum(['on', 'off'], { error: 'HANGAR_GIT_ALLOW_PRIVATE must be "on" or "off"' }).default('off'),
  HANGAR_SANDBOX_POOL_SIZE: int(0, 0, 64),
  HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE: z.enum(['on', 'off'], { error: 'HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE must be "on" or "off"' }).default('off'),
  HANGAR_NPM_REGISTRY: z.url({ protocol: /^https?$/, error: 'HANGAR_NPM_REGISTRY must be an http(s) URL' }).optional(),
  HANGAR_PIP_INDEX_URL: z.url({ protocol: /^https?$/, error: 'HANGAR_PIP_INDEX_URL must be an http(s) URL of a PEP 503 simple index' }).optional(),
  HANGAR_WORK_LEASE_TTL_S: int(60, 5, 3_600),
  HANGAR_AUTH_FAIL_LIMIT: int(20, 0, 1_000_000),
  HANGAR_AUTH_FAIL_WINDOW_S: int(60, 1, 86_400),
  HANGAR_NODE_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'HANGAR_NODE_ID: 1-100 characters of A-Z a-z 0-9 . _ : -').optional(),
});

export interface HangarConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL only: how long getting a connection and running one statement may take before the request fails with 503. */
  database: { connectTimeoutMs: number; statementTimeoutMs: number };
  apiKey: string | undefined;
  logLevel: string;
  /** `json` (one object a line, for machines) or `pretty` (pino-pretty, for people). */
  logFormat: 'json' | 'pretty';
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string | undefined;
  leaseTtlMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxOutputTokens: number;
  /** HANGAR_CONTEXT_WINDOW_TOKENS: caps every model's context window (undefined: each model's own). */
  contextWindowTokens: number | undefined;
  /** HANGAR_COMPACTION_THRESHOLD: share of the window at which the conversation is compacted. */
  compactionThreshold: number;
  pingIntervalMs: number;
  bodyLimitBytes: number;
  /** `unsafe-local` runs tools on the host with no isolation; it must be chosen explicitly. */
  sandbox: 'bwrap' | 'unsafe-local';
  sandboxLimits: { memoryBytes: number; pids: number; cpus: number };
  sandboxIdleReleaseMs: number;
  /** Host uid/gid of sandboxed processes when running as root (unset: the provider's dedicated default). */
  sandboxUser?: { uid: number; gid: number };
  /** How many sandboxes may be provisioning at once; further first tool calls wait in line. */
  sandboxProvisionConcurrency: number;
  fileMaxBytes: number;
  /** Per-session disk quota: workspace + outputs on disk, and captured outputs by apparent size. */
  sessionDiskBytes: number;
  /** Free-space floor of the data dir's filesystem under which uploads and captures are refused. */
  minFreeDiskBytes: number;
  /**
   * Base64 master key(s) sealing vault secrets, current first (`new,old` while rotating); unset =
   * the key file `<dataDir>/master.key`. Validated when the secret box opens; never logged.
   */
  masterKey: string | undefined;
  /** Price overrides/additions (model id → USD per million tokens); validated at start. */
  priceOverrides: Record<string, ModelPrice>;
  graderModel: string | undefined;
  outcomeOngoingMs: number;
  /** A SearXNG instance for `web_search`; unset = the tool is not offered. */
  searxngUrl: string | undefined;
  mcpIdleMs: number;
  /** Refuse MCP server URLs that resolve to loopback/private/link-local/metadata addresses. */
  mcpEgressGuard: boolean;
  /** HANGAR_GIT_ALLOW_PRIVATE=on: github_repository URLs may resolve to loopback/private addresses. */
  gitAllowPrivate: boolean;
  /** Pre-started sandboxes kept warm for first tool calls (0 = off). */
  sandboxPoolSize: number;
  /** Package-layer builds may reach their registry hosts at private addresses (a local mirror). */
  packageRegistryAllowPrivate: boolean;
  /** Registries package layers are built from (unset: the tools' defaults). */
  packageRegistries: { npmRegistry?: string; pipIndexUrl?: string };
  /** Work-item lease when a self-hosted worker asks for none. */
  workLeaseTtlSeconds: number;
  /** Failed authentications per source address and window before it is locked out (0 = no limit). */
  authFailLimit: number;
  authFailWindowMs: number;
  /** Providers (with keys) and model entries: HANGAR_MODELS over the defaults from ANTHROPIC_ and OPENAI_ variables. */
  models: ModelsSettings;
  /** Traces (OTEL_* variables) and the optional metrics key (telemetry-config.ts). */
  telemetry: TelemetryConfig;
  /**
   * This node's stable identity in lease owners (`<nodeId>#<bootId>`): a restarted node takes back
   * its previous boot's leases at once. HANGAR_NODE_ID, else `<hostname>:<port>` (unique per host,
   * since two processes cannot listen on one port), else with port 0 undefined (a random id per boot).
   */
  nodeId: string | undefined;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export function loadConfig(env: Record<string, string | undefined>): HangarConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`invalid configuration: ${i.path.join('.')}: ${i.message}`);
  }
  const c = r.data;
  const pgOnly = ['HANGAR_DATABASE_CONNECT_TIMEOUT_MS', 'HANGAR_DATABASE_STATEMENT_TIMEOUT_MS'].filter((k) => k in cleaned);
  if (pgOnly.length && !c.HANGAR_DATABASE_URL) {
    throw new ConfigError(`invalid configuration: ${pgOnly.join(' and ')} apply to PostgreSQL only (HANGAR_DATABASE_URL); the embedded SQLite store has no connections to time out; unset ${pgOnly.length > 1 ? 'them' : 'it'}`);
  }
  if (c.HANGAR_SANDBOX === 'unsafe-local' && (c.HANGAR_SANDBOX_UID ?? c.HANGAR_SANDBOX_GID) !== undefined) {
    throw new ConfigError('invalid configuration: HANGAR_SANDBOX_UID/HANGAR_SANDBOX_GID apply to HANGAR_SANDBOX=bwrap only (unsafe-local runs tools as this server\'s own user); unset them');
  }
  return {
    host: c.HANGAR_HOST,
    port: c.HANGAR_PORT,
    dataDir: resolve(c.HANGAR_DATA_DIR),
    databaseUrl: c.HANGAR_DATABASE_URL,
    database: { connectTimeoutMs: c.HANGAR_DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: c.HANGAR_DATABASE_STATEMENT_TIMEOUT_MS },
    apiKey: c.HANGAR_API_KEY,
    logLevel: c.HANGAR_LOG_LEVEL,
    logFormat: c.HANGAR_LOG_FORMAT,
    anthropicApiKey: c.ANTHROPIC_API_KEY,
    anthropicBaseUrl: c.ANTHROPIC_BASE_URL,
    leaseTtlMs: c.HANGAR_LEASE_TTL_MS,
    maxRetries: c.HANGAR_MODEL_MAX_RETRIES,
    retryBaseMs: c.HANGAR_RETRY_BASE_MS,
    retryMaxMs: c.HANGAR_RETRY_MAX_MS,
    maxOutputTokens: c.HANGAR_MAX_OUTPUT_TOKENS,
    contextWindowTokens: c.HANGAR_CONTEXT_WINDOW_TOKENS,
    compactionThreshold: c.HANGAR_COMPACTION_THRESHOLD,
    pingIntervalMs: c.HANGAR_SSE_PING_MS,
    bodyLimitBytes: c.HANGAR_BODY_LIMIT_BYTES,
    sandbox: c.HANGAR_SANDBOX,
    sandboxLimits: { memoryBytes: c.HANGAR_SANDBOX_MEMORY_MB * 1024 * 1024, pids: c.HANGAR_SANDBOX_PIDS, cpus: c.HANGAR_SANDBOX_CPUS },
    sandboxIdleReleaseMs: c.HANGAR_SANDBOX_IDLE_RELEASE_MS,
    // One of the two alone sets both: a dedicated uid usually comes with a group of the same number.
    sandboxUser: c.HANGAR_SANDBOX_UID ?? c.HANGAR_SANDBOX_GID
      ? { uid: (c.HANGAR_SANDBOX_UID ?? c.HANGAR_SANDBOX_GID)!, gid: (c.HANGAR_SANDBOX_GID ?? c.HANGAR_SANDBOX_UID)! }
      : undefined,
    sandboxProvisionConcurrency: c.HANGAR_SANDBOX_PROVISION_CONCURRENCY,
    fileMaxBytes: c.HANGAR_FILE_MAX_BYTES,
    sessionDiskBytes: c.HANGAR_SESSION_DISK_MB * 1024 * 1024,
    minFreeDiskBytes: c.HANGAR_MIN_FREE_DISK_MB * 1024 * 1024,
    masterKey: c.HANGAR_MASTER_KEY,
    priceOverrides: parsePricing(c.HANGAR_PRICING),
    graderModel: c.HANGAR_GRADER_MODEL,
    outcomeOngoingMs: c.HANGAR_OUTCOME_ONGOING_MS,
    searxngUrl: c.HANGAR_WEB_SEARCH_SEARXNG_URL,
    mcpIdleMs: c.HANGAR_MCP_IDLE_MS,
    mcpEgressGuard: c.HANGAR_MCP_EGRESS_GUARD === 'on',
    gitAllowPrivate: c.HANGAR_GIT_ALLOW_PRIVATE === 'on',
    sandboxPoolSize: c.HANGAR_SANDBOX_POOL_SIZE,
    packageRegistryAllowPrivate: c.HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE === 'on',
    packageRegistries: { npmRegistry: c.HANGAR_NPM_REGISTRY, pipIndexUrl: c.HANGAR_PIP_INDEX_URL },
    workLeaseTtlSeconds: c.HANGAR_WORK_LEASE_TTL_S,
    authFailLimit: c.HANGAR_AUTH_FAIL_LIMIT,
    authFailWindowMs: c.HANGAR_AUTH_FAIL_WINDOW_S * 1000,
    nodeId: c.HANGAR_NODE_ID ?? (c.HANGAR_PORT === 0 ? undefined : `${hostname()}:${c.HANGAR_PORT}`),
    models: parseModels(c.HANGAR_MODELS, cleaned, c.HANGAR_PRICING ? parsePricing(c.HANGAR_PRICING) : {}),
    telemetry: parseTelemetryConfig(cleaned),
  };
}

function parseModels(file: string | undefined, env: Record<string, string | undefined>, priced: Record<string, ModelPrice>): ModelsSettings {
  try {
    const settings = loadModelsSettings(file ? resolve(file) : undefined, env);
    // One place per price: a model priced twice would leave the reader guessing which one counts.
    const twice = settings.models.find((m) => m.pricing && priced[m.id]);
    if (twice) throw new ModelsFileError(`model ${twice.id} is priced both here and in HANGAR_PRICING; keep one`);
    return settings;
  } catch (err) {
    if (err instanceof ModelsFileError) throw new ConfigError(`invalid configuration: HANGAR_MODELS (${file}): ${err.message}`);
    throw err;
  }
}
