/**
 * From an LTI launch into the recorder, in real Chromium over real HTTPS (issue 6's first "What must
 * be shown"): the LMS emulator (test/support/lms) signs a learner's launch; the launch page
 * (top-level, as an LMS opens a tool in a new window) hands its one-time code to the recorder through
 * sessionStorage; the recorder exchanges it at POST /v1/attempts/handoff, checks the institution's
 * epoch-1 key along the chain from its recovery key (pinned on first use) → consent → device check →
 * record → network cut for 10 s → reload mid-recording → continue → finish → all sent.
 *
 * Then every recording the server lists opens, with the epoch private key the page never sees, to
 * what the page announced it sealed, with no segment missing or repeated; nothing in IndexedDB (read
 * during the outage) or the server's data directory holds media or plaintext; neither the code nor
 * the credential ever appears in a URL; axe-core passes on each screen (saved under
 * test-results/recorder-lti/).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { type Page, chromium } from 'playwright-core';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import { learnerLaunch, ltiScenario } from '../server/lti/support.js';
import { appChromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { type StoredListing, axeCheck as axeIn, assertSealersSafe, checkStored, heading, passDeviceCheck as deviceCheckIn, readVault, setUpLtiInstitution, shotsDir, sleep, watchLtiTraffic } from './recorder-support.js';
import { collectPageEvents } from '../support/page-events.js';

const shots = shotsDir('recorder-lti');
const axeCheck = (page: Page, screen: string) => axeIn(page, shots, screen);

describe('the recorder from an LTI launch', () => {
  it('launch → hand-off exchanged → epoch key checked → consent → record → network cut → reload → finish, every segment opens', { timeout: 240_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await ltiScenario(t, { webDir: await builtWebApps() });
    // The institution's set-up by its admin's client: recovery key → admin enrolment → epoch 1.
    await setUpLtiInstitution(s);

    const browser = s.closesFirst(await chromium.launch({ executablePath, headless: true, args: [...appChromiumArgs] }));
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 900 } });
    const { problems, urls, posts } = await watchLtiTraffic(context, s);
    const sealed = await collectPageEvents<SealedEventDetail>(context, 'examvault:sealed');
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: net::ERR_INTERNET_DISCONNECTED/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    // The credential the exchange answers, for the test's own reads of the upload API afterwards.
    const exchanged = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/attempts/handoff');

    await page.goto(s.lms.loginUrl(learnerLaunch('opaque-recorder-1')));
    await heading(page, 'Before you start: what is recorded');
    const credential = (await (await exchanged).json()) as { token: string; attempt: string };
    assert.equal(new URL(page.url()).pathname, '/app/recorder/');
    assert.deepEqual(posts, ['/v1/lti/launch', '/v1/attempts/handoff']);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the hand-off is read once and removed');
    await axeCheck(page, '1-consent');
    await page.getByRole('button', { name: 'I agree, continue' }).click();
    await deviceCheckIn(page, shots, '2-device-check');
    await axeCheck(page, '3-recording');

    await sleep(6_000);
    await context.setOffline(true);
    await page.locator('[data-connection="offline"]').first().waitFor({ timeout: 15_000 });
    await sleep(10_000);
    const vaultDuringOutage = await readVault(page);
    assertSealersSafe(vaultDuringOutage.keys, 4);
    assert.ok(vaultDuringOutage.segments.length >= 4, `segments wait in IndexedDB during the outage (${vaultDuringOutage.segments.length})`);
    await axeCheck(page, '4-offline');
    await context.setOffline(false);
    await page.reload();
    await heading(page, 'Your recording was interrupted');
    await axeCheck(page, '5-interrupted');
    await page.getByRole('button', { name: 'Continue recording' }).click();
    await deviceCheckIn(page, shots, null);
    await sleep(5_000);
    await page.getByRole('button', { name: 'Finish recording' }).click();
    await page.locator('#all-sent').waitFor({ timeout: 60_000 });
    await axeCheck(page, '6-all-sent');
    assert.deepEqual(await readVault(page), { segments: [], entries: 0, headers: [], keys: [] });
    await browser.close();

    for (const u of urls) assert.doesNotMatch(u, /evk1\.|ev1\./, 'no code or credential in a URL');
    const { mediaSeconds } = await checkStored({
      sealed, recordingsPerTrack: 1, epoch: 1, privateKey: s.epochKeys.privateKey, attempt: credential.attempt, dataDir: s.dataDir, vaultDuringOutage,
      listed: async () => {
        const listed = await s.api('GET', `/v1/custody/attempts/${credential.attempt}/recordings`);
        assert.equal(listed.status, 200, listed.body);
        return (JSON.parse(listed.body) as { recordings: StoredListing[] }).recordings;
      },
      get: async (path) => new Uint8Array((await s.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${credential.token}` } })).rawPayload),
    });
    assert.ok(mediaSeconds >= 16, `camera recorded across the cut and the reload (${mediaSeconds} s in 4 s pieces)`);
    t.diagnostic(`sealed ${sealed.length} segments, ${mediaSeconds} s of camera`);
    assert.deepEqual(problems, [], 'no console error, blocked request or CSP violation');
  });
});
