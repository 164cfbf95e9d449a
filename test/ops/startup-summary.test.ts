// The start-up block as a pure function of the facts it is given: what it says when tools cannot
// run, when limits are not enforced, when socat or the model key is missing, and when the console
// is built. (The child-process tests check it end to end; these cover the branches a healthy
// machine never shows.)
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.ts';
import { filesystemType, startupSummary, type StartupFacts } from '../../src/server/startup.ts';
import type { SandboxProvider } from '../../src/ports/sandbox.ts';

const provider = (reason?: string, limits?: string[]): SandboxProvider => ({
  unavailableReason: () => reason,
  ...(limits ? { limitWarnings: () => limits } : {}),
  provision: async () => {
    throw new Error('unused');
  },
});

function facts(over: Partial<StartupFacts> = {}, env: Record<string, string> = {}): StartupFacts {
  return {
    version: '9.9.9',
    url: 'http://127.0.0.1:8700',
    config: loadConfig({ HANGAR_DATA_DIR: '/srv/hangar', ANTHROPIC_API_KEY: 'sk-upstream-x', ...env }),
    sandbox: provider(),
    socat: true,
    consoleDir: undefined,
    ...over,
  };
}

describe('start-up summary', () => {
  it('a healthy start: tools work, no warnings', () => {
    const s = startupSummary(facts());
    expect(s.text.split('\n')[0]).toBe('Hangar 9.9.9');
    expect(s.text).toContain('  listening  http://127.0.0.1:8700\n');
    expect(s.text).toContain('  store      sqlite /srv/hangar/hangar.db\n');
    expect(s.text).toContain('  sandbox    bwrap; tools will work\n');
    expect(s.text).toContain('  models     anthropic at api.anthropic.com (key set)\n');
    expect(s.text).toContain('  console    not built\n');
    expect(s.warnings).toEqual([]);
    expect(s.text).not.toContain('sk-upstream-x');
    expect(JSON.stringify(s.fields)).not.toContain('sk-upstream-x');
  });

  it('says why tools will not work, with the fix, in one line', () => {
    const s = startupSummary(facts({ sandbox: provider('bubblewrap (bwrap) is not installed; install it with: apt-get install bubblewrap') }));
    expect(s.text).toContain('  sandbox    bwrap; tools will NOT work (see below)\n');
    expect(s.warnings).toEqual(['built-in tools (bash, read, write, …) will fail: bubblewrap (bwrap) is not installed; install it with: apt-get install bubblewrap']);
    expect(s.text).toContain(`  warning: ${s.warnings[0]}\n`);
    expect(s.fields).toMatchObject({ toolsWork: false, sandboxUnavailable: expect.stringContaining('apt-get install bubblewrap') });
  });

  it('lists the limits the sandbox cannot enforce', () => {
    const s = startupSummary(facts({ sandbox: provider(undefined, ['memory limit not enforced: the cgroup memory controller is not delegated']) }));
    expect(s.warnings).toEqual(['memory limit not enforced: the cgroup memory controller is not delegated']);
  });

  it('warns about a missing socat only for bubblewrap', () => {
    expect(startupSummary(facts({ socat: false })).warnings).toEqual([
      'socat is not installed: sandboxes with networking (limited or unrestricted) will fail; install it with: apt-get install socat',
    ]);
    expect(startupSummary(facts({ socat: false }, { HANGAR_SANDBOX: 'unsafe-local' })).warnings).toEqual([]);
  });

  it('names the unsafe mode and the model host, and warns when the Anthropic key is unset', () => {
    const s = startupSummary(facts({}, { HANGAR_SANDBOX: 'unsafe-local', ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: 'https://models.internal:8443/v1' }));
    expect(s.text).toMatch(/ {2}sandbox {4}unsafe-local \(NO isolation: tools run on this host as \S+\); tools will work\n/);
    expect(s.text).toContain('  models     anthropic at models.internal:8443 (NO KEY)\n');
    expect(s.warnings).toEqual(['ANTHROPIC_API_KEY is not set: every model request will be refused by the provider; set it to your Anthropic API key']);
  });

  it('shows the console URL once the console is built', () => {
    const s = startupSummary(facts({ consoleDir: '/opt/hangar/console/dist' }));
    expect(s.text).toContain('  console    http://127.0.0.1:8700/console\n');
    expect(s.fields.console).toBe('http://127.0.0.1:8700/console');
  });
});

describe('filesystemType', () => {
  it('names kernel filesystems, also for paths that do not exist yet', () => {
    expect(filesystemType('/proc/self')).toBe('proc');
    expect(filesystemType('/proc/no/such/dir')).toBe('proc');
    expect(filesystemType('/sys')).toBe('sysfs');
  });
});
