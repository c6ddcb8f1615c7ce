/**
 * A learner launch framed by the LMS (the emulator's course page shows the tool in an iframe), in
 * headless Chromium over real HTTPS: the framed launch page stays and offers "Open the recorder in a
 * new window"; pressed from the keyboard, it posts the one-time code into a new window (never in a
 * URL), where the recorder exchanges it and, after checking the epoch key, shows its consent screen.
 * The only non-upload POSTs are the launch, the new window's form and the exchange.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { learnerLaunch, ltiScenario } from '../server/lti/support.js';
import { chromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { axeCheck, heading, setUpLtiInstitution, shotsDir, watchLtiTraffic } from './recorder-support.js';

const shots = shotsDir('recorder-lti-framed');

describe('the recorder from a launch framed by the LMS', () => {
  it('offers a new window, hands the code over without a URL, and the recorder starts there', { timeout: 120_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await ltiScenario(t, { webDir: await builtWebApps() });
    await setUpLtiInstitution(s);

    // Both "sites" are on loopback here; Chromium's local-network-access checks would stop a frame of
    // one navigating to the other, which between a real LMS and ExamVault (public hosts) never applies.
    const args = [...chromiumArgs, '--host-resolver-rules=MAP localhost 127.0.0.1', '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
    const browser = await chromium.launch({ executablePath, headless: true, args });
    t.after(() => browser.close());
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 900 } });
    const { problems, urls, posts } = await watchLtiTraffic(context, s);
    context.on('page', (p) => {
      p.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
      p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    });
    const page = await context.newPage();

    await page.goto(`${s.lms.origin}/course?launch=${encodeURIComponent(s.lms.loginUrl(learnerLaunch('opaque-framed-1')))}`);
    const tool = page.frameLocator('iframe[name="tool"]');
    const open = tool.getByRole('button', { name: 'Open the recorder in a new window' });
    await open.waitFor({ timeout: 20_000 });
    await page.screenshot({ path: `${shots}/0-framed-launch.png` });
    // The frame stays on the launch page: the recorder is not framed.
    assert.equal(new URL(page.frames().find((f) => f.name() === 'tool')?.url() ?? '').pathname, '/v1/lti/launch');

    const opened = context.waitForEvent('page');
    await open.focus();
    await page.keyboard.press('Enter');
    const recorder = await opened;
    await heading(recorder, 'Before you start: what is recorded');
    assert.equal(new URL(recorder.url()).pathname, '/app/recorder/');
    assert.equal(new URL(recorder.url()).search + new URL(recorder.url()).hash, '');
    assert.equal(await recorder.evaluate(() => sessionStorage.length), 0, 'the hand-off is read once and removed');
    assert.equal(await recorder.evaluate(() => window.top === window), true, 'the recorder is a top-level window');
    await axeCheck(recorder, shots, '1-consent');
    await recorder.getByRole('button', { name: 'I agree, continue' }).click();
    await heading(recorder, 'Check your camera, microphone and screen');

    assert.deepEqual(posts, ['/v1/lti/launch', '/v1/lti/recorder', '/v1/attempts/handoff']);
    for (const u of urls) assert.doesNotMatch(u, /evk1\.|ev1\./, 'no code or credential in a URL');
    assert.deepEqual(problems, [], 'no console error, blocked request or CSP violation');
  });
});
