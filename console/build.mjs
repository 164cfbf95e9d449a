// Builds the console into console/dist with Vite (run by `npm run build`, `prepare` and `pretest`).
// After `npm ci --omit=dev` Vite is not installed: then an existing build is kept (a packed tarball
// ships console/dist) and a missing one is reported, without failing the server's build.
import { existsSync } from 'node:fs';
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
