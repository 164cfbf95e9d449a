// Input and output shared by the client commands: YAML/JSON documents from a file or stdin,
// `--json` output for scripts, YAML for people, and a secret read from a file or stdin.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { CliError } from './connection.ts';

export interface Output {
  json: boolean;
  out: (text: string) => void;
}

export const stdoutOutput = (json: boolean): Output => ({ json, out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`) });

function readSource(path: string, what: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path === '-' ? 'from stdin' : path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A YAML or JSON object (JSON is YAML, so one parser reads both); `-` is stdin. */
export function readDocument(path: string): Record<string, unknown> {
  const text = readSource(path, 'file');
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (err) {
    throw new CliError(`${path === '-' ? 'stdin' : path} is neither valid YAML nor JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${path === '-' ? 'stdin' : path} must hold one object (a mapping), not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

/** A secret from a file or stdin (`-`), one trailing newline removed; never printed. */
export function readSecret(path: string): string {
  const value = readSource(path, 'the secret').replace(/\r?\n$/, '');
  if (value.length === 0) throw new CliError(`the secret in ${path === '-' ? 'stdin' : path} is empty`);
  return value;
}

/** Drops the fields the server sets, so `get` output can be edited and fed back to `update`. */
export function withoutServerFields(doc: Record<string, unknown>, keep: string[] = []): Record<string, unknown> {
  const server = ['id', 'type', 'created_at', 'updated_at', 'archived_at', 'version'];
  return Object.fromEntries(Object.entries(doc).filter(([k]) => keep.includes(k) || !server.includes(k)));
}

export function toYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 });
}

/** One object: JSON for scripts, YAML for people. */
export function printObject(o: Output, value: unknown): void {
  o.out(o.json ? JSON.stringify(value, null, 2) : toYaml(value));
}
