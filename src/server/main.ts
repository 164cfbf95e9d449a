// Entry point of `npm start`: read the environment once, check the data directory, start Hangar,
// print the start-up block (and a generated key once), and shut down cleanly on SIGINT/SIGTERM.
// Every start-up failure an operator can fix is one `hangar: …` line on stderr, never a stack.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from './config.ts';
import { createHangar } from './hangar.ts';
import { watchLauncher } from './launcher-watch.ts';
import { checkDataDir, commandExists, describeListenError, startupSummary, StartupError } from './startup.ts';

// The package root is two levels up from src/server/ (and from dist/server/ once built).
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  checkDataDir(config);
  const hangar = await createHangar(config);
  let address: string;
  try {
    address = await hangar.listen();
  } catch (err) {
    await hangar.close().catch(() => {});
    const message = describeListenError(err, config.host, config.port);
    throw message ? new StartupError(message) : err;
  }
  const summary = startupSummary({
    version: packageVersion(), url: address, config, sandbox: hangar.sandbox,
    socat: config.sandbox === 'bwrap' ? commandExists('socat') : true,
    consoleDir: hangar.consoleDir,
  });
  process.stdout.write(`\n${summary.text}\n`);
  if (hangar.generatedApiKey) {
    process.stdout.write(
      `Hangar generated an API key (shown only once; only its hash is stored):\n\n  ${hangar.generatedApiKey}\n\n` +
        'Set HANGAR_API_KEY to choose your own key instead.\n\n',
    );
  }
  for (const warning of summary.warnings) hangar.logger.warn({ warning }, 'start-up warning');
  hangar.logger.info({ address, dataDir: config.dataDir, ...summary.fields }, 'hangar listening');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    hangar.logger.info({ signal }, 'shutting down');
    hangar.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // Started by npm (`npx hangar serve`): npm signals only its shell, so a vanished launcher is the stop signal.
  if (process.env.npm_lifecycle_event) watchLauncher(() => shutdown('launcher exited'));
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof StartupError) {
    process.stderr.write(`hangar: ${err.message}\n`);
    process.exit(2);
  }
  // Unexpected: still one line; the stack only when asked for (HANGAR_LOG_LEVEL=debug or trace).
  const verbose = process.env.HANGAR_LOG_LEVEL === 'debug' || process.env.HANGAR_LOG_LEVEL === 'trace';
  process.stderr.write(`hangar: failed to start: ${err?.message ?? err}${verbose ? `\n${err?.stack ?? ''}` : ' (set HANGAR_LOG_LEVEL=debug to see the stack trace)'}\n`);
  process.exit(1);
});
