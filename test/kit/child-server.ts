// Test kit: runs `src/server/main.ts` as a real child process (the way `npm start` does) so crash
// tests can SIGKILL it at any instant and start another one on the same data dir.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const KEPT_LINES = 300;

export interface ChildServerOptions {
  dataDir: string;
  apiKey: string;
  /** Fake upstream URL (ANTHROPIC_BASE_URL). */
  upstreamUrl: string;
  /** Listen port; a free one is picked when omitted. */
  port?: number;
  /** Extra HANGAR_* variables (e.g. HANGAR_LEASE_TTL_MS). */
  env?: Record<string, string>;
  /** The Node binary to run it with (default: the current runtime when ≥ 22, else the pinned one). */
  node?: string;
  /** The entry point, relative to the repository (default `src/server/main.ts`; `dist/server/main.js` is the build). */
  entry?: string;
}

export interface ChildServer {
  url: string;
  port: number;
  pid: number;
  /** An official SDK client pointed at this server. */
  client: Anthropic;
  /** Resolves once the process has exited, however it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Graceful stop (SIGTERM), escalating to SIGKILL when it does not exit in time. Idempotent. */
  stop(): Promise<void>;
  /** The child's recent stdout/stderr lines, for failure messages. */
  output(): string;
}

// Children still alive when the test process exits (a crashed test, a timeout) are killed here.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Picks a currently free loopback port (the OS may hand it out again, so use it promptly). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

let nodeBinary: string | undefined;

/** Node ≥ 22 to run the server with: the current runtime when it qualifies, else the pinned one. */
export function serverNode(): string {
  if (nodeBinary) return nodeBinary;
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return (nodeBinary = process.execPath);
  const pinned = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  if (!existsSync(pinned)) throw new Error(`Node ${process.versions.node} cannot run .ts files and the pinned Node is missing at ${pinned}`);
  execFileSync(pinned, ['--version']);
  return (nodeBinary = pinned);
}

export async function startChildServer(opts: ChildServerOptions): Promise<ChildServer> {
  const port = opts.port ?? (await freePort());
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')),
  );
  const child = spawn(opts.node ?? serverNode(), ['--enable-source-maps', opts.entry ?? 'src/server/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...inherited,
      HANGAR_HOST: '127.0.0.1',
      HANGAR_PORT: String(port),
      HANGAR_DATA_DIR: opts.dataDir,
      HANGAR_API_KEY: opts.apiKey,
      HANGAR_LOG_LEVEL: 'info',
      ANTHROPIC_API_KEY: 'sk-upstream-test',
      ANTHROPIC_BASE_URL: opts.upstreamUrl,
      HANGAR_RETRY_BASE_MS: '10',
      HANGAR_RETRY_MAX_MS: '40',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('failed to spawn the hangar server');

  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      res({ code, signal });
    });
  });
  let onListening: ((address: string) => void) | undefined;
  const collect = (stream: NodeJS.ReadableStream, tag: string) => {
    let partial = '';
    // Always drained, so a chatty child never blocks on a full pipe.
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(`${tag} ${line}`);
        if (lines.length > KEPT_LINES) lines.shift();
        if (onListening && line.includes('hangar listening')) {
          try {
            const rec = JSON.parse(line) as { msg?: string; address?: string };
            if (rec.msg === 'hangar listening' && rec.address) onListening(rec.address);
          } catch {
            // not a pino line
          }
        }
      }
    });
  };
  collect(child.stdout!, '[out]');
  collect(child.stderr!, '[err]');
  const output = () => lines.join('\n');

  let url: string;
  try {
    url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`hangar child ${pid} did not report listening within ${START_TIMEOUT_MS} ms\n${output()}`)), START_TIMEOUT_MS);
      onListening = (address) => {
        clearTimeout(timer);
        res(address);
      };
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`hangar child ${pid} exited before listening (code ${code}, signal ${signal})\n${output()}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    onListening = undefined;
  }

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  const client = new Anthropic({ baseURL: url, apiKey: opts.apiKey, maxRetries: 0, timeout: 20_000 });
  return { url, port, pid, client, exited, kill, stop, output };
}
