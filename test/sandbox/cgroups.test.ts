// Cgroup detection and limit files, on fake cgroup trees (plain directories standing in for the
// cgroup filesystems), so the v2, v1 and none paths are all exercised whatever this host has.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionCgroup, detectCgroups, parseMountinfo, parseProcCgroup } from '../../src/adapters/sandbox-bwrap/cgroups.ts';

const roots: string[] = [];
function fakeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'hangar-cgroups-'));
  roots.push(root);
  return root;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const limits = { memoryBytes: 64 * 1024 * 1024, pids: 64, cpus: 0.5 };

describe('cgroups', () => {
  it('parses mountinfo and /proc/self/cgroup', () => {
    const mounts = parseMountinfo([
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '50 31 0:40 /lxc/c1 /sys/fs/cgroup/with\\040space rw - cgroup cgroup rw,cpu,cpuacct',
    ].join('\n'));
    expect(mounts).toEqual([
      { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] },
      { root: '/', mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', superOptions: ['rw'] },
      { root: '/lxc/c1', mountPoint: '/sys/fs/cgroup/with space', fsType: 'cgroup', superOptions: ['rw', 'cpu', 'cpuacct'] },
    ]);
    expect(parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/\n0::/user.slice\n')).toEqual([
      { controllers: ['memory'], path: '/a/b' },
      { controllers: ['cpu', 'cpuacct'], path: '/' },
      { controllers: [], path: '/user.slice' },
    ]);
  });

  it('uses a cgroup v2 tree with memory and pids, enabling them for the sandbox groups', async () => {
    const root = fakeRoot();
    const own = join(root, 'hangar.service');
    mkdirSync(join(own, 'hangar'), { recursive: true });
    writeFileSync(join(own, 'cgroup.controllers'), 'cpu memory pids\n');
    writeFileSync(join(own, 'hangar', 'cgroup.controllers'), 'cpu memory pids\n');
    const mode = detectCgroups({ mountinfo: `41 31 0:38 / ${root} rw - cgroup2 cgroup2 rw\n`, procCgroup: '0::/hangar.service\n' });
    expect(mode).toEqual({ version: 2, parent: join(own, 'hangar') });
    expect(readFileSync(join(own, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids +cpu');
    mkdirSync(join(own, 'hangar', 'sesn_1'));
    writeFileSync(join(own, 'hangar', 'sesn_1', 'cpu.max'), ''); // present when the cpu controller is on
    const group = await createSessionCgroup(mode, 'sesn_1', limits);
    const dir = join(own, 'hangar', 'sesn_1');
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('64');
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    expect(group?.procsFiles).toEqual([join(dir, 'cgroup.procs')]);
  });

  it('falls back to writable cgroup v1 hierarchies under our own groups', async () => {
    const root = fakeRoot();
    for (const c of ['memory', 'pids', 'cpu', 'freezer']) mkdirSync(join(root, c, 'svc'), { recursive: true });
    const mountinfo = ['memory', 'pids', 'cpu', 'freezer'].map((c, i) => `${30 + i} 31 0:${30 + i} / ${join(root, c)} rw - cgroup cgroup rw,${c}`).join('\n');
    const mode = detectCgroups({ mountinfo, procCgroup: '4:memory:/svc\n8:pids:/svc\n1:cpu:/svc\n6:freezer:/svc\n0::/\n' });
    expect(mode).toEqual({
      version: 1,
      parents: Object.fromEntries(['memory', 'pids', 'cpu', 'freezer'].map((c) => [c, join(root, c, 'svc', 'hangar')])),
    });
    const memDir = join(root, 'memory', 'svc', 'hangar', 's2');
    mkdirSync(memDir, { recursive: true });
    writeFileSync(join(memDir, 'memory.memsw.limit_in_bytes'), '');
    const group = await createSessionCgroup(mode, 's2', limits);
    expect(readFileSync(join(memDir, 'memory.limit_in_bytes'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(memDir, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(root, 'pids', 'svc', 'hangar', 's2', 'pids.max'), 'utf8')).toBe('64');
    expect(readFileSync(join(root, 'cpu', 'svc', 'hangar', 's2', 'cpu.cfs_quota_us'), 'utf8')).toBe('50000');
    expect(group?.procsFiles).toHaveLength(4);
  });

  it('reports none, with a reason, when nothing is writable', async () => {
    const mode = detectCgroups({ mountinfo: '', procCgroup: '' });
    expect(mode.version).toBe('none');
    expect(await createSessionCgroup(mode, 'x', limits)).toBeUndefined();
  });

  it('refuses group names that could climb out of the hangar parent', async () => {
    const root = fakeRoot();
    const mode = { version: 2 as const, parent: join(root, 'hangar') };
    for (const bad of ['../x', 'a/b', '.hidden', '']) await expect(createSessionCgroup(mode, bad, limits)).rejects.toThrow();
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});
