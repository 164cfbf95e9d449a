// Resource limits and kill-tree for sandboxes through cgroups. Detects a usable cgroup v2 tree
// (memory and pids controllers delegatable) or writable v1 hierarchies (memory, pids, cpu, freezer),
// else runs without limits. Groups are created under Hangar's own cgroup (`<own>/hangar/<id>`), so
// the limits of whatever runs Hangar (a systemd unit, a container) still bound the sandboxes.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** Fraction of one core. */
  cpus: number;
}

type V1Controller = 'memory' | 'pids' | 'cpu' | 'freezer';
const V1_CONTROLLERS: V1Controller[] = ['memory', 'pids', 'cpu', 'freezer'];

export type CgroupMode =
  | { version: 2; parent: string }
  | { version: 1; parents: Partial<Record<V1Controller, string>> }
  | { version: 'none'; reason: string };

interface MountEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ root: unescape(left[3]), mountPoint: unescape(left[4]), fsType: right[0], superOptions: (right[2] ?? '').split(',') });
  }
  return out;
}

export function parseProcCgroup(text: string): Array<{ controllers: string[]; path: string }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, controllers, ...rest] = line.split(':');
      return { controllers: controllers ? controllers.split(',') : [], path: rest.join(':') };
    });
}

function withinMount(mount: MountEntry, ownPath: string): string | undefined {
  if (mount.root === '/') return join(mount.mountPoint, ownPath);
  if (ownPath === mount.root || ownPath.startsWith(mount.root + '/')) return join(mount.mountPoint, ownPath.slice(mount.root.length));
  return undefined;
}

function canCreateUnder(dir: string): boolean {
  const probe = join(dir, `.hangar-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface DetectOptions {
  /** An explicit delegated cgroup v2 directory; sandbox groups go to `<parent>/hangar/<id>`. */
  parent?: string;
  mountinfo?: string;
  procCgroup?: string;
}

/** Finds where sandbox cgroups can live. Never throws: the worst case is `version: 'none'`. */
export function detectCgroups(opts: DetectOptions = {}): CgroupMode {
  if (opts.parent) {
    const controllers = read(join(opts.parent, 'cgroup.controllers')).split(/\s+/);
    const parent = join(opts.parent, 'hangar');
    if (controllers.includes('memory') && controllers.includes('pids') && prepareV2Parent(parent)) return { version: 2, parent };
    return { version: 'none', reason: `${opts.parent} is not a writable cgroup v2 directory with the memory and pids controllers` };
  }
  const mounts = parseMountinfo(opts.mountinfo ?? read('/proc/self/mountinfo'));
  const own = parseProcCgroup(opts.procCgroup ?? read('/proc/self/cgroup'));

  let v2Problem = '';
  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  const ownV2 = own.find((c) => c.controllers.length === 0 && c.path !== undefined);
  if (unified && ownV2) {
    const dir = withinMount(unified, ownV2.path);
    const controllers = dir ? read(join(dir, 'cgroup.controllers')).split(/\s+/) : [];
    if (dir && controllers.includes('memory') && controllers.includes('pids')) {
      const parent = join(dir, 'hangar');
      if (prepareV2Parent(parent)) return { version: 2, parent };
      v2Problem = `; cgroup v2 at ${dir} cannot delegate memory/pids to a child group (it probably holds processes itself): ` +
        'configure a delegated cgroup as the sandbox cgroup parent (systemd: Delegate=yes)';
    }
  }

  const parents: Partial<Record<V1Controller, string>> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    const mine = own.find((c) => c.controllers.includes(controller));
    if (!mount || !mine) continue;
    const dir = withinMount(mount, mine.path);
    if (dir && canCreateUnder(dir)) parents[controller] = join(dir, 'hangar');
  }
  if (parents.memory && parents.pids) return { version: 1, parents };
  return { version: 'none', reason: `no writable cgroup v2 tree with memory+pids and no writable cgroup v1 memory and pids hierarchies${v2Problem}` };
}

/**
 * v2: `parent` must exist and pass memory/pids/cpu down to its children. Enabling them in the
 * grandparent fails (EBUSY) when it holds processes itself (the "no internal processes" rule):
 * then limits need a delegated parent (`cgroupParent`) and we report v2 as unusable.
 */
function prepareV2Parent(parent: string): boolean {
  const wanted = ['memory', 'pids', 'cpu'];
  const enable = (dir: string) => {
    const available = read(join(dir, 'cgroup.controllers')).split(/\s+/);
    const list = wanted.filter((c) => available.includes(c)).map((c) => `+${c}`).join(' ');
    if (list) writeFileSync(join(dir, 'cgroup.subtree_control'), list);
  };
  try {
    enable(join(parent, '..'));
  } catch {
    // maybe already enabled; checked below
  }
  try {
    mkdirSync(parent, { recursive: true });
    const available = read(join(parent, 'cgroup.controllers')).split(/\s+/);
    if (!available.includes('memory') || !available.includes('pids')) return false;
    enable(parent);
    return canCreateUnder(parent);
  } catch {
    return false;
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Creates the group for one sandbox and applies its limits; a stale group of that name is emptied first. */
export async function createSessionCgroup(mode: CgroupMode, name: string, limits: CgroupLimits): Promise<SessionCgroup | undefined> {
  if (mode.version === 'none') return undefined;
  if (!NAME.test(name) || name.startsWith('.')) throw new Error(`invalid cgroup name ${JSON.stringify(name)}`);
  const group = new SessionCgroup(mode, name);
  try {
    if (group.pids().length > 0) await group.killAll();
    await group.create(limits);
  } catch (err) {
    group.removeNow();
    throw err;
  }
  return group;
}

export class SessionCgroup {
  readonly version: 1 | 2;
  /** Every `cgroup.procs` a sandboxed process must be written into before it starts. */
  readonly procsFiles: string[];
  private readonly dirs: Partial<Record<V1Controller | 'unified', string>>;
  private readonly mode: Exclude<CgroupMode, { version: 'none' }>;

  constructor(mode: Exclude<CgroupMode, { version: 'none' }>, name: string) {
    this.version = mode.version;
    this.mode = mode;
    this.dirs = {};
    if (mode.version === 2) this.dirs.unified = join(mode.parent, name);
    else for (const [controller, parent] of Object.entries(mode.parents)) this.dirs[controller as V1Controller] = join(parent, name);
    this.procsFiles = Object.values(this.dirs).map((d) => join(d, 'cgroup.procs'));
  }

  /** Creates the group directories and writes its limits (async: provisioning runs 100s at once). */
  async create(limits: CgroupLimits): Promise<void> {
    // The shared parent is removed with the last group; v2 must enable its controllers again.
    if (this.mode.version === 2 && !existsSync(this.mode.parent) && !prepareV2Parent(this.mode.parent)) {
      throw new Error(`cannot prepare cgroup ${this.mode.parent}`);
    }
    for (const dir of Object.values(this.dirs)) await mkdir(dir, { recursive: true });
    for (const [file, value] of this.limitWrites(limits)) await writeFile(file, value);
  }

  /** The same, synchronously (the start-up probe). */
  createSync(limits: CgroupLimits): void {
    if (this.mode.version === 2 && !existsSync(this.mode.parent) && !prepareV2Parent(this.mode.parent)) {
      throw new Error(`cannot prepare cgroup ${this.mode.parent}`);
    }
    for (const dir of Object.values(this.dirs)) mkdirSync(dir, { recursive: true });
    for (const [file, value] of this.limitWrites(limits)) writeFileSync(file, value);
  }

  /** Limit files to write, in order (optional files only where the kernel offers them). */
  private limitWrites(limits: CgroupLimits): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const memory = String(Math.max(1 << 20, Math.floor(limits.memoryBytes)));
    const pids = String(Math.max(8, Math.floor(limits.pids)));
    const period = 100_000;
    const quota = Math.max(1000, Math.round(limits.cpus * period));
    if (this.dirs.unified) {
      const d = this.dirs.unified;
      out.push([join(d, 'memory.max'), memory]);
      if (existsSync(join(d, 'memory.swap.max'))) out.push([join(d, 'memory.swap.max'), '0']);
      out.push([join(d, 'pids.max'), pids]);
      if (existsSync(join(d, 'cpu.max'))) out.push([join(d, 'cpu.max'), `${quota} ${period}`]);
      return out;
    }
    const { memory: mem, pids: pid, cpu } = this.dirs;
    if (mem) {
      // memory+swap equal to memory: a hog is killed instead of swapping the host to a halt. The
      // kernel wants memory <= memsw at every step, so lift memsw first (a reused group may have one).
      const memsw = join(mem, 'memory.memsw.limit_in_bytes');
      const hasMemsw = existsSync(memsw);
      if (hasMemsw) out.push([memsw, '-1']);
      out.push([join(mem, 'memory.limit_in_bytes'), memory]);
      if (hasMemsw) out.push([memsw, memory]);
    }
    if (pid) out.push([join(pid, 'pids.max'), pids]);
    if (cpu) {
      out.push([join(cpu, 'cpu.cfs_period_us'), String(period)]);
      out.push([join(cpu, 'cpu.cfs_quota_us'), String(quota)]);
    }
    return out;
  }

  /** Host pids currently in the group. */
  pids(): number[] {
    const dir = this.dirs.unified ?? this.dirs.pids ?? this.dirs.memory;
    if (!dir) return [];
    return read(join(dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
  }

  /** A numeric counter file of the group (`pids.current`, `memory.failcnt`, ...), if present. */
  stat(file: string): string | undefined {
    for (const dir of Object.values(this.dirs)) {
      if (existsSync(join(dir, file))) return read(join(dir, file)).trim();
    }
    return undefined;
  }

  /** Kills every process in the group: v2 `cgroup.kill`; v1 freeze, SIGKILL each, thaw. */
  async killAll(): Promise<void> {
    if (this.dirs.unified && existsSync(join(this.dirs.unified, 'cgroup.kill'))) {
      writeFileSync(join(this.dirs.unified, 'cgroup.kill'), '1');
    } else {
      const freezer = this.dirs.freezer;
      const frozen = freezer ? await this.setFreezer(freezer, 'FROZEN') : false;
      // Frozen processes cannot fork while we go through the list; without a freezer, repeat.
      for (let round = 0; round < (frozen ? 1 : 5); round++) {
        const pids = this.pids();
        if (pids.length === 0) break;
        for (const pid of pids) killQuietly(pid);
      }
      if (freezer) await this.setFreezer(freezer, 'THAWED');
    }
    await this.waitEmpty(2000);
  }

  private async setFreezer(dir: string, state: 'FROZEN' | 'THAWED'): Promise<boolean> {
    try {
      writeFileSync(join(dir, 'freezer.state'), state);
      for (let i = 0; i < 100 && read(join(dir, 'freezer.state')).trim() !== state; i++) await sleep(5);
      return read(join(dir, 'freezer.state')).trim() === state;
    } catch {
      return false;
    }
  }

  private async waitEmpty(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (Object.values(this.dirs).every((d) => read(join(d, 'cgroup.procs')).trim() === '')) return true;
      await sleep(10);
    }
    return false;
  }

  /** Kills what is left and removes the groups (and the shared `hangar` parent when it is empty). */
  async remove(): Promise<void> {
    await this.killAll();
    this.removeNow();
  }

  removeNow(): void {
    for (const dir of Object.values(this.dirs)) {
      for (const d of [dir, join(dir, '..')]) {
        try {
          rmdirSync(d);
        } catch {
          // busy (another sandbox) or already gone
        }
      }
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export type LimitName = 'memory' | 'pids' | 'cpu';
export const LIMIT_NAMES: readonly LimitName[] = ['memory', 'pids', 'cpu'];

/**
 * Which limits this cgroup mode cannot set at all (controller absent or not writable), with why.
 * A present controller may still not enforce anything; `probeEnforcement` checks that for real.
 */
export function missingControllers(mode: CgroupMode): Partial<Record<LimitName, string>> {
  if (mode.version === 'none') return { memory: mode.reason, pids: mode.reason, cpu: mode.reason };
  const out: Partial<Record<LimitName, string>> = {};
  if (mode.version === 2) {
    const available = read(join(mode.parent, 'cgroup.controllers')).split(/\s+/);
    for (const name of LIMIT_NAMES) {
      if (!available.includes(name)) out[name] = `the cgroup v2 controller "${name}" is not available in ${mode.parent}`;
    }
    return out;
  }
  for (const name of LIMIT_NAMES) {
    if (!mode.parents[name]) out[name] = `no writable cgroup v1 "${name}" hierarchy for Hangar's own cgroup`;
  }
  return out;
}
