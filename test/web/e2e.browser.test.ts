/**
 * The whole path, end to end in real Chromium over real HTTPS on loopback:
 *
 * a learner's LTI launch from the LMS emulator → the recorder (consent → device check) records
 * camera, microphone, screen and snapshots → the network is cut for 10 s and the tab reloaded in the
 * middle of the recording → continue → finish, more than 30 s of media; an admin, in a second browser
 * context, unlocks its keys in the admin console and approves a reviewer by the safety number the
 * reviewer's own page shows; the reviewer (a third context), an instructor launched from the same LMS
 * into the reviewer app, makes its key, unlocks the epoch key, opens the attempt,
 * seeks to the middle and plays: the camera element's time advances from there.
 *
 * Checked: every segment the reviewer's page opened is byte for byte (SHA-256) what the recorder
 * sealed; every segment the server lists opens, with the epoch private key, to what the recorder
 * sealed, none missing or repeated; nothing the server stored and nothing in the recorder's IndexedDB
 * (read during the outage) holds a media signature or a sample of the plaintext
 * (recorder-support.ts `checkStored`). axe-core passes on each main screen of the three apps, saved
 * under test-results/e2e/. No console error, blocked request or CSP violation.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { PIECE_SECONDS } from '../../src/protocol/recording-timing.js';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import type { OpenedEventDetail } from '../../src/web/reviewer/player-source.js';
import { roles } from '../support/lms/emulator.js';
import { learnerLaunch, ltiScenario } from '../server/lti/support.js';
import { appChromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { type StoredListing, axeCheck, checkStored, heading, passDeviceCheck, readVault, shotsDir, sleep } from './recorder-support.js';
import { ADMIN_PASSPHRASE, launchChromium, reviewerOpensAttempt, setUpInstitution, signedIn } from './reviewer-support.js';
import { collectPageEvents } from '../support/page-events.js';

const shots = shotsDir('e2e');

/** Watches a context: requests off the server and the LMS are refused; console and page errors are noted. */
async function watched(context: BrowserContext, allowed: readonly string[], problems: string[], who: string): Promise<Page> {
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (!allowed.includes(url.origin)) {
      problems.push(`${who}: blocked a request off the server: ${url}`);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  return watchPage(await context.newPage(), problems, who);
}

function watchPage(page: Page, problems: string[], who: string): Page {
  // Expected refusals ("not signed in", "no keys yet") and the outage are logged by Chromium as failed loads.
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`${who} console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${who} pageerror: ${e.message}`));
  return page;
}

describe('end to end', () => {
  it('LTI launch → record with a cut and a reload → admin approves a reviewer by safety number → the reviewer plays and seeks; every byte checked', { timeout: 300_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    // Launched first so that, should the test fail, it closes before the server (which waits for its connections).
    const { browser, close } = await launchChromium((fn) => t.after(fn), executablePath, [...appChromiumArgs, '--autoplay-policy=no-user-gesture-required']);
    const s = await ltiScenario(t, { webDir: await builtWebApps() });
    await setUpInstitution(s);
    const problems: string[] = [];
    const newContext = () => browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1000 } });

    // 1. The learner: LTI launch → recorder, with a cut and a reload in the middle.
    const learner = await newContext();
    const sealed = await collectPageEvents<SealedEventDetail>(learner, 'examvault:sealed');
    const recorder = await watched(learner, [s.origin, s.lms.origin], problems, 'recorder');
    const exchanged = recorder.waitForResponse((r) => new URL(r.url()).pathname === '/v1/attempts/handoff');
    await recorder.goto(s.lms.loginUrl(learnerLaunch('opaque-e2e-learner')));
    await heading(recorder, 'Before you start: what is recorded');
    const credential = (await (await exchanged).json()) as { token: string; attempt: string };
    await axeCheck(recorder, shots, '01-recorder-consent');
    await recorder.getByRole('button', { name: 'I agree, continue' }).click();
    await passDeviceCheck(recorder, shots, '02-recorder-device-check');
    await axeCheck(recorder, shots, '03-recorder-recording');
    await sleep(12_000);
    await learner.setOffline(true);
    await recorder.locator('[data-connection="offline"]').first().waitFor({ timeout: 15_000 });
    await sleep(10_000);
    const vaultDuringOutage = await readVault(recorder);
    assert.ok(vaultDuringOutage.segments.length >= 4, `segments wait in IndexedDB during the outage (${vaultDuringOutage.segments.length})`);
    await axeCheck(recorder, shots, '04-recorder-offline');
    // The network comes back and the tab is reloaded, in the middle of the recording.
    await learner.setOffline(false);
    await recorder.reload();
    await heading(recorder, 'Your recording was interrupted');
    await axeCheck(recorder, shots, '05-recorder-interrupted');
    await recorder.getByRole('button', { name: 'Continue recording' }).click();
    await passDeviceCheck(recorder, shots, null);
    await sleep(12_000);
    await recorder.getByRole('button', { name: 'Finish recording' }).click();
    await recorder.locator('#all-sent').waitFor({ timeout: 60_000 });
    await axeCheck(recorder, shots, '06-recorder-all-sent');
    await learner.close();

    // Every segment stored opens to what the recorder sealed; nothing at rest holds media or plaintext.
    const camerasSealed = new Set(sealed.filter((d) => d.track === 'camera').map((d) => d.recording)).size;
    const { mediaSeconds } = await checkStored({
      sealed, recordingsPerTrack: camerasSealed, epoch: 1, privateKey: s.epochKeys.privateKey, attempt: credential.attempt, dataDir: s.dataDir, vaultDuringOutage,
      listed: async () => {
        const listed = await s.api('GET', `/v1/custody/attempts/${credential.attempt}/recordings`);
        assert.equal(listed.status, 200, listed.body);
        return (JSON.parse(listed.body) as { recordings: StoredListing[] }).recordings;
      },
      get: async (path) => new Uint8Array((await s.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${credential.token}` } })).rawPayload),
    });
    assert.ok(mediaSeconds >= 30, `at least 30 s of camera recorded (${mediaSeconds} s in ${PIECE_SECONDS} s pieces)`);

    // 2. The admin's console (its own context) and 3. the reviewer's page (another).
    const adminContext = await newContext();
    const adminPage = await watched(adminContext, [s.origin], problems, 'admin');
    await signedIn(s, adminContext, 'stf-lti-admin', true);
    const reviewerContext = await newContext();
    const opened = await collectPageEvents<OpenedEventDetail>(reviewerContext, 'examvault:opened');
    // The reviewer arrives as an instructor from the LMS: the launch page opens ExamVault in a new window, signed in.
    const launch = await watched(reviewerContext, [s.origin, s.lms.origin], problems, 'reviewer launch');
    await launch.goto(s.lms.loginUrl(learnerLaunch('opaque-e2e-instructor', { roles: [roles.instructor] })));
    const [reviewer] = await Promise.all([reviewerContext.waitForEvent('page'), launch.getByRole('button', { name: 'Open ExamVault' }).click()]);
    watchPage(reviewer, problems, 'reviewer');
    await heading(reviewer, 'Create your key');
    const me = await reviewer.evaluate(async () => (await (await fetch('/v1/staff/me')).json()) as { staffId: string; role: string });
    assert.equal(me.role, 'reviewer', 'an LTI instructor is a reviewer, never an admin');
    const REVIEWER = me.staffId;
    let shot = 6;
    await reviewerOpensAttempt({
      s, page: reviewer, reviewer: REVIEWER, attempt: credential.attempt, arrived: true,
      screen: (name) => axeCheck(reviewer, shots, `${String(++shot).padStart(2, '0')}-reviewer-${name}`),
      // The admin compares the number the reviewer reads out with its own screen's, and approves.
      approve: async (readOut) => {
        await adminPage.goto(`${s.origin}/app/admin/`);
        await heading(adminPage, 'Unlock your keys');
        await adminPage.getByLabel('Passphrase').fill(ADMIN_PASSPHRASE);
        await axeCheck(adminPage, shots, `${String(++shot).padStart(2, '0')}-admin-unlock`);
        await adminPage.getByRole('button', { name: 'Unlock' }).click();
        await heading(adminPage, 'Admin console');
        await adminPage.getByRole('navigation', { name: 'Console sections' }).getByRole('button', { name: 'Reviewers', exact: true }).click();
        await heading(adminPage, 'Reviewers');
        await axeCheck(adminPage, shots, `${String(++shot).padStart(2, '0')}-admin-reviewers`);
        await adminPage.getByRole('button', { name: `Compare and approve ${REVIEWER}` }).click();
        await heading(adminPage, `Approve reviewer ${REVIEWER}`);
        assert.equal((await adminPage.locator('#expected-safety-number').innerText()).replace(/\s+/g, ' ').trim(), readOut.replace(/\s+/g, ' ').trim(), 'both screens show the same number');
        await adminPage.getByLabel(`Safety number ${REVIEWER} reads out`).fill(readOut.replace(/\s+/g, ' ').trim());
        await axeCheck(adminPage, shots, `${String(++shot).padStart(2, '0')}-admin-approve`);
        await adminPage.getByRole('button', { name: 'Approve' }).click();
        await adminPage.getByRole('cell', { name: 'Approved (epoch 1)' }).waitFor();
      },
    });

    // The player: seek to the middle, play, and the camera's time advances from there.
    const camera = reviewer.locator('#player-camera');
    await reviewer.waitForFunction(() => document.getElementById('player-camera')?.dataset['piece'] !== undefined);
    const duration = Number(await reviewer.locator('#player-time').getAttribute('max'));
    assert.ok(duration >= 30, `the timeline covers the recording (${duration} s)`);
    const middle = Math.floor(duration / 2) + 1;
    await reviewer.locator('#player-time').fill(String(middle));
    await reviewer.waitForFunction((m) => {
      const v = document.getElementById('player-camera') as HTMLVideoElement | null;
      return v !== null && !v.seeking && v.readyState >= 2 && Number((document.getElementById('player-time') as HTMLInputElement).value) === m;
    }, middle);
    const at = await camera.evaluate((v: HTMLVideoElement) => ({ piece: v.dataset['piece'], time: v.currentTime }));
    await axeCheck(reviewer, shots, `${String(++shot).padStart(2, '0')}-reviewer-player-seeked`);
    await reviewer.getByRole('button', { name: 'Play' }).click();
    await sleep(2_500);
    const later = await camera.evaluate((v: HTMLVideoElement) => ({ piece: v.dataset['piece'], time: v.currentTime }));
    const advanced = later.piece === at.piece ? later.time - at.time : later.time + (PIECE_SECONDS - at.time);
    assert.ok(advanced > 1, `the camera played on from the middle (${JSON.stringify({ at, later })})`);
    assert.ok(Number(await reviewer.locator('#player-time').inputValue()) > middle, 'the timeline moved on');
    await reviewer.getByRole('button', { name: 'Pause' }).click();

    // What the reviewer's page opened is, segment by segment, what the recorder sealed.
    const sealedSha = new Map(sealed.map((d) => [`${d.recording}/${d.index}`, d.plaintextSha256]));
    assert.ok(opened.length >= 4, `the player opened segments (${opened.length})`);
    for (const o of opened) assert.equal(o.plaintextSha256, sealedSha.get(`${o.recording}/${o.index}`), `${o.recording} segment ${o.index} opens to what the recorder sealed`);
    t.diagnostic(`sealed ${sealed.length} segments (${mediaSeconds} s of camera); the reviewer opened ${opened.length}; timeline ${duration} s`);
    assert.deepEqual(problems, [], 'no console error, blocked request or CSP violation');
    await close();
  });
});
