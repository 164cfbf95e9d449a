// Test kit for the packaging tests: runs the documented launch commands (`npm start`, `npm run
// hangar -- worker`, `npx hangar serve`) as real processes the way a user types them, finds their
// node children, checks ports, fetches the engines' minimum Node from the registry, and refuses a
// missing or stale `dist/` build with the command that fixes it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEPT_LINES = 300;

/** Throws (never skips) when `dist/` is missing or older than a file under `src/`. */
export function requireBuild(): void {
  const built = join(REPO_ROOT, 'dist', 'server', 'main.js');
  const fix = 'run `npm run build` (`npm ci`, `npm install` and `npm test` build it)';
  if (!existsSync(built)) throw new Error(`dist/ is not built: ${fix}`);
  const builtAt = statSync(built).mtimeMs;
  const stale = newestUnder(join(REPO_ROOT, 'src'));
  if (stale.mtimeMs > builtAt + 1000) throw new Error(`dist/ is older than ${stale.path}: ${fix}`);
}

function newestUnder(dir: string): { path: string; mtimeMs: number } {
  let best = { path: dir, mtimeMs: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const cand = e.isDirectory() ? newestUnder(p) : { path: p, mtimeMs: statSync(p).mtimeMs };
    if (cand.mtimeMs > best.mtimeMs) best = cand;
  }
  return best;
}

/** The lowest version `engines.node` admits, e.g. "22.13.0" from "^22.13.0 || >=24". */
export function enginesMinimum(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const m = /^\^?(?:>=)?(\d+\.\d+\.\d+)/.exec(pkg.engines.node.trim());
  if (!m) throw new Error(`cannot read a minimum from engines.node "${pkg.engines.node}"`);
  return m[1];
}

/**
 * The official Node binary of `version` for this machine, from the registry package
 * node-linux-<arch> (fetched once with `npm pack` through the npm cache, then kept under
 * node_modules/.cache). A failed fetch throws: CI must not silently skip the minimum-version check.
 */
export function officialNode(version: string): string {
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : undefined;
  if (process.platform !== 'linux' || !arch) throw new Error(`no node-linux-* package for ${process.platform}/${process.arch}`);
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'hangar-node', `${version}-${arch}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const out = execFileSync('npm', ['pack', '--silent', '--prefer-offline', `node-linux-${arch}@${version}`], { cwd: tmp, encoding: 'utf8', timeout: 180_000 });
  execFileSync('tar', ['-xzf', out.trim().split('\n').pop()!, 'package/bin/node'], { cwd: tmp, timeout: 60_000 });
  // Renamed into place whole, so a parallel test never runs a half-extracted binary.
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another test file fetched it at the same time: use theirs.
    if (!existsSync(bin)) throw err;
  }
  rmSync(tmp, { recursive: true, force: true });
  return bin;
}

/** Picks a currently free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port any more (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** All descendants of `pid` (children first), from /proc. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  let kids: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (text) kids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    kids = [];
  }
  for (const k of kids) out.push(k, ...descendants(k));
  return out;
}

export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET <url>/health, or undefined while nothing answers. */
export async function health(url: string): Promise<unknown> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

export interface Launched {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  waitForLog(needle: string, timeoutMs?: number): Promise<void>;
  /** SIGKILLs the launcher's whole process group (cleanup after a failed test). */
  killGroup(): void;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Spawns `command args` as its own process group (as a shell job would be), with `env` replacing
 * every HANGAR_* / ANTHROPIC_* variable of this process.
 */
export function launch(command: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Launched {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_') && !k.startsWith('npm_')));
  const child = spawn(command, args, { cwd: opts.cwd, env: { ...inherited, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  const lines: string[] = [];
  const watchers = new Set<{ needle: string; resolve: () => void }>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  for (const [stream, tag] of [[child.stdout!, '[out]'], [child.stderr!, '[err]']] as const) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(`${tag} ${line}`);
        if (lines.length > KEPT_LINES) lines.shift();
        for (const w of [...watchers]) if (line.includes(w.needle)) {
          watchers.delete(w);
          w.resolve();
        }
      }
    });
  }
  const output = () => lines.join('\n');
  return {
    pid: child.pid!,
    exited,
    output,
    waitForLog(needle, timeoutMs = 30_000) {
      if (lines.some((l) => l.includes(needle))) return Promise.resolve();
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`"${command} ${args.join(' ')}" did not log "${needle}" within ${timeoutMs} ms\n${output()}`)), timeoutMs);
        watchers.add({ needle, resolve: () => { clearTimeout(timer); res(); } });
      });
    },
    killGroup() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      live.delete(child);
    },
  };
}
