// The sandbox boundary as seen from the host: sandboxes run as a dedicated host uid that no account
// uses (checked at start-up), reach bind sources under a private (0700) directory, show no host
// path or session id in any command line, and cannot make Hangar create files outside their own
// workspace through a symlink planted where a file resource is mounted.
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapSandboxProvider, DEFAULT_SANDBOX_HOST_ID } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { bwrapFixture, type BwrapFixture } from './bwrap-fixture.ts';

const probe = bwrapFixture();
const skip = probe.unavailable !== undefined;
await probe.cleanup();
const isRoot = process.getuid?.() === 0;

const opts = () => ({ timeoutMs: 10_000, maxOutputBytes: 64 * 1024, signal: new AbortController().signal });

describe.skipIf(skip)('sandbox hardening', () => {
  let fx: BwrapFixture;
  beforeAll(() => {
    fx = bwrapFixture();
  });
  afterAll(async () => {
    await fx?.cleanup();
  });

  it('works from a data directory inside a 0700 directory', async () => {
    expect(statSync(fx.root).mode & 0o777).toBe(0o700);
    const { runtime } = await fx.provision();
    const res = await runtime.shell('echo written > f.txt && cat f.txt', opts());
    expect(res).toMatchObject({ exitCode: 0, output: 'written\n' });
    // The stage lives in each process's private mount namespace, never in the host's.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('hangar-stage');
  });

  it("a session's new sandbox, provisioned while its previous one is still being released, keeps its cgroup", async () => {
    // An idle release racing the next tool call: the new provisioning starts, then the release.
    // The order inside is up to timing, so the race is run a few times.
    let current = await fx.provision();
    for (let round = 0; round < 4; round++) {
      const next = fx.provision({ sessionId: current.spec.sessionId, workspaceDir: current.spec.workspaceDir, outputsDir: current.spec.outputsDir });
      const releasing = current.release();
      current = await next;
      await releasing;
      expect((await current.runtime.shell('echo alive', opts())).output, `round ${round}`).toBe('alive\n');
      expect((await current.runtime.exec(['true'], opts())).exitCode, `round ${round}`).toBe(0);
      for (const file of current.cgroup?.procsFiles ?? []) expect(existsSync(file), file).toBe(true);
    }
  }, 30_000);

  it('stages host paths with spaces, tabs and backslashes', async () => {
    const dir = join(fx.root, 'odd name\twith \\ and #');
    const { runtime, spec } = await fx.provision({ workspaceDir: join(dir, 'workspace'), outputsDir: join(dir, 'out puts') });
    expect((await runtime.shell('echo odd > f && cat f && echo o > /mnt/session/outputs/o', opts())).output).toBe('odd\n');
    expect(readFileSync(join(spec.workspaceDir, 'f'), 'utf8')).toBe('odd\n');
    expect(readFileSync(join(spec.outputsDir, 'o'), 'utf8')).toBe('o\n');
  });

  it.skipIf(!isRoot)('runs sandboxed processes as the dedicated host uid, not an account', async () => {
    expect(fx.provider.sandboxUser).toEqual({ uid: DEFAULT_SANDBOX_HOST_ID, gid: DEFAULT_SANDBOX_HOST_ID });
    const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[2]);
    expect(passwd).not.toContain(String(DEFAULT_SANDBOX_HOST_ID));
    const { runtime, spec } = await fx.provision();
    // A file made inside is owned by the dedicated uid on the host (uid 1000 only inside).
    expect((await runtime.shell('id -u; echo x > owned', opts())).output).toBe('1000\n');
    const st = statSync(join(spec.workspaceDir, 'owned'));
    expect([st.uid, st.gid]).toEqual([DEFAULT_SANDBOX_HOST_ID, DEFAULT_SANDBOX_HOST_ID]);
    // And the sandbox's processes, seen from the host, run as it.
    const pids = runtime.hostPids();
    expect(pids.length).toBeGreaterThan(0);
    const uids = pids.map((pid) => /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    expect(uids).toEqual(pids.map(() => String(DEFAULT_SANDBOX_HOST_ID)));
  });

  it.skipIf(!isRoot)('refuses a sandbox uid or gid that belongs to an account or group', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-accounts-'));
    try {
      writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:4242:4242::/home/alice:/bin/sh\n');
      writeFileSync(join(dir, 'group'), 'root:x:0:\nstaff:x:5151:\n');
      const withUid = (uid: number, gid: number) => new BwrapSandboxProvider({
        stateDir: join(dir, `state-${uid}-${gid}`), hostUser: { uid, gid }, passwdFile: join(dir, 'passwd'), groupFile: join(dir, 'group'),
      }).unavailableReason();
      expect(withUid(4242, 7777)).toMatch(/sandbox uid 4242 belongs to the account "alice".*HANGAR_SANDBOX_UID/);
      expect(withUid(7777, 5151)).toMatch(/sandbox gid 5151 belongs to the group "staff".*HANGAR_SANDBOX_GID/);
      expect(withUid(7777, 7777)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows no host path and no session id in any command line inside the sandbox', async () => {
    const sessionId = `sesn_cmdline_${randomBytes(6).toString('hex')}`;
    const { runtime } = await fx.provision({ sessionId });
    // a long-running exec next to the shell, so more than one sandbox process is there to look at
    const slow = runtime.exec(['sleep', '2'], { ...opts(), timeoutMs: 5000 });
    const res = await runtime.shell('tr "\\0" " " < /proc/1/cmdline; echo; for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < $f; echo; done; ps -eo args', opts());
    expect(res.exitCode).toBe(0);
    expect(res.output).toMatch(/^bwrap --args \d+ -- bash/);
    for (const needle of [fx.root, sessionId, 'sandboxes', 'sandbox-stage', '--bind']) expect(res.output).not.toContain(needle);
    await slow;
  });

  describe('a symlink planted where a file resource is mounted', () => {
    let outside: string;
    let resource: string;
    beforeAll(() => {
      // World-writable like /tmp: the sandbox uid could create files here if anything followed a link.
      outside = mkdtempSync(join(tmpdir(), 'hangar-outside-'));
      chmodSync(outside, 0o1777);
      resource = join(fx.root, 'resource.txt');
      writeFileSync(resource, 'resource content\n', { mode: 0o644 });
    });
    afterAll(() => rmSync(outside, { recursive: true, force: true }));

    it("creates nothing outside the workspace, in another session's workspace or in a host directory", async () => {
      const a = await fx.provision();
      const b = await fx.provision();
      // Session A plants links to B's workspace and to a host directory (absolute host paths, as
      // bubblewrap would see them while it sets up), then a resource is mounted through them.
      for (const [name, target] of [['tob', b.spec.workspaceDir], ['tohost', outside], ['tohostroot', `/oldroot${outside}`]] as const) {
        expect((await a.runtime.shell(`ln -s ${target} ${name}`, opts())).exitCode).toBe(0);
      }
      const errors: string[] = [];
      for (const link of ['tob', 'tohost', 'tohostroot']) {
        for (const mountPath of [`/workspace/${link}/planted.txt`, `/workspace/${link}/deeper/planted.txt`]) {
          const spec = { sessionId: a.spec.sessionId, workspaceDir: a.spec.workspaceDir, outputsDir: a.spec.outputsDir, mounts: [{ hostPath: resource, sandboxPath: mountPath }] };
          errors.push(await fx.provision(spec).then(() => 'provisioned', (err: Error) => err.message));
        }
      }
      // Nothing was created through the links...
      expect(existsSync(join(b.spec.workspaceDir, 'planted.txt'))).toBe(false);
      expect(existsSync(join(b.spec.workspaceDir, 'deeper'))).toBe(false);
      expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
      expect(existsSync(join(outside, 'deeper'))).toBe(false);
      // ...and each attempt was refused with a clear reason.
      expect(errors).toHaveLength(6);
      for (const message of errors) expect(message).toMatch(/^the file resource mount path \/workspace\/to\w+\/.*planted\.txt cannot be mounted: \/workspace\/to\w+ is a symlink/);
      expect(lstatSync(join(a.spec.workspaceDir, 'tob')).isSymbolicLink()).toBe(true);
    });

    it('also when the link appears after the sandbox started (checked before every process)', async () => {
      const a = await fx.provision({ mounts: [{ hostPath: resource, sandboxPath: '/workspace/data/in.txt' }] });
      expect((await a.runtime.shell('cat /workspace/data/in.txt', opts())).output).toBe('resource content\n');
      // The agent replaces the mount point's directory with a link to a host directory...
      expect((await a.runtime.shell(`mv /workspace/data /workspace/moved && ln -s /oldroot${outside} /workspace/data`, opts())).exitCode).toBe(0);
      // ...and the next sandboxed process is refused instead of creating in.txt there.
      const next = await a.runtime.exec(['true'], opts()).then(() => 'ran', (err: Error) => err.message);
      expect(existsSync(join(outside, 'in.txt'))).toBe(false);
      expect(next).toMatch(/\/workspace\/data is a symlink/);
    });

    it('mounts a resource under /workspace read-only when the path is clean', async () => {
      const a = await fx.provision({ mounts: [{ hostPath: resource, sandboxPath: '/workspace/inputs/sub/r.txt' }] });
      const res = await a.runtime.shell('cat inputs/sub/r.txt; echo more >> inputs/sub/r.txt; echo $?; touch inputs/sub/other && echo writable', opts());
      expect(res.output).toMatch(/^resource content\n.*\n1\nwritable\n$/s);
      expect(readFileSync(resource, 'utf8')).toBe('resource content\n');
    });
  });
});
