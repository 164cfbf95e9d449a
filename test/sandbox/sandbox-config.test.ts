// The sandbox's configuration rows: HANGAR_SANDBOX_UID / HANGAR_SANDBOX_GID (either alone sets
// both; 0 and garbage are refused with the variable's name) and HANGAR_SANDBOX_PROVISION_CONCURRENCY.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.ts';

const base = { HANGAR_DATA_DIR: '/srv/hangar' };

describe('sandbox configuration', () => {
  it('leaves the sandbox uid to the provider by default and bounds provisioning at 8', () => {
    const c = loadConfig(base);
    expect(c.sandboxUser).toBeUndefined();
    expect(c.sandboxProvisionConcurrency).toBe(8);
  });

  it('takes a uid and gid, and either alone for both', () => {
    expect(loadConfig({ ...base, HANGAR_SANDBOX_UID: '1500000000', HANGAR_SANDBOX_GID: '1500000001' }).sandboxUser).toEqual({ uid: 1_500_000_000, gid: 1_500_000_001 });
    expect(loadConfig({ ...base, HANGAR_SANDBOX_UID: '1600000000' }).sandboxUser).toEqual({ uid: 1_600_000_000, gid: 1_600_000_000 });
    expect(loadConfig({ ...base, HANGAR_SANDBOX_GID: '1700000000' }).sandboxUser).toEqual({ uid: 1_700_000_000, gid: 1_700_000_000 });
    expect(loadConfig({ ...base, HANGAR_SANDBOX_PROVISION_CONCURRENCY: '32' }).sandboxProvisionConcurrency).toBe(32);
  });

  it('refuses a sandbox uid with the unsafe-local sandbox, which would ignore it', () => {
    expect(() => loadConfig({ ...base, HANGAR_SANDBOX: 'unsafe-local', HANGAR_SANDBOX_UID: '1600000000' })).toThrow(/HANGAR_SANDBOX_UID.*bwrap only/);
    expect(loadConfig({ ...base, HANGAR_SANDBOX: 'unsafe-local' }).sandboxUser).toBeUndefined();
  });

  it('refuses root, negative, fractional and non-numeric ids and a zero bound, naming the variable', () => {
    for (const [name, value] of [
      ['HANGAR_SANDBOX_UID', '0'], ['HANGAR_SANDBOX_UID', '-5'], ['HANGAR_SANDBOX_UID', '12.5'], ['HANGAR_SANDBOX_UID', 'nobody'],
      ['HANGAR_SANDBOX_GID', '0'], ['HANGAR_SANDBOX_UID', '4294967295'], ['HANGAR_SANDBOX_PROVISION_CONCURRENCY', '0'],
    ]) {
      expect(() => loadConfig({ ...base, [name]: value }), `${name}=${value}`).toThrow(new RegExp(name));
    }
  });
});
