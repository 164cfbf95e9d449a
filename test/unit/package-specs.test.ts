// Package spec validation (400 at create/update) and the shared layer key.
import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../src/domain/environments.ts';
import { layerKey } from '../../src/domain/package-specs.ts';
import type { Packages } from '../../src/domain/environments.ts';

const pk = (p: Partial<Packages>): Packages => ({ type: 'packages', apt: [], cargo: [], gem: [], go: [], npm: [], pip: [], ...p });
const create = (packages: Record<string, string[]>) =>
  createEnvironment({ name: 'e', config: { type: 'cloud', packages } } as never, { id: 'env_1', now: '2026-01-01T00:00:00Z' });

describe('package specs', () => {
  it('accepts ordinary specs of every manager', () => {
    expect(() => create({ apt: ['ripgrep', 'jq=1.6-2.1'], npm: ['cowsay@1.6.0', '@scope/x@^2'], pip: ['requests==2.32.3', 'a[b,c]>=1'],
      cargo: ['ripgrep@14.1.0'], gem: ['rake:13.2.1'], go: ['golang.org/x/tools/cmd/stringer@latest'] })).not.toThrow();
  });

  it.each([
    ['npm', '--registry=http://evil'], ['apt', 'foo bar'], ['pip', '-e .'], ['pip', 'git+https://x/y'], ['npm', '../local'], ['gem', 'a;rm -rf /'],
  ])('rejects the %s spec %j with a 400 naming it', (manager, spec) => {
    expect(() => create({ [manager]: [spec] })).toThrow(new RegExp(`config\\.packages\\.${manager}\\[0\\]`));
  });

  it('gives the same key to the same lists in any order, another key to other lists', () => {
    expect(layerKey(pk({ npm: ['a', 'b'] }))).toBe(layerKey(pk({ npm: ['b', 'a', 'a'] })));
    expect(layerKey(pk({ npm: ['a'] }))).not.toBe(layerKey(pk({ pip: ['a'] })));
  });
});
