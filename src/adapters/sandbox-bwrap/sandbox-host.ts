// What the host contributes to every sandbox's filesystem: the read-only system directories, an
// allowlist of harmless /etc entries, and generated passwd/group/hosts files (the host's own never
// enter, and /etc/shadow-like files are never bound).
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileBind, SystemEntry } from './bwrap-args.ts';
import { SANDBOX_GID, SANDBOX_UID } from './bwrap-args.ts';

export interface SandboxHost {
  system: SystemEntry[];
  etc: FileBind[];
}

/** Read-only /etc entries a toolchain needs (TLS roots, dynamic linker, alternatives, zone data). */
export const ETC_ALLOWLIST: readonly string[] = [
  'alternatives', 'ca-certificates', 'ssl', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime',
  'nsswitch.conf', 'mime.types', 'magic', 'magic.mime', 'protocols', 'services', 'os-release',
  'debian_version', 'perl', 'python3', 'inputrc',
];
/** Versioned /etc directories of language runtimes (`python3.11`, `java-17-openjdk`). */
const ETC_VERSIONED = /^(python3\.\d+|java-\d+-openjdk)$/;

const SYSTEM_TOP = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The host's system layout; `/usr` always bound, the merged-/usr links recreated as links. */
export function detectSystem(): SystemEntry[] {
  const entries: SystemEntry[] = [];
  for (const path of SYSTEM_TOP) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) entries.push({ kind: 'symlink', path, target: readlinkSync(path) });
    else if (st.isDirectory()) entries.push({ kind: 'dir', path });
  }
  return entries;
}

function generatedEtc(stateDir: string): FileBind[] {
  const dir = join(stateDir, 'etc');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755); // whatever the umask: the sandbox user reads these through the stage
  const files: Record<string, string> = {
    passwd: [
      'root:x:0:0:root:/root:/usr/sbin/nologin',
      `agent:x:${SANDBOX_UID}:${SANDBOX_GID}:Hangar sandbox:/workspace:/bin/bash`,
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      '',
    ].join('\n'),
    group: ['root:x:0:', `agent:x:${SANDBOX_GID}:`, 'nogroup:x:65534:', ''].join('\n'),
    hosts: '127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    hostname: 'sandbox\n',
  };
  return Object.entries(files).map(([name, text]) => {
    const hostPath = join(dir, name);
    writeFileSync(hostPath, text, { mode: 0o644 });
    chmodSync(hostPath, 0o644);
    return { hostPath, sandboxPath: `/etc/${name}` };
  });
}

/** Detects the system layout and writes the generated /etc files under `stateDir/etc`. */
export function prepareSandboxHost(stateDir: string, etcDir = '/etc'): SandboxHost {
  const etc: FileBind[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(etcDir);
  } catch {
    // no /etc at all: only the generated files
  }
  for (const name of names.sort()) {
    if (!ETC_ALLOWLIST.includes(name) && !ETC_VERSIONED.test(name)) continue;
    const hostPath = join(etcDir, name);
    if (!existsSync(hostPath)) continue; // dangling link
    etc.push({ hostPath, sandboxPath: `/etc/${name}` });
  }
  etc.push(...generatedEtc(stateDir));
  return { system: detectSystem(), etc };
}
