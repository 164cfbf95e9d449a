// The console's management pages end to end in a real browser (Debian's Chromium via playwright-core,
// test/kit/browser.ts) against a real in-process Hangar serving the built console/dist: creating an
// environment with limited networking (a bad host refused first) and archiving it; creating a
// vault, adding credentials whose secrets are write-only (never in the page's HTML, not even in the
// password field after submit), rotating one (the stored secret changes), archiving a credential
// and the vault; and the agent form / JSON / YAML views. Screenshots go to a temp dir (printed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { launchChromium, runBrowserTests } from '../kit/browser.ts';

const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));
const WAIT = 20_000;

let h: TestHangar;
let browser: Browser;
let shots: string;

async function signedIn(width = 1280, height = 800): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${h.url}/console/`);
  await page.getByLabel('API key').fill(h.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  return { ctx, page, errors };
}

// Which built-in tools an agent has on, read from the API's answer (a tool's own config, else the
// toolset default, else on). Kept here: the root tsconfig does not compile the console's TSX.
const BUILTINS = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'];
function enabledTools(tools: unknown): string[] {
  const set = (tools as Record<string, any>[]).find((t) => t.type === 'agent_toolset_20260401');
  if (!set) return [];
  return BUILTINS.filter((n) => (set.configs ?? []).find((c: Record<string, any>) => c.name === n)?.enabled ?? set.default_config?.enabled ?? true);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

describe.skipIf(!runBrowserTests())('console management pages in a browser', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_DIST, 'index.html'))) throw new Error('console/dist is not built: run `npm run build:console` (npm test builds it)');
    shots = mkdtempSync(join(tmpdir(), 'hangar-console-manage-shots-'));
    h = await startHangar({ overrides: { consoleDir: CONSOLE_DIST } });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    if (shots) console.log(`console screenshots: ${shots}`);
  });

  it('creates an environment with limited networking (a bad host refused first) and archives it', async () => {
    const { ctx, page, errors } = await signedIn();
    await page.getByRole('link', { name: 'Environments' }).click();
    await page.getByRole('button', { name: 'New environment' }).click();
    const form = page.getByRole('form', { name: 'new environment' });
    await form.getByLabel('Name').fill('limited-net');
    await form.getByLabel('Description').fill('made in the console');
    await form.getByLabel('Networking').selectOption('limited');
    await form.getByLabel('Allowed hosts').fill('https://api.example.com/v1');
    await form.getByLabel('allow package managers').check();
    await form.getByRole('button', { name: 'Create environment' }).click();
    // The API's 400 is shown and nothing is created.
    await form.getByRole('alert').filter({ hasText: /host/ }).waitFor();
    expect((await h.client.beta.environments.list()).data.map((e) => e.name)).not.toContain('limited-net');
    await form.getByLabel('Allowed hosts').fill('api.example.com\npypi.org');
    await form.getByRole('button', { name: 'Create environment' }).click();
    const row = page.locator('tr[data-env="limited-net"]');
    await row.waitFor();
    expect(await row.innerText()).toContain('limited: api.example.com, pypi.org + package managers');
    const made = (await h.client.beta.environments.list()).data.find((e) => e.name === 'limited-net')!;
    expect(made).toMatchObject({
      description: 'made in the console',
      config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['api.example.com', 'pypi.org'], allow_package_managers: true, allow_mcp_servers: false } },
    });
    expect(made.archived_at).toBeFalsy();

    // An unrestricted one next to it, then archive the limited one.
    await page.getByRole('button', { name: 'New environment' }).click();
    await form.getByLabel('Name').fill('open-net');
    await form.getByRole('button', { name: 'Create environment' }).click();
    await page.locator('tr[data-env="open-net"]').waitFor();
    expect((await h.client.beta.environments.list()).data.find((e) => e.name === 'open-net')?.config).toMatchObject({ networking: { type: 'unrestricted' } });
    // A self-hosted one: no networking or packages fields.
    await page.getByRole('button', { name: 'New environment' }).click();
    await form.getByLabel('Name').fill('own-workers');
    await form.getByLabel('Type').selectOption('self_hosted');
    expect(await form.getByLabel('Networking').count()).toBe(0);
    await form.getByRole('button', { name: 'Create environment' }).click();
    await page.locator('tr[data-env="own-workers"]').waitFor();
    expect((await h.client.beta.environments.list()).data.find((e) => e.name === 'own-workers')?.config).toMatchObject({ type: 'self_hosted' });
    await shot(page, '1-environments');
    await page.getByRole('button', { name: 'archive environment limited-net' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await h.client.beta.environments.retrieve(made.id)).archived_at).toBeTruthy();
    await page.locator('tr[data-env="open-net"]').waitFor();
    // With "archived too" it is back, marked archived, with no archive button.
    await page.getByLabel('archived too').check();
    await row.getByText('archived').waitFor();
    expect(await row.getByRole('button').count()).toBe(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('creates a vault and credentials whose secrets never reach the page, rotates one, archives a credential and the vault', async () => {
    const SECRETS = ['tok-FIRST-SECRET-4711', 'val-SECOND-SECRET-0815', 'tok-ROTATED-SECRET-2323'];
    const { ctx, page, errors } = await signedIn();
    const noSecretInPage = async () => {
      const html = await page.content();
      for (const s of SECRETS) expect(html).not.toContain(s);
      // Nor in any input's live value (the form was reset after submit).
      const values = await page.locator('input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
      for (const s of SECRETS) expect(values).not.toContain(s);
    };
    await page.getByRole('link', { name: 'Vaults' }).click();
    await page.getByRole('button', { name: 'New vault' }).click();
    await page.getByLabel('Vault name').fill('ops-vault');
    await page.getByRole('button', { name: 'Create vault' }).click();
    const card = page.locator('li[data-vault="ops-vault"]');
    await card.waitFor();
    const vault = (await h.client.beta.vaults.list()).data.find((v) => v.display_name === 'ops-vault')!;
    expect(vault).toBeTruthy();

    // A bearer token for an MCP server: the secret field is a password input.
    const form = card.getByRole('form', { name: 'new credential' });
    await form.waitFor(); // the new vault opens on its credentials
    expect(await form.getByLabel(/Token/).getAttribute('type')).toBe('password');
    await form.getByLabel('Credential name').fill('docs-mcp');
    await form.getByLabel('MCP server URL').fill('https://mcp.example.com/mcp');
    await form.getByLabel(/Token/).fill(SECRETS[0]);
    await form.getByRole('button', { name: 'Add credential' }).click();
    const docs = card.locator('li[data-credential="docs-mcp"]');
    await docs.waitFor();
    expect(await docs.innerText()).toContain('https://mcp.example.com/mcp');
    await noSecretInPage();
    expect((await h.hangar.vaults.mcpCredential([vault.id], 'https://mcp.example.com/mcp'))?.token).toBe(SECRETS[0]);

    // An environment variable: a bad variable name is refused by the API (shown, nothing created).
    await form.getByLabel('Kind').selectOption('environment_variable');
    await form.getByLabel('Credential name').fill('deploy-key');
    await form.getByLabel('Variable name').fill('1-not-a-name');
    await form.getByLabel(/Secret value/).fill(SECRETS[1]);
    await form.getByRole('button', { name: 'Add credential' }).click();
    await form.getByRole('alert').filter({ hasText: /environment variable name/ }).waitFor();
    expect((await h.client.beta.vaults.credentials.list(vault.id)).data).toHaveLength(1);
    await form.getByLabel('Variable name').fill('DEPLOY_KEY');
    await form.getByRole('button', { name: 'Add credential' }).click();
    const deploy = card.locator('li[data-credential="deploy-key"]');
    await deploy.waitFor();
    expect(await deploy.innerText()).toContain('environment_variable');
    expect(await deploy.innerText()).toContain('DEPLOY_KEY');
    await noSecretInPage();

    // Rotate the bearer token: the stored secret changes, the new one is not shown either.
    await docs.getByRole('button', { name: 'Rotate' }).click();
    const rotate = docs.getByRole('form', { name: 'rotate docs-mcp' });
    expect(await rotate.getByLabel(/New secret/).getAttribute('type')).toBe('password');
    await rotate.getByLabel(/New secret/).fill(SECRETS[2]);
    await rotate.getByRole('button', { name: 'Save new secret' }).click();
    await page.getByRole('status').filter({ hasText: 'Secret of docs-mcp replaced.' }).waitFor();
    expect((await h.hangar.vaults.mcpCredential([vault.id], 'https://mcp.example.com/mcp'))?.token).toBe(SECRETS[2]);
    await noSecretInPage();
    await shot(page, '2-vault-credentials');

    // Archive the environment-variable credential, then the vault.
    await deploy.getByRole('button', { name: 'Archive credential' }).click();
    await deploy.waitFor({ state: 'detached' }); // the list leaves archived credentials out
    await docs.waitFor();
    const creds = (await h.client.beta.vaults.credentials.list(vault.id, { include_archived: true } as never)).data;
    expect(creds.find((c) => c.display_name === 'deploy-key')?.archived_at).toBeTruthy();
    expect(creds.find((c) => c.display_name === 'docs-mcp')?.archived_at).toBeFalsy();
    await card.getByRole('button', { name: 'Archive vault' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await h.client.beta.vaults.retrieve(vault.id)).archived_at).toBeTruthy();
    await page.getByLabel('archived too').check();
    await card.getByText('archived').first().waitFor();
    expect(await card.getByRole('button', { name: 'Archive vault' }).count()).toBe(0);
    await noSecretInPage();
    expect(errors).toEqual([]);
    await ctx.close();
  });
  it('creates an agent from the form, edits it in the YAML view (invalid YAML refused), and toggles tools into a new version', async () => {
    const { ctx, page, errors } = await signedIn();
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('button', { name: 'New agent' }).click();
    expect(await page.getByRole('tab', { name: 'Form' }).getAttribute('aria-selected')).toBe('true');
    const form = page.getByRole('group', { name: 'agent form' });
    await form.getByLabel('Name').fill('form-agent');
    await form.getByLabel('Model').fill('claude-sonnet-4-6');
    await form.getByLabel('System prompt').fill('Be brief.');
    await form.getByLabel('bash').check();
    await form.getByLabel('grep').check();

    // The YAML view shows what the form holds; invalid YAML is refused (no switching, no saving).
    await page.getByRole('tab', { name: 'YAML' }).click();
    const yaml = page.getByLabel('agent YAML');
    const text = await yaml.inputValue();
    expect(text).toContain('name: form-agent');
    expect(text).toContain('system: Be brief.');
    expect(text).toMatch(/name: bash\n\s+enabled: true/);
    await yaml.fill('name: [unclosed');
    await page.getByRole('alert').filter({ hasText: 'not valid YAML' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create agent' }).isDisabled()).toBe(true);
    expect(await page.getByRole('tab', { name: 'Form' }).isDisabled()).toBe(true);
    await yaml.fill(text.replace('system: Be brief.', 'system: Be very brief.'));
    // Back in the form, the YAML edit is there; grep goes off again.
    await page.getByRole('tab', { name: 'Form' }).click();
    expect(await form.getByLabel('System prompt').inputValue()).toBe('Be very brief.');
    await form.getByLabel('grep').uncheck();
    await shot(page, '3-agent-form');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'form-agent' }).waitFor();
    const made = (await h.client.beta.agents.list()).data.find((a) => a.name === 'form-agent')!;
    expect(made).toMatchObject({ system: 'Be very brief.', version: 1 });
    expect(made.model).toMatchObject({ id: 'claude-sonnet-4-6' });
    expect(enabledTools(made.tools)).toEqual(['bash']);

    // Editing opens on the form with the agent's values; switching web_fetch on saves v2.
    await page.getByRole('button', { name: 'Edit' }).click();
    expect(await form.getByLabel('Name').inputValue()).toBe('form-agent');
    expect(await form.getByLabel('bash').isChecked()).toBe(true);
    expect(await form.getByLabel('grep').isChecked()).toBe(false);
    await form.getByLabel('web_fetch').check();
    await page.getByRole('button', { name: 'Save as v2' }).click();
    await page.getByRole('table', { name: 'diff v1 v2' }).locator('.diff-row.changed', { hasText: '"enabled": true' }).first().waitFor();
    const v2 = await h.client.beta.agents.retrieve(made.id);
    expect(v2.version).toBe(2);
    expect(enabledTools(v2.tools)).toEqual(['bash', 'web_fetch']);
    expect(errors).toEqual([]);
    await ctx.close();
  });
  it('keeps the new forms within a 390-px phone screen', async () => {
    await h.client.beta.vaults.create({ display_name: 'phone-vault' } as never);
    const { ctx, page, errors } = await signedIn(390, 844);
    const noSideways = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const go = async (name: string) => {
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name }).click();
      await page.getByRole('heading', { name }).waitFor();
    };
    await go('Environments');
    await page.getByRole('button', { name: 'New environment' }).click();
    await page.getByRole('form', { name: 'new environment' }).getByLabel('Networking').selectOption('limited');
    await noSideways();
    await go('Vaults');
    await page.locator('li[data-vault="phone-vault"]').getByRole('button', { name: 'Credentials' }).click();
    await page.getByRole('form', { name: 'new credential' }).waitFor();
    await noSideways();
    await go('Agents');
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByRole('group', { name: 'agent form' }).waitFor();
    await noSideways();
    await shot(page, '4-phone-agent-form');
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
