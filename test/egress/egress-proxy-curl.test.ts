// Wire compatibility with the client sandboxed tools actually use: curl, pointed at the proxy
// through a 127.0.0.1 TCP bridge to the unix socket (what socat does inside the sandbox).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { EgressPolicy } from '../../src/ports/egress.ts';
import { createEgressProxyStarter } from '../../src/adapters/egress-proxy/egress-proxy.ts';
import { startHttpUpstream, tempSocketDir, type HttpUpstream, type TempDir } from './proxy-client.ts';

const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));

let dir: TempDir;
let up: HttpUpstream;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  dir = await tempSocketDir();
  up = await startHttpUpstream((req, res) => res.end(`hello from ${req.url}`));
  cleanups.push(() => up.close());
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await dir.remove();
});

/** Starts the proxy plus a TCP bridge to its socket; returns the bridge's proxy URL. */
async function proxyUrl(policy: EgressPolicy, allowPrivate: boolean): Promise<string> {
  const handle = await createEgressProxyStarter({ unsafeAllowPrivateAddressesForTests: allowPrivate })(policy, dir.socketPath);
  const open = new Set<Socket>();
  const bridge = createServer((inside) => {
    const outside = connect(handle.socketPath);
    for (const s of [inside, outside]) {
      open.add(s);
      s.on('error', () => { inside.destroy(); outside.destroy(); });
      s.on('close', () => open.delete(s));
    }
    inside.pipe(outside).pipe(inside);
  });
  await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => handle.close());
  cleanups.push(() => new Promise((r) => { for (const s of open) s.destroy(); bridge.close(r); }));
  return `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
}

interface CurlResult { code: number; stdout: string; stderr: string }

// Asynchronous on purpose: the proxy runs in this process, so a blocking exec would deadlock.
function curl(args: string[]): Promise<CurlResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }; // no *_PROXY / NO_PROXY from the host
  return new Promise((resolve) => {
    execFile(CURL!, ['-sS', '--max-time', '10', ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!CURL)('curl through the egress proxy', () => {
  it('fetches plain HTTP through the proxy (absolute-form) with the test-only allowance', async () => {
    const proxy = await proxyUrl({ allowedHosts: null }, true);
    const res = await curl(['-x', proxy, `http://127.0.0.1:${up.port}/plain`]);
    expect(res.stdout).toBe('hello from /plain');
  });

  it('fetches through a CONNECT tunnel (curl --proxytunnel) with the test-only allowance', async () => {
    const proxy = await proxyUrl({ allowedHosts: null }, true);
    const res = await curl(['-p', '-x', proxy, `http://127.0.0.1:${up.port}/tunnelled`]);
    expect(res.stdout).toBe('hello from /tunnelled');
  });

  it('gets 403 and the refusal text for loopback by default', async () => {
    const proxy = await proxyUrl({ allowedHosts: null }, false);
    const plain = await curl(['-x', proxy, '-w', '\n%{http_code}', `http://127.0.0.1:${up.port}/`]);
    expect(plain.stdout).toMatch(/egress to 127\.0\.0\.1 refused: .*\n\n403$/);
    const tunnel = await curl(['-p', '-x', proxy, '-w', '%{http_connect}', `http://127.0.0.1:${up.port}/`]);
    expect(tunnel.code).toBe(56); // CONNECT refused
    expect(tunnel.stdout).toBe('403');
    expect(up.requests).toHaveLength(0);
  });

  it('gets 403 for a host outside allowed_hosts even with the allowance', async () => {
    const proxy = await proxyUrl({ allowedHosts: ['pypi.org'] }, true);
    const res = await curl(['-x', proxy, '-w', '\n%{http_code}', `http://127.0.0.1:${up.port}/`]);
    expect(res.stdout).toBe("egress to 127.0.0.1 refused: 127.0.0.1 is not in the environment's allowed_hosts\n\n403");
  });
});
