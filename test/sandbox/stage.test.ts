// The stage plan (pure): each distinct host source gets one staged path, paths inside a staged
// directory map into it, and the generated fstab escapes every byte libmount would misread.
import { describe, expect, it } from 'vitest';
import { fstabField, planStage, stageCommand, stageFstab } from '../../src/adapters/sandbox-bwrap/stage.ts';

describe('stage plan', () => {
  const plan = planStage('/run/stage', [
    { kind: 'dir', host: '/data/sandboxes/s1/workspace' },
    { kind: 'dir', host: '/data/sandbox-state/etc' },
    { kind: 'dir', host: '/data/sandbox-state/etc' }, // one bind per source, however often named
    { kind: 'file', host: '/data/files/file_1' },
  ]);

  it('stages each source once and maps host paths onto the stage', () => {
    expect(plan.entries.map((e) => e.staged)).toEqual(['/run/stage/s0', '/run/stage/s1', '/run/stage/s2']);
    expect(plan.map('/data/sandboxes/s1/workspace')).toBe('/run/stage/s0');
    expect(plan.map('/data/sandbox-state/etc/passwd')).toBe('/run/stage/s1/passwd');
    expect(plan.map('/data/files/file_1')).toBe('/run/stage/s2');
    // not a prefix match on names: /data/files/file_10 is not inside the file /data/files/file_1
    expect(plan.map('/data/files/file_10')).toBe('/data/files/file_10');
    expect(plan.map('/usr')).toBe('/usr');
  });

  it('writes an fstab whose fields survive spaces, tabs, backslashes and comment signs', () => {
    expect(fstabField('/a b\tc\\d#e/é')).toBe('/a\\040b\\011c\\134d\\043e/\\303\\251');
    expect(stageFstab(plan).split('\n')).toEqual([
      '/data/sandboxes/s1/workspace /run/stage/s0 none bind,X-mount.mkdir 0 0',
      '/data/sandbox-state/etc /run/stage/s1 none bind,X-mount.mkdir 0 0',
      '/data/files/file_1 /run/stage/s2 none bind 0 0',
    ]);
  });

  it('runs the command after staging, with the file mount points listed before --', () => {
    const argv = stageCommand(plan, ['setpriv', '--', 'bwrap']);
    expect(argv.slice(0, 5)).toEqual(['unshare', '--mount', '--propagation', 'private', '--']);
    const dash = argv.lastIndexOf('--', argv.indexOf('setpriv'));
    expect(argv.slice(dash - 1)).toEqual(['/run/stage/s2', '--', 'setpriv', '--', 'bwrap']);
  });
});
