// A real git smart-HTTP server for tests: `git http-backend` (CGI) behind a small Node HTTP server
// on 127.0.0.1, with basic-auth tokens (any user name, the token as password). Repositories are
// created bare under a temp dir; `tokens` can be changed while it runs (for rotation tests).
import { spawn, execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitServer {
  url: string;
  root: string;
  /** Accepted tokens; empty = no authentication required. */
  tokens: Set<string>;
  /** Authorization headers received (to check what the client sent). */
  seenAuthorization: string[];
  /** Creates a bare repository `name.git` with one commit on `main` containing `files`; returns that commit's sha. */
  createRepo(name: string, files: Record<string, string>, opts?: { branches?: string[] }): string;
  close(): Promise<void>;
}

const git = (args: string[], cwd: string) => execFileSync('git', args, {
  cwd, encoding: 'utf8',
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
}).trim();

function tokenOf(req: IncomingMessage): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

export async function startGitServer(): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'hangar-git-'));
  const repos = join(root, 'repos');
  mkdirSync(repos);
  const tokens = new Set<string>();
  const seenAuthorization: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization) seenAuthorization.push(req.headers.authorization);
    if (tokens.size > 0) {
      const token = tokenOf(req);
      if (token === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        return;
      }
      if (!tokens.has(token)) {
        res.writeHead(403).end('forbidden\n');
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: repos, GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET', PATH_INFO: decodeURIComponent(url.pathname), QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '', CONTENT_LENGTH: req.headers['content-length'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '', GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    root,
    tokens,
    seenAuthorization,
    createRepo(name, files, opts = {}) {
      const work = join(root, `work-${name}`);
      mkdirSync(work);
      git(['init', '-q', '-b', 'main'], work);
      for (const [path, text] of Object.entries(files)) writeFileSync(join(work, path), text);
      git(['add', '-A'], work);
      git(['commit', '-q', '-m', 'initial'], work);
      for (const b of opts.branches ?? []) git(['branch', b], work);
      const sha = git(['rev-parse', 'HEAD'], work);
      git(['clone', '-q', '--bare', work, join(repos, `${name}.git`)], root);
      return sha;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(root, { recursive: true, force: true });
        resolve();
      });
    }),
  };
}
