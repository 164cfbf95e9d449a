// Which sandbox limits are really enforced, as the provider reports them (`limitWarnings()`, shown
// on /readyz): on fake cgroup trees (plain directories) a missing controller is reported, and a
// tree that accepts the limit files but enforces nothing (exactly what a fake tree does) is caught
// by the real probe processes. (On this host, test/sandbox/escape.test.ts checks that every limit
// not reported is enforced for real.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';

const roots: string[] = [];
function fakeCgroup(controllers: string): string {
  const root = mkdtempSync(join(tmpdir(), 'hangar-limits-'));
  roots.push(root);
  const parent = join(root, 'svc');
  mkdirSync(join(parent, 'hangar'), { recursive: true });
  writeFileSync(join(parent, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(parent, 'hangar', 'cgroup.controllers'), `${controllers}\n`);
  return parent;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function provider(cgroupParent: string, probeLimits: boolean) {
  const stateDir = mkdtempSync(join(tmpdir(), 'hangar-limits-state-'));
  roots.push(stateDir);
  return new BwrapSandboxProvider({ stateDir, cgroupParent, probeLimits });
}

describe('limitWarnings', () => {
  it('reports a missing cgroup controller, and nothing for the present ones', () => {
    const p = provider(fakeCgroup('memory pids'), false);
    expect(p.limitWarnings()).toEqual([expect.stringMatching(/^sandbox cpu limit is NOT enforced: the cgroup v2 controller "cpu" is not available in /)]);
    expect(p.limitWarnings()).toHaveLength(1);
  });

  it('reports all three limits when there is no usable cgroup tree at all', () => {
    const p = provider(fakeCgroup('cpu'), false);
    const warnings = p.limitWarnings();
    expect(warnings.map((w) => w.split(' ')[1])).toEqual(['memory', 'pids', 'cpu']);
    for (const w of warnings) expect(w).toMatch(/NOT enforced: .*not a writable cgroup v2 directory with the memory and pids controllers/);
  });

  it('names the missing controller rather than the probe when both fail', () => {
    const p = provider(fakeCgroup('memory pids'), true);
    const warnings = p.limitWarnings();
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toMatch(/^sandbox cpu limit is NOT enforced: the cgroup v2 controller "cpu" is not available/);
  });

  it('catches limits that are accepted but not enforced, with real probe processes', () => {
    // A fake tree takes every limit file and pid written to it and limits nothing.
    const p = provider(fakeCgroup('cpu memory pids'), true);
    const warnings = p.limitWarnings();
    expect(warnings).toEqual([
      expect.stringMatching(/^sandbox memory limit is NOT enforced: a probe allocated 64 MiB under a 16 MiB cgroup memory limit/),
      expect.stringMatching(/^sandbox pids limit is NOT enforced: a probe started 24 processes under a cgroup pids limit of 8/),
    ]);
  });
});
