// Test kit: Debian's Chromium (/usr/bin/chromium, installed by .ci/run) driven by playwright-core,
// headless and network-quiet. No browser is ever downloaded. Without the binary, console browser
// tests skip on a developer machine and fail in CI (CI=true), where a missing browser is a setup bug.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether browser tests run here: always in CI (so a missing browser fails), else only with Chromium. */
export const runBrowserTests = (): boolean => existsSync(CHROMIUM) || Boolean(process.env.CI);

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}
