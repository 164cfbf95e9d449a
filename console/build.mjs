// Builds the console into console/dist with Vite (run by `npm run build`, `prepare` and `pretest`),
// then writes gzip and brotli siblings of the text files, which the server sends to browsers that
// accept them (src/server/routes/console.ts), so nothing is compressed per request.
// After `npm ci --omit=dev` Vite is not installed: then an existing build is kept (a packed tarball
// ships console/dist) and a missing one is reported, without failing the server's build.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
let vite;
try {
  vite = await import('vite');
} catch {
  const built = existsSync(`${here}dist/index.html`);
  console.log(built ? 'console: vite is not installed; keeping the existing console/dist' : 'console: vite is not installed (dev dependencies omitted); the console is not built');
  process.exit(0);
}
await vite.build({ configFile: `${here}vite.config.ts`, logLevel: 'warn' });

const COMPRESSIBLE = /\.(js|css|html|svg|json|map|txt)$/;
const walk = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
for (const file of walk(`${here}dist`)) {
  if (!COMPRESSIBLE.test(file)) continue;
  const data = readFileSync(file);
  writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
}
