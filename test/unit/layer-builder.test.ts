// The layer builder's pure parts: which hosts a build's egress may reach (only the registries of
// the managers in the list, configured ones replacing the defaults, apt's from the host's sources)
// and which managers are refused up front because their tools are not where sandboxes see them.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapLayerBuilder, aptSourceHosts, registryHosts } from '../../src/adapters/package-layer/bwrap-layer-builder.ts';
import type { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-layer-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registryHosts', () => {
  it('allows only the registries of the managers in the list', () => {
    expect(registryHosts(['npm'], {}, ['deb.debian.org'])).toEqual(['registry.npmjs.org']);
    expect(registryHosts(['pip'], {}, [])).toEqual(['pypi.org', 'files.pythonhosted.org']);
    expect(registryHosts(['apt', 'npm'], {}, ['deb.debian.org', 'security.debian.org']).sort()).toEqual(['deb.debian.org', 'registry.npmjs.org', 'security.debian.org']);
  });

  it('replaces a default with the configured registry host', () => {
    expect(registryHosts(['npm', 'pip'], { npmRegistry: 'https://npm.internal.example/', pipIndexUrl: 'http://127.0.0.1:8080/simple/' }, []))
      .toEqual(['npm.internal.example', '127.0.0.1']);
    expect(registryHosts(['cargo'], { cargoIndexUrl: 'sparse+https://crates.mirror.example/index/' }, [])).toEqual(['crates.mirror.example']);
  });
});

describe('aptSourceHosts', () => {
  it('reads one-line and deb822 sources, ignoring comments and other files', () => {
    const etc = join(dir, 'apt');
    mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
    writeFileSync(join(etc, 'sources.list'), '# deb http://commented.example/debian bookworm main\ndeb [arch=amd64] http://one.example/debian bookworm main\n');
    writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://deb.example/debian https://two.example/x\nSuites: bookworm\n');
    writeFileSync(join(etc, 'sources.list.d', 'notes.txt'), 'deb http://ignored.example/ x y\n');
    expect(aptSourceHosts(etc).sort()).toEqual(['deb.example', 'one.example', 'two.example']);
    expect(aptSourceHosts(join(dir, 'missing'))).toEqual([]);
  });
});

describe('managerProblem', () => {
  it('refuses a manager whose tools are missing from the directories sandboxes see, naming the fix', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const t of ['npm', 'node', 'python3']) writeFileSync(join(bin, t), '');
    const builder = new BwrapLayerBuilder({ provider: {} as BwrapSandboxProvider, toolDirs: [bin] });
    expect(builder.managerProblem('npm')).toBeUndefined();
    expect(builder.managerProblem('pip')).toMatch(/pip packages cannot be installed by this server: pip3 is not installed .*apt-get install python3-pip/);
    expect(builder.managerProblem('apt')).toMatch(/apt-get and dpkg-deb are not installed/);
  });
});
