#!/usr/bin/env -S node --enable-source-maps --disable-warning=ExperimentalWarning
// The `hangar` command: `serve` (the server, as `npm start`), `env-key create|list|revoke` (through
// a running server's API), `keys list|create|revoke` (API keys, in the data directory) and `worker`
// (serve a self-hosted environment's work queue from this machine), and the client commands
// (src/cli/commands/: agents, envs, sessions, vaults, run, tail, login, config). Parsed with commander; every
// subcommand is registered in `buildProgram` below. The only place the CLI reads process.env and argv.
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createEnvKey, listEnvKeys, revokeEnvKey } from './env-key.ts';
import { createKey, listKeys, revokeKey, rotateKey } from './keys.ts';
import { registerClientCommands } from './commands/register.ts';
import { migrateToPostgres } from './db.ts';
import { parseWorkerConfig, WorkerConfigError } from '../worker/worker-config.ts';
import { HangarWorker } from '../worker/hangar-worker.ts';
import { BwrapSandboxProvider } from '../adapters/sandbox-bwrap/bwrap-provider.ts';
import { UnsafeLocalSandboxProvider } from '../adapters/sandbox-unsafe-local/unsafe-local-provider.ts';
import { createEgressProxyStarter } from '../adapters/egress-proxy/egress-proxy.ts';
import { createLogger } from '../server/logger.ts';
import type { SandboxProvider } from '../ports/sandbox.ts';
import { watchLauncher } from '../server/launcher-watch.ts';

class UsageError extends Error {}

const DEFAULT_URL = 'http://127.0.0.1:8700';

/** Exit code of a command that keeps running (the server exits on its own signals). */
const KEEP_RUNNING = -1;

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('hangar')
    .description('Hangar: a self-hosted managed-agents platform (Claude Managed Agents API).')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError();
  // ── Subcommands: one registration call each ─────────────────────────────────────────────────
  registerServe(program, setExit);
  registerEnvKey(program, setExit);
  registerKeys(program, setExit);
  registerWorker(program, setExit);
  registerClientCommands(program, setExit); // agents, envs, sessions, vaults, run, tail, login, config
  registerDb(program, setExit);
  return program;
}

function registerServe(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('start the server (configured by HANGAR_* variables; see the README)')
    .addHelpText('after', '\nConfiguration comes from the environment: HANGAR_HOST, HANGAR_PORT, HANGAR_DATA_DIR, HANGAR_API_KEY,\nANTHROPIC_API_KEY, HANGAR_LOG_LEVEL, HANGAR_LOG_FORMAT, ... (the README lists them all).')
    .action(async () => {
      await requireSqlite();
      await import('../server/main.ts');
      setExit(KEEP_RUNNING);
    });
}

/** The server's store is node:sqlite, unflagged since Node 22.13: say so in one line, not a stack trace. */
async function requireSqlite(): Promise<void> {
  try {
    await import('node:sqlite');
  } catch {
    throw new Error(`Node.js ${process.version} has no node:sqlite; the server needs Node.js ^22.13.0 || >=24 (see engines in package.json)`);
  }
}

function registerEnvKey(program: Command, setExit: (code: number) => void): void {
  const envKey = program
    .command('env-key')
    .description("issue, list and revoke a self-hosted environment's keys (through a running server)");
  const connection = (cmd: Command) => cmd
    .option('--url <url>', `the server (default $HANGAR_URL or ${DEFAULT_URL})`)
    .option('--api-key <key>', 'an API key (default $HANGAR_API_KEY)');
  const options = (values: { url?: string; apiKey?: string }) => {
    const apiKey = values.apiKey ?? process.env.HANGAR_API_KEY;
    if (!apiKey) throw new UsageError('an API key is needed: pass --api-key or set HANGAR_API_KEY');
    return { baseUrl: values.url ?? process.env.HANGAR_URL ?? DEFAULT_URL, apiKey, out: (l: string) => process.stdout.write(`${l}\n`) };
  };
  connection(envKey.command('create').argument('<environment_id>').description('issue an environment key (shown once)'))
    .action(async (environmentId: string, values) => {
      await createEnvKey(environmentId, options(values));
      setExit(0);
    });
  connection(envKey.command('list').argument('<environment_id>').description("list an environment's keys"))
    .action(async (environmentId: string, values) => {
      await listEnvKeys(environmentId, options(values));
      setExit(0);
    });
  connection(envKey.command('revoke').argument('<environment_id>').argument('<key_id>').description('revoke an environment key'))
    .action(async (environmentId: string, keyId: string, values) => {
      await revokeEnvKey(environmentId, keyId, options(values));
      setExit(0);
    });
}

function registerKeys(program: Command, setExit: (code: number) => void): void {
  const keys = program
    .command('keys')
    .description("list, create, revoke and rotate the server's API keys (in its data directory or PostgreSQL database; works while it runs)");
  const dataDir = (cmd: Command) => cmd
    .option('--data-dir <dir>', "the server's data directory (default $HANGAR_DATA_DIR or ./.hangar)")
    .option('--database-url <url>', "the server's PostgreSQL database (default $HANGAR_DATABASE_URL; when set, the data directory is not used)");
  const requireStore = async (values: { databaseUrl?: string }) => {
    if (!(values.databaseUrl ?? process.env.HANGAR_DATABASE_URL)) await requireSqlite();
  };
  const options = (values: { dataDir?: string; databaseUrl?: string }) => ({
    dataDir: resolve(values.dataDir ?? process.env.HANGAR_DATA_DIR ?? './.hangar'),
    databaseUrl: values.databaseUrl ?? (process.env.HANGAR_DATABASE_URL || undefined),
    out: (l: string) => process.stdout.write(`${l}\n`),
    now: () => new Date().toISOString(),
  });
  dataDir(keys.command('list').description('list API keys: id, name, created_at, hint, status, source, role, workspace'))
    .action(async (values) => {
      await requireStore(values);
      await listKeys(options(values));
      setExit(0);
    });
  dataDir(keys.command('create').description('create an API key (shown once; only its hash is stored)').requiredOption('--name <name>', 'what the key is for')
    .option('--role <role>', 'admin, developer, runner or viewer (default admin)')
    .option('--workspace <workspace_id>', 'bind the key to this workspace (default: an organization key)')
    .option('--expires-at <date-time>', 'refuse the key from this RFC 3339 date-time on, e.g. 2027-01-31T00:00:00Z (default: never)'))
    .action(async (values) => {
      await requireStore(values);
      await createKey(values.name, { ...options(values), role: values.role, workspace: values.workspace, expiresAt: values.expiresAt });
      setExit(0);
    });
  dataDir(keys.command('revoke').argument('<key_id>').description('revoke an API key: refused from the next request on'))
    .action(async (keyId: string, values) => {
      await requireStore(values);
      await revokeKey(keyId, options(values));
      setExit(0);
    });
  dataDir(keys.command('rotate').argument('<key_id>').description('give an API key a new secret (shown once), keeping its id, role, workspace and expiry; the old secret is refused from the next request on'))
    .action(async (keyId: string, values) => {
      await requireStore(values);
      await rotateKey(keyId, options(values));
      setExit(0);
    });
}

function registerDb(program: Command, setExit: (code: number) => void): void {
  const db = program.command('db').description('move an installation between stores');
  db.command('migrate-to-postgres')
    .description('copy an embedded SQLite installation (agents, sessions and logs, vaults, files metadata, keys, work items) into an empty PostgreSQL database')
    .requiredOption('--from <dir>', 'the SQLite installation\'s data directory (stop its server first)')
    .requiredOption('--to <url>', 'the empty target database (postgres://user:password@host:5432/database)')
    .action(async (values: { from: string; to: string }) => {
      await requireSqlite();
      await migrateToPostgres({ from: resolve(values.from), to: values.to, out: (l) => process.stdout.write(`${l}\n`) });
      setExit(0);
    });
}

/** The worker's flags, as typed (kebab-case), in the order help lists them. */
const WORKER_FLAGS: Array<[flag: string, help: string]> = [
  ['environment', 'the self-hosted environment (env_…) whose work to serve'],
  ['url', `the server (default $HANGAR_URL or ${DEFAULT_URL})`],
  ['key', 'the environment key (default $HANGAR_ENVIRONMENT_KEY)'],
  ['data-dir', 'workspaces and sandbox state (default $HANGAR_WORKER_DATA_DIR or ./.hangar-worker)'],
  ['sandbox', 'bwrap|unsafe-local (default $HANGAR_SANDBOX or bwrap)'],
  ['network', 'unrestricted|none: sandbox egress (default unrestricted, through the filtering proxy)'],
  ['memory-mb', 'per-session memory limit in MB (default 2048)'],
  ['pids', 'per-session process limit (default 512)'],
  ['cpus', 'per-session CPU share in cores (default 1)'],
  ['max-idle-ms', "leave a session after its turn ended this long ago (default 60000)"],
  ['worker-id', 'Anthropic-Worker-ID (default: host name + random id)'],
  ['log-level', 'fatal|error|warn|info|debug|trace|silent (default $HANGAR_LOG_LEVEL or info)'],
];

function registerWorker(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('worker')
    .description("run sessions' sandbox tools on this machine (serves a self-hosted environment's work queue)");
  for (const [flag, help] of WORKER_FLAGS) cmd.addOption(new Option(`--${flag} <value>`, help));
  cmd.action(async (values: Record<string, string | undefined>) => {
    // commander names options in camelCase; the config parser takes them as typed.
    const flags = Object.fromEntries(WORKER_FLAGS.map(([flag]) => [flag, values[flag.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())]]));
    setExit(await worker(flags));
  });
}

async function worker(flags: Record<string, string | undefined>): Promise<number> {
  const config = parseWorkerConfig(flags, process.env);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let provider: SandboxProvider;
  if (config.sandbox === 'unsafe-local') {
    provider = new UnsafeLocalSandboxProvider({ logger });
  } else {
    provider = new BwrapSandboxProvider({
      stateDir: join(config.dataDir, 'sandbox-state'),
      startEgressProxy: createEgressProxyStarter({ log: (entry) => logger.info(entry, 'sandbox egress') }),
      limits: config.limits,
      ...(config.sandboxUser ? { hostUser: config.sandboxUser } : {}),
      logger,
    });
    const reason = provider.unavailableReason();
    if (reason) logger.warn({ reason }, 'sandbox tools will fail until this is fixed');
    else for (const w of provider.limitWarnings?.() ?? []) logger.warn({}, w);
  }
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'worker stopping');
    stop.abort();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  // Started by npm (`npx hangar worker`): npm signals only its shell, so a vanished launcher is the stop signal.
  if (process.env.npm_lifecycle_event) watchLauncher(() => onSignal('launcher exited'));
  await new HangarWorker({ ...config, provider, logger }).run(stop.signal);
  logger.info({}, 'worker stopped');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  // Help and usage mistakes come back here instead of exiting inside commander.
  program.exitOverride();
  for (const sub of program.commands) {
    sub.exitOverride();
    for (const leaf of sub.commands) leaf.exitOverride();
  }
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return 2;
  }
  await program.parseAsync(argv, { from: 'user' });
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof CommanderError) {
      // commander already printed the help or the error (with a hint); asked-for help exits 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof UsageError || err instanceof WorkerConfigError) {
      process.stderr.write(`hangar: ${err.message} (see hangar --help)\n`);
      process.exit(2);
    }
    process.stderr.write(`hangar: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
