// Entry point of `npm start`: read the environment once, start Hangar, print a generated key once,
// and shut down cleanly on SIGINT/SIGTERM.
import { loadConfig, ConfigError } from './config.ts';
import { createHangar } from './hangar.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const hangar = await createHangar(config);
  const address = await hangar.listen();
  if (hangar.generatedApiKey) {
    process.stdout.write(
      `\nHangar generated an API key (shown only once; only its hash is stored):\n\n  ${hangar.generatedApiKey}\n\n` +
        'Set HANGAR_API_KEY to choose your own key instead.\n\n',
    );
  }
  hangar.logger.info({ address, dataDir: config.dataDir }, 'hangar listening');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    hangar.logger.info({ signal }, 'shutting down');
    hangar.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`hangar: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`hangar: failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
