// The console end to end in a real browser: Debian's Chromium driven by playwright-core against a
// real in-process Hangar (test/kit/hangar.ts) serving the built console (console/dist, built by
// `npm run build`/`pretest`), with the scripted fake model upstream. Sign in; watch a session's
// events arrive live; approve an always_ask bash call and see its result; deny one and see the deny
// message in the result; answer a custom tool call; diff two agent versions; upload a file; the
// phone-width layout and dark mode. Every test saves a screenshot in a temp dir (printed at the end).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { launchChromium, runBrowserTests } from '../kit/browser.ts';

const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));
const MODEL = 'claude-sonnet-4-6';
const WAIT = 20_000;

let h: TestHangar;
let up: FakeUpstream;
let browser: Browser;
let shots: string;
let envId: string;

async function signedIn(opts: { width?: number; height?: number; dark?: boolean } = {}): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, colorScheme: opts.dark ? 'dark' : 'light' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(`${h.url}/console/`);
  await page.getByLabel('API key').fill(h.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  return { ctx, page };
}

const pageErrors = (page: Page) => (page as Page & { errors: string[] }).errors;
const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

async function agentWith(tools: unknown[], name = `agent-${Math.random().toString(36).slice(2, 8)}`) {
  return h.client.beta.agents.create({ name, model: MODEL, tools: tools as never });
}

// Generous per-test time: the full suite runs many servers at once on 2 cores.
describe.skipIf(!runBrowserTests())('console in a browser', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_DIST, 'index.html'))) throw new Error('console/dist is not built: run `npm run build:console` (npm test builds it)');
    shots = mkdtempSync(join(tmpdir(), 'hangar-console-shots-'));
    up = await startFakeUpstream();
    h = await startHangar({ upstreamUrl: up.url, overrides: { consoleDir: CONSOLE_DIST } });
    envId = (await h.client.beta.environments.create({ name: 'console-e2e' })).id;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await up?.close();
    if (shots) console.log(`console screenshots: ${shots}`);
  });

  it('signs in (a wrong key is refused), lists sessions with filters, and keeps the key in sessionStorage only', async () => {
    const agent = await agentWith([], 'lister');
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId, title: 'nightly report' });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`${h.url}/console/sessions`);
    await page.getByLabel('API key').fill('sk-wrong-key-0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /key/i }).waitFor();
    // Keyboard only: the key field, Enter submits.
    await page.getByLabel('API key').fill(h.apiKey);
    await page.getByLabel('API key').press('Enter');
    const row = page.locator(`tr[data-session="${s.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('nightly report');
    expect(await row.innerText()).toContain('lister');
    expect(await page.evaluate(() => [sessionStorage.getItem('hangar.console.apiKey'), localStorage.getItem('hangar.console.apiKey')])).toEqual([h.apiKey, null]);
    // Filter by status: the idle session goes away under "running" and the URL carries the filter.
    await page.getByLabel('Status').selectOption('running');
    await row.waitFor({ state: 'detached' });
    expect(page.url()).toContain('status=running');
    await page.getByLabel('Status').selectOption('idle');
    await row.waitFor();
    await shot(page, '1-sessions');
    // The session link opens its page, and that link works pasted into a fresh tab (same sign-in).
    await row.getByRole('link').click();
    await page.getByRole('heading', { name: 'nightly report' }).waitFor();
    const tab = await ctx.newPage();
    await tab.goto(page.url());
    await tab.getByLabel('API key').waitFor(); // a new tab of the same context shares no sessionStorage: sign in again
    await tab.getByLabel('API key').fill(h.apiKey);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('heading', { name: 'nightly report' }).waitFor();
    await ctx.close();
  });

  it('shows a session\'s events live as they arrive over SSE', async () => {
    const agent = await agentWith([]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId, title: 'live one' });
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    // Streamed slowly, so the preview shows before the final message.
    up.script({ content: [{ type: 'text', text: 'Hello from the fake model, streamed in small pieces so the preview shows.' }], chunkDelayMs: 40 });
    await h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'say hello' }] }] });
    await page.locator('li[data-type="user.message"]', { hasText: 'say hello' }).waitFor();
    await page.locator('li[data-type="preview"]').waitFor();
    await page.locator('li[data-type="agent.message"]', { hasText: 'Hello from the fake model' }).waitFor();
    await page.locator('li[data-type="session.status_idle"]').waitFor();
    expect(await page.locator('li[data-type="preview"]').count()).toBe(0);
    const types = await page.locator('ol.timeline > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(types).toEqual(['user.message', 'session.status_running', 'span.model_request_start', 'agent.message', 'span.model_request_end', 'session.status_idle']);
    // A message sent from the console's composer runs a turn too.
    up.script({ content: [{ type: 'text', text: 'Second answer.' }] });
    await page.getByLabel('message').fill('and again');
    await page.getByLabel('message').press('Control+Enter');
    await page.locator('li[data-type="agent.message"]', { hasText: 'Second answer.' }).waitFor();
    expect(JSON.stringify(up.requests.at(-1)!.body)).toContain('and again');
    // Reloading lists the same history once (no duplicates from history + stream).
    await page.reload();
    await page.locator('li[data-type="agent.message"]', { hasText: 'Second answer.' }).waitFor();
    expect(await page.locator('li[data-type="agent.message"]').count()).toBe(2);
    await shot(page, '2-live-timeline');
    expect(pageErrors(page)).toEqual([]);
    await ctx.close();
  });

  it('renders a long session\'s latest rows first and earlier ones on request', async () => {
    const agent = await agentWith([]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId });
    // 26 turns of 6 events: 156 rows, 6 more than the first window.
    for (let i = 0; i < 26; i++) {
      up.script({ content: [{ type: 'text', text: `answer ${i}` }] });
      const stream = await h.client.beta.sessions.events.stream(s.id);
      await h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: `turn ${i}` }] }] });
      for await (const e of stream) if (e.type === 'session.status_idle') break;
      stream.controller.abort();
    }
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('li[data-type="agent.message"]', { hasText: 'answer 25' }).waitFor();
    expect(await page.locator('ol.timeline > li').count()).toBe(150);
    expect(await page.locator('li[data-type="user.message"]', { hasText: 'turn 0' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Show 6 earlier events (6 hidden)' }).click();
    await page.locator('li[data-type="user.message"]', { hasText: 'turn 0' }).waitFor();
    expect(await page.locator('ol.timeline > li').count()).toBe(156);
    await ctx.close();
  });

  it('approves an always_ask bash call and shows its result; denies the next one with a message', async () => {
    const agent = await agentWith([{ type: 'agent_toolset_20260401', configs: [{ name: 'bash', permission_policy: { type: 'always_ask' } }] }]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId, title: 'needs approval' });
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo approved-$((40 + 2)) | tee /mnt/session/outputs/answer.txt' } }] }, { content: [{ type: 'text', text: 'It printed 42.' }] });
    await page.getByLabel('message').fill('run it');
    await page.getByRole('button', { name: 'Send' }).click();
    const call = page.locator('li[data-type="agent.tool_use"]').first();
    await call.getByText('waiting for you').waitFor();
    await shot(page, '3-approval-pending');
    // Keyboard: focus the button and press Enter.
    await call.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    await call.locator('[data-result-of]', { hasText: 'approved-42' }).waitFor({ timeout: 60_000 });
    await call.getByText('approved', { exact: true }).waitFor();
    await page.locator('li[data-type="agent.message"]', { hasText: 'It printed 42.' }).waitFor();
    // The file the command wrote to the outputs directory is captured and downloadable.
    const outputs = page.getByRole('list', { name: 'output files' });
    await expect.poll(async () => {
      if (await outputs.getByText('answer.txt').count()) return true;
      await page.getByRole('button', { name: 'Refresh files' }).click();
      return false;
    }, { timeout: WAIT, interval: 500 }).toBe(true);
    const [dl] = await Promise.all([page.waitForEvent('download'), outputs.getByRole('button', { name: 'Download answer.txt' }).click()]);
    expect(dl.suggestedFilename()).toBe('answer.txt');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync((await dl.path())!, 'utf8').trim()).toBe('approved-42');
    await shot(page, '3-approved');

    up.script({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'rm -rf /workspace/precious' } }] }, { content: [{ type: 'text', text: 'Understood, not deleting.' }] });
    await page.getByLabel('message').fill('now clean up');
    await page.getByRole('button', { name: 'Send' }).click();
    const second = page.locator('li[data-type="agent.tool_use"]').nth(1);
    await second.getByText('waiting for you').waitFor();
    await second.getByLabel('deny message').fill('keep the precious files');
    await second.getByRole('button', { name: 'Deny' }).click();
    await second.locator('[data-result-of]', { hasText: 'keep the precious files' }).waitFor();
    await page.locator('li[data-type="agent.message"]', { hasText: 'Understood' }).waitFor();
    const events = (await h.client.beta.sessions.events.list(s.id)).data as Array<Record<string, any>>;
    expect(events.filter((e) => e.type === 'user.tool_confirmation').map((e) => [e.result, e.deny_message])).toEqual([['allow', undefined], ['deny', 'keep the precious files']]);
    await shot(page, '3-denied');
    expect(pageErrors(page)).toEqual([]);
    await ctx.close();
  });

  it('answers a custom tool call, refusing invalid JSON first', async () => {
    const agent = await agentWith([{ type: 'custom', name: 'lookup_order', description: 'Looks an order up', input_schema: { type: 'object', properties: { id: { type: 'string' } } } }]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId });
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    up.script({ content: [{ type: 'tool_use', name: 'lookup_order', input: { id: 'A-17' } }] }, { content: [{ type: 'text', text: 'Order A-17 shipped.' }] });
    await page.getByLabel('message').fill('where is A-17?');
    await page.getByRole('button', { name: 'Send' }).click();
    const call = page.locator('li[data-type="agent.custom_tool_use"]');
    await call.getByText('waiting for you').waitFor();
    await call.getByLabel('custom tool result').fill('{"status": "shipped"');
    await call.getByText(/not valid JSON/).waitFor();
    expect(await call.getByRole('button', { name: 'Send result' }).isDisabled()).toBe(true);
    await call.getByLabel('custom tool result').fill('{"status": "shipped"}');
    await call.getByRole('button', { name: 'Send result' }).click();
    await call.locator('[data-result-of]', { hasText: 'shipped' }).waitFor();
    await page.locator('li[data-type="agent.message"]', { hasText: 'Order A-17 shipped.' }).waitFor();
    expect(JSON.stringify(up.requests.at(-1)!.body)).toContain('{\\"status\\": \\"shipped\\"}');
    await shot(page, '4-custom-tool');
    await ctx.close();
  });

  it('interrupts a running turn', async () => {
    const agent = await agentWith([]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId });
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    up.script({ content: [{ type: 'text', text: 'This answer never finishes' }], hang: true });
    await page.getByLabel('message').fill('take your time');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('li[data-type="span.model_request_start"]').waitFor();
    const interrupt = page.getByRole('button', { name: 'Interrupt' });
    await expect.poll(() => interrupt.isEnabled(), { timeout: WAIT }).toBe(true);
    await interrupt.click();
    await page.locator('li[data-type="user.interrupt"]').waitFor();
    await page.locator('li[data-type="session.status_idle"]').waitFor();
    expect(await interrupt.isDisabled()).toBe(true);
    await shot(page, '4-interrupted');
    await ctx.close();
  });

  it('shows a team session\'s threads and each thread\'s own timeline', async () => {
    const researcher = await h.client.beta.agents.create({ name: 'researcher', model: MODEL, system: 'You research.' });
    const lead = await h.client.beta.agents.create({ name: 'lead', model: MODEL, system: 'You lead.', multiagent: { type: 'coordinator', agents: [researcher.id] } as never });
    up.setResponder((req) => {
      const sys = JSON.stringify(req.body.system ?? '');
      if (sys.includes('You research.')) return { content: [{ type: 'text', text: 'facts: 42' }] };
      const all = JSON.stringify(req.body.messages);
      if (!all.includes('send_to_agent')) return { content: [{ type: 'tool_use', name: 'send_to_agent', input: { agent_name: 'researcher', message: 'find facts' } }], stop_reason: 'tool_use' };
      if (all.includes('facts: 42')) return { content: [{ type: 'text', text: 'final: 42' }] };
      return { content: [{ type: 'text', text: 'waiting for the report' }] };
    });
    try {
      const s = await h.client.beta.sessions.create({ agent: lead.id, environment_id: envId, title: 'team' });
      const { ctx, page } = await signedIn();
      await page.goto(`${h.url}/console/sessions/${s.id}`);
      await page.locator('[data-conn="live"]').waitFor();
      await h.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
      await page.locator('li[data-type="session.thread_created"]', { hasText: 'researcher' }).waitFor();
      await page.locator('li[data-type="agent.thread_message_sent"]', { hasText: 'find facts' }).waitFor();
      await page.locator('li[data-type="agent.thread_message_received"]', { hasText: 'facts: 42' }).waitFor();
      await page.locator('li[data-type="agent.message"]', { hasText: 'final: 42' }).waitFor();
      const tabs = page.getByRole('tablist', { name: 'threads' });
      await tabs.getByRole('tab', { name: /researcher/ }).click();
      expect(page.url()).toContain('thread=sthr_');
      // The child's own trace: its input and its answer, not the coordinator's conversation.
      await page.locator('li[data-type="agent.message"]', { hasText: 'facts: 42' }).waitFor();
      expect(await page.locator('li[data-type="agent.message"]', { hasText: 'final: 42' }).count()).toBe(0);
      await shot(page, '5-thread');
      await tabs.getByRole('tab', { name: /Primary/ }).click();
      await page.locator('li[data-type="agent.message"]', { hasText: 'final: 42' }).waitFor();
      await ctx.close();
    } finally {
      up.setResponder(null);
    }
  });

  it('raises the budget of a session paused on it, which resumes the turn', async () => {
    const agent = await agentWith([]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId, budget: { type: 'limit', max_list_cost: { amount: '10', currency: 'USD' } } } as never);
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    // The first request costs 30 cents (100k input tokens): it finishes, the next one is gated.
    up.script({ content: [{ type: 'text', text: 'expensive answer' }], usage: { input_tokens: 100_000, output_tokens: 10 } }, { content: [{ type: 'text', text: 'after the raise' }] });
    await page.getByLabel('message').fill('first');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('li[data-type="agent.message"]', { hasText: 'expensive answer' }).waitFor();
    await page.locator('li[data-type="session.status_idle"]').first().waitFor();
    await page.getByLabel('message').fill('second');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Paused: budget reached.').waitFor();
    await page.getByLabel('new budget in cents').fill('5000');
    await page.getByRole('button', { name: 'Raise budget' }).click();
    await page.locator('li[data-type="agent.message"]', { hasText: 'after the raise' }).waitFor();
    expect((await h.client.beta.sessions.retrieve(s.id)).budget).toMatchObject({ max_list_cost: { amount: '5000' } });
    await page.getByText('Paused: budget reached.').waitFor({ state: 'detached' });
    await shot(page, '4-budget-raised');
    await ctx.close();
  });

  it('archives a session (read-only from then on), then deletes it', async () => {
    const agent = await agentWith([]);
    const s = await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId, title: 'to be archived' });
    const { ctx, page } = await signedIn();
    await page.goto(`${h.url}/console/sessions/${s.id}`);
    await page.locator('[data-conn="live"]').waitFor();
    page.on('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.locator('.head-status .badge', { hasText: 'archived' }).waitFor();
    await page.getByLabel('message').waitFor({ state: 'detached' });
    expect((await h.client.beta.sessions.retrieve(s.id)).archived_at).not.toBeNull();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await expect(h.client.beta.sessions.retrieve(s.id)).rejects.toMatchObject({ status: 404 });
    await ctx.close();
  });

  it('diffs two agent versions side by side, edits an agent into a new version, archives it, creates one', async () => {
    const agent = await h.client.beta.agents.create({ name: 'differ', model: MODEL, system: 'You answer in one sentence.' });
    await h.client.beta.agents.update(agent.id, { version: agent.version, system: 'You answer in two sentences.' } as never);
    const { ctx, page } = await signedIn();
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('link', { name: 'differ' }).click();
    const diff = page.getByRole('table', { name: 'diff v1 v2' });
    await diff.waitFor();
    const changed = diff.locator('.diff-row.changed');
    const texts = await changed.allInnerTexts();
    expect(texts.some((t) => t.includes('one sentence') && t.includes('two sentences'))).toBe(true);
    expect(texts.some((t) => t.includes('"version": 1') && t.includes('"version": 2'))).toBe(true);
    // Comparing a version with itself shows no change; the choice is in the URL.
    await page.getByLabel('from version').selectOption('2');
    await page.getByText('0 changed lines').waitFor();
    expect(page.url()).toContain('from=2');
    await page.getByLabel('from version').selectOption('1');
    await shot(page, '5-agent-diff');

    // Editing makes version 3, and the diff then shows v2 → v3.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    const editor = page.getByLabel('agent JSON');
    const current = JSON.parse(await editor.inputValue());
    expect(current).toMatchObject({ name: 'differ', system: 'You answer in two sentences.' });
    expect(current).not.toHaveProperty('id');
    await editor.fill('{ "system": ');
    await page.getByRole('alert').filter({ hasText: 'not valid JSON' }).waitFor();
    await editor.fill(JSON.stringify({ ...current, id: 'agent_x' }));
    await page.getByRole('alert').filter({ hasText: 'not editable here: id' }).waitFor();
    await editor.fill(JSON.stringify({ ...current, system: 'You answer in three sentences.' }, null, 2));
    await page.getByRole('button', { name: 'Save as v3' }).click();
    await page.getByRole('table', { name: 'diff v2 v3' }).locator('.diff-row.changed', { hasText: 'three sentences' }).waitFor();
    expect((await h.client.beta.agents.retrieve(agent.id)).system).toBe('You answer in three sentences.');

    // Archive (after the browser's confirmation).
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByText('archived', { exact: true }).waitFor();
    expect((await h.client.beta.agents.retrieve(agent.id)).archived_at).not.toBeNull();

    // Creating: the API's own 400 is shown, then a valid agent opens its page.
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    await page.getByLabel('agent JSON').fill(JSON.stringify({ name: 'made-in-console', model: 'no-such-model-xyz' }));
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('alert').filter({ hasText: /no-such-model-xyz|model/ }).waitFor();
    await page.getByLabel('agent JSON').fill(JSON.stringify({ name: 'made-in-console', model: MODEL, system: 'Hi.' }));
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'made-in-console' }).waitFor();
    const made = (await h.client.beta.agents.list()).data.find((a) => a.name === 'made-in-console');
    expect(made).toMatchObject({ system: 'Hi.', version: 1 });
    await shot(page, '5-agent-created');
    await ctx.close();
  });

  it('uploads a file and lists environments and vaults without showing secrets', async () => {
    const vault = await h.client.beta.vaults.create({ display_name: 'team-vault' } as never);
    await h.client.beta.vaults.credentials.create(vault.id, { display_name: 'docs-mcp', auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: 'tok-NEVER-SHOWN-123' } } as never);
    const { ctx, page } = await signedIn();
    await page.getByRole('link', { name: 'Files' }).click();
    await page.getByLabel('upload file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello console') });
    await page.getByRole('cell', { name: /notes\.txt/ }).waitFor();
    await shot(page, '6-files');
    await page.getByRole('link', { name: 'Environments' }).click();
    await page.locator('tr[data-env="console-e2e"]').waitFor();
    await page.getByRole('link', { name: 'Vaults' }).click();
    await page.getByRole('button', { name: 'Credentials' }).click();
    await page.getByText('docs-mcp').waitFor();
    expect(await page.content()).not.toContain('NEVER-SHOWN');
    await shot(page, '6-vaults');
    await ctx.close();
  });

  it('works at phone width (390 px) in dark mode', async () => {
    const { ctx, page } = await signedIn({ width: 390, height: 844, dark: true });
    await page.locator('tr[data-session]').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The list folds into cards: nothing scrolls sideways inside it either.
    const wrap = await page.locator('.table-wrap').evaluate((el) => [el.scrollWidth, el.clientWidth]);
    expect(wrap[0]).toBeLessThanOrEqual(wrap[1]);
    // The navigation folds into a menu button.
    expect(await page.getByRole('link', { name: 'Agents' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Agents' }).waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    expect(r + g + b).toBeLessThan(150);
    await shot(page, '7-phone-dark');
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The theme button overrides the system preference (dark → light).
    await page.getByRole('button', { name: /theme/ }).click();
    await page.getByRole('button', { name: /theme/ }).click();
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(light.match(/\d+/g)!.map(Number).reduce((a, c) => a + c, 0)).toBeGreaterThan(600);
    expect(pageErrors(page)).toEqual([]);
    await ctx.close();
  });
});
