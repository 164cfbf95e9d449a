// The egress proxy end to end over its unix socket: CONNECT tunnels and absolute-form HTTP against
// local servers, policy refusals, DNS vetting, failure isolation and shutdown.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import type { EgressPolicy, EgressProxyHandle } from '../../src/ports/egress.ts';
import {
  createEgressProxyStarter, startEgressProxy, type EgressLogEntry, type EgressLookup, type EgressProxyOptions,
} from '../../src/adapters/egress-proxy/egress-proxy.ts';
import {
  proxyConnect, proxyHttp, readToEnd, roundTrip, startHttpUpstream, startTcpServer, tempSocketDir, waitForClose,
  type TempDir,
} from './proxy-client.ts';

const ANY: EgressPolicy = { allowedHosts: null };
const TEST_ALLOWANCE = { unsafeAllowPrivateAddressesForTests: true } as const;

let dir: TempDir;
let logs: EgressLogEntry[];
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  dir = await tempSocketDir();
  logs = [];
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await dir.remove();
});

async function proxy(policy: EgressPolicy, opts: EgressProxyOptions = {}): Promise<EgressProxyHandle> {
  const handle = await createEgressProxyStarter({ log: (e) => logs.push(e), ...opts })(policy, dir.socketPath);
  cleanups.push(() => handle.close());
  return handle;
}

async function echoServer() {
  const server = await startTcpServer();
  cleanups.push(() => server.close());
  return server;
}

describe('CONNECT tunnels', () => {
  it('refuses CONNECT to 127.0.0.1 with 403 by default and logs the refusal', async () => {
    const echo = await echoServer();
    await proxy(ANY);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    const body = (await readToEnd(res.socket, res.rest)).toString();
    expect(res.status).toBe(403);
    expect(res.head).toMatch(/X-Hangar-Egress-Refusal: forbidden_address/i);
    expect(body).toMatch(/127\.0\.0\.1 is a loopback, private, link-local or reserved address/);
    expect(echo.sockets).toHaveLength(0);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_refused', kind: 'connect', host: '127.0.0.1', port: echo.port, reason: 'forbidden_address' }));
  });

  it('tunnels to a local server with the test-only allowance, and bytes round-trip both ways', async () => {
    const echo = await echoServer();
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    expect(res.status).toBe(200);
    expect(res.head).toBe('HTTP/1.1 200 Connection Established');
    const payload = randomBytes(1024 * 1024);
    expect((await roundTrip(res.socket, payload)).equals(payload)).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_allowed', kind: 'connect', address: '127.0.0.1', port: echo.port }));
    res.socket.destroy();
  });

  it('forwards bytes the client sent in the same packet as the CONNECT head', async () => {
    const echo = await echoServer();
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`, { firstBytes: Buffer.from('early-bytes') });
    expect(res.status).toBe(200);
    const back = Buffer.concat([res.rest, await roundTrip(res.socket, Buffer.from('!'), 12 - res.rest.length)]);
    expect(back.toString()).toBe('early-bytes!');
    res.socket.destroy();
  });

  it('keeps bytes the client sent while the name was still resolving', async () => {
    const echo = await echoServer();
    let release!: () => void;
    const resolved = new Promise<void>((r) => (release = r));
    await proxy(ANY, { ...TEST_ALLOWANCE, lookup: async () => (await resolved, [{ address: '127.0.0.1', family: 4 }]) });
    const socket = connect(dir.socketPath);
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write(`CONNECT eager.example.com:${echo.port} HTTP/1.1\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 20));
    socket.write('sent-before-200');
    await new Promise((r) => setTimeout(r, 20));
    release();
    const expected = 'HTTP/1.1 200 Connection Established\r\n\r\nsent-before-200';
    while (Buffer.concat(received).length < expected.length) await new Promise((r) => setTimeout(r, 5));
    expect(Buffer.concat(received).toString()).toBe(expected);
    socket.destroy();
  });

  it('refuses a host not in allowed_hosts with 403 even with the test-only allowance', async () => {
    const echo = await echoServer();
    await proxy({ allowedHosts: ['example.com', '*.example.org'] }, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    const body = (await readToEnd(res.socket, res.rest)).toString();
    expect(res.status).toBe(403);
    expect(body).toBe("egress to 127.0.0.1 refused: 127.0.0.1 is not in the environment's allowed_hosts\n");
    expect(echo.sockets).toHaveLength(0);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_refused', reason: 'host_not_allowed', host: '127.0.0.1' }));
  });

  it('tunnels to an IPv4 literal listed in allowed_hosts (with the allowance, as it is loopback)', async () => {
    const echo = await echoServer();
    await proxy({ allowedHosts: ['127.0.0.1'] }, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    expect(res.status).toBe(200);
    res.socket.destroy();
  });

  it('refuses the name localhost because it resolves to loopback', async () => {
    const echo = await echoServer();
    await proxy(ANY);
    const res = await proxyConnect(dir.socketPath, `localhost:${echo.port}`);
    const body = (await readToEnd(res.socket, res.rest)).toString();
    expect(res.status).toBe(403);
    expect(body).toMatch(/egress to localhost refused: localhost resolves to (127\.0\.0\.1|::1),/);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_refused', host: 'localhost', reason: 'forbidden_address' }));
  });

  it('refuses numeric spellings of loopback (0x7f.1, 2130706433) after normalizing them', async () => {
    await proxy(ANY);
    for (const target of ['0x7f.1:443', '2130706433:443', '[::ffff:127.0.0.1]:443', '[::1]:443']) {
      const res = await proxyConnect(dir.socketPath, target);
      await readToEnd(res.socket, res.rest);
      expect(res.status, target).toBe(403);
    }
  });

  it('refuses the cloud metadata address and names, without resolving the names', async () => {
    let lookups = 0;
    await proxy(ANY, { lookup: async () => (lookups++, [{ address: '169.254.169.254', family: 4 }]) });
    for (const target of ['169.254.169.254:80', 'metadata.google.internal:80', 'METADATA.GOOGLE.INTERNAL.:443', '[fd00:ec2::254]:80']) {
      const res = await proxyConnect(dir.socketPath, target);
      await readToEnd(res.socket, res.rest);
      expect(res.status, target).toBe(403);
    }
    expect(lookups).toBe(0);
    expect(logs.filter((e) => e.reason === 'forbidden_hostname')).toHaveLength(2);
  });

  it('refuses a name when any one of its addresses is private, even if another is public', async () => {
    await proxy(ANY, { lookup: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }] });
    const res = await proxyConnect(dir.socketPath, 'mixed.example.com:443');
    const body = (await readToEnd(res.socket, res.rest)).toString();
    expect(res.status).toBe(403);
    expect(body).toMatch(/mixed\.example\.com resolves to 10\.0\.0\.7/);
    expect(logs).toContainEqual(expect.objectContaining({ reason: 'forbidden_address', addresses: ['93.184.216.34', '10.0.0.7'] }));
  });

  it('resolves once and connects to exactly the vetted address (no second lookup to rebind)', async () => {
    const echo = await echoServer();
    const asked: string[] = [];
    // `.test` names never resolve on the system resolver, so the tunnel can only work if the proxy
    // dials the address this lookup returned.
    await proxy({ allowedHosts: ['*.service.test'] }, {
      ...TEST_ALLOWANCE,
      lookup: async (name) => (asked.push(name), [{ address: '127.0.0.1', family: 4 }]),
    });
    const res = await proxyConnect(dir.socketPath, `API.service.test:${echo.port}`);
    expect(res.status).toBe(200);
    expect((await roundTrip(res.socket, Buffer.from('ping'))).toString()).toBe('ping');
    expect(asked).toEqual(['api.service.test']);
    res.socket.destroy();
  });

  it('answers 502 when DNS fails and when the upstream refuses the connection', async () => {
    const closed = await startTcpServer();
    await closed.close();
    const failing: EgressLookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await proxy(ANY, { ...TEST_ALLOWANCE, lookup: failing });
    const dns = await proxyConnect(dir.socketPath, 'nowhere.example.com:443');
    expect(dns.status).toBe(502);
    expect((await readToEnd(dns.socket, dns.rest)).toString()).toMatch(/DNS lookup failed \(ENOTFOUND\)/);
    const refused = await proxyConnect(dir.socketPath, `127.0.0.1:${closed.port}`);
    expect(refused.status).toBe(502);
    expect((await readToEnd(refused.socket, refused.rest)).toString()).toMatch(/ECONNREFUSED/);
    expect(logs.map((e) => [e.event, e.reason])).toEqual([['egress_failed', 'dns_failed'], ['egress_failed', 'upstream_error']]);
  });

  it('answers 504 when DNS does not answer in time', async () => {
    await proxy(ANY, { dnsTimeoutMs: 50, lookup: () => new Promise(() => {}) });
    const res = await proxyConnect(dir.socketPath, 'slow.example.com:443');
    expect(res.status).toBe(504);
    expect((await readToEnd(res.socket, res.rest)).toString()).toMatch(/DNS lookup failed \(timeout\)/);
  });

  it('does not dial upstream for a client that left while its name was resolving', async () => {
    const echo = await echoServer();
    let release!: () => void;
    const resolved = new Promise<void>((r) => (release = r));
    await proxy(ANY, { ...TEST_ALLOWANCE, lookup: async () => (await resolved, [{ address: '127.0.0.1', family: 4 }]) });
    const socket = connect(dir.socketPath);
    socket.on('error', () => {});
    socket.write(`CONNECT gone.example.com:${echo.port} HTTP/1.1\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 30));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 30));
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(echo.sockets).toHaveLength(0);
  });

  it('answers 400 to a CONNECT target without a port', async () => {
    await proxy(ANY);
    const res = await proxyConnect(dir.socketPath, 'example.com');
    expect(res.status).toBe(400);
    await readToEnd(res.socket, res.rest);
  });

  it('survives an upstream that closes mid-tunnel: the client sees the bytes then the close', async () => {
    const rude = await startTcpServer((s) => {
      s.write('partial');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    cleanups.push(() => rude.close());
    const echo = await echoServer();
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${rude.port}`);
    expect(res.status).toBe(200);
    expect((await readToEnd(res.socket, res.rest)).toString()).toBe('partial');
    // The proxy is still serving.
    const next = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    expect((await roundTrip(next.socket, Buffer.from('still here'))).toString()).toBe('still here');
    next.socket.destroy();
  });

  it('closes the upstream connection when the client disconnects abruptly', async () => {
    const echo = await echoServer();
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    await roundTrip(res.socket, Buffer.from('x'));
    res.socket.destroy();
    await waitForClose(echo.sockets[0]);
  });

  it('passes a half-close through: the client ends its side and still reads the reply', async () => {
    const replyOnEnd = await startTcpServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).length} bytes`));
    });
    cleanups.push(() => replyOnEnd.close());
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${replyOnEnd.port}`);
    res.socket.end(randomBytes(5000));
    expect((await readToEnd(res.socket, res.rest)).toString()).toBe('got 5000 bytes');
  });

  it('closes tunnels that stay idle longer than the idle timeout', async () => {
    const echo = await echoServer();
    await proxy(ANY, { ...TEST_ALLOWANCE, idleTimeoutMs: 200 });
    const res = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    expect(res.status).toBe(200);
    const started = Date.now();
    await waitForClose(res.socket, 3_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await waitForClose(echo.sockets[0]);
    expect(logs.filter((e) => e.reason === 'tunnel_idle')).toHaveLength(1);
  });

  it('answers 431 to an oversized request head and keeps serving', async () => {
    const echo = await echoServer();
    await proxy(ANY, { ...TEST_ALLOWANCE, maxHeaderBytes: 2048 });
    const big = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`, { extraHeaders: `X-Big: ${'a'.repeat(8192)}\r\n` });
    expect(big.status).toBe(431);
    const ok = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    expect(ok.status).toBe(200);
    ok.socket.destroy();
  });
});

describe('absolute-form HTTP', () => {
  it('refuses GET http://127.0.0.1/ with 403 by default, never contacting the server', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('secret'));
    cleanups.push(() => up.close());
    await proxy(ANY);
    const res = await proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/admin`);
    expect(res.status).toBe(403);
    expect(res.headers['x-hangar-egress-refusal']).toBe('forbidden_address');
    expect(res.body).toMatch(/egress to 127\.0\.0\.1 refused/);
    expect(up.requests).toHaveLength(0);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_refused', kind: 'http', reason: 'forbidden_address' }));
  });

  it('refuses the metadata endpoint by address and a 169.254 URL in any spelling', async () => {
    await proxy(ANY);
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://0xa9fea9fe/', 'http://[::ffff:169.254.169.254]/']) {
      const res = await proxyHttp(dir.socketPath, url);
      expect(res.status, url).toBe(403);
    }
  });

  it('forwards with the test-only allowance, dropping hop-by-hop headers in both directions', async () => {
    const up = await startHttpUpstream((_req, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('X-Up', 'yes');
      res.setHeader('Connection', 'x-resp-hop');
      res.setHeader('X-Resp-Hop', 'should not pass');
      res.writeHead(201);
      res.end('created');
    });
    cleanups.push(() => up.close());
    await proxy(ANY, TEST_ALLOWANCE);
    const res = await proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/items?x=1`, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/plain',
        'X-Custom': 'kept',
        'Proxy-Authorization': 'Basic c2VjcmV0',
        'Proxy-Connection': 'keep-alive',
        Connection: 'keep-alive, X-Req-Hop',
        'X-Req-Hop': 'should not pass',
        Host: 'spoofed.example.com',
      },
      body: 'hello',
    });
    expect(res.status).toBe(201);
    expect(res.body).toBe('created');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-up']).toBe('yes');
    expect(res.headers['x-resp-hop']).toBeUndefined();

    const [seen] = up.requests;
    expect(seen).toMatchObject({ method: 'POST', url: '/items?x=1', body: 'hello' });
    expect(seen.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(seen.headers['x-custom']).toBe('kept');
    for (const h of ['proxy-authorization', 'proxy-connection', 'x-req-hop']) expect(seen.headers[h], h).toBeUndefined();
    expect(seen.headers.connection).toBe('close');
  });

  it('streams request and response bodies without buffering either', async () => {
    // An upstream that echoes each chunk as it arrives: the client only sends chunk n+1 after
    // reading chunk n back, which deadlocks if the proxy buffers a whole body.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.flushHeaders();
      req.pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
    const port = (server.address() as { port: number }).port;
    await proxy(ANY, TEST_ALLOWANCE);

    const received = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: dir.socketPath, path: `http://127.0.0.1:${port}/echo`, method: 'POST', agent: false });
      req.on('error', reject);
      let round = 0;
      let got = '';
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          got += chunk;
          if (got.endsWith(`chunk-${round};`)) {
            round++;
            if (round < 5) req.write(`chunk-${round};`);
            else req.end();
          }
        });
        res.on('end', () => resolve(got));
      });
      req.write('chunk-0;');
      req.flushHeaders();
    });
    expect(received).toBe('chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;');
  });

  it('refuses a host not in allowed_hosts with 403 even with the test-only allowance', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('no'));
    cleanups.push(() => up.close());
    await proxy({ allowedHosts: ['*.example.com'] }, TEST_ALLOWANCE);
    const res = await proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/`);
    expect(res.status).toBe(403);
    expect(res.body).toBe("egress to 127.0.0.1 refused: 127.0.0.1 is not in the environment's allowed_hosts\n");
    expect(up.requests).toHaveLength(0);
  });

  it('cuts the client response when the upstream dies mid-body, and keeps serving', async () => {
    const up = await startHttpUpstream((req, res) => {
      if (req.url === '/ok') return void res.end('fine');
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only part');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    cleanups.push(() => up.close());
    await proxy(ANY, TEST_ALLOWANCE);
    await expect(proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/cut`)).rejects.toThrow();
    expect((await proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/ok`)).body).toBe('fine');
  });

  it('does not dial upstream for a client that left while its name was resolving', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('late'));
    cleanups.push(() => up.close());
    let release!: () => void;
    const resolved = new Promise<void>((r) => (release = r));
    await proxy(ANY, { ...TEST_ALLOWANCE, lookup: async () => (await resolved, [{ address: '127.0.0.1', family: 4 }]) });
    const req = request({ socketPath: dir.socketPath, path: `http://gone.example.com:${up.port}/`, agent: false });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 30));
    req.destroy();
    await new Promise((r) => setTimeout(r, 30));
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(up.requests).toHaveLength(0);
    expect(logs.filter((e) => e.event === 'egress_allowed')).toHaveLength(0);
  });

  it('answers 504 when the upstream goes silent past the idle timeout', async () => {
    const up = await startHttpUpstream(() => {}); // never responds
    cleanups.push(() => up.close());
    await proxy(ANY, { ...TEST_ALLOWANCE, idleTimeoutMs: 200 });
    const res = await proxyHttp(dir.socketPath, `http://127.0.0.1:${up.port}/slow`);
    expect(res.status).toBe(504);
    expect(logs).toContainEqual(expect.objectContaining({ event: 'egress_failed', kind: 'http', reason: 'upstream_timeout' }));
  });

  it('answers 400 to origin-form requests and https:// URLs, and 501 to protocol upgrades', async () => {
    await proxy(ANY, TEST_ALLOWANCE);
    expect((await proxyHttp(dir.socketPath, '/not-a-proxy-request')).status).toBe(400);
    const https = await proxyHttp(dir.socketPath, 'https://example.com/');
    expect(https.status).toBe(400);
    expect(https.body).toMatch(/CONNECT/);
    const upgrade = await proxyConnectLike(dir.socketPath, 'GET http://127.0.0.1:1/ws HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    expect(upgrade).toMatch(/^HTTP\/1\.1 501/);
  });
});

describe('lifecycle', () => {
  it('listens on a 0600 unix socket and close() removes it', async () => {
    const handle = await proxy(ANY);
    expect(handle.socketPath).toBe(dir.socketPath);
    expect(statSync(dir.socketPath).mode & 0o777).toBe(0o600);
    await handle.close();
    expect(existsSync(dir.socketPath)).toBe(false);
    await handle.close();
  });

  it('close() ends open tunnels on both sides', async () => {
    const echo = await echoServer();
    const handle = await proxy(ANY, TEST_ALLOWANCE);
    const a = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    const b = await proxyConnect(dir.socketPath, `127.0.0.1:${echo.port}`);
    await roundTrip(a.socket, Buffer.from('a'));
    await roundTrip(b.socket, Buffer.from('b'));
    await handle.close();
    await Promise.all([waitForClose(a.socket), waitForClose(b.socket), ...echo.sockets.map((s) => waitForClose(s))]);
    expect(existsSync(dir.socketPath)).toBe(false);
  });

  it('replaces a stale socket file left by a crashed proxy', async () => {
    // A process killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(dir.socketPath)})`], { stdio: 'ignore' });
    while (!existsSync(dir.socketPath)) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(dir.socketPath)).toBe(true);
    await proxy(ANY);
    expect((await proxyHttp(dir.socketPath, 'http://127.0.0.1:1/')).status).toBe(403);
  });

  it('refuses to start over a regular file', async () => {
    writeFileSync(dir.socketPath, 'not a socket');
    await expect(startEgressProxy(ANY, dir.socketPath)).rejects.toThrow(/EADDRINUSE/);
  });

  it('keeps working when the log callback throws', async () => {
    await startEgressProxy(ANY, dir.socketPath, { log: () => { throw new Error('broken logger'); } }).then((h) => cleanups.push(() => h.close()));
    const res = await proxyHttp(dir.socketPath, 'http://127.0.0.1:1/');
    expect(res.status).toBe(403);
  });
});

function proxyConnectLike(socketPath: string, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.write(raw);
  });
}
