/**
 * The admin console end to end in real Chromium against the real server over HTTPS (its own
 * localhost certificate), with Chromium's CDP virtual authenticator for the passkey:
 *
 * the operator's admin invite for an institution created without an epoch key (it seals nothing yet)
 * redeemed → passkey → the admin's keys made in the page → set-up, the epoch-1 key pair generated in
 * the page (region stated as final, the recovery key shown once, whose grant opens to the epoch key
 * the server now serves) → a reviewer
 * registered through the API is approved by safety number (a wrong number typed is refused with
 * nothing sent; the right one approves) → the reviewer's grant opens to the epoch key with the
 * reviewer's own private key → revocation (epoch 2, granted to the recovery key and to the admin; a
 * recording made at epoch 1 moved to epoch 2 and opening with its key) →
 * a second admin enrolled by safety number, its grant opening to the epoch-2 key → a third admin, in a
 * second browser, enrolled with the recovery key typed into its own console (a typo refused first) →
 * an exam and three passcodes issued for it (shown once, listed, one redeemed once through the API,
 * another withdrawn from the list and then refused by the server; a hundred more, the older ones
 * shown by "Show older passcodes", one attempt's found by its id), an
 * assessment platform (its API key shown once, working, then revoked and refused), an
 * LTI registration (then removed),
 * retention → sign-out and passkey sign-in, keys unlocked → the audit log verified in the page, and an
 * entry altered in transit shown as not verified. Then, briefly, the set-up of an institution the
 * operator created with its epoch key, from the operator's key file.
 *
 * Checked from outside the page: the server received only public keys, wrapped keys, grants and
 * statements (no private scalar, no recovery secret, no epoch private key in any request), and the
 * page's IndexedDB holds none of them either. axe-core passes on every screen, each saved under
 * test-results/admin/.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import {
  type EpochKeyPair,
  createMemberKeyFile,
  deriveRecoveryKeys,
  exportPrivateKey,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  importPublicKey,
  keyPairMatches,
  openGrant,
  openRecording,
  parseRecoveryKey,
  protectPrivateKey,
  safetyNumber,
  toBase64Url,
  toHex,
  unlockMemberKeyFile,
} from '../../src/crypto/index.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { createStaffSession } from '../../src/server/staff/staff-auth.js';
import { insertStaff } from '../../src/server/staff/staff.repository.js';
import { issueStaffInvite } from '../../src/server/staff/staff.service.js';
import { issueAttemptCredential } from '../../src/server/attempts/attempt.service.js';
import { findExam } from '../../src/server/exams/exam.repository.js';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, type Exam } from '../../src/protocol/exams.js';
import { upload } from '../server/custody/support.js';
import type { TestInstitution, TestServer } from '../server/support/test-server.js';
import { chromiumArgs } from '../support/browser.js';
import { startHttpsApp } from '../support/https-app.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';
import { LIST_PAGE } from '../../src/web/admin/passcodes.js';
import { axeCheck, heading, shotsDir } from './recorder-support.js';

const shots = shotsDir('admin');
const ADMIN_PASSPHRASE = 'tulip orbit canvas meadow';
const OPERATOR_PASSPHRASE = 'operator epoch key passphrase';

/**
 * Every record of every IndexedDB database of the page, as JSON with bytes in base64url. A string,
 * not a function: tsx would wrap a function's inner helpers in a `__name` the page does not have.
 */
const dumpIndexedDb = `(async () => {
  const out = {};
  const bytes = (v) => {
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      const b = new Uint8Array(v);
      let s = '';
      for (const x of b) s += String.fromCharCode(x);
      return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    }
    return v;
  };
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => { const r = indexedDB.open(info.name); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    for (const store of db.objectStoreNames) {
      const all = await new Promise((resolve) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => resolve(r.result); });
      out[info.name + '/' + store] = JSON.parse(JSON.stringify(all, (k, v) => bytes(v)));
    }
    db.close();
  }
  return JSON.stringify(out);
})()`;

/** The forms a 32-byte secret could take in a request or a store. */
function encodings(secret: Uint8Array): string[] {
  return [toBase64Url(secret), toHex(secret), Buffer.from(secret).toString('base64')];
}

async function nav(page: Page, section: string, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console sections' }).getByRole('button', { name: section, exact: true }).click();
  await heading(page, title);
}

describe('the admin console', () => {
  it('invite → passkey → keys → set-up with a key made in the page → approval by safety number → revocation → admin enrolment → exams, platforms, LTI, retention → audit log verified', { timeout: 180_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });
    const { origin, dataDir, services, app, closesFirst } = await startHttpsApp(t, { webDir: await builtWebApps() });

    // The operator: the institution in its region, with no epoch key (awaiting set-up), and the admin's invite.
    const inst = await createInstitution(services.cells, services.directory, { name: 'Console U', region: 'eu' }, Date.now());
    const invite = await issueStaffInvite(services.cells, services.directory, { institution: inst.id, role: 'admin', ttlSeconds: 3600, createdBy: null, publicOrigin: origin }, Date.now());
    const cell = services.cells.get('eu');
    assert.ok(cell);

    const browser = closesFirst(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, '--ignore-certificate-errors'] }));
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const sent: { method: string; path: string; body: string }[] = [];
    let tamperAudit = false;
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) return route.abort('blockedbyclient');
      sent.push({ method: route.request().method(), path: url.pathname, body: route.request().postData() ?? '' });
      if (tamperAudit && url.pathname === '/v1/audit/entries') {
        const response = await route.fetch();
        const body = (await response.json()) as { entries: { type: string; payload: Record<string, unknown> }[] };
        const victim = body.entries.find((e) => e.type === 'custody.retention-set');
        assert.ok(victim);
        victim.payload.days = 3650;
        return route.fulfill({ response, json: body });
      }
      return route.continue();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`${m.text()} ${m.location().url}`)));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const started = Date.now();

    // 1. The setup link as the operator sent it (/staff/setup#<token>) → the console → a passkey.
    assert.ok(invite.setupUrl.startsWith(`${origin}/staff/setup#evi1.eu.`));
    await page.goto(invite.setupUrl);
    await heading(page, 'Set up your sign-in');
    assert.equal(new URL(page.url()).pathname, '/app/admin/');
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar at once');
    await axeCheck(page, shots, '01-invite');
    await page.getByRole('button', { name: 'Create a passkey' }).click();

    // 2. The admin's keys: a short passphrase refused, then made in the page.
    await heading(page, 'Create your keys');
    await axeCheck(page, shots, '02-create-keys');
    await page.getByLabel('New passphrase').fill('too short pass');
    await page.getByLabel('Type the passphrase again').fill('too short pass');
    await page.getByRole('button', { name: 'Create my keys' }).click();
    await page.getByText('Use at least 15 characters (this one has 14)').first().waitFor();
    await page.getByLabel('New passphrase').fill(ADMIN_PASSPHRASE);
    await page.getByLabel('Type the passphrase again').fill(ADMIN_PASSPHRASE);
    await page.getByRole('button', { name: 'Create my keys' }).click();
    await heading(page, 'Your keys are ready');
    const adminNumber = await page.locator('#own-safety-number').innerText();
    await axeCheck(page, shots, '03-keys-ready');
    const meAnswer = await page.evaluate(() => fetch('/v1/staff/me').then((r) => r.json())) as { staffId: string };
    const adminId = meAnswer.staffId;

    // What the server got: the registration and passphrase-wrapped keys at ≥ 600,000 iterations.
    const keysPut = sent.find((r) => r.method === 'PUT' && r.path === '/v1/custody/me/keys');
    assert.ok(keysPut);
    const keysBody = JSON.parse(keysPut.body) as { registration: string; wrappedKeys: Record<string, { wrappings: { method: string; kdf: { iterations: number } }[] }> };
    assert.deepEqual(Object.keys(keysBody).sort(), ['registration', 'wrappedKeys']);
    assert.deepEqual(Object.keys(keysBody.wrappedKeys).sort(), ['admin-hpke', 'admin-signing']);
    for (const doc of Object.values(keysBody.wrappedKeys)) {
      assert.deepEqual(doc.wrappings.map((w) => w.method), ['passphrase']);
      assert.ok((doc.wrappings[0]?.kdf.iterations ?? 0) >= 600_000);
    }
    const adminKeys = await unlockMemberKeyFile({ registration: fromBase64Url(keysBody.registration) as Uint8Array, wrappedKeys: keysBody.wrappedKeys },
      { institution: inst.id, member: adminId, role: 'admin' }, ADMIN_PASSPHRASE);
    assert.equal(adminNumber, await safetyNumber({ institution: inst.id, member: adminId, keys: adminKeys.registration }));
    await page.getByRole('button', { name: 'Continue' }).click();

    // 3. Set-up: the region stated as final, the epoch-1 key pair made in the page, the recovery key once.
    await heading(page, 'Set up your institution');
    assert.match(await page.locator('#region-statement').innerText(), /European Union \(region “eu”\).*final: it cannot be changed/);
    assert.equal(await page.locator('#epoch-key-file').count(), 0, 'no key file is asked for');
    await axeCheck(page, shots, '04-set-up');
    await page.getByRole('button', { name: 'Set up the institution' }).click();
    await heading(page, 'Your institution\'s recovery key');
    const recoveryText = await page.locator('#recovery-key').innerText();
    await axeCheck(page, shots, '05-recovery-key');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Tick the box once the recovery key is printed').first().waitFor();
    await page.getByLabel('I have printed or written down the recovery key').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Admin console');
    assert.ok(!(await page.content()).includes(recoveryText), 'the recovery key left the page');
    await axeCheck(page, shots, '06-home');

    // The set-up request carried the key's public half in its epoch statement and the private half
    // only sealed in the two grants; the server stored that public key and now serves it.
    const setUpPut = sent.filter((r) => r.method === 'PUT' && r.path === '/v1/custody/recovery');
    assert.equal(setUpPut.length, 1);
    assert.deepEqual(Object.keys(JSON.parse(setUpPut[0]?.body ?? '{}') as object).sort(), ['enrolment', 'epoch', 'grant', 'institution', 'recoveryGrant']);
    const adminCookie = (await context.cookies(origin)).find((c) => c.name === '__Host-ev_session');
    assert.ok(adminCookie);
    const asAdmin = { cookie: `__Host-ev_session=${adminCookie.value}` };
    const epoch1Served = (await app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: asAdmin })).json() as { epoch: number; publicKey: string };
    assert.equal(epoch1Served.epoch, 1);
    const epoch1Public = fromBase64Url(epoch1Served.publicKey) as Uint8Array;
    const storedKey = await cell.db.selectFrom('epoch_keys').select('public_key').where('institution_id', '=', inst.id).execute();
    assert.deepEqual(storedKey.map((r) => r.public_key), [epoch1Served.publicKey]);

    // The recovery key shown is the institution's root: its grant opens to the epoch-1 key the server serves.
    const recoverySecret = await parseRecoveryKey(recoveryText);
    const recovery = await deriveRecoveryKeys(recoverySecret);
    const served = (await app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: asAdmin })).json() as { grants: { epoch: number; grant: unknown }[] };
    const recoveryGrant1 = served.grants.find((g) => g.epoch === 1)?.grant;
    const opened1 = await openGrant(recoveryGrant1, { institution: inst.id, epoch: 1, epochPublicKey: epoch1Public }, { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    assert.ok(await keyPairMatches(opened1, epoch1Public));
    const epoch1: EpochKeyPair = { publicKey: await importPublicKey(epoch1Public), privateKey: opened1 };

    // 4. A reviewer registers keys through the API; the admin approves by safety number.
    const reviewerId = 'stf-reviewer-1';
    await insertStaff(cell.db, { id: reviewerId, institution_id: inst.id, role: 'reviewer', label: null, created_at: Date.now(), disabled_at: null });
    const reviewerSession = await createStaffSession(cell, reviewerId, Date.now());
    const asReviewer = { cookie: reviewerSession.cookie, 'x-ev-csrf': reviewerSession.csrfToken, origin };
    const reviewerFile = await createMemberKeyFile({ institution: inst.id, member: reviewerId, role: 'reviewer', passphrase: 'reviewer passphrase here' });
    const registered = await app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: asReviewer, payload: { registration: toBase64Url(reviewerFile.registration), wrappedKeys: reviewerFile.wrappedKeys } });
    assert.equal(registered.statusCode, 200, registered.body);
    const readOut = await safetyNumber({ institution: inst.id, member: reviewerId, keys: reviewerFile.keys });

    await nav(page, 'Reviewers', 'Reviewers');
    await axeCheck(page, shots, '07-reviewers');
    await page.getByRole('button', { name: `Compare and approve ${reviewerId}` }).click();
    await heading(page, `Approve reviewer ${reviewerId}`);
    assert.equal(await page.locator('#expected-safety-number').innerText(), readOut, 'the page computes the number the reviewer reads out');
    await axeCheck(page, shots, '08-approve');
    const wrong = readOut.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    // By keyboard alone: the heading has focus, the next Tab stop is the field, Enter submits.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'typed-safety-number');
    await page.keyboard.type(wrong);
    await page.keyboard.press('Enter');
    await page.locator('form .error', { hasText: 'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH' }).waitFor();
    assert.match(await page.locator('#live').innerText(), /EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH/, 'the refusal is announced');
    await axeCheck(page, shots, '09-approve-refused');
    assert.equal(sent.filter((r) => r.path === '/v1/custody/grants').length, 0, 'a wrong number sends nothing');
    await page.getByLabel(`Safety number ${reviewerId} reads out`).fill(readOut.replace(/ /g, ''));
    await page.keyboard.press('Enter');
    await heading(page, 'Reviewers');
    await page.getByRole('cell', { name: 'Approved (epoch 1)' }).waitFor();
    assert.match(await page.locator('#live').innerText(), new RegExp(`Reviewer ${reviewerId} is approved for epoch 1`));

    // The reviewer's grant opens, with the reviewer's own private key, to the epoch-1 key.
    const reviewerGrants = (await app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: asReviewer })).json() as { status: string; grants: { epoch: number; grant: unknown }[] };
    assert.equal(reviewerGrants.status, 'approved');
    const reviewerEpoch1 = await openGrant(reviewerGrants.grants[0]?.grant, { institution: inst.id, epoch: 1, epochPublicKey: epoch1Public },
      { kind: 'member', member: reviewerId, keys: reviewerFile.keys }, reviewerFile.keys.hpke.privateKey);
    assert.ok(await keyPairMatches(reviewerEpoch1, epoch1Public));

    // A recording made at epoch 1, before the revocation: the console moves it to epoch 2.
    const recorder = {
      app,
      attempt: async (institution: TestInstitution, exam = 'chem-midterm') => {
        const issued = await issueAttemptCredential(services.cells, services.directory, { institution: institution.id, exam, ttlSeconds: 3600 }, Date.now());
        return { token: issued.token, institution, exam, attempt: issued.attempt };
      },
    } as unknown as TestServer;
    const before = await upload(recorder, { id: inst.id, region: 'eu', keys: epoch1 }, 'cam-before');

    // 5. Revocation: epoch 2, whose key the reviewer never gets; the recovery key and the admin do.
    await page.getByRole('button', { name: `Revoke ${reviewerId}` }).click();
    await heading(page, `Revoke reviewer ${reviewerId}`);
    await axeCheck(page, shots, '10-revoke');
    await page.getByRole('button', { name: `Revoke ${reviewerId}` }).click();
    await heading(page, 'Reviewers');
    await page.getByRole('cell', { name: 'Revoked' }).waitFor();
    const epochNow = (await app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: asAdmin })).json() as { epoch: number; publicKey: string };
    assert.equal(epochNow.epoch, 2);
    const epoch2Public = fromBase64Url(epochNow.publicKey) as Uint8Array;
    assert.equal((await app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: asReviewer })).json().error.code, 'EV_ERR_CUSTODY_REVOKED');
    const adminGrants = (await app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: asAdmin })).json() as { grants: { epoch: number; grant: unknown }[] };
    assert.deepEqual(adminGrants.grants.map((g) => g.epoch).sort(), [1, 2]);
    const adminEpoch2 = await openGrant(adminGrants.grants.find((g) => g.epoch === 2)?.grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public },
      { kind: 'member', member: adminId, keys: adminKeys.registration }, adminKeys.hpkePrivateKey);
    const recoveryGrants = (await app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: asAdmin })).json() as { grants: { epoch: number; grant: unknown }[] };
    const recoveryEpoch2 = await openGrant(recoveryGrants.grants.find((g) => g.epoch === 2)?.grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public },
      { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    assert.ok(await keyPairMatches(adminEpoch2, epoch2Public));
    assert.ok(await keyPairMatches(recoveryEpoch2, epoch2Public));
    assert.match(await page.locator('#live').innerText(), /1 older recording was moved to it\./);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/custody/rewrap/pending', headers: asAdmin })).json().recordings, []);
    const adminCsrf = ((await app.inject({ method: 'GET', url: '/v1/staff/me', headers: asAdmin })).json() as { csrfToken: string }).csrfToken;
    const unlocked = await app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-before/unlock`, headers: { ...asAdmin, 'x-ev-csrf': adminCsrf, origin } });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    assert.equal(unlocked.json().epoch, 2);
    const opener = await openRecording(fromBase64Url(unlocked.json().header) as Uint8Array, adminEpoch2);
    for (const [i, chunk] of before.chunks.entries()) {
      const segment = await app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-before/segments/${i}`, headers: asAdmin });
      assert.deepEqual(Buffer.from((await opener.openSegment(i, new Uint8Array(segment.rawPayload))).plaintext), chunk, 'the moved recording opens with the epoch-2 key');
    }
    await assert.rejects(openRecording(fromBase64Url(unlocked.json().header) as Uint8Array, epoch1.privateKey), 'and no longer with the epoch-1 key');

    // A second admin (invited by the operator, keys registered through the API) is enrolled the same way.
    const admin2Id = 'stf-admin-2';
    await insertStaff(cell.db, { id: admin2Id, institution_id: inst.id, role: 'admin', label: null, created_at: Date.now(), disabled_at: null });
    const admin2Session = await createStaffSession(cell, admin2Id, Date.now());
    const asAdmin2 = { cookie: admin2Session.cookie, 'x-ev-csrf': admin2Session.csrfToken, origin };
    const admin2File = await createMemberKeyFile({ institution: inst.id, member: admin2Id, role: 'admin', passphrase: 'second admin passphrase' });
    const admin2Put = await app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: asAdmin2, payload: { registration: toBase64Url(admin2File.registration), wrappedKeys: admin2File.wrappedKeys } });
    assert.equal(admin2Put.statusCode, 200, admin2Put.body);
    await nav(page, 'Admins', 'Admins');
    await axeCheck(page, shots, '11-admins');
    await page.getByRole('button', { name: `Compare and enrol ${admin2Id}` }).click();
    await heading(page, `Enrol admin ${admin2Id}`);
    await page.getByLabel(`Safety number ${admin2Id} reads out`).fill(await safetyNumber({ institution: inst.id, member: admin2Id, keys: admin2File.keys }));
    await page.getByRole('button', { name: 'Enrol', exact: true }).click();
    await heading(page, 'Admins');
    await page.getByRole('row', { name: new RegExp(`${admin2Id} Enrolled`) }).waitFor();
    const admin2Grants = (await app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: asAdmin2 })).json() as { status: string; grants: { epoch: number; grant: unknown }[] };
    assert.equal(admin2Grants.status, 'approved');
    const admin2Epoch2 = await openGrant(admin2Grants.grants.find((g) => g.epoch === 2)?.grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public },
      { kind: 'member', member: admin2Id, keys: admin2File.keys }, admin2File.keys.hpke.privateKey);
    assert.ok(await keyPairMatches(admin2Epoch2, epoch2Public));

    /**
     * An admin of `institution` with its own session and keys registered elsewhere (through the API),
     * in a browser of its own whose console it opens and unlocks its keys in.
     */
    const adminElsewhere = async (institution: string, id: string, passphrase: string, problemsSeen: string[]) => {
      await insertStaff(cell.db, { id, institution_id: institution, role: 'admin', label: null, created_at: Date.now(), disabled_at: null });
      const session = await createStaffSession(cell, id, Date.now());
      const file = await createMemberKeyFile({ institution, member: id, role: 'admin', passphrase });
      const put = await app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: { cookie: session.cookie, 'x-ev-csrf': session.csrfToken, origin },
        payload: { registration: toBase64Url(file.registration), wrappedKeys: file.wrappedKeys } });
      assert.equal(put.statusCode, 200, put.body);
      const own = await browser.newContext({ ignoreHTTPSErrors: true });
      await own.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
      await own.addCookies([{ name: '__Host-ev_session', value: session.token, url: origin, secure: true, httpOnly: true, sameSite: 'Strict' }]);
      const opened = await own.newPage();
      opened.on('pageerror', (e) => problemsSeen.push(e.message));
      opened.on('console', (m) => void (m.type() === 'error' && problemsSeen.push(m.text())));
      await opened.goto(`${origin}/app/admin/`);
      await heading(opened, 'Unlock your keys');
      await opened.getByLabel('Passphrase').fill(passphrase);
      await opened.getByLabel('Passphrase').press('Enter');
      return { session, file, context: own, page: opened };
    };

    // A third admin, in a second browser with its own session and keys registered elsewhere, finds no
    // admin to enrol it: the recovery key (a typo refused by its checksum) enrols it from its own console.
    const admin3Id = 'stf-admin-3';
    const problems3: string[] = [];
    const { session: admin3Session, file: admin3File, context: second, page: page3 } = await adminElsewhere(inst.id, admin3Id, 'third admin passphrase', problems3);
    await heading(page3, 'Waiting for enrolment');
    assert.equal(await page3.locator('#own-safety-number').innerText(), await safetyNumber({ institution: inst.id, member: admin3Id, keys: admin3File.keys }));
    await axeCheck(page3, shots, '11c-waiting-for-enrolment');
    const typo = recoveryText.replace(/^(.)/, (c) => (c === 'A' ? 'B' : 'A'));
    await page3.getByLabel('Recovery key').fill(typo);
    await page3.getByRole('button', { name: 'Enrol me with the recovery key' }).click();
    await page3.locator('form .error', { hasText: 'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM' }).waitFor();
    await page3.getByLabel('Recovery key').fill(recoveryText.toLowerCase().replace(/-/g, ' '));
    await page3.getByRole('button', { name: 'Enrol me with the recovery key' }).click();
    await heading(page3, 'Admin console');
    await axeCheck(page3, shots, '11d-recovered');
    const admin3Grants = (await app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: { cookie: admin3Session.cookie } })).json() as { status: string; grants: { epoch: number; grant: unknown }[] };
    assert.equal(admin3Grants.status, 'approved');
    const admin3Epoch2 = await openGrant(admin3Grants.grants.find((g) => g.epoch === 2)?.grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public },
      { kind: 'member', member: admin3Id, keys: admin3File.keys }, admin3File.keys.hpke.privateKey);
    assert.ok(await keyPairMatches(admin3Epoch2, epoch2Public));
    assert.deepEqual(problems3, []);
    await second.close();

    // 6. Exams, an assessment platform (its key works), an LTI registration, retention.
    await nav(page, 'Exams', 'Exams');
    await page.getByLabel('Exam title').fill('Organic chemistry final');
    await page.getByLabel('Seconds between snapshots').fill('15');
    await page.getByLabel('Exam id (optional)').fill('chem-final');
    await page.getByRole('button', { name: 'Create the exam' }).click();
    await page.getByRole('cell', { name: 'Organic chemistry final', exact: true }).waitFor();
    await axeCheck(page, shots, '12-exams');
    // Passcodes issued from the console: shown once, printable, each redeeming once.
    await page.getByRole('button', { name: 'Issue passcodes for Organic chemistry final' }).click();
    await heading(page, 'Issue passcodes for Organic chemistry final');
    await page.getByLabel('Number of passcodes').fill('3');
    await page.getByRole('button', { name: 'Issue the passcodes' }).click();
    await page.locator('#passcodes-heading').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'passcodes-heading');
    const passcodes = await page.locator('ol.passcodes code').allInnerTexts();
    assert.equal(passcodes.length, 3);
    for (const p of passcodes) assert.match(p, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
    assert.match(await page.locator('#live').innerText(), /3 passcodes issued/);
    // Listed below the sheet (without the passcodes), each one unused and withdrawable.
    const listRows = page.locator('#passcode-list tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('#passcode-list tbody tr').length === 3);
    assert.deepEqual(await listRows.locator('td:nth-child(5)').allInnerTexts(), ['Not used', 'Not used', 'Not used']);
    const listText = await page.locator('#passcode-list').innerText();
    assert.ok(passcodes.every((p) => !listText.includes(p)), 'the list never shows a passcode');
    await axeCheck(page, shots, '12b-passcodes');
    const redeemed = await app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode: passcodes[0] } });
    assert.equal(redeemed.statusCode, 200, redeemed.body);
    const reused = await app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode: passcodes[0] } });
    assert.equal(reused.statusCode, 410, reused.body);
    // Withdrawn from the list after a confirmation: gone from it, and the server refuses to redeem it.
    const usedAttempt = redeemed.json<{ attempt: string }>().attempt;
    const attempts = await listRows.locator('td:nth-child(1)').allInnerTexts();
    const withdrawn = attempts.find((a) => a !== usedAttempt)!;
    const withdrawButton = page.getByRole('button', { name: `Withdraw the passcode of attempt ${withdrawn}` });
    // Asked first: "Keep it" withdraws nothing and puts focus back on the button.
    await withdrawButton.click();
    await page.waitForFunction(() => document.activeElement?.id === 'withdraw-question');
    await page.getByRole('button', { name: 'Keep it' }).click();
    await page.waitForFunction((attempt) => document.activeElement?.getAttribute('aria-label') === `Withdraw the passcode of attempt ${attempt}`, withdrawn);
    assert.equal(await page.locator('#withdraw-question').count(), 0);
    await withdrawButton.click();
    await page.waitForFunction(() => document.activeElement?.id === 'withdraw-question');
    await axeCheck(page, shots, '12c-passcode-withdrawal');
    await page.getByRole('button', { name: 'Withdraw it' }).click();
    await page.waitForFunction((attempt) => document.getElementById('live')?.textContent?.includes(`attempt ${attempt} is withdrawn`), withdrawn);
    assert.equal(await page.locator('#passcode-sheet').count(), 1, 'the sheet just issued stays on screen');
    const after = await listRows.locator('td:nth-child(1)').allInnerTexts();
    assert.deepEqual([...after].sort(), attempts.filter((a) => a !== withdrawn).sort());
    assert.match(await listRows.filter({ hasText: usedAttempt }).locator('td:nth-child(5)').innerText(), /^Used /);
    assert.equal(await listRows.filter({ hasText: usedAttempt }).getByRole('button').count(), 0, 'a used passcode cannot be withdrawn');
    const rest = await Promise.all(passcodes.slice(1).map((passcode) => app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode } })));
    const notRedeemed = rest.filter((r) => r.statusCode !== 200);
    assert.equal(notRedeemed.length, 1, 'of the two others, only the withdrawn one is refused');
    assert.deepEqual([notRedeemed[0]!.statusCode, notRedeemed[0]!.json<{ error: { code: string } }>().error.code], [401, 'EV_ERR_PASSCODE_INVALID']);
    assert.notEqual(rest.find((r) => r.statusCode === 200)!.json<{ attempt: string }>().attempt, withdrawn);
    // More passcodes than a page: the list shows the newest LIST_PAGE, and "Show older passcodes" the rest.
    await page.getByLabel('Number of passcodes').fill(String(LIST_PAGE));
    await page.getByRole('button', { name: 'Issue the passcodes' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('ol.passcodes code').length === n, LIST_PAGE);
    const older = page.getByRole('button', { name: 'Show older passcodes' });
    await older.waitFor();
    assert.equal(await listRows.count(), LIST_PAGE);
    await older.click();
    await page.waitForFunction((n) => document.querySelectorAll('#passcode-list tbody tr').length === n, LIST_PAGE + 2);
    await page.waitForFunction((n) => document.activeElement === document.querySelectorAll('#passcode-list tbody tr')[n]?.firstElementChild, LIST_PAGE);
    assert.equal(await older.count(), 0, 'no older page is left');
    assert.deepEqual([...(await listRows.locator('td:nth-child(1)').allInnerTexts()).slice(LIST_PAGE)].sort(), [...after].sort(), 'the two first passcodes left come last');
    await axeCheck(page, shots, '12d-passcodes-older');
    // One attempt's passcodes, found by its id; then every passcode again.
    const sought = after[0]!;
    const findField = page.getByLabel('Attempt', { exact: true });
    await findField.fill(sought);
    await page.getByRole('button', { name: 'Find its passcodes' }).click();
    await page.waitForFunction((a) => document.getElementById('passcode-list-heading')?.textContent === `Passcodes of attempt ${a}` && document.activeElement?.id === 'passcode-list-heading', sought);
    assert.deepEqual(await listRows.locator('td:nth-child(1)').allInnerTexts(), [sought]);
    assert.ok((await page.locator('#live').innerText()).includes(`1 passcode of attempt ${sought}.`));
    await axeCheck(page, shots, '12e-passcodes-found');
    await findField.fill('no-such-attempt');
    await page.getByRole('button', { name: 'Find its passcodes' }).click();
    await page.waitForFunction(() => document.getElementById('live')?.textContent?.includes('No passcode of attempt no-such-attempt in this exam.'));
    assert.equal(await listRows.count(), 0);
    await page.getByRole('button', { name: 'Show every passcode' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#passcode-list tbody tr').length === n && document.activeElement?.id === 'passcode-list-heading', LIST_PAGE);
    await page.getByRole('button', { name: 'Back to exams' }).click();
    await heading(page, 'Exams');
    const left = await page.evaluate(() => document.documentElement.outerHTML + JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(passcodes.every((p) => !left.includes(p)), 'the passcodes are gone from the page once it leaves the screen');

    await nav(page, 'Assessment platforms', 'Assessment platforms');
    await page.getByLabel('Platform name').fill('Quizmaster');
    await page.getByLabel('Webhook URL').fill('https://quizmaster.example/examvault/webhook');
    await page.getByRole('button', { name: 'Register the platform' }).click();
    const apiKey = await page.locator('#platform-api-key').innerText();
    assert.match(apiKey, /^evp1\.eu\./);
    await axeCheck(page, shots, '13-platforms');
    const platformExam = await app.inject({ method: 'POST', url: '/v1/platform/exams', headers: { authorization: `Bearer ${apiKey}` }, payload: { title: 'Quiz 1' } });
    assert.equal(platformExam.statusCode, 201, platformExam.body);
    // The exam the console's form made keeps the interval typed in it; one made without gets the default.
    assert.equal((await findExam(cell.db, inst.id, 'chem-final'))?.snapshot_interval_seconds, 15);
    assert.equal(platformExam.json<Exam>().snapshotIntervalSeconds, DEFAULT_SNAPSHOT_INTERVAL_SECONDS);
    await page.getByRole('button', { name: 'Revoke Quizmaster' }).click();
    await heading(page, 'Revoke platform Quizmaster');
    await axeCheck(page, shots, '13b-platform-revoke');
    await page.getByRole('button', { name: 'Revoke Quizmaster' }).click();
    await heading(page, 'Assessment platforms');
    await page.getByRole('cell', { name: / UTC$/ }).nth(1).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Revoke Quizmaster' }).count(), 0);
    const refused = await app.inject({ method: 'POST', url: '/v1/platform/exams', headers: { authorization: `Bearer ${apiKey}` }, payload: { title: 'Quiz 2' } });
    assert.equal(refused.statusCode, 401, 'the revoked key no longer works');

    await nav(page, 'LTI platforms', 'LTI platforms');
    await page.getByLabel('Issuer').fill('https://lms.example');
    await page.getByLabel('Client id').fill('examvault-tool');
    await page.getByLabel('Deployment ids').fill('dep-1, dep-2');
    await page.getByLabel('Authentication request URL').fill('https://lms.example/auth');
    await page.getByLabel('Access token URL').fill('https://lms.example/token');
    await page.getByLabel('Public keyset URL').fill('https://lms.example/jwks');
    await page.getByRole('button', { name: 'Register the LTI platform' }).click();
    await page.getByRole('cell', { name: 'dep-1, dep-2' }).waitFor();
    await axeCheck(page, shots, '14-lti');
    await page.getByRole('button', { name: 'Remove https://lms.example' }).click();
    await heading(page, 'Remove LTI platform https://lms.example');
    await axeCheck(page, shots, '14b-lti-remove');
    await page.getByRole('button', { name: 'Remove https://lms.example' }).click();
    await heading(page, 'LTI platforms');
    await page.getByText('No LTI platform yet.').waitFor();

    await nav(page, 'Retention', 'Retention');
    assert.equal(await page.locator('#retention-result').innerText(), 'Recordings are kept until someone deletes them.');
    await page.getByLabel('Keep recordings for (days)').fill('365');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.locator('#retention-result', { hasText: 'deleted 365 days after' }).waitFor();
    await axeCheck(page, shots, '15-retention');
    const retention = await cell.db.selectFrom('audit_log').select('payload').where('type', '=', 'custody.retention-set').executeTakeFirst();
    assert.deepEqual(JSON.parse(Buffer.from(retention?.payload ?? []).toString('utf8')), { admin: adminId, days: 365 });
    await nav(page, 'Retention', 'Retention');
    assert.equal(await page.getByLabel('Keep recordings for (days)').inputValue(), '365', 'the period set is read back');

    // 7. Sign out, sign in again with the passkey, unlock the keys.
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in');
    await axeCheck(page, shots, '16-sign-in');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await heading(page, 'Unlock your keys');
    await axeCheck(page, shots, '17-unlock');
    await page.getByLabel('Passphrase').fill(`${ADMIN_PASSPHRASE}x`);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('That passphrase does not open these keys').first().waitFor();
    await page.getByLabel('Passphrase').fill(ADMIN_PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await heading(page, 'Admin console');

    // 8. The audit log, every entry verified in the page; then one altered in transit is not.
    await nav(page, 'Audit log', 'Audit log');
    const summary = await page.locator('#audit-summary').innerText();
    assert.match(summary, /^All \d+ entries shown are verified/);
    assert.equal(await page.locator('#audit-summary.ok').count(), 1);
    for (const type of ['staff.invite-redeemed', 'custody.recovery-set', 'custody.approved', 'custody.revoked', 'custody.admin-enrolled', 'custody.retention-set', 'staff.signed-in']) {
      assert.ok(await page.getByRole('cell', { name: type, exact: true }).count() > 0, `${type} is listed`);
    }
    await axeCheck(page, shots, '18-audit');
    tamperAudit = true;
    await nav(page, 'Audit log', 'Audit log');
    assert.match(await page.locator('#audit-summary.error').innerText(), /^1 of \d+ entries could NOT be verified/);
    assert.equal(await page.locator('td .error', { hasText: /^Not verified: .*EV_ERR_AUDIT_ENTRY_MODIFIED/ }).count(), 1);
    await axeCheck(page, shots, '19-audit-tampered');
    tamperAudit = false;

    // No private key, no epoch key and no recovery secret left the page or stayed in its storage. (The
    // admin's signing scalar cannot be exported from the unwrapped key, which WebCrypto holds as
    // non-extractable; the HPKE scalar, wrapped the same way under the same passphrase key, stands for both.)
    const secrets = [
      ...encodings(await exportPrivateKey(adminKeys.hpkePrivateKey)),
      ...encodings(await exportPrivateKey(epoch1.privateKey)),
      ...encodings(await exportPrivateKey(adminEpoch2)),
      ...encodings(recoverySecret),
      recoveryText,
      recoveryText.replace(/-/g, ''),
    ];
    const stored = (await page.evaluate(dumpIndexedDb)) as string;
    assert.match(stored, /examvault-staff\/keys/);
    assert.ok(stored.includes(keysBody.registration), 'the key file is what IndexedDB holds');
    for (const s of secrets) {
      assert.ok(!stored.includes(s), 'no unwrapped key or recovery secret in IndexedDB');
      assert.ok(!sent.some((r) => r.body.includes(s) || r.path.includes(s)), 'no unwrapped key or recovery secret sent to the server');
    }
    // Chromium logs the 401 of GET /v1/staff/me after sign-out (no session yet), and the 409 of GET
    // /v1/custody/epoch before set-up (the institution had no epoch key yet): nothing else.
    assert.deepEqual(problems.filter((p) => !/status of 401/.test(p) && !/status of 409 \(Conflict\) \S+\/v1\/custody\/epoch$/.test(p)), []);
    t.diagnostic(`admin console run: ${((Date.now() - started) / 1000).toFixed(1)} s in Chromium, ${sent.filter((r) => r.path.startsWith('/v1/')).length} API requests`);

    // 9. An institution the operator created with its epoch key (`institutions create --key-out`): its
    // first admin (keys registered elsewhere, unlocked here) sets it up from the operator's key file.
    const operatorKey = await generateEpochKeyPair();
    const operatorPublic = await exportPublicKey(operatorKey.publicKey);
    const old = await createInstitution(services.cells, services.directory, { name: 'Key File U', region: 'eu', epochPublicKey: toBase64Url(operatorPublic) }, Date.now());
    const keyFilePath = join(dataDir, 'key-file-u-epoch-1.key');
    await writeFile(keyFilePath, JSON.stringify(await protectPrivateKey(operatorKey.privateKey, operatorKey.publicKey, OPERATOR_PASSPHRASE)));
    const problems4: string[] = [];
    const { session: oldSession, page: page4 } = await adminElsewhere(old.id, 'stf-key-file-admin', 'key file admin passphrase', problems4);
    await heading(page4, 'Set up your institution');
    await page4.locator('#epoch-key-file').setInputFiles(keyFilePath);
    await page4.getByLabel('Passphrase of the epoch key file').fill(OPERATOR_PASSPHRASE);
    await page4.getByRole('button', { name: 'Set up the institution' }).click();
    await heading(page4, 'Your institution\'s recovery key');
    const oldRecovery = await deriveRecoveryKeys(await parseRecoveryKey(await page4.locator('#recovery-key').innerText()));
    const oldServed = (await app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: { cookie: oldSession.cookie } })).json() as { grants: { epoch: number; grant: unknown }[] };
    const oldOpened = await openGrant(oldServed.grants[0]?.grant, { institution: old.id, epoch: 1, epochPublicKey: operatorPublic }, { kind: 'recovery', keys: oldRecovery }, oldRecovery.hpke.privateKey);
    assert.ok(await keyPairMatches(oldOpened, operatorPublic), 'the operator\'s key is kept and granted to the recovery key');
    assert.deepEqual(problems4, []);
  });
});
