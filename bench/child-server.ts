// Runs Hangar as a real child process (the built `dist/cli/main.js serve` or the `.ts` source
// entry) for the start-up, memory and throughput benches, and reads that child's CPU time and RSS
// from /proc. The server is then measured alone, not mixed with the client's work in one process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BUILT_ENTRY = ['dist/cli/main.js', 'serve'];
export const SOURCE_ENTRY = ['src/server/main.ts'];
export const BENCH_API_KEY = 'hk-bench-child-server-key-0123456789';
// The flags `npm start` / `npm run dev` pass (package.json).
const NODE_FLAGS = ['--enable-source-maps', '--disable-warning=ExperimentalWarning'];
/** Clock ticks per second of /proc/<pid>/stat utime/stime (`getconf CLK_TCK`, 100 on Linux). */
const CLK_TCK = 100;

/** Throws unless dist/ holds a build at least as new as every src/ file (so `npm run build` ran). */
export function requireFreshBuild(): void {
  const entry = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(entry)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.name.endsWith('.ts') && !name.name.endsWith('.d.ts')) {
        const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), p)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs) stale.push(relative(ROOT, p));
      }
    }
  };
  walk(join(ROOT, 'src'));
  if (stale.length) throw new Error(`dist/ is stale (${stale.length} src file(s) newer than their build, e.g. ${stale[0]}): run \`npm run build\` first`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** utime + stime of a process so far, in ms (/proc/<pid>/stat fields 14 and 15). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resident set size of a process, in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface ChildServer {
  child: ChildProcess;
  pid: number;
  url: string;
  dataDir: string;
  /** Wall ms from spawn to the first 200 on /health, and the child's CPU ms read at that moment. */
  startWallMs: number;
  startCpuMs: number;
  stderr(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  entry: string[];
  env?: Record<string, string>;
  /** Extra node flags before the entry (e.g. `--import` of a probe). */
  nodeFlags?: string[];
  /** Gives the child an IPC channel (for a probe that reports from inside the server). */
  ipc?: boolean;
  startTimeoutMs?: number;
}

/** Spawns a server on a free port with a fresh data dir; resolves once /health answers 200. */
export async function spawnServer(opts: SpawnOptions): Promise<ChildServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hangar-bench-child-'));
  const port = await freePort();
  // Not under npm's lifecycle variables: the server would otherwise watch its launcher (us).
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('npm_')) env[k] = v;
  Object.assign(env, {
    HANGAR_HOST: '127.0.0.1', HANGAR_PORT: String(port), HANGAR_DATA_DIR: dataDir, HANGAR_API_KEY: BENCH_API_KEY,
    ANTHROPIC_API_KEY: 'sk-upstream-bench',
  }, opts.env ?? {});
  let err = '';
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, ...(opts.nodeFlags ?? []), ...opts.entry], {
    cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])],
  });
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const pid = child.pid!;
  const deadline = t0 + (opts.startTimeoutMs ?? 30_000);
  let startWallMs = NaN;
  let startCpuMs = NaN;
  while (true) {
    if (exited) throw new Error(`server exited before answering /health: ${err.trim()}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not answer /health within ${opts.startTimeoutMs ?? 30_000} ms: ${err.trim()}`);
    }
    if ((await getStatus(port, '/health')) === 200) {
      startWallMs = performance.now() - t0;
      startCpuMs = cpuMs(pid);
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return {
    child, pid, url: `http://127.0.0.1:${port}`, dataDir, startWallMs, startCpuMs,
    stderr: () => err,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(killer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The 1-minute load average beside the core count: other processes on the box compete with the child. */
export function loadNote(): string {
  return `load average ${loadavg()[0].toFixed(2)} on ${availableParallelism()} cores`;
}

/** ms the process's main (JavaScript) thread has waited for a CPU while runnable (/proc/<pid>/schedstat field 2). */
export function runQueueWaitMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

/** Host-wide count of connections dropped because a listen queue was full (TcpExt ListenOverflows). */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(' ');
  return Number(lines[1].split(' ')[names.indexOf('ListenOverflows')]);
}
