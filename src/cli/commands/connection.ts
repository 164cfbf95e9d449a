// Where the client commands find their server: flags, then HANGAR_URL / HANGAR_API_KEY, then the
// config file ($XDG_CONFIG_HOME/hangar/config.json, default ~/.config/hangar/config.json), then the
// default URL. Also turns SDK failures into one-line CliErrors (no stack traces for user errors).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';

export const DEFAULT_URL = 'http://127.0.0.1:8700';

/** A failure the user can act on: printed as `hangar: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface ConnectionFlags {
  url?: string;
  apiKey?: string;
}

export interface Connection {
  url: string;
  apiKey: string;
  client: Anthropic;
}

interface ConfigFile {
  url?: string;
  api_key?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'hangar', 'config.json');
}

function readConfig(path: string): ConfigFile {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`${path} must hold a JSON object like {"url": "...", "api_key": "..."}`);
  const c = parsed as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (key !== 'url' && key !== 'api_key') throw new CliError(`${path}: unknown key "${key}" (allowed: url, api_key)`);
    if (typeof c[key] !== 'string') throw new CliError(`${path}: "${key}" must be a string`);
  }
  return c as ConfigFile;
}

/** Resolves url and key by precedence: flag > environment variable > config file > default. */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Resolved {
  const path = configPath(env);
  const file = readConfig(path);
  const pick = (flag: string | undefined, variable: string, fromFile: string | undefined): [string | undefined, Source] => {
    if (flag !== undefined) return [flag, 'flag'];
    if (env[variable]) return [env[variable], 'env'];
    if (fromFile !== undefined) return [fromFile, 'config'];
    return [undefined, 'default'];
  };
  const [url, urlSource] = pick(flags.url, 'HANGAR_URL', file.url);
  const [apiKey, apiKeySource] = pick(flags.apiKey, 'HANGAR_API_KEY', file.api_key);
  return { url: url ?? DEFAULT_URL, urlSource, apiKey, apiKeySource: apiKey === undefined ? 'none' : apiKeySource, configPath: path };
}

/** Where a setting came from: --flag, HANGAR_* variable, the config file, or the built-in default. */
export type Source = 'flag' | 'env' | 'config' | 'default' | 'none';

export interface Resolved {
  url: string;
  urlSource: Source;
  apiKey: string | undefined;
  apiKeySource: Source;
  configPath: string;
}

export function connect(flags: ConnectionFlags): Connection {
  const { url, apiKey } = resolveConnection(flags);
  if (!apiKey) throw new CliError(`an API key is needed: pass --api-key, set HANGAR_API_KEY, or run hangar login (writes ${configPath()})`, 2);
  // Retries only for idempotent-safe transport hiccups; the SDK adds an Idempotency-Key to POSTs.
  return { url, apiKey, client: new Anthropic({ baseURL: url, apiKey, maxRetries: 2, timeout: 60_000 }) };
}

/** Writes the config file (0600: it holds an API key). */
export function writeConfig(values: ConfigFile, env: NodeJS.ProcessEnv = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** The SDK's errors as one line: the envelope's type and message, or the unreachable server named. */
export function describeError(err: unknown, url?: string): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof Anthropic.APIConnectionError && !(err instanceof Anthropic.APIConnectionTimeoutError)) {
    let cause: unknown = err.cause;
    while (cause && !(cause as NodeJS.ErrnoException).code && (cause as Error).cause) cause = (cause as Error).cause;
    const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message ?? err.message;
    return new CliError(`could not reach the Hangar server at ${url ?? '?'} (${why}); start it (hangar serve) or point --url or HANGAR_URL at it`);
  }
  if (err instanceof Anthropic.APIConnectionTimeoutError) return new CliError(`the Hangar server at ${url ?? '?'} did not answer in time`);
  if (err instanceof Anthropic.APIError) {
    const body = err.error as { error?: { type?: string; message?: string }; type?: string; message?: string } | undefined;
    const inner = body?.error ?? body;
    const type = inner?.type ?? `http_${err.status ?? 'error'}`;
    const message = inner?.message ?? err.message;
    return new CliError(`${type}: ${message}${err.status ? ` (HTTP ${err.status})` : ''}`);
  }
  return undefined;
}
