// Start-up failures an operator can fix: each spawns the real entry point (src/server/main.ts, as
// `npm start` does) and expects a non-zero exit with exactly one `hangar: …` line on stderr that
// names the problem and the fix, and no stack trace. Plus the start-up warnings that do not stop it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort, serverNode, startChildServer } from '../kit/child-server.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const API_KEY = `sk-start-${randomBytes(16).toString('hex')}`;

let root: string;
let busy: Server;
let busyPort: number;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the server entry point with `env` (optionally under a wrapper command) until it exits. */
function runServer(env: Record<string, string>, wrapper: string[] = []): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
  const argv = [...wrapper, serverNode(), '--disable-warning=ExperimentalWarning', 'src/server/main.ts'];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...inherited, HANGAR_HOST: '127.0.0.1', HANGAR_PORT: '0', HANGAR_API_KEY: API_KEY, HANGAR_DATA_DIR: join(root, 'ok'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((res, rej) => {
    // A case that starts by mistake must not hang the suite.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`the server did not exit within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hangar-start-'));
  // The unprivileged sandbox user must be able to traverse to the data dirs below (mkdtemp makes 0700).
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'a-file'), 'not a directory');
  mkdirSync(join(root, 'key-is-dir', 'master.key'), { recursive: true });
  mkdirSync(join(root, 'read-only'));
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => busy?.close(r));
  rmSync(root, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

interface Case {
  name: string;
  env: () => Record<string, string>;
  /** Wraps the command (e.g. to make the data dir read-only). */
  wrapper?: () => string[];
  message: () => RegExp;
}

const cases: Case[] = [
  {
    name: 'port in use: names the port and the process holding it',
    env: () => ({ HANGAR_PORT: String(busyPort) }),
    message: () => new RegExp(`^hangar: port ${busyPort} on 127\\.0\\.0\\.1 is already in use by pid ${process.pid} \\(.+\\); stop that process or set HANGAR_PORT to a free port$`),
  },
  {
    name: 'a host name that does not resolve',
    env: () => ({ HANGAR_HOST: 'not-a-host' }),
    message: () => /^hangar: HANGAR_HOST "not-a-host" is not a known host name \(\w+\); set it to an address of this machine, e\.g\. 127\.0\.0\.1 or 0\.0\.0\.0$/,
  },
  {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to this machine, and binding sends no traffic.
    name: 'an address that is not this machine\'s',
    env: () => ({ HANGAR_HOST: '192.0.2.1' }),
    message: () => /^hangar: HANGAR_HOST "192\.0\.2\.1" is not an address of this machine; set it to 127\.0\.0\.1, 0\.0\.0\.0/,
  },
  {
    name: 'a data dir that cannot be created',
    env: () => ({ HANGAR_DATA_DIR: join(root, 'a-file', 'data') }),
    message: () => new RegExp(`^hangar: cannot create the data directory ${join(root, 'a-file', 'data')} \\(ENOTDIR\\); create it yourself or set HANGAR_DATA_DIR to a writable directory$`),
  },
  {
    name: 'a data dir that is a file',
    env: () => ({ HANGAR_DATA_DIR: join(root, 'a-file') }),
    message: () => new RegExp(`^hangar: the data directory ${join(root, 'a-file')} exists but is not a directory`),
  },
  {
    name: 'a data dir that is not writable',
    env: () => ({ HANGAR_DATA_DIR: join(root, 'read-only') }),
    // Root writes anywhere, so as root the directory is made read-only by a private bind mount.
    wrapper: () => {
      const dir = join(root, 'read-only');
      if (isRoot) return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir];
      chmodSync(dir, 0o555);
      return [];
    },
    message: () => new RegExp(`^hangar: the data directory ${join(root, 'read-only')} is not writable \\((EROFS|EACCES)\\); give the user running Hangar write access`),
  },
  {
    name: 'a data dir on /proc',
    env: () => ({ HANGAR_DATA_DIR: '/proc/hangar-data' }),
    message: () => /^hangar: the data directory \/proc\/hangar-data is on a proc filesystem, which cannot hold data; set HANGAR_DATA_DIR to a directory on a disk/,
  },
  {
    name: 'a data dir on /sys',
    env: () => ({ HANGAR_DATA_DIR: '/sys/hangar-data' }),
    message: () => /^hangar: the data directory \/sys\/hangar-data is on a sysfs filesystem/,
  },
  {
    // Root reads any file whatever its mode; a directory in the key file's place is unreadable for anyone.
    name: 'an unreadable master key file',
    env: () => ({ HANGAR_DATA_DIR: join(root, 'key-is-dir') }),
    message: () => new RegExp(`^hangar: cannot read the master key file ${join(root, 'key-is-dir', 'master.key')} \\(EISDIR\\); make it a file readable by the user running Hangar \\(mode 0600\\) or set HANGAR_MASTER_KEY$`),
  },
  {
    name: 'a SearXNG URL that is not http(s)',
    env: () => ({ HANGAR_WEB_SEARCH_SEARXNG_URL: 'ftp://search.example/' }),
    message: () => /^hangar: invalid configuration: HANGAR_WEB_SEARCH_SEARXNG_URL: must be an http\(s\) URL of a SearXNG instance/,
  },
  {
    name: 'an unknown log format',
    env: () => ({ HANGAR_LOG_FORMAT: 'xml' }),
    message: () => /^hangar: invalid configuration: HANGAR_LOG_FORMAT: must be "json" \(the default\) or "pretty"$/,
  },
];

describe('start-up errors are one line with the fix', () => {
  it.each(cases)('$name', async (c) => {
    const r = await runServer(c.env(), c.wrapper?.() ?? []);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(c.message());
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).not.toContain('listening');
  });
});

describe('start-up that goes on', () => {
  let up: FakeUpstream;
  beforeAll(async () => {
    up = await startFakeUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });

  it('creates a missing data dir (and its parents)', async () => {
    const dataDir = join(root, 'new', 'nested', 'data');
    const child = await startChildServer({ dataDir, apiKey: API_KEY, upstreamUrl: up.url });
    try {
      expect(existsSync(join(dataDir, 'hangar.db'))).toBe(true);
    } finally {
      await child.stop();
    }
  });

  it('warns, with the install command, when socat is missing', async () => {
    // A PATH with every command of this machine except socat.
    const bin = join(root, 'bin-without-socat');
    mkdirSync(bin);
    for (const dir of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (name === 'socat' || existsSync(join(bin, name))) continue;
        symlinkSync(join(dir, name), join(bin, name));
      }
    }
    const dataDir = join(root, 'socat');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const child = await startChildServer({ dataDir, apiKey: API_KEY, upstreamUrl: up.url, env: { PATH: bin } });
    try {
      expect(child.output()).toMatch(/\[out\] {3}sandbox {4}bwrap; tools will work/);
      expect(child.output()).toMatch(/\[out\] {3}warning: socat is not installed: sandboxes with networking \(limited or unrestricted\) will fail; install it with: apt-get install socat/);
      expect(child.output()).toMatch(/"level":40.*socat is not installed/);
    } finally {
      await child.stop();
    }
  });

  it('HANGAR_LOG_FORMAT=pretty writes human-readable lines instead of JSON', async () => {
    const port = await freePort();
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_')));
    const child = spawn(serverNode(), ['--disable-warning=ExperimentalWarning', 'src/server/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...inherited, HANGAR_PORT: String(port), HANGAR_API_KEY: API_KEY, HANGAR_DATA_DIR: join(root, 'pretty'), HANGAR_LOG_FORMAT: 'pretty', ANTHROPIC_API_KEY: 'sk-upstream-test', ANTHROPIC_BASE_URL: up.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      for (let i = 0; i < 400 && !/INFO.*hangar listening/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/INFO.*hangar listening/);
      expect(out).toMatch(/Hangar \d+\.\d+\.\d+/);
      expect(out).not.toMatch(/^\{"level"/m);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
