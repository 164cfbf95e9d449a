// Escape attempts against the bubblewrap sandbox. Each one must fail inside the sandbox, and each
// assertion checks the host side too where it can (the host file not written, the host server not
// contacted, no sandbox process left on the host, the cgroup counters within the limits).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BwrapRuntime } from '../../src/adapters/sandbox-bwrap/bwrap-runtime.ts';
import type { SessionCgroup } from '../../src/adapters/sandbox-bwrap/cgroups.ts';
import { bwrapFixture, type BwrapFixture } from './bwrap-fixture.ts';
import { stubEgress } from './stub-egress.ts';

const probe = bwrapFixture();
const skip = probe.unavailable !== undefined;
// Limits this host cannot enforce must at least be reported (they are on /readyz); the limit tests
// then check the report instead of the limit, and never silently pass.
const limitWarnings = skip ? [] : probe.provider.limitWarnings();
const unenforced = (limit: 'memory' | 'pids' | 'cpu') => limitWarnings.find((w) => w.startsWith(`sandbox ${limit} limit is NOT enforced`));
await probe.cleanup();

const opts = (extra: { timeoutMs?: number; signal?: AbortSignal; maxOutputBytes?: number } = {}) => ({
  timeoutMs: 10_000, maxOutputBytes: 64 * 1024, signal: new AbortController().signal, ...extra,
});
const unique = () => randomBytes(6).toString('hex');

function pgrep(pattern: string): string[] {
  const res = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return res.stdout.split('\n').filter(Boolean).filter((pid) => {
    // zombies (already dead, waiting for the host's init to reap them) are not running processes
    try {
      return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

describe.skipIf(skip)('bubblewrap sandbox escapes', () => {
  let fx: BwrapFixture;
  let rt: BwrapRuntime;
  const sh = (command: string, extra: Parameters<typeof opts>[0] = {}) => rt.shell(command, opts(extra));

  beforeAll(async () => {
    fx = bwrapFixture();
    rt = (await fx.provision()).runtime;
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it('runs as uid 1000 with no capabilities, no new privileges and no nested user namespaces', async () => {
    const res = await sh('id -u; id -g; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status');
    expect(res.output.split('\n').slice(0, 2)).toEqual(['1000', '1000']);
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(res.output).toMatch(new RegExp(`^${cap}:\\t0{16}$`, 'm'));
    expect(res.output).toMatch(/^CapEff:\t0{16}$/m);
    expect(res.output).toMatch(/^CapBnd:\t0{16}$/m);
    expect(res.output).toMatch(/^NoNewPrivs:\t1$/m);
    expect((await sh('unshare -r true')).exitCode).not.toBe(0);
  });

  it('inherits no descriptor from the host beyond its stdio', async () => {
    const res = await rt.exec(['sh', '-c', 'ls /proc/$$/fd'], opts());
    expect(res.stdout.toString().trim().split('\n').sort()).toEqual(['0', '1', '2']);
  });

  it('cannot read /etc/shadow or any host secret in /etc', async () => {
    const res = await sh('cat /etc/shadow');
    expect(res.exitCode).not.toBe(0);
    expect(res.output).toMatch(/No such file/);
    const exec = await rt.exec(['cat', '/etc/shadow'], opts());
    expect(exec.exitCode).not.toBe(0);
    const listing = (await sh('ls -A /etc')).output.split('\n');
    for (const secret of ['shadow', 'gshadow', 'sudoers', 'ssh', 'npmrc', 'pip.conf', 'machine-id']) expect(listing).not.toContain(secret);
    // The passwd the sandbox sees is the generated one, not the host's.
    expect((await sh('cat /etc/passwd')).output).not.toContain(readFileSync('/etc/passwd', 'utf8').split('\n')[1]);
  });

  it('cannot write outside the workspace; its /tmp is private', async () => {
    const marker = `hangar-escape-${unique()}`;
    for (const target of [`/usr/${marker}`, `/etc/${marker}`, `/${marker}`, `/bin/${marker}`, `/proc/${marker}`]) {
      const res = await sh(`echo x > ${target}`);
      expect(res.exitCode, target).not.toBe(0);
    }
    expect((await sh(`echo inside > /tmp/${marker} && cat /tmp/${marker}`)).output).toBe('inside\n');
    expect(existsSync(join('/tmp', marker))).toBe(false);
    expect(existsSync(join(tmpdir(), marker))).toBe(false);
    expect(existsSync(`/usr/${marker}`) || existsSync(`/etc/${marker}`) || existsSync(`/${marker}`)).toBe(false);
    // The workspace is writable, as uid 1000 inside and as the unprivileged host user outside.
    expect((await sh(`echo ok > ${marker} && stat -c %u:%g ${marker}`)).output).toBe('1000:1000\n');
  }, 20_000);

  it('cannot remount a read-only bind writable, even from a nested namespace', async () => {
    expect((await sh('mount -o remount,rw /usr')).exitCode).not.toBe(0);
    expect((await sh('mount -o remount,rw /')).exitCode).not.toBe(0);
    expect((await sh('unshare -rm sh -c "mount -o remount,rw /usr"')).exitCode).not.toBe(0);
    expect((await sh('touch /usr/hangar-remount-check')).exitCode).not.toBe(0);
  });

  it('sees only its own processes, not the host', async () => {
    const marker = `3600.${Date.now() % 100000}${Math.floor(Math.random() * 1000)}`;
    const host: ChildProcess = spawn('sleep', [marker], { stdio: 'ignore' });
    try {
      await sleep(50);
      expect(pgrep(`sleep ${marker}`).length).toBe(1);
      const ps = await sh('ps -eo pid,args --no-headers');
      expect(ps.output).not.toContain(marker);
      const pids = (await sh('ls /proc | grep -E "^[0-9]+$"')).output.trim().split('\n').map(Number);
      expect(pids.length).toBeLessThan(10);
      expect(Math.max(...pids)).toBeLessThan(100);
      expect((await sh(`grep -l -a ${marker} /proc/[0-9]*/cmdline`)).output).toBe('');
      // pid 1 is bwrap's reaper, whose options came through a pipe: no host path in its argv
      expect((await sh('tr "\\0" " " < /proc/1/cmdline')).output).toMatch(/^bwrap --args \d+ -- /);
      expect((await sh(`kill -9 ${host.pid}`)).exitCode).not.toBe(0);
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('cannot reach a server listening on the host loopback', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.end('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      // Sanity check: the host itself can reach it.
      const greeting = await new Promise<string>((resolve, reject) => {
        const c = connect(port, '127.0.0.1');
        c.on('data', (d) => resolve(d.toString()));
        c.on('error', reject);
      });
      expect(greeting).toBe('hello from the host\n');
      expect(connections).toBe(1);
      connections = 0;
      const curl = await sh(`curl -sS --max-time 2 http://127.0.0.1:${port}/`);
      expect(curl.exitCode).not.toBe(0);
      const tcp = await sh(`timeout 2 bash -c 'echo hi > /dev/tcp/127.0.0.1/${port}'`);
      expect(tcp.exitCode).not.toBe(0);
      expect(connections).toBe(0);
      // Only a loopback interface exists inside.
      const ifaces = (await sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")).output.trim().split('\n');
      expect(ifaces).toEqual(['lo']);
    } finally {
      server.close();
    }
  });

  it("cannot see or reach another session's workspace", async () => {
    const other = await fx.provision();
    const marker = `other-session-${unique()}`;
    expect((await other.runtime.shell(`echo secret > ${marker}`, opts())).exitCode).toBe(0);
    expect(existsSync(join(other.spec.workspaceDir, marker))).toBe(true);
    expect((await sh(`cat ${other.spec.workspaceDir}/${marker}`)).exitCode).not.toBe(0);
    expect((await sh(`ls ${join(fx.root, 'sandboxes')}`)).exitCode).not.toBe(0);
    expect((await sh(`find / -xdev -name '${marker}' 2>/dev/null; find /workspace /tmp /mnt -name '${marker}' 2>/dev/null`)).output).toBe('');
    await other.release();
  });

  it('a user interrupt kills every process the command started', async () => {
    const marker = `100.${Date.now() % 100000}${Math.floor(Math.random() * 1000)}`;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const res = await sh(`sleep ${marker} & sleep ${marker} & wait`, { signal: ac.signal });
    expect(res).toMatchObject({ exitCode: null, timedOut: false });
    expect(pgrep(`sleep ${marker}`)).toEqual([]);
    // exec too
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 200);
    const ex = await rt.exec(['sh', '-c', `sleep ${marker} & sleep ${marker} & wait`], opts({ signal: ac2.signal }));
    expect(ex.exitCode).toBeNull();
    expect(pgrep(`sleep ${marker}`)).toEqual([]);
    expect((await sh('echo still here')).output).toBe('still here\n');
  });

  it('release kills background processes and removes the cgroups', async () => {
    const session = await fx.provision();
    const marker = `200.${Date.now() % 100000}${Math.floor(Math.random() * 1000)}`;
    await session.runtime.shell(`(sleep ${marker} &) ; sleep ${marker} > /dev/null 2>&1 &`, opts());
    // released below while it runs: it then rejects (the sandbox is gone), which is the contract
    void session.runtime.exec(['sleep', marker], opts({ timeoutMs: 60_000 })).catch(() => {});
    await sleep(100);
    // two in the shell, the exec'd one (and its bwrap processes, whose argv names it too)
    expect(pgrep(`sleep ${marker}`).length).toBeGreaterThanOrEqual(3);
    const dirs = session.cgroup ? cgroupDirs(session.cgroup) : [];
    await session.release();
    expect(session.runtime.alive).toBe(false);
    expect(pgrep(`sleep ${marker}`)).toEqual([]);
    for (const dir of dirs) expect(existsSync(dir), dir).toBe(false);
  });

  it('is no longer alive when its shell dies on its own', async () => {
    const session = await fx.provision();
    expect((await session.runtime.shell('echo up', opts())).output).toBe('up\n');
    expect(session.runtime.alive).toBe(true);
    // Kill the sandbox's processes from the host, as an OOM kill or a crash would.
    const pids = [...(session.cgroup?.pids() ?? []), ...session.runtime.hostPids()];
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) spawnSync('kill', ['-9', String(pid)]);
    for (let i = 0; i < 100 && session.runtime.alive; i++) await sleep(20);
    expect(session.runtime.alive).toBe(false);
    await session.release();
  });

  it('reaches the network only through the egress proxy socket', async () => {
    const egress = stubEgress();
    const netFx = bwrapFixture({ startEgressProxy: egress.start });
    try {
      const session = await netFx.provision({ network: { type: 'proxy', allowedHosts: ['example.test'] } });
      const res = await session.runtime.shell('curl -sS --max-time 5 http://example.test/hello', opts());
      expect(res.output).toBe('stub-egress GET http://example.test/hello\n');
      expect(egress.requests).toEqual([{ method: 'GET', url: 'http://example.test/hello', policy: { allowedHosts: ['example.test'] } }]);
      // The proxy variables are the only way out: bypassing them finds no network.
      const direct = await session.runtime.shell('curl -sS --noproxy "*" --max-time 2 http://1.1.1.1/', opts());
      expect(direct.exitCode).not.toBe(0);
      // exec gets the forwarder too
      const viaExec = await session.runtime.exec(['curl', '-sS', '--max-time', '5', 'http://example.test/exec'], opts());
      expect(viaExec.stdout.toString()).toBe('stub-egress GET http://example.test/exec\n');
      const socket = readdirSocket(session.spec.sessionId, netFx.root);
      await session.release();
      expect(existsSync(socket)).toBe(false);
    } finally {
      await netFx.cleanup();
    }
  });

  describe('resource limits (enforced, or reported as not enforced)', () => {
    let limited: Awaited<ReturnType<BwrapFixture['provision']>>;
    beforeAll(async () => {
      limited = await fx.provision({ limits: { pids: 64, memoryBytes: 64 * 1024 * 1024, cpus: 0.25 } });
    });

    it('caps the number of processes and survives a fork bomb', async () => {
      if (unenforced('pids')) {
        expect(unenforced('pids')).toMatch(/NOT enforced: \S/);
        return;
      }
      const cg = limited.cgroup as SessionCgroup;
      expect(cg.stat('pids.max')).toBe('64');
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, Number(cg.stat('pids.current') ?? 0));
      }, 20);
      const res = await limited.runtime.shell('bomb() { bomb | bomb; }; bomb', opts({ timeoutMs: 2500 }));
      clearInterval(sampler);
      expect(res.timedOut).toBe(true);
      expect(peak).toBeGreaterThanOrEqual(50); // it really ran into the limit...
      expect(peak).toBeLessThanOrEqual(64); // ...and the limit held
      // The host is unharmed and the sandbox recovers.
      expect(spawnSync('true').status).toBe(0);
      expect((await limited.runtime.shell('echo recovered', opts())).output).toBe('recovered\n');
      // Plain forks fail with EAGAIN at the limit instead of taking the host's pids.
      const forks = await limited.runtime.exec(['python3', '-c', [
        'import os, time',
        'ok = failed = 0',
        'for i in range(100):',
        '    try:',
        '        pid = os.fork()',
        '    except OSError:',
        '        failed += 1',
        '        continue',
        '    if pid == 0:',
        '        time.sleep(5)',
        '        os._exit(0)',
        '    ok += 1',
        'print(ok, failed)',
      ].join('\n')], opts());
      const [ok, failed] = forks.stdout.toString().trim().split(' ').map(Number);
      expect(ok).toBeLessThan(64);
      expect(ok).toBeGreaterThan(20);
      expect(failed).toBe(100 - ok);
    }, 30_000);

    it('kills a memory hog and keeps the limit', async () => {
      if (unenforced('memory')) {
        expect(unenforced('memory')).toMatch(/NOT enforced: \S/);
        return;
      }
      const cg = limited.cgroup as SessionCgroup;
      const res = await limited.runtime.exec(['python3', '-c', 'b = b"x" * (512 * 1024 * 1024); print("survived")'], opts());
      expect(res.stdout.toString()).not.toContain('survived');
      expect(res.exitCode).toBe(137);
      const max = Number(cg.stat('memory.max_usage_in_bytes') ?? cg.stat('memory.peak') ?? 0);
      if (max) expect(max).toBeLessThanOrEqual(64 * 1024 * 1024);
      expect((await limited.runtime.shell('echo fine', opts())).output).toBe('fine\n');
    }, 30_000);

    it('throttles the cpu to its share', async () => {
      if (unenforced('cpu')) {
        expect(unenforced('cpu')).toMatch(/NOT enforced: \S/);
        return;
      }
      const res = await limited.runtime.exec(['python3', '-c', [
        'import os, time',
        't = time.time()',
        'while time.time() - t < 1.0: pass',
        'u = os.times()',
        'print(u.user + u.system)',
      ].join('\n')], opts());
      expect(res.exitCode).toBe(0);
      const cpuSeconds = Number(res.stdout.toString());
      expect(cpuSeconds).toBeGreaterThan(0.05);
      expect(cpuSeconds).toBeLessThan(0.5);
    }, 30_000);
  });
});

function cgroupDirs(cg: SessionCgroup): string[] {
  return cg.procsFiles.map((f) => join(f, '..'));
}

function readdirSocket(sessionId: string, root: string): string {
  return join(root, 'state', sessionId, 'egress.sock');
}
