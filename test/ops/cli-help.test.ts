// `hangar … --help` prints help and exits 0 without doing anything (`serve --help` starts no
// server); `env-key` against a server that is not there names the URL it tried; an idle
// `hangar worker` does not log every poll at info.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serverNode } from '../kit/child-server.ts';
import { startWorkRig, sleep, type WorkRig } from '../worker/work-kit.ts';
import { startWorkerProcess } from '../worker/worker-process.ts';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function hangar(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
  try {
    // A `serve --help` that started the server would never exit: the timeout makes that a failure.
    const { stdout, stderr } = await run(serverNode(), ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...inherited, ...env }, timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string; killed?: boolean };
    if (e.killed) throw new Error(`hangar ${args.join(' ')} did not exit within 15 s`);
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('hangar --help', () => {
  const cases: Array<{ args: string[]; usage: string; mentions: string[] }> = [
    { args: ['--help'], usage: 'Usage: hangar [options] [command]', mentions: ['serve', 'env-key', 'worker'] },
    { args: ['help'], usage: 'Usage: hangar [options] [command]', mentions: ['serve', 'env-key', 'worker'] },
    { args: ['serve', '--help'], usage: 'Usage: hangar serve', mentions: ['HANGAR_PORT', 'HANGAR_LOG_FORMAT'] },
    { args: ['help', 'serve'], usage: 'Usage: hangar serve', mentions: ['HANGAR_DATA_DIR'] },
    { args: ['worker', '--help'], usage: 'Usage: hangar worker', mentions: ['--environment', '--url', '--key', '--data-dir', '--sandbox', '--network', '--memory-mb', '--pids', '--cpus', '--max-idle-ms', '--worker-id', '--log-level'] },
    { args: ['env-key', '--help'], usage: 'Usage: hangar env-key', mentions: ['create', 'list', 'revoke'] },
    { args: ['env-key', 'create', '--help'], usage: 'Usage: hangar env-key create', mentions: ['<environment_id>', '--url', '--api-key'] },
    { args: ['env-key', 'revoke', '--help'], usage: 'Usage: hangar env-key revoke', mentions: ['<environment_id>', '<key_id>'] },
  ];

  it.each(cases)('hangar $args prints help and exits 0', async ({ args, usage, mentions }) => {
    // Even with a free port configured, `serve --help` must not listen on it.
    const port = await freePort();
    const r = await hangar(args, { HANGAR_PORT: String(port) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(usage);
    for (const m of mentions) expect(r.stdout).toContain(m);
    expect(r.stdout).not.toContain('listening');
  });

  it('with no command prints the usage and exits 2', async () => {
    const r = await hangar([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: hangar [options] [command]');
  });
});

describe('hangar env-key without a server', () => {
  it('says which URL it tried and what to do', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const r = await hangar(['env-key', 'list', 'env_abc'], { HANGAR_URL: url, HANGAR_API_KEY: 'sk-some-api-key-0123456789' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`hangar: could not reach the Hangar server at ${url} (ECONNREFUSED); start it (hangar serve) or point --url or HANGAR_URL at it`);
  });
});

describe('an idle hangar worker', () => {
  let rig: WorkRig;
  let dataDir: string;
  beforeAll(async () => {
    rig = await startWorkRig();
    dataDir = mkdtempSync(join(tmpdir(), 'hangar-idle-worker-'));
    chmodSync(dataDir, 0o755);
  });
  afterAll(async () => {
    await rig?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs its polls at debug only: no info line while it waits for work', async () => {
    const w = startWorkerProcess({ url: rig.h.url, environmentId: rig.envId, environmentKey: rig.envKey, dataDir, args: ['--log-level', 'debug'] });
    try {
      await w.waitForLog('idle; polling for work');
      const lines = () => w.output().split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l.replace(/^\[(out|err)\] /, '')) as { level: number; msg: string }];
        } catch {
          return [];
        }
      });
      const startIdx = lines().findIndex((l) => l.msg === 'idle; polling for work');
      // The SDK polls every 1–3 s after an empty answer: wait for at least two more polls.
      const polls = () => lines().slice(startIdx + 1).filter((l) => /work\/poll.* succeeded with status 204/.test(l.msg));
      for (let i = 0; i < 200 && polls().length < 2; i++) await sleep(50);
      expect(polls().length).toBeGreaterThanOrEqual(2);
      for (const p of polls()) expect(p.level).toBe(20);
      const infoAfterIdle = lines().slice(startIdx + 1).filter((l) => l.level >= 30);
      expect(infoAfterIdle).toEqual([]);
    } finally {
      await w.kill('SIGTERM');
    }
  });
});
