/**
 * What the reviewer's Chromium test, the end-to-end test and `npm run bench:playback` share: the
 * institution's set-up by its first admin's client (as the admin console does it), a test taker's
 * recording sealed piece by piece and uploaded over HTTPS through the upload API, a reviewer's staff
 * session as a browser cookie, and the admin's approval of the reviewer by the safety number the
 * reviewer's page shows.
 */
import assert from 'node:assert/strict';
import { type Agent, request } from 'node:https';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { type MemberKeys, type Track, approveReviewer, createMemberKeyFile, createRecordingSealer, deriveRecoveryKeys, fromBase64Url, generateRecoverySecret, toBase64Url } from '../../src/crypto/index.js';
import { issueAttemptCredential } from '../../src/server/attempts/attempt.service.js';
import { createStaffSession } from '../../src/server/staff/staff-auth.js';
import { insertStaff } from '../../src/server/staff/staff.repository.js';
import { type Staff, setUpBody } from '../server/custody/support.js';
import { EXAM, type LtiScenario } from '../server/lti/support.js';
import type { TestInstitution } from '../server/support/test-server.js';
import { heading } from './recorder-support.js';

export interface HttpsAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** One HTTPS request to the scenario's server, through its agent (which trusts the local certificate). */
export function https(s: Pick<LtiScenario, 'origin' | 'agent'>, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array | string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, s.origin), { method, headers, agent: s.agent as Agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}

/** The passphrase of the admin's key file made by `setUpInstitution`, which its console unlocks with. */
export const ADMIN_PASSPHRASE = 'tulip orbit canvas meadow';

/**
 * The institution's first admin (the scenario's `stf-lti-admin`) makes its member key file as the
 * admin console does (createMemberKeyFile), registers it and sets the institution up.
 */
export async function setUpInstitution(s: LtiScenario): Promise<Staff> {
  const file = await createMemberKeyFile({ institution: s.institution, member: 'stf-lti-admin', role: 'admin', passphrase: ADMIN_PASSPHRASE });
  const admin = { id: 'stf-lti-admin', role: 'admin', institution: { id: s.institution, region: 'eu', keys: s.epochKeys } as unknown as TestInstitution, keys: file.keys, get: {}, send: {} } as Staff;
  const registered = await s.api('PUT', '/v1/custody/me/keys', { registration: toBase64Url(file.registration), wrappedKeys: file.wrappedKeys });
  assert.equal(registered.status, 200, registered.body);
  const setUp = await s.api('PUT', '/v1/custody/recovery', await setUpBody(admin, await deriveRecoveryKeys(generateRecoverySecret())));
  assert.equal(setUp.status, 201, setUp.body);
  return admin;
}

/** A staff member's session in `context` (the cookie the passkey sign-in would set); a new reviewer unless `existing`. */
export async function signedIn(s: LtiScenario, context: BrowserContext, id: string, existing = false): Promise<void> {
  if (!existing) await insertStaff(s.cell.db, { id, institution_id: s.institution, role: 'reviewer', label: null, created_at: Date.now(), disabled_at: null });
  const session = await createStaffSession(s.cell, id, Date.now());
  await context.addCookies([{ name: '__Host-ev_session', value: session.token, url: `${s.origin}/`, secure: true, httpOnly: true, sameSite: 'Strict' }]);
}

/**
 * The admin's client approves `reviewer` (KEY-CUSTODY §7): it fetches the registration the server
 * serves and approves only if the safety number the reviewer read out (`readOut`, taken from the
 * reviewer's page) matches the one it computes; then posts the grant and the signed approval.
 */
export async function approveBySafetyNumber(s: LtiScenario, admin: { id: string; keys: MemberKeys }, reviewer: string, readOut: string): Promise<void> {
  const list = await s.api('GET', '/v1/custody/reviewers');
  assert.equal(list.status, 200, list.body);
  const served = (JSON.parse(list.body) as { reviewers: { member: string; registration: string }[] }).reviewers.find((m) => m.member === reviewer);
  assert.ok(served, `${reviewer} is listed with a registration`);
  const approval = await approveReviewer({
    registration: fromBase64Url(served.registration) as Uint8Array,
    confirmedSafetyNumber: readOut,
    institution: s.institution,
    epoch: 1,
    epochPrivateKey: s.epochKeys.privateKey,
    admin: admin.id,
    adminSigningKey: admin.keys.signing.privateKey,
  });
  const r = await s.api('POST', '/v1/custody/grants', { grant: approval.grant, approval: toBase64Url(approval.approval) });
  assert.equal(r.status, 201, r.body);
}

/** A new attempt of the scenario's exam: its credential. */
export async function newAttempt(s: LtiScenario): Promise<{ token: string; attempt: string }> {
  const issued = await issueAttemptCredential(s.services.cells, s.services.directory, { institution: s.institution, exam: EXAM, ttlSeconds: 6 * 3600 }, Date.now());
  return { token: issued.token, attempt: issued.attempt };
}

export interface SyntheticRecording {
  readonly recording: string;
  readonly track: Track;
  /** The plaintext of each piece, in order. */
  readonly pieces: readonly Uint8Array[];
  /** The header's segment limit: a piece larger than this is split, as the recorder splits it. */
  readonly maxSegment: number;
  readonly mediaType: string;
}

/**
 * Seals a recording the way the recorder does (one piece after the other, split at `maxSegment`,
 * then the empty final segment) and uploads it over HTTPS: header, each segment, complete.
 * Returns the plaintext of each segment, by index.
 */
export async function uploadRecording(s: LtiScenario, attempt: { token: string; attempt: string }, r: SyntheticRecording): Promise<Uint8Array[]> {
  const sealer = await createRecordingSealer({
    context: { institution: s.institution, region: 'eu', exam: EXAM, attempt: attempt.attempt, recording: r.recording, track: r.track, mediaType: r.mediaType },
    recipient: s.epochKeys.publicKey,
    epoch: 1,
    maxSegment: r.maxSegment,
  });
  const bearer = { authorization: `Bearer ${attempt.token}` };
  const octets = { ...bearer, 'content-type': 'application/octet-stream' };
  const created = await https(s, 'POST', '/v1/recordings', octets, sealer.header.bytes);
  assert.equal(created.status, 201, created.body.toString());
  const segments: Uint8Array[] = [];
  const put = async (plaintext: Uint8Array, last: boolean) => {
    const index = sealer.nextIndex;
    const sealed = await sealer.sealNext(plaintext, last);
    const answer = await https(s, 'PUT', `/v1/recordings/${r.recording}/segments/${index}`, octets, sealed);
    assert.equal(answer.status, 201, answer.body.toString());
    segments.push(plaintext);
  };
  for (const piece of r.pieces) {
    for (let at = 0; at < piece.length; at += r.maxSegment) await put(piece.subarray(at, at + r.maxSegment), false);
  }
  await put(new Uint8Array(0), true);
  const done = await https(s, 'POST', `/v1/recordings/${r.recording}/complete`, { ...bearer, 'content-type': 'application/json' }, JSON.stringify({ segmentCount: segments.length }));
  assert.equal(done.status, 200, done.body.toString());
  return segments;
}

/**
 * The reviewer's page from sign-in to the player, as a reviewer does it for the first time: makes
 * their key with a passphrase, reads out the safety number the page shows to an admin, whose client
 * `approve`s with it; then "Check again" → exams → the exam's attempts → play `attempt`.
 * `screen(name)` is called on each screen once it shows (axe-core and a screenshot, in the tests).
 */
export async function reviewerOpensAttempt(o: {
  s: LtiScenario;
  page: Page;
  approve: (readOut: string) => Promise<void>;
  reviewer: string;
  attempt: string;
  screen?: (name: string) => Promise<void>;
  /** The page is already in the reviewer app with a session (it arrived from an LTI launch); else one is made for `reviewer`. */
  arrived?: boolean;
}): Promise<void> {
  const { page } = o;
  const screen = o.screen ?? (async () => undefined);
  if (!o.arrived) {
    await signedIn(o.s, page.context(), o.reviewer);
    await page.goto(`${o.s.origin}/app/reviewer/`);
  }
  await heading(page, 'Create your key');
  await page.getByLabel('New passphrase').fill('correct horse battery staple');
  await page.getByLabel('The same passphrase again').fill('correct horse battery staple');
  await screen('create-key');
  await page.getByRole('button', { name: 'Create my key' }).click();
  await heading(page, 'Waiting for approval');
  await screen('waiting-for-approval');
  const readOut = await page.locator('#safety-number').innerText();
  assert.match(readOut.replace(/\s+/g, ' ').trim(), /^(\d{5} ){7}\d{5}$/, 'eight groups of five digits');
  await o.approve(readOut);
  await page.getByRole('button', { name: 'Check again' }).click();
  await heading(page, 'Exams');
  await screen('exams');
  await page.getByRole('button', { name: 'Attempts of Chemistry midterm' }).click();
  await heading(page, 'Attempts: Chemistry midterm');
  await screen('attempts');
  await page.getByRole('button', { name: `Play attempt ${o.attempt}` }).click();
  await heading(page, `Attempt ${o.attempt}`);
}

/**
 * Chromium for the reviewer's tests, closed for certain: a headless Chromium that played audio
 * sometimes never finishes closing, which would hold the test process open forever. So it is
 * launched as a server process, asked to close, and killed if it has not within 15 s. Call `close`
 * before the HTTPS server closes (which waits for the browser's connections); `after` also gets it.
 */
export async function launchChromium(after: (fn: () => Promise<void>) => void, executablePath: string, args: readonly string[]): Promise<{ browser: Browser; close(): Promise<void> }> {
  const server = await chromium.launchServer({ executablePath, headless: true, args: [...args] });
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([server.close(), new Promise((r) => { timer = setTimeout(r, 15_000); })]).finally(() => clearTimeout(timer));
      await server.kill();
    })();
    return closing;
  };
  after(close);
  return { browser: await chromium.connect(server.wsEndpoint()), close };
}
