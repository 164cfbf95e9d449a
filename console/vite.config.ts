// Vite build of the web console: served by the Hangar server at /console (src/server/routes/console.ts),
// so every asset URL starts with /console/ and hashed files land in dist/assets/ (cached for a year).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // No inline module-preload polyfill script: the CSP allows no inline script.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npm run console:dev`: the API calls go to a Hangar on the default port.
    proxy: { '/v1': 'http://127.0.0.1:8700' },
  },
});
