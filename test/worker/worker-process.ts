// Test kit: runs `hangar worker` (src/cli/main.ts) as a real child process, so a test can kill it
// at any instant like a crashed machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEPT_LINES = 400;

export interface WorkerProcess {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
  /** Resolves when a log line contains `needle`. */
  waitForLog(needle: string, timeoutMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Node ≥ 22 runs .ts natively: the current runtime when it qualifies, else the pinned one. */
function nodeBinary(): string {
  return Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : join(REPO_ROOT, 'node_modules', '.bin', 'node');
}

export function startWorkerProcess(opts: { url: string; environmentId: string; environmentKey: string; dataDir: string; args?: string[] }): WorkerProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
  const child = spawn(nodeBinary(), [
    '--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'worker',
    '--environment', opts.environmentId, '--url', opts.url, '--data-dir', opts.dataDir, ...(opts.args ?? []),
  ], { cwd: REPO_ROOT, env: { ...inherited, HANGAR_ENVIRONMENT_KEY: opts.environmentKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  const watchers = new Set<{ needle: string; resolve: () => void }>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      res({ code, signal });
    });
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
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    waitForLog(needle, timeoutMs = 20_000) {
      if (lines.some((l) => l.includes(needle))) return Promise.resolve();
      return new Promise((res, rej) => {
        const w = { needle, resolve: () => { clearTimeout(timer); res(); } };
        const timer = setTimeout(() => {
          watchers.delete(w);
          rej(new Error(`worker did not log "${needle}" within ${timeoutMs} ms\n${output()}`));
        }, timeoutMs);
        watchers.add(w);
        void exited.then(({ code, signal }) => {
          if (!watchers.has(w)) return;
          watchers.delete(w);
          clearTimeout(timer);
          rej(new Error(`worker exited (code ${code}, signal ${signal}) before logging "${needle}"\n${output()}`));
        });
      });
    },
  };
}
