/**
 * The recorder's passcode form in real Chromium against a real server: a passcode with one mistyped
 * character is caught by its check character while typing, before anything is sent; the corrected one
 * is redeemed (POST /v1/passcodes/redeem, once) and the recorder goes on to check the epoch key and
 * show the consent screen. The passcode never reaches a URL. axe-core passes on the feedback.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { buildApp } from '../../src/server/app.js';
import { addStaff, register } from '../server/custody/support.js';
import { issuePasscode, registerTestPlatform } from '../server/platforms/support.js';
import { startTestServer } from '../server/support/test-server.js';
import { chromiumArgs, closeBrowserThenServer } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { axeCheck, heading, shotsDir } from './recorder-support.js';

const shots = shotsDir('recorder-passcode');

/** The passcode with its 8th symbol (in the secret) replaced by another: exactly one mistyped character. */
function mistyped(passcode: string): string {
  const at = 8;
  const other = passcode[at] === '7' ? '8' : '7';
  return passcode.slice(0, at) + other + passcode.slice(at + 1);
}

describe('the recorder\'s passcode form', () => {
  it('catches a typo while typing, then redeems the passcode and reaches consent, which states the exam\'s snapshot interval', { timeout: 120_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    await register(s, await addStaff(s, inst, 'adm-1', 'admin'));
    const platform = await registerTestPlatform(s, inst);
    // Not the default interval: the consent screen must state the exam's.
    const exam = await s.app.inject({ method: 'POST', url: '/v1/platform/exams', headers: platform.key, payload: { exam: 'bio-final', title: 'Biology final', snapshotIntervalSeconds: 45 } });
    assert.equal(exam.statusCode, 201, exam.body);
    const { passcode } = await issuePasscode(s, platform, 'bio-final');

    const app = buildApp(s.config, s.services, { webDir: await builtWebApps() });
    const closing = closeBrowserThenServer(t, app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://localhost:${(app.server.address() as AddressInfo).port}`;
    const browser = closing(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs] }));
    const context = await browser.newContext();
    const urls: string[] = [];
    const redeems: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      urls.push(url.toString());
      if (url.pathname === '/v1/passcodes/redeem') redeems.push(route.request().postData() ?? '');
      return url.origin === origin ? route.continue() : route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });

    await page.goto(`${origin}/app/recorder/`);
    await heading(page, 'Start your exam recording');
    const field = page.getByLabel('Passcode or exam code');
    await field.pressSequentially(mistyped(passcode).toLowerCase(), { delay: 5 });
    await page.locator('#typing.error').waitFor();
    assert.match(await page.locator('#typing').innerText(), /mistyped/);
    await axeCheck(page, shots, '1-typo');
    assert.deepEqual(redeems, [], 'a typo is caught before anything is sent');

    await field.fill(passcode.toLowerCase());
    await field.press('End');
    await field.pressSequentially(' ');
    await page.locator('#typing.hint').waitFor();
    assert.match(await page.locator('#typing').innerText(), /looks right/);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Before you start: what is recorded');
    await axeCheck(page, shots, '2-consent');
    assert.match(await page.locator('dl.signals').innerText(), /Still pictures\s+A photo from your camera every 45 seconds\./);
    assert.equal(redeems.length, 1);
    assert.equal(JSON.parse(redeems[0] ?? '').passcode, passcode.replace(/-/g, ''), 'sent in its canonical form');
    const secret = passcode.replace(/-/g, '').slice(7);
    for (const u of urls) assert.ok(!u.toUpperCase().includes(secret), `no passcode in a URL: ${u}`);
    assert.deepEqual(problems, []);
  });
});
