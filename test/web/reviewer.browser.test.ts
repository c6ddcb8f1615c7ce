/**
 * The reviewer app in real Chromium over real HTTPS (docs/WEB.md "The reviewer"): a reviewer signed
 * in (the session cookie the passkey sign-in sets) makes their key in the page, shows the safety
 * number, which the admin's client confirms to approve them; the page then opens the epoch key from
 * its grant, lists the exam and its attempt, unlocks the attempt's four recordings (camera, screen,
 * microphone, snapshots: real pieces of Chromium's fake devices, each sealed on its own, the screen's
 * split across segments as the recorder splits a large piece) and plays them on one timeline.
 *
 * What must hold: opening the attempt fetches only the segments of the first pieces (and the next
 * ones ahead), a seek to the middle fetches only the pieces at that time, the camera element plays
 * on from the seek point, and what it plays is exactly the piece that was sealed. axe-core passes on
 * each screen (saved under test-results/reviewer/); no console error or blocked request.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { PIECE_SECONDS } from '../../src/protocol/recording-timing.js';
import { recordPieces } from '../../bench/playback/piece.js';
import type { OpenedEventDetail } from '../../src/web/reviewer/player-source.js';
import { cellOf } from '../server/custody/support.js';
import { ltiScenario } from '../server/lti/support.js';
import { appChromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { axeCheck, heading, shotsDir } from './recorder-support.js';
import { approveBySafetyNumber, launchChromium, newAttempt, reviewerOpensAttempt, setUpInstitution, uploadRecording } from './reviewer-support.js';
import { collectPageEvents } from '../support/page-events.js';

const shots = shotsDir('reviewer');
const PIECES = 15;
/** The exam's snapshot interval, not the default: the player must place snapshots by the exam's. */
const SNAPSHOT_SECONDS = 12;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Resolves once no new request has been made for 700 ms: the fetches ahead have all been asked for. */
async function settled(requests: readonly string[]): Promise<void> {
  for (let seen = -1; seen !== requests.length;) {
    seen = requests.length;
    await new Promise((r) => setTimeout(r, 700));
  }
}

describe('the reviewer app', () => {
  it('key made and approved by safety number → exams → attempts → play → seek to the middle, fetching only the pieces needed', { timeout: 240_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    // Launched first so that, should the test fail, it closes before the server (which waits for its connections).
    const { browser, close } = await launchChromium((fn) => t.after(fn), executablePath, [...appChromiumArgs, '--autoplay-policy=no-user-gesture-required']);
    const s = await ltiScenario(t, { webDir: await builtWebApps(), snapshotIntervalSeconds: SNAPSHOT_SECONDS });
    const admin = await setUpInstitution(s);

    // One attempt: PIECES pieces of camera, screen and microphone, a snapshot every SNAPSHOT_SECONDS (the exam's).
    const made = await recordPieces(browser, `${s.origin}/app/recorder/`);
    const attempt = await newAttempt(s);
    const video = 'video/webm;codecs=vp8';
    const tracks = [
      { recording: 'rec-camera-1', track: 'camera', pieces: Array.from({ length: PIECES }, () => made.video), maxSegment: 4 * 1024 * 1024, mediaType: video },
      // Split in three or more segments per piece: the timeline must find where each piece ends.
      { recording: 'rec-screen-1', track: 'screen', pieces: Array.from({ length: PIECES }, () => made.video), maxSegment: Math.floor(made.video.length / 3) + 1, mediaType: video },
      { recording: 'rec-microphone-1', track: 'microphone', pieces: Array.from({ length: PIECES }, () => made.audio), maxSegment: 4 * 1024 * 1024, mediaType: 'audio/webm;codecs=opus' },
      { recording: 'rec-snapshot-1', track: 'snapshot', pieces: Array.from({ length: Math.floor((PIECES * PIECE_SECONDS) / SNAPSHOT_SECONDS) }, () => made.jpeg), maxSegment: 4 * 1024 * 1024, mediaType: 'image/jpeg' },
    ] as const;
    const sealedSha = new Map<string, string>();
    for (const r of tracks) (await uploadRecording(s, attempt, r)).forEach((p, i) => sealedSha.set(`${r.recording}/${i}`, sha(p)));

    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    const requests: string[] = [];
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== s.origin) {
        problems.push(`blocked a request off the server: ${url}`);
        return route.abort('blockedbyclient');
      }
      requests.push(`${route.request().method()} ${url.pathname}`);
      return route.continue();
    });
    const openedSegments = await collectPageEvents<OpenedEventDetail>(context, 'examvault:opened');
    const page = await context.newPage();
    // Refusals are checked by what was refused (below), not by Chromium's console line for each.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) problems.push(`console: ${m.text()}`); });
    const refused: string[] = [];
    page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

    await page.goto(`${s.origin}/app/reviewer/`);
    await heading(page, 'Sign in to review recordings');
    await axeCheck(page, shots, '1-sign-in');

    const before = requests.length;
    let shot = 1;
    await reviewerOpensAttempt({ s, page, approve: (n) => approveBySafetyNumber(s, admin, 'stf-reviewer-1', n), reviewer: 'stf-reviewer-1', attempt: attempt.attempt, screen: (name) => axeCheck(page, shots, `${++shot}-${name}`) });
    const camera = page.locator('#player-camera');
    await page.waitForFunction(() => (document.getElementById('player-camera') as HTMLVideoElement | null)?.readyState === 4 || (document.getElementById('player-camera') as HTMLVideoElement | null)?.readyState === 2);
    await settled(requests);
    const opened = requests.slice(before);
    assert.deepEqual(opened.filter((r) => r.endsWith('/unlock')).length, 4, 'each recording unlocked once (audited)');
    const fetchedOf = (list: string[], recording: string) =>
      list.filter((r) => r.includes(`/${recording}/segments/`)).map((r) => Number(r.split('/').pop()));
    // Camera and microphone: piece 0 and the one after it. Screen: the segments of those two pieces.
    assert.deepEqual(fetchedOf(opened, 'rec-camera-1').sort((a, b) => a - b), [0, 1]);
    assert.deepEqual(fetchedOf(opened, 'rec-microphone-1').sort((a, b) => a - b), [0, 1]);
    const screenPer = Math.ceil(made.video.length / (Math.floor(made.video.length / 3) + 1));
    assert.deepEqual(fetchedOf(opened, 'rec-screen-1').sort((a, b) => a - b), Array.from({ length: 2 * screenPer }, (_, i) => i));
    assert.ok(fetchedOf(opened, 'rec-snapshot-1').length <= tracks[3].pieces.length, 'snapshots opened as they come into view');
    const snapshotLabels = await page.locator('button.snapshot').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')));
    assert.deepEqual(snapshotLabels, ['0:12', '0:24', '0:36', '0:48', '1:00'].map((at) => `Snapshot at ${at}: go there`), "snapshots placed at the exam's interval");
    await axeCheck(page, shots, '6-player');

    // Seek to the middle with the timeline control, then play.
    const middle = Math.floor((PIECES * PIECE_SECONDS) / 2) + 1; // 31 s: piece 7, 3 s in
    const piece = Math.floor(middle / PIECE_SECONDS);
    const beforeSeek = requests.length;
    await page.locator('#player-time').fill(String(middle));
    await page.waitForFunction((p) => document.getElementById('player-camera')?.dataset['piece'] === `rec-camera-1#${p}`, piece);
    await settled(requests);
    const seekFetches = requests.slice(beforeSeek);
    assert.deepEqual(fetchedOf(seekFetches, 'rec-camera-1').sort((a, b) => a - b), [piece, piece + 1], 'the seek fetched the camera piece at that time and the next only');
    assert.deepEqual(fetchedOf(seekFetches, 'rec-microphone-1').sort((a, b) => a - b), [piece, piece + 1]);
    assert.deepEqual(fetchedOf(seekFetches, 'rec-screen-1').sort((a, b) => a - b), Array.from({ length: 2 * screenPer }, (_, i) => piece * screenPer + i));
    assert.equal(seekFetches.filter((r) => r.endsWith('/unlock')).length, 0, 'no unlock again');

    // Every segment the page opened is, byte for byte, what was sealed.
    assert.ok(opened.length > 0);
    for (const o of openedSegments) assert.equal(o.plaintextSha256, sealedSha.get(`${o.recording}/${o.index}`), `${o.recording} segment ${o.index} opens to what was sealed`);
    assert.ok(openedSegments.some((o) => o.recording === 'rec-camera-1' && o.index === piece), 'the camera piece at the seek point was opened');
    const startedAt = await camera.evaluate((v: HTMLVideoElement) => v.currentTime);
    assert.ok(Math.abs(startedAt - (middle - piece * PIECE_SECONDS)) < 0.1, `the camera is at the seek point within its piece (${startedAt})`);

    await page.getByRole('button', { name: 'Play' }).click();
    await page.waitForTimeout(2500);
    const now = await page.evaluate(() => ({
      piece: document.getElementById('player-camera')?.dataset['piece'],
      time: (document.getElementById('player-camera') as HTMLVideoElement).currentTime,
      position: Number((document.getElementById('player-time') as HTMLInputElement).value),
    }));
    const advanced = now.piece === `rec-camera-1#${piece}` ? now.time - startedAt : now.time + (PIECE_SECONDS - startedAt);
    assert.ok(advanced > 1, `the camera played on from the seek point (${JSON.stringify(now)})`);
    assert.ok(now.position >= middle + 1, `the timeline moved on (${now.position})`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await axeCheck(page, shots, '7-player-after-seek');
    t.diagnostic(`${requests.filter((r) => r.includes('/segments/')).length} segment fetches in all, of ${tracks.reduce((n, r) => n + r.pieces.length, 0)} pieces`);

    // The verdict and notes panel and the case export are mounted from the unlocked session.
    const note = 'Looked away from the screen twice near the middle.';
    await page.getByRole('radio', { name: 'Concern', exact: true }).check();
    await page.getByRole('textbox', { name: 'Notes' }).fill(note);
    await page.getByRole('button', { name: 'Save verdict and notes' }).click();
    await page.locator('#live').getByText('Saved as version 1.').waitFor();
    const rows = await cellOf(s).db.selectFrom('review_records').selectAll().execute();
    assert.deepEqual(rows.map((r) => [Number(r.revision), r.author_id, r.attempt_id]), [[1, 'stf-reviewer-1', attempt.attempt]]);
    assert.ok(!Buffer.from(rows[0]?.record ?? '').toString('latin1').includes('Looked away'), 'the stored record holds no notes text');
    await page.getByRole('button', { name: 'Export case' }).click();
    await page.getByRole('link', { name: new RegExp(`^Save ${attempt.attempt}\\.evcase`) }).waitFor();
    await axeCheck(page, shots, '8-review-and-export');
    assert.deepEqual(refused, ['GET /v1/staff/me 401'], 'only "not signed in" was refused');
    assert.deepEqual(problems, [], 'no console error, blocked request or CSP violation');
    await close();
  });
});
