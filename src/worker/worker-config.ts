// `hangar worker` configuration: command-line flags over environment variables, parsed once by a
// schema at start-up (the entry point hands both in; nothing here reads process.env).
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SandboxLimits, SandboxNetwork } from '../ports/sandbox.ts';

export interface WorkerConfig {
  baseUrl: string;
  environmentId: string;
  environmentKey: string;
  dataDir: string;
  sandbox: 'bwrap' | 'unsafe-local';
  network: SandboxNetwork;
  limits: SandboxLimits;
  maxIdleMs: number | undefined;
  workerId: string | undefined;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** Host uid/gid sandboxes run as when the worker runs as root (HANGAR_SANDBOX_UID/GID); undefined = the default. */
  sandboxUser: { uid: number; gid: number } | undefined;
}

export class WorkerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  url: z.url({ error: '--url must be an http(s) URL of the Hangar server' }).default('http://127.0.0.1:8700'),
  environment: z.string().regex(/^env_[A-Za-z0-9_]+$/, '--environment must be an environment id (env_…)'),
  key: z.string().startsWith('sk-ant-oat01-', 'the environment key (--key or HANGAR_ENVIRONMENT_KEY) must start with sk-ant-oat01-'),
  dataDir: z.string().min(1).default('./.hangar-worker'),
  sandbox: z.enum(['bwrap', 'unsafe-local'], { error: '--sandbox must be "bwrap" or "unsafe-local"' }).default('bwrap'),
  network: z.enum(['unrestricted', 'none'], { error: '--network must be "unrestricted" or "none"' }).default('unrestricted'),
  memoryMb: int(16, 1024 * 1024).default(2048),
  pids: int(8, 1_000_000).default(512),
  cpus: z.coerce.number().min(0.05).max(1024).default(1),
  maxIdleMs: int(0, 86_400_000).optional(),
  workerId: z.string().min(1).max(256).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFormat: z.enum(['json', 'pretty'], { error: 'HANGAR_LOG_FORMAT must be "json" or "pretty"' }).default('json'),
  sandboxUid: z.coerce.number().int().min(1, 'HANGAR_SANDBOX_UID must not be 0 (root)').max(4_294_967_294).optional(),
  sandboxGid: z.coerce.number().int().min(1, 'HANGAR_SANDBOX_GID must not be 0 (root)').max(4_294_967_294).optional(),
});

/**
 * `flags` are the parsed command-line options (kebab-case names, as typed); `env` supplies
 * HANGAR_URL, HANGAR_ENVIRONMENT_KEY, HANGAR_WORKER_DATA_DIR, HANGAR_SANDBOX, HANGAR_LOG_LEVEL, HANGAR_LOG_FORMAT and HANGAR_SANDBOX_UID/GID (as for the server).
 */
export function parseWorkerConfig(flags: Record<string, string | undefined>, env: Record<string, string | undefined>): WorkerConfig {
  const pick = (...values: Array<string | undefined>) => values.find((v) => v !== undefined && v !== '');
  const r = schema.safeParse({
    url: pick(flags.url, env.HANGAR_URL),
    environment: pick(flags.environment) ?? '',
    key: pick(flags.key, env.HANGAR_ENVIRONMENT_KEY) ?? '',
    dataDir: pick(flags['data-dir'], env.HANGAR_WORKER_DATA_DIR),
    sandbox: pick(flags.sandbox, env.HANGAR_SANDBOX),
    network: pick(flags.network),
    memoryMb: pick(flags['memory-mb']),
    pids: pick(flags.pids),
    cpus: pick(flags.cpus),
    maxIdleMs: pick(flags['max-idle-ms']),
    workerId: pick(flags['worker-id']),
    logLevel: pick(flags['log-level'], env.HANGAR_LOG_LEVEL),
    logFormat: pick(env.HANGAR_LOG_FORMAT),
    sandboxUid: pick(env.HANGAR_SANDBOX_UID),
    sandboxGid: pick(env.HANGAR_SANDBOX_GID),
  });
  if (!r.success) {
    const i = r.error.issues[0];
    throw new WorkerConfigError(i.message.startsWith('-') || i.message.includes('--') ? i.message : `${i.path.join('.')}: ${i.message}`);
  }
  const c = r.data;
  return {
    baseUrl: c.url.replace(/\/+$/, ''),
    environmentId: c.environment,
    environmentKey: c.key,
    dataDir: resolve(c.dataDir),
    sandbox: c.sandbox,
    network: c.network === 'none' ? { type: 'none' } : { type: 'proxy', allowedHosts: null },
    limits: { memoryBytes: c.memoryMb * 1024 * 1024, pids: c.pids, cpus: c.cpus },
    maxIdleMs: c.maxIdleMs,
    workerId: c.workerId,
    logLevel: c.logLevel,
    logFormat: c.logFormat,
    sandboxUser: c.sandboxUid ?? c.sandboxGid ? { uid: (c.sandboxUid ?? c.sandboxGid)!, gid: (c.sandboxGid ?? c.sandboxUid)! } : undefined,
  };
}
