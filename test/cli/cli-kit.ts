// CLI test kit: a real Hangar (test/kit/hangar.ts) on the scripted fake upstream, and the built
// `hangar` command (dist/cli/main.js, so `npm run build` first) spawned against it — with piped
// stdin, or inside a pseudo-terminal made by util-linux `script` — plus helpers that wait for output.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { serverNode } from '../kit/child-server.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const MODEL = 'claude-sonnet-4-6';

export interface CliRig {
  h: TestHangar;
  up: FakeUpstream;
  /** An empty XDG_CONFIG_HOME, so no real config file leaks in. */
  configHome: string;
  /** Variables that point the CLI at this rig. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startCliRig(): Promise<CliRig> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const up = await startFakeUpstream();
  const h = await startHangar({ upstreamUrl: up.url });
  const configHome = mkdtempSync(join(tmpdir(), 'hangar-cli-config-'));
  return {
    h, up, configHome,
    env: { HANGAR_URL: h.url, HANGAR_API_KEY: h.apiKey, XDG_CONFIG_HOME: configHome },
    async close() {
      await h.close();
      await up.close();
      rmSync(configHome, { recursive: true, force: true });
    },
  };
}

/** The parent's environment without anything Hangar- or terminal-specific that could leak in. */
function baseEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_') && k !== 'XDG_CONFIG_HOME' && !k.startsWith('npm_')) as Array<[string, string]>);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `hangar` child whose output can be awaited piece by piece. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((res) => child.on('close', (code, signal) => {
      this.notify();
      res({ code, signal, stdout: this.stdout, stderr: this.stderr });
    }));
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves when stdout+stderr (together) match; rejects after timeoutMs with what was seen. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    return new Promise((res, rej) => {
      const check = () => {
        if (pattern.test(this.stdout + this.stderr)) {
          this.listeners.delete(check);
          clearTimeout(timer);
          res();
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        rej(new Error(`timed out waiting for ${pattern}; stdout=${JSON.stringify(this.stdout)} stderr=${JSON.stringify(this.stderr)}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }
}

/** Spawns the built command with piped stdio. */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(serverNode(), [CLI, ...args], { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  return new CliProcess(child);
}

/** Runs the built command to completion, with optional stdin; kills it after timeoutMs. */
export async function cli(args: string[], env: Record<string, string> = {}, stdin?: string, timeoutMs = 30_000): Promise<CliResult> {
  const p = spawnCli(args, env);
  if (stdin !== undefined) p.write(stdin);
  p.child.stdin!.end();
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(timer);
  if (r.signal === 'SIGKILL') throw new Error(`hangar ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout=${r.stdout} stderr=${r.stderr}`);
  return r;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Spawns the built command inside a pseudo-terminal (util-linux `script`), so stdin and stdout are
 * TTYs: what a person at a terminal gets. Output (both streams) arrives on stdout; keystrokes go to stdin.
 */
export function spawnCliInPty(args: string[], env: Record<string, string> = {}): CliProcess {
  const command = [serverNode(), CLI, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', `stty cols 200; exec ${command}`, '/dev/null'], { cwd: ROOT, env: { ...baseEnv(), ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  return new CliProcess(child);
}

export async function waitUntil<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
