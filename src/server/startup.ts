// Start-up checks and the start-up summary. Problems an operator can fix become a StartupError:
// one line naming the path/port/variable and the fix, printed by main.ts without a stack trace.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { HangarConfig } from './config.ts';
import type { SandboxProvider } from '../ports/sandbox.ts';
import { findPortHolder } from './port-holder.ts';
import { describeStore } from './store-select.ts';
import { missingKeyWarnings } from './model-providers.ts';

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Kernel filesystems that are never a place for data (their files are not files). */
const SPECIAL_FS = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'bpf', 'pstore',
  'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'efivarfs', 'binfmt_misc', 'autofs', 'nsfs', 'rpc_pipefs',
]);

/** The filesystem type holding `path` (its nearest existing ancestor), from /proc/self/mounts. */
export function filesystemType(path: string): string | undefined {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real: string;
  let mounts: string;
  try {
    real = realpathSync(existing);
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  let best: { point: string; type: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [, rawPoint, type] = line.split(' ');
    if (!rawPoint || !type) continue;
    const point = rawPoint.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = point === '/' || real === point || real.startsWith(`${point}/`);
    // Later lines are mounted over earlier ones at the same point.
    if (inside && (!best || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/**
 * The data directory must be on a real filesystem, exist (created when missing) and be writable;
 * the master key file, when used, must be readable. Throws StartupError with the fix.
 */
export function checkDataDir(config: Pick<HangarConfig, 'dataDir' | 'masterKey'>): void {
  const dir = config.dataDir;
  const fsType = filesystemType(dir);
  if (fsType && SPECIAL_FS.has(fsType)) {
    throw new StartupError(`the data directory ${dir} is on a ${fsType} filesystem, which cannot hold data; set HANGAR_DATA_DIR to a directory on a disk (e.g. /var/lib/hangar)`);
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new StartupError(`the data directory ${dir} exists but is not a directory; set HANGAR_DATA_DIR to a directory`);
  }
  try {
    // 0700: private to the service user; sandboxes reach their directories through binds, never by path.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StartupError(`cannot create the data directory ${dir} (${code(err)}); create it yourself or set HANGAR_DATA_DIR to a writable directory`);
  }
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    throw new StartupError(`the data directory ${dir} is not writable (${code(err)}); give the user running Hangar write access (e.g. chown it) or set HANGAR_DATA_DIR`);
  }
  if (config.masterKey === undefined) {
    const keyFile = join(dir, 'master.key');
    if (existsSync(keyFile)) {
      try {
        readFileSync(keyFile);
      } catch (err) {
        throw new StartupError(`cannot read the master key file ${keyFile} (${code(err)}); make it a file readable by the user running Hangar (mode 0600) or set HANGAR_MASTER_KEY`);
      }
    }
  }
}

/** A listen() failure as one line with the fix. */
export function describeListenError(err: unknown, host: string, port: number): string | undefined {
  const c = code(err);
  if (c === 'EADDRINUSE') {
    const holder = findPortHolder(port);
    const by = holder ? ` by pid ${holder.pid} (${holder.command})` : '';
    return `port ${port} on ${host} is already in use${by}; stop that process or set HANGAR_PORT to a free port`;
  }
  if (c === 'EACCES') return `not allowed to listen on port ${port} (ports below 1024 need privileges); set HANGAR_PORT to 1024 or above`;
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') {
    return `HANGAR_HOST "${host}" is not a known host name (${c}); set it to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`;
  }
  if (c === 'EADDRNOTAVAIL') return `HANGAR_HOST "${host}" is not an address of this machine; set it to 127.0.0.1, 0.0.0.0 or one of this machine's addresses`;
  return undefined;
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

/** Whether `command` can be run (it is on PATH). */
export function commandExists(command: string): boolean {
  return spawnSync(command, ['-V'], { stdio: 'ignore', timeout: 10_000 }).error === undefined;
}

export interface StartupFacts {
  version: string;
  url: string;
  config: HangarConfig;
  sandbox: SandboxProvider;
  /** Whether `socat` is installed (networked bubblewrap sandboxes need it). */
  socat: boolean;
  /** The console's built assets directory, if built. */
  consoleDir: string | undefined;
}

export interface StartupSummary {
  /** The human-readable block for stdout. */
  text: string;
  /** The same facts for the structured log line. */
  fields: Record<string, unknown>;
  /** Things that will not work as configured, one line each with the fix (also logged as warnings). */
  warnings: string[];
}

/** Providers beyond the default Anthropic one, and the models file they came from. */
function providerRows(models: HangarConfig['models']): Array<[string, string]> {
  const others = models.providers.filter((p) => !(p.name === 'anthropic' && p.type === 'anthropic' && p.apiKeyEnv === 'ANTHROPIC_API_KEY'));
  const rows: Array<[string, string]> = others.map((p) => {
    const key = p.apiKeyEnv ? (p.apiKey ? 'key set' : `NO KEY: ${p.apiKeyEnv} unset`) : 'no key';
    return ['provider', `${p.name}: ${p.type} at ${p.baseUrl ? new URL(p.baseUrl).host : p.type === 'openai' ? 'api.openai.com' : 'api.anthropic.com'} (${key})`];
  });
  if (models.file) rows.push(['model file', `${models.file} (${models.models.length} model${models.models.length === 1 ? '' : 's'})`]);
  return rows;
}

export function startupSummary(f: StartupFacts): StartupSummary {
  const { config } = f;
  const warnings: string[] = [];
  const unavailable = f.sandbox.unavailableReason();
  if (unavailable) warnings.push(`built-in tools (bash, read, write, …) will fail: ${unavailable}`);
  if (config.sandbox === 'bwrap' && !f.socat) {
    warnings.push('socat is not installed: sandboxes with networking (limited or unrestricted) will fail; install it with: apt-get install socat');
  }
  for (const w of f.sandbox.limitWarnings?.() ?? []) warnings.push(w);
  if (!config.anthropicApiKey) {
    warnings.push('ANTHROPIC_API_KEY is not set: every model request will be refused by the provider; set it to your Anthropic API key');
  }
  for (const w of missingKeyWarnings(config.models)) warnings.push(w);
  const modelHost = config.anthropicBaseUrl ? new URL(config.anthropicBaseUrl).host : 'api.anthropic.com';
  const tools = unavailable ? 'tools will NOT work (see below)' : 'tools will work';
  const sandbox = config.sandbox === 'unsafe-local' ? `unsafe-local (NO isolation: tools run on this host as ${process.getuid?.() === 0 ? 'root' : 'this user'}); ${tools}` : `bwrap; ${tools}`;
  const consoleLine = f.consoleDir ? `${f.url}/console` : 'not built';
  const rows: Array<[string, string]> = [
    ['listening', f.url],
    ['store', `${describeStore(config).kind} ${describeStore(config).where}`],
    ['data dir', config.dataDir],
    ['sandbox', sandbox],
    ['models', `anthropic at ${modelHost} (${config.anthropicApiKey ? 'key set' : 'NO KEY'})`],
    ...providerRows(config.models),
    ['web search', config.searxngUrl ? `searxng at ${new URL(config.searxngUrl).host}` : 'off (set HANGAR_WEB_SEARCH_SEARXNG_URL)'],
    ['console', consoleLine],
    ['health', `${f.url}/healthz, readiness ${f.url}/readyz`],
  ];
  const lines = [`Hangar ${f.version}`, ...rows.map(([k, v]) => `  ${k.padEnd(11)}${v}`), ...warnings.map((w) => `  warning: ${w}`)];
  return {
    text: `${lines.join('\n')}\n`,
    warnings,
    fields: {
      version: f.version, store: describeStore(config).kind, database: describeStore(config).where, sandbox: config.sandbox,
      toolsWork: !unavailable, sandboxUnavailable: unavailable ?? null, modelProvider: 'anthropic', modelHost,
      anthropicKeySet: Boolean(config.anthropicApiKey), console: f.consoleDir ? `${f.url}/console` : null,
    },
  };
}
