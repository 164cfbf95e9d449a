// Environment package specs, free of I/O: what a valid spec looks like for each package manager
// (checked at create/update time, so a malformed spec is a 400 and never reaches a shell), and the
// content key of a package list (two environments with the same packages share one built layer).
import { createHash } from 'node:crypto';
import { invalidRequest } from '../protocol/errors.ts';
import { PACKAGE_MANAGERS, type PackageManager, type Packages } from './environments.ts';

/** Bumped when the layer layout or build steps change, so old layers are rebuilt. */
export const LAYER_FORMAT = 'v1';

/**
 * One pattern per manager: a name and an optional version in that manager's own syntax. None
 * allows whitespace, a leading `-` (an option), a path or a URL, so a spec is always a plain
 * argument of the install command.
 */
const SPEC_PATTERNS: Record<PackageManager, { re: RegExp; example: string }> = {
  apt: { re: /^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, example: 'ripgrep or ripgrep=13.0.0-4' },
  cargo: { re: /^[A-Za-z0-9][A-Za-z0-9_-]*(@[A-Za-z0-9.^~=<>*+-]+)?$/, example: 'ripgrep or ripgrep@14.1.0' },
  gem: { re: /^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9.]+)?$/, example: 'rake or rake:13.2.1' },
  go: { re: /^[A-Za-z0-9.-]+\.[A-Za-z]{2,}(\/[A-Za-z0-9._~-]+)+(@[A-Za-z0-9.+-]+)?$/, example: 'golang.org/x/tools/cmd/stringer@latest' },
  npm: { re: /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9.^~<>=*+|-]+)?$/, example: 'cowsay or cowsay@1.6.0 or @scope/name@^2' },
  pip: {
    re: /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?((==|>=|<=|~=|!=|>|<)[A-Za-z0-9.*+!-]+(,(==|>=|<=|~=|!=|>|<)[A-Za-z0-9.*+!-]+)*)?$/,
    example: 'requests or requests==2.32.3',
  },
};

/** Rejects (400 `invalid_request_error`) every malformed spec, naming its manager and index. */
export function assertValidPackages(packages: Packages): void {
  const problems: string[] = [];
  for (const m of PACKAGE_MANAGERS) {
    packages[m].forEach((spec, i) => {
      if (!SPEC_PATTERNS[m].re.test(spec)) {
        problems.push(`config.packages.${m}[${i}]: ${JSON.stringify(spec)} is not a valid ${m} package spec (e.g. ${SPEC_PATTERNS[m].example})`);
      }
    });
  }
  if (problems.length) throw invalidRequest(problems.join('; '));
}

export function hasPackages(packages: Packages | undefined): packages is Packages {
  return !!packages && PACKAGE_MANAGERS.some((m) => packages[m].length > 0);
}

/** The package lists in canonical form: managers in install order, each list sorted and deduplicated. */
export function canonicalPackages(packages: Packages): Record<PackageManager, string[]> {
  const out = {} as Record<PackageManager, string[]>;
  for (const m of PACKAGE_MANAGERS) out[m] = [...new Set(packages[m])].sort();
  return out;
}

/** The layer key of a package list: the same lists (in any order) give the same key. */
export function layerKey(packages: Packages): string {
  const text = JSON.stringify({ format: LAYER_FORMAT, ...canonicalPackages(packages) });
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
