#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
// The `hangar` command: `serve` (the server, as `npm start`), `env-key create|list|revoke` (through
// a running server's API), `keys list|create|revoke` (API keys, in the data directory) and `worker`
// (serve a self-hosted environment's work queue from this machine). The only place the CLI reads
// process.env and argv.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createEnvKey, listEnvKeys, revokeEnvKey } from './env-key.ts';
import { createKey, listKeys, revokeKey } from './keys.ts';
import { parseWorkerConfig, WorkerConfigError } from '../worker/worker-config.ts';
import { HangarWorker } from '../worker/hangar-worker.ts';
import { BwrapSandboxProvider } from '../adapters/sandbox-bwrap/bwrap-provider.ts';
import { UnsafeLocalSandboxProvider } from '../adapters/sandbox-unsafe-local/unsafe-local-provider.ts';
import { createEgressProxyStarter } from '../adapters/egress-proxy/egress-proxy.ts';
import type { SandboxProvider } from '../ports/sandbox.ts';

const USAGE = `usage:
  hangar serve                                       start the server (configured by HANGAR_* variables)
  hangar env-key create <environment_id>             issue an environment key (shown once)
  hangar env-key list <environment_id>
  hangar env-key revoke <environment_id> <key_id>
      --url URL          the server (default $HANGAR_URL or http://127.0.0.1:8700)
      --api-key KEY      an API key (default $HANGAR_API_KEY)
  hangar keys list                                   the server's API keys (id, name, created, hint, status)
  hangar keys create --name NAME                     a new API key (shown once)
  hangar keys revoke <key_id>                        refused from the next request on
      --data-dir DIR     the server's data directory (default $HANGAR_DATA_DIR or ./.hangar)
  hangar worker --environment <environment_id>       run sessions' sandbox tools on this machine
      --url URL          the server (default $HANGAR_URL or http://127.0.0.1:8700)
      --key KEY          the environment key (default $HANGAR_ENVIRONMENT_KEY)
      --data-dir DIR     workspaces and sandbox state (default $HANGAR_WORKER_DATA_DIR or ./.hangar-worker)
      --sandbox bwrap|unsafe-local   (default bwrap)
      --network unrestricted|none    sandbox egress (default unrestricted, through the filtering proxy)
      --memory-mb N --pids N --cpus N  per-session limits
      --max-idle-ms N    leave a session after its turn ended this long ago (default 60000)
      --worker-id ID     Anthropic-Worker-ID (default: host name + random id)
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') {
    await import('../server/main.ts');
    return -1; // the server keeps the process alive and exits on its own signals
  }
  if (command === 'env-key') return envKey(rest);
  if (command === 'keys') return keys(rest);
  if (command === 'worker') return worker(rest);
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown command "${command}"`);
}

async function envKey(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { url: { type: 'string' }, 'api-key': { type: 'string' } } });
  const [action, environmentId, keyId] = positionals;
  const apiKey = values['api-key'] ?? process.env.HANGAR_API_KEY;
  if (!apiKey) throw new UsageError('an API key is needed: pass --api-key or set HANGAR_API_KEY');
  if (!environmentId) throw new UsageError('missing <environment_id>');
  const o = { baseUrl: values.url ?? process.env.HANGAR_URL ?? 'http://127.0.0.1:8700', apiKey, out: (l: string) => process.stdout.write(`${l}\n`) };
  if (action === 'create') await createEnvKey(environmentId, o);
  else if (action === 'list') await listEnvKeys(environmentId, o);
  else if (action === 'revoke') {
    if (!keyId) throw new UsageError('missing <key_id>');
    await revokeEnvKey(environmentId, keyId, o);
  } else throw new UsageError(`unknown env-key action "${action ?? ''}" (create, list or revoke)`);
  return 0;
}

async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'data-dir': { type: 'string' }, name: { type: 'string' } } });
  const [action, keyId] = positionals;
  const o = {
    dataDir: resolve(values['data-dir'] ?? process.env.HANGAR_DATA_DIR ?? './.hangar'),
    out: (l: string) => process.stdout.write(`${l}\n`),
    now: () => new Date().toISOString(),
  };
  if (action === 'list') await listKeys(o);
  else if (action === 'create') {
    if (values.name === undefined) throw new UsageError('missing --name NAME');
    await createKey(values.name, o);
  } else if (action === 'revoke') {
    if (!keyId) throw new UsageError('missing <key_id>');
    await revokeKey(keyId, o);
  } else throw new UsageError(`unknown keys action "${action ?? ''}" (list, create or revoke)`);
  return 0;
}

async function worker(args: string[]): Promise<number> {
  const names = ['url', 'environment', 'key', 'data-dir', 'sandbox', 'network', 'memory-mb', 'pids', 'cpus', 'max-idle-ms', 'worker-id', 'log-level'];
  const { values } = parseArgs({ args, options: Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])) });
  const config = parseWorkerConfig(values as Record<string, string | undefined>, process.env);
  const logger = pino({ level: config.logLevel });
  let provider: SandboxProvider;
  if (config.sandbox === 'unsafe-local') {
    provider = new UnsafeLocalSandboxProvider({ logger });
  } else {
    provider = new BwrapSandboxProvider({
      stateDir: join(config.dataDir, 'sandbox-state'),
      startEgressProxy: createEgressProxyStarter({ log: (entry) => logger.info(entry, 'sandbox egress') }),
      limits: config.limits,
      logger,
    });
    const reason = provider.unavailableReason();
    if (reason) logger.warn({ reason }, 'sandbox tools will fail until this is fixed');
  }
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'worker stopping');
    stop.abort();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  await new HangarWorker({ ...config, provider, logger }).run(stop.signal);
  logger.info({}, 'worker stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof UsageError || err instanceof WorkerConfigError) {
      process.stderr.write(`hangar: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`hangar: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
