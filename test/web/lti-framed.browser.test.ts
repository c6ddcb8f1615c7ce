/**
 * A learner launch framed by the LMS (the emulator's course page shows the tool in an iframe), in
 * headless Chromium over real HTTPS: the framed launch page stays and offers "Open the recorder in a
 * new window"; pressed from the keyboard, it posts the one-time code into a new window (never in a
 * URL), where the recorder exchanges it and, after checking the epoch key, shows its consent screen.
 * The only non-upload POSTs are the launch, the new window's form and the exchange. Then 6 s of
 * recording, a reload, and "My exam is over": every recording is closed with its final segment and
 * complete on the server, and opens with the epoch key (recorder-support.ts checkStored).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { learnerLaunch, ltiScenario } from '../server/lti/support.js';
import { appChromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { type StoredListing, assertSealersSafe, axeCheck, checkStored, heading, passDeviceCheck, readVault, setUpLtiInstitution, shotsDir, sleep, watchLtiTraffic } from './recorder-support.js';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import { collectPageEvents } from '../support/page-events.js';

const shots = shotsDir('recorder-lti-framed');

describe('the recorder from a launch framed by the LMS', () => {
  it('offers a new window, hands the code over without a URL, and the recorder starts there', { timeout: 180_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await ltiScenario(t, { webDir: await builtWebApps() });
    await setUpLtiInstitution(s);

    // Both "sites" are on loopback here; Chromium's local-network-access checks would stop a frame of
    // one navigating to the other, which between a real LMS and ExamVault (public hosts) never applies.
    const args = [...appChromiumArgs, '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests'];
    const browser = s.closesFirst(await chromium.launch({ executablePath, headless: true, args }));
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 900 } });
    const { problems, urls, posts } = await watchLtiTraffic(context, s);
    context.on('page', (p) => {
      p.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
      p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    });
    const sealed = await collectPageEvents<SealedEventDetail>(context, 'examvault:sealed');
    const page = await context.newPage();
    // The credential the exchange answers (in the new window), for the test's own reads afterwards.
    const exchanged = context.waitForEvent('response', (r) => new URL(r.url()).pathname === '/v1/attempts/handoff');

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
    const credential = (await (await exchanged).json()) as { token: string; attempt: string };
    assert.equal(new URL(recorder.url()).pathname, '/app/recorder/');
    assert.equal(new URL(recorder.url()).search + new URL(recorder.url()).hash, '');
    assert.equal(await recorder.evaluate(() => sessionStorage.length), 0, 'the hand-off is read once and removed');
    assert.equal(await recorder.evaluate(() => window.top === window), true, 'the recorder is a top-level window');
    await axeCheck(recorder, shots, '1-consent');
    await recorder.getByRole('button', { name: 'I agree, continue' }).click();
    await passDeviceCheck(recorder, shots, null);
    assert.deepEqual(posts, ['/v1/lti/launch', '/v1/lti/recorder', '/v1/attempts/handoff']);

    // Recording, then the window is reloaded and the test taker says the exam is over: the paused
    // recordings are closed with their final segments from the sealer state the vault kept.
    await sleep(6_000);
    const vaultMidway = await readVault(recorder);
    assertSealersSafe(vaultMidway.keys, 4);
    await recorder.reload();
    await heading(recorder, 'Your recording was interrupted');
    await recorder.getByRole('button', { name: 'My exam is over' }).click();
    await recorder.locator('#all-sent').waitFor({ timeout: 60_000 });
    assert.deepEqual(await readVault(recorder), { segments: [], entries: 0, headers: [], keys: [] });
    await browser.close();
    await checkStored({
      sealed, recordingsPerTrack: 1, epoch: 1, privateKey: s.epochKeys.privateKey, attempt: credential.attempt, dataDir: s.dataDir, vaultDuringOutage: vaultMidway,
      listed: async () => {
        const listed = await s.api('GET', `/v1/custody/attempts/${credential.attempt}/recordings`);
        assert.equal(listed.status, 200, listed.body);
        return (JSON.parse(listed.body) as { recordings: StoredListing[] }).recordings;
      },
      get: async (path) => new Uint8Array((await s.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${credential.token}` } })).rawPayload),
    });

    for (const u of urls) assert.doesNotMatch(u, /evk1\.|ev1\./, 'no code or credential in a URL');
    assert.deepEqual(problems, [], 'no console error, blocked request or CSP violation');
  });
});
