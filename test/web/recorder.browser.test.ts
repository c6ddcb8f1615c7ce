/**
 * The recorder end to end in headless Chromium (fake camera, microphone and screen; loopback only),
 * against a real server (real cells, SQLite, blobs encrypted at rest) serving the built apps with
 * their CSP and SRI:
 *
 *   start (exam code typed in the form) → consent → device check → record camera + microphone +
 *   screen + snapshots → network cut for 10 s → tab reloaded mid-recording → continue → the
 *   server's listener closed for 4 s and opened again → finish.
 *
 * Then, outside the page, every recording the server holds for the attempt is opened with the
 * institution's epoch private key, which the page never sees. The page announced each segment it
 * sealed (`examvault:sealed`: recording, index, SHA-256 of the plaintext); each decrypted segment
 * must hash to what the page announced, every announced segment must be stored exactly once, and
 * nothing else may be. The epoch key is one a revocation statement announced: the page checked it
 * along the chain from the institution's recovery key (pinned on first use), found every statement
 * of the chain in the audit log (the log key and checkpoint pinned) before sealing anything, and
 * refuses to record when a hand-off names another root.
 *
 * Also: nothing in IndexedDB (read during the outage, when segments pile up) or anywhere in the
 * server's data directory holds a media signature or a piece of the plaintext; axe-core finds no
 * violation on any screen; each screen is saved under test-results/recorder/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { type Page, chromium } from 'playwright-core';
import {
  type EpochKeyPair,
  generateEpochKeyPair,
  memberFingerprint,
  toBase64Url,
} from '../../src/crypto/index.js';
import { buildApp } from '../../src/server/app.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { HANDOFF_KEY } from '../../src/web/recorder/handoff.js';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import { addStaff, recoveryOf, register, revocationBody } from '../server/custody/support.js';
import { startTestServer } from '../server/support/test-server.js';
import { chromiumArgs, closeBrowserThenServer, fakeMediaArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { type StoredListing, axeCheck as axeIn, assertSealersSafe, checkStored, heading, passDeviceCheck as deviceCheckIn, pinnedRootScript, readVault, servedInChromium, shotsDir, sleep } from './recorder-support.js';
import { collectPageEvents } from '../support/page-events.js';

const shots = shotsDir('recorder');
const axeCheck = (page: Page, screen: string) => axeIn(page, shots, screen);
const passDeviceCheck = (page: Page, screen: string | null) => deviceCheckIn(page, shots, screen);

describe('the recorder in a real browser', () => {
  it('records, survives a network cut and a reload, and every segment opens to what the page sealed', { timeout: 240_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });

    // The institution: its first admin sets it up (recovery key → admin enrolment → epoch 1), then
    // revokes a reviewer, which starts epoch 2 with a signed revocation statement announcing its key.
    // The recorder must check that statement along the chain from the recovery key.
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, admin);
    await register(s, reviewer);
    const epoch2: EpochKeyPair = await generateEpochKeyPair();
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, reviewer.id, 2, epoch2) });
    assert.equal(revoked.statusCode, 201, revoked.body);
    const rootFingerprint = toBase64Url(await memberFingerprint(recoveryOf(inst)));
    const attempt = await s.attempt(inst);

    const webDir = await builtWebApps();
    const app = buildApp(s.config, s.services, { webDir });
    const closing = closeBrowserThenServer(t, app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const origin = `http://localhost:${port}`;

    const browser = closing(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, ...fakeMediaArgs] }));
    const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
    const errors: string[] = [];
    await context.route('**/*', (route) => {
      if (new URL(route.request().url()).origin === origin) return route.continue();
      errors.push(`blocked a request off the server: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    });
    // What the page announces as it seals, kept by the test across reloads.
    const sealed = await collectPageEvents<SealedEventDetail>(context, 'examvault:sealed');
    const page = await context.newPage();
    page.on('console', (m) => {
      // Chromium reports the fetches that fail while offline or while the server is down, which the recorder expects and retries.
      // (A closing Fastify answers 503 to requests that arrive meanwhile.)
      if (m.type() === 'error' && !/Failed to load resource: (net::ERR_(INTERNET_DISCONNECTED|CONNECTION_REFUSED)|the server responded with a status of 503)/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));

    // A hand-off naming another institution root than the one the server's chain starts from: the
    // recorder cannot confirm the served key and refuses.
    await page.goto(`${origin}/app/recorder/`);
    await heading(page, 'Start your exam recording');
    await page.evaluate(([key, value]) => sessionStorage.setItem(key as string, value as string), [HANDOFF_KEY, JSON.stringify({ trust: { rootFingerprint: toBase64Url(new Uint8Array(32).fill(7)) } })]);
    await page.reload();
    await heading(page, 'Start your exam recording');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Recording cannot start');
    await axeCheck(page, '0-cannot-start');
    // Without a hand-off, this browser's first use of the institution: the served root is taken and pinned.
    await page.reload();
    await heading(page, 'Start your exam recording');
    await axeCheck(page, '1-start');
    await page.getByLabel('Exam code').fill('not a code');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#credential-error').waitFor();
    await axeCheck(page, '1b-start-error');
    assert.equal(new URL(page.url()).search + new URL(page.url()).hash, '', 'the code never reaches the URL');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();

    await heading(page, 'Before you start: what is recorded');
    const consent = await page.locator('main').innerText();
    for (const words of ['Camera', 'Microphone', 'Screen', 'Still pictures', 'the European Union', 'approved']) assert.ok(consent.includes(words), `consent names ${words}`);
    await axeCheck(page, '2-consent');
    assert.equal(await page.evaluate(pinnedRootScript(inst.id)), rootFingerprint, 'the institution root is pinned on first use');
    // The chain was found in the audit log: its key and the checkpoint verified are pinned for the next visit.
    const logPin = (await page.evaluate(pinnedRootScript(inst.id, 'logs'))) as { logKey: string; checkpoint: string };
    assert.equal(logPin.logKey, s.services.cells.get('eu')?.audit.verifierKey);
    assert.match(logPin.checkpoint, /\n\n\u2014 /, 'a signed checkpoint');
    await page.getByRole('button', { name: 'I agree, continue' }).click();
    await passDeviceCheck(page, '3-device-check');
    await axeCheck(page, '4-recording');
    assert.equal(new URL(page.url()).search + new URL(page.url()).hash, '');

    // Record, then cut the network for 10 s: segments pile up, sealed, in IndexedDB.
    await sleep(9_000);
    await context.setOffline(true);
    await page.locator('[data-connection="offline"]').first().waitFor({ timeout: 15_000 });
    await sleep(10_000);
    const vaultDuringOutage = await readVault(page);
    assertSealersSafe(vaultDuringOutage.keys, 4);
    const pendingShown = Number(await page.locator('[data-pending]').first().getAttribute('data-pending'));
    assert.ok(pendingShown > 0, 'the page shows what is waiting');
    assert.ok(vaultDuringOutage.segments.length >= 4, `segments wait in IndexedDB during the outage (${vaultDuringOutage.segments.length})`);
    assert.equal(vaultDuringOutage.entries, vaultDuringOutage.segments.length, 'one entry per sealed segment');
    assert.match(await page.locator('#live').innerText(), /Connection lost/);
    await axeCheck(page, '5-offline');
    await context.setOffline(false);
    await sleep(4_000);

    // Reload mid-recording: what was sealed survives; the same recordings go on, with no gap in their segments.
    await page.reload();
    await heading(page, 'Your recording was interrupted');
    await axeCheck(page, '6-interrupted');
    await page.getByRole('button', { name: 'Continue recording' }).click();
    await passDeviceCheck(page, null);
    await sleep(5_000);

    // The server goes away for 4 s and comes back (same data, a new listener on the same port).
    await app.close();
    const downSince = Date.now();
    await page.locator('[data-connection="offline"]').first().waitFor({ timeout: 8_000 });
    await sleep(Math.max(0, 4_000 - (Date.now() - downSince)));
    const restarted = buildApp(s.config, s.services, { webDir });
    t.after(() => restarted.close());
    await restarted.listen({ host: '127.0.0.1', port });
    await sleep(7_000);
    await page.getByRole('button', { name: 'Finish recording' }).click();
    await page.locator('#all-sent').waitFor({ timeout: 60_000 });
    await axeCheck(page, '7-all-sent');
    const vaultAfter = await readVault(page);
    assert.deepEqual(vaultAfter, { segments: [], entries: 0, headers: [], keys: [] }, 'nothing is left waiting once the server acknowledged everything');
    await browser.close();

    const { plaintexts, mediaSeconds } = await checkStored({
      sealed, recordingsPerTrack: 1, epoch: 2, privateKey: epoch2.privateKey, attempt: attempt.attempt, dataDir: s.dataDir, vaultDuringOutage,
      listed: async () => {
        const listed = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${attempt.attempt}/recordings`, headers: admin.get });
        assert.equal(listed.statusCode, 200, listed.body);
        return listed.json().recordings as StoredListing[];
      },
      get: async (path) => new Uint8Array((await s.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${attempt.token}` } })).rawPayload),
    });
    assert.ok(mediaSeconds >= 28, `at least 30 s of camera recorded (${mediaSeconds} s in 4 s pieces)`);
    const sealingMs = sealed.reduce((n, d) => n + d.sealMs, 0);
    t.diagnostic(`sealed ${sealed.length} segments, ${(plaintexts.reduce((n, p) => n + p.length, 0) / 1e6).toFixed(2)} MB, in ${sealingMs.toFixed(0)} ms of sealing: ${(sealingMs / 10 / mediaSeconds).toFixed(3)} % of the camera's recording time`);
    assert.deepEqual(errors, [], 'no console error, blocked request or CSP violation');
  });

  it('refuses to record for an institution awaiting set-up, saying so', { timeout: 60_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const s = await startTestServer(t);
    const created = await createInstitution(s.services.cells, s.services.directory, { name: 'Keyless U', region: 'eu' }, s.now);
    const attempt = await s.attempt({ id: created.id, region: 'eu', keys: await generateEpochKeyPair() });
    const { origin, browser } = await servedInChromium(t, s, executablePath);
    const context = await browser.newContext();
    // Chromium asks for /favicon.ico on its own (the apps have none): not a request of the page.
    await context.route('**/favicon.ico', (route) => route.abort('blockedbyclient'));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // The 409 of GET /v1/custody/epoch is the refusal the page shows.
      if (m.type() === 'error' && !/status of 409 \(Conflict\)$/.test(m.text())) errors.push(`${m.text()} ${m.location().url}`);
    });
    await page.goto(`${origin}/app/recorder/`);
    await heading(page, 'Start your exam recording');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Recording cannot start');
    const shown = await page.locator('main').innerText();
    assert.match(shown, /has not finished setting up ExamVault/);
    assert.match(shown, /EV_ERR_CUSTODY_NOT_SET_UP/);
    assert.match(await page.locator('#live').innerText(), /Recording cannot start: your institution has not finished setting up/);
    await axeCheck(page, '0b-not-set-up');
    assert.deepEqual(errors, []);
  });
});
