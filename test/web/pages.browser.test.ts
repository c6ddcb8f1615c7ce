/**
 * The served apps in real Chromium: every page's script runs under its CSP and integrity (the page
 * renders its screen; the static HTML holds none of its paragraphs), the CSP refuses a script injected inline, Chromium refuses a script whose
 * bytes were changed on the way (Subresource Integrity), a second recorder tab defers to the first,
 * and axe-core passes on the reviewer shell and the admin sign-in screen (the recorder's and the admin
 * console's screens are checked in recorder.browser.test.ts and admin.browser.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { buildApp } from '../../src/server/app.js';
import { startTestServer } from '../server/support/test-server.js';
import { chromiumArgs, closeBrowserThenServer } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';

const shots = join(process.cwd(), 'test-results', 'pages');

describe('the served apps in a real browser', () => {
  it('run under their CSP and integrity, refuse inline and altered scripts, and pass axe-core', { timeout: 60_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await startTestServer(t);
    const app = buildApp(s.config, s.services, { webDir: await builtWebApps() });
    const closing = closeBrowserThenServer(t, app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://localhost:${(app.server.address() as AddressInfo).port}`;
    const browser = closing(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs] }));
    const axe = await readFile(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

    for (const [page, title] of [['reviewer', 'Sign in to review recordings'], ['admin', 'Sign in'], ['recorder', 'Start your exam recording']] as const) {
      const context = await browser.newContext();
      await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      tab.on('pageerror', (e) => void errors.push(e.message));
      await tab.goto(`${origin}/app/${page}/`);
      await tab.getByRole('heading', { level: 1, name: title }).waitFor();
      await tab.locator('main p').first().waitFor();
      assert.match(await tab.title(), new RegExp(`^${title} – ExamVault( admin console)?$`));

      // An inline script is refused, and the refusal is reported as a CSP violation.
      const inline = await tab.evaluate(`new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: 'inlineRan' in window, directive: e.effectiveDirective }), { once: true });
        setTimeout(() => resolve({ ran: 'inlineRan' in window, directive: null }), 2000);
        const s = document.createElement('script');
        s.textContent = 'window.inlineRan = true';
        document.head.append(s);
      })`);
      assert.deepEqual(inline, { ran: false, directive: 'script-src-elem' }, `${page}: inline script refused`);

      if (page !== 'recorder') {
        await tab.evaluate(axe);
        const violations = await tab.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }).then((r) => r.violations.map((v) => v.id))`);
        assert.deepEqual(violations, [], `${page}: axe-core`);
        await tab.screenshot({ path: join(shots, `${page}.png`), fullPage: true });
      }
      // The admin console and the reviewer ask GET /v1/staff/me whether a session exists; with none, Chromium logs the 401.
      const expected = (e: string) => /Content Security Policy/.test(e) || (page !== 'recorder' && /status of 401/.test(e));
      assert.deepEqual(errors.filter((e) => !expected(e)), [], `${page}: no other error`);
      await context.close();
    }

    // A second recorder tab in the same profile waits for the first, then says it is already open.
    {
      const context = await browser.newContext();
      await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
      const first = await context.newPage();
      await first.goto(`${origin}/app/recorder/`);
      await first.getByRole('heading', { level: 1, name: 'Start your exam recording' }).waitFor();
      const second = await context.newPage();
      await second.goto(`${origin}/app/recorder/`);
      await second.getByRole('heading', { level: 1, name: 'The recorder is already open' }).waitFor({ timeout: 20_000 });
      assert.equal(await first.getByRole('heading', { level: 1 }).innerText(), 'Start your exam recording');
      await context.close();
    }

    // The same page, its script altered in transit: Chromium refuses to run it.
    const context = await browser.newContext();
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) return route.abort('blockedbyclient');
      if (!url.pathname.endsWith('.js')) return route.continue();
      const response = await route.fetch();
      return route.fulfill({ response, body: `${await response.text()}\n;document.title = 'altered';` });
    });
    const tab = await context.newPage();
    const refused: string[] = [];
    tab.on('console', (m) => void (m.type() === 'error' && refused.push(m.text())));
    await tab.goto(`${origin}/app/admin/`);
    await tab.waitForTimeout(1000);
    assert.ok(refused.some((e) => /integrity/i.test(e)), `Chromium reports the integrity failure: ${refused.join(' | ')}`);
    assert.notEqual(await tab.title(), 'altered');
    assert.equal(await tab.getByRole('heading', { level: 1 }).innerText(), 'Admin console', 'the static heading only: the script never ran');
    assert.equal(await tab.locator('main p').count(), 0);
  });
});
