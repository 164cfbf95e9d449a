// The pure bubblewrap argv builder: every invocation carries the mandatory isolation flags, the
// system is read-only, the workspace and outputs are the only writable binds, and the network mode
// decides whether the egress socket and proxy variables exist.
import { describe, expect, it } from 'vitest';
import {
  buildBwrapArgs, checkSandboxPath, EGRESS_SOCKET, MANDATORY_FLAGS, sandboxCommand, sandboxEnv, type BwrapArgsInput,
} from '../../src/adapters/sandbox-bwrap/bwrap-args.ts';

const base: BwrapArgsInput = {
  system: [{ kind: 'dir', path: '/usr' }, { kind: 'symlink', path: '/bin', target: 'usr/bin' }],
  etc: [{ hostPath: '/etc/ssl', sandboxPath: '/etc/ssl' }, { hostPath: '/state/etc/passwd', sandboxPath: '/etc/passwd' }],
  workspaceDir: '/data/sandboxes/s1/workspace',
  outputsDir: '/data/sandboxes/s1/outputs',
  mounts: [{ hostPath: '/data/files/file_1', sandboxPath: '/mnt/session/uploads/file_1' }],
  network: { type: 'none' },
};

/** Every `flag a b` triple in argv, as [a, b] pairs. */
function pairs(args: string[], flag: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  args.forEach((a, i) => {
    if (a === flag) out.push([args[i + 1], args[i + 2]]);
  });
  return out;
}

describe('buildBwrapArgs', () => {
  it('starts with every mandatory isolation flag, in every network mode', () => {
    for (const network of [{ type: 'none' } as const, { type: 'proxy', socketPath: '/s/egress.sock' } as const]) {
      const args = buildBwrapArgs({ ...base, network });
      expect(args.slice(0, MANDATORY_FLAGS.length)).toEqual([
        '--unshare-user', '--uid', '1000', '--gid', '1000', '--cap-drop', 'ALL', '--unshare-all',
        '--die-with-parent', '--new-session', '--clearenv',
      ]);
      expect(args).toContain('--disable-userns');
      expect(args).not.toContain('--share-net');
    }
  });

  it('binds the system and /etc read-only, and only the allowed /etc entries', () => {
    const args = buildBwrapArgs(base);
    expect(pairs(args, '--ro-bind')).toEqual(expect.arrayContaining([
      ['/usr', '/usr'], ['/etc/ssl', '/etc/ssl'], ['/state/etc/passwd', '/etc/passwd'],
    ]));
    expect(pairs(args, '--symlink')).toContainEqual(['usr/bin', '/bin']);
    expect(args.some((a) => /shadow/.test(a))).toBe(false);
    expect(() => buildBwrapArgs({ ...base, etc: [{ hostPath: '/etc/shadow', sandboxPath: '/etc/shadow' }] })).toThrow(/refusing/);
    expect(() => buildBwrapArgs({ ...base, etc: [{ hostPath: '/etc/gshadow', sandboxPath: '/etc/gshadow' }] })).toThrow(/refusing/);
    expect(() => buildBwrapArgs({ ...base, etc: [{ hostPath: '/x', sandboxPath: '/usr/x' }] })).toThrow();
  });

  it('makes the workspace and outputs the only writable binds and session mounts read-only', () => {
    const args = buildBwrapArgs(base);
    expect(pairs(args, '--bind')).toEqual([
      ['/data/sandboxes/s1/workspace', '/workspace'],
      ['/data/sandboxes/s1/outputs', '/mnt/session/outputs'],
    ]);
    expect(pairs(args, '--ro-bind')).toContainEqual(['/data/files/file_1', '/mnt/session/uploads/file_1']);
    expect(pairs(args, '--dev-bind')).toEqual([]);
    // A private /tmp, procfs and devtmpfs; the skeleton root frozen after all mounts.
    expect(args.join(' ')).toContain('--proc /proc --dev /dev --tmpfs /tmp');
    const remount = args.indexOf('--remount-ro');
    expect(args[remount + 1]).toBe('/');
    expect(args.lastIndexOf('--bind')).toBeLessThan(remount);
    expect(args.lastIndexOf('--ro-bind')).toBeLessThan(remount);
  });

  it('changes into the workspace unless told otherwise and reports status on the given fd', () => {
    const args = buildBwrapArgs({ ...base, statusFd: 3 });
    expect(pairs(args, '--chdir')[0][0]).toBe('/workspace');
    expect(pairs(args, '--json-status-fd')[0][0]).toBe('3');
    expect(pairs(buildBwrapArgs({ ...base, cwd: '/tmp' }), '--chdir')[0][0]).toBe('/tmp');
    expect(() => buildBwrapArgs({ ...base, cwd: 'relative' })).toThrow();
  });

  it('sets a minimal environment with no proxy when the network is none', () => {
    const args = buildBwrapArgs(base);
    const env = Object.fromEntries(pairs(args, '--setenv'));
    expect(env).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/workspace', LANG: 'C.UTF-8', TERM: 'dumb', USER: 'agent', SHLVL: '1' });
    expect(args).not.toContain(EGRESS_SOCKET);
    expect(sandboxCommand(['bash'], { type: 'none' })).toEqual(['bash']);
  });

  it('binds only the egress socket and points the proxy variables at the forwarder in proxy mode', () => {
    const network = { type: 'proxy', socketPath: '/state/s1/egress.sock' } as const;
    const args = buildBwrapArgs({ ...base, network });
    expect(pairs(args, '--bind')).toContainEqual(['/state/s1/egress.sock', EGRESS_SOCKET]);
    const env = Object.fromEntries(sandboxEnv(network));
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) expect(env[name]).toBe('http://127.0.0.1:3128');
    expect(env.NO_PROXY).toBe('');
    expect(env.no_proxy).toBe('');
    const cmd = sandboxCommand(['bash', '--noprofile'], network);
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd[2]).toContain(`socat TCP-LISTEN:3128,fork,reuseaddr,bind=127.0.0.1 UNIX-CONNECT:${EGRESS_SOCKET}`);
    expect(cmd.slice(-2)).toEqual(['bash', '--noprofile']);
  });

  it('rejects session mount paths that are relative, climb, or shadow the sandbox skeleton', () => {
    for (const bad of ['relative/x', '/mnt/../etc/x', '/workspace', '/', '/proc', '/usr', '/mnt/session/outputs']) {
      expect(() => checkSandboxPath(bad), bad).toThrow();
      expect(() => buildBwrapArgs({ ...base, mounts: [{ hostPath: '/h', sandboxPath: bad }] }), bad).toThrow();
    }
    expect(() => checkSandboxPath('/mnt/session/uploads/a.txt')).not.toThrow();
  });
});
