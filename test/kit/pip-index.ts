// A PEP 503 "simple" package index on 127.0.0.1 for tests (PyPI is out of reach here): serves one
// pure-Python wheel, `hangar-demo` 1.0.0 (module `hangar_demo`, VALUE = 42), built by python3's
// zipfile with a correct RECORD. Counts the wheel downloads.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PipIndex {
  /** The index URL (`…/simple/`), for pip's --index-url. */
  url: string;
  downloads: number;
  close(): Promise<void>;
}

const WHEEL = 'hangar_demo-1.0.0-py3-none-any.whl';

const MAKE_WHEEL = `
import zipfile, hashlib, base64, sys
files = {
  'hangar_demo/__init__.py': b'VALUE = 42\\n',
  'hangar_demo-1.0.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: hangar-demo\\nVersion: 1.0.0\\n',
  'hangar_demo-1.0.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: hangar-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
h = lambda b: 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()
record = ''.join(f'{p},{h(b)},{len(b)}\\n' for p, b in files.items()) + 'hangar_demo-1.0.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
  for p, b in files.items(): z.writestr(p, b)
  z.writestr('hangar_demo-1.0.0.dist-info/RECORD', record)
`;

export async function startPipIndex(): Promise<PipIndex> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-pip-index-'));
  writeFileSync(join(dir, 'make.py'), MAKE_WHEEL);
  execFileSync('python3', [join(dir, 'make.py'), join(dir, WHEEL)]);
  const wheel = readFileSync(join(dir, WHEEL));
  const sha = createHash('sha256').update(wheel).digest('hex');
  const index = { downloads: 0 };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/simple/hangar-demo/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body><a href="/files/${WHEEL}#sha256=${sha}">${WHEEL}</a></body></html>`);
    } else if (path === `/files/${WHEEL}`) {
      index.downloads++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.length }).end(wheel);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return Object.assign(index, {
    url: `http://127.0.0.1:${port}/simple/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    }),
  });
}
