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

  readonly child: ChildProcess;

  constructor(child: ChildProcess) {
    this.child = child;
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

/**
 * A plain HTTP forwarder in front of Hangar that holds back requests matching `delay` for
 * `delayMs` (everything else, SSE included, streams straight through): makes "the interrupt has
 * not landed yet" a state a test can be in on purpose.
 */
export async function startDelayingProxy(target: string, delay: (method: string, path: string, body: string) => boolean, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = () => {
        const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          res.flushHeaders(); // an SSE stream's headers come before its first event
          r.pipe(res);
        });
        out.on('error', () => res.destroy());
        res.on('close', () => out.destroy());
        out.end(body);
      };
      if (delay(req.method ?? '', req.url ?? '', body.toString('utf8'))) setTimeout(forward, delayMs);
      else forward();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
