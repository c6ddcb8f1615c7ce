/**
 * A custody scenario on the real test server: staff members with real sessions (createStaffSession),
 * real member keys, wrapped private keys, signed statements and grants from src/crypto/custody, and
 * real uploaded recordings. The "clients" here are the tests: the server gets only what a browser
 * would send it.
 */
import { randomBytes } from 'node:crypto';
import {
  type EpochKeyPair,
  type MemberKeys,
  type PassphraseKey,
  type RecordingSealer,
  type RecoveryKeys,
  approveReviewer,
  createGrant,
  createRecordingSealer,
  derivePassphraseKey,
  deriveRecoveryKeys,
  exportPublicKey,
  fromBase64Url,
  generateMemberKeys,
  generateRecoverySecret,
  safetyNumber,
  signStatement,
  toBase64Url,
  wrapPrivateKey,
} from '../../../src/crypto/index.js';
import type { Cell } from '../../../src/server/regions/cell.types.js';
import { createStaffSession } from '../../../src/server/staff/staff-auth.js';
import { insertStaff } from '../../../src/server/staff/staff.repository.js';
import { type CleanupScope, type TestInstitution, type TestServer, octets, startTestServer } from '../support/test-server.js';

export interface Staff {
  readonly id: string;
  readonly role: 'admin' | 'reviewer';
  readonly institution: TestInstitution;
  readonly keys: MemberKeys;
  /** Headers for a GET. */
  readonly get: Record<string, string>;
  /** Headers for a state-changing request (cookie, Origin, CSRF). */
  readonly send: Record<string, string>;
}

let sharedPassphraseKey: Promise<PassphraseKey> | null = null;
/** One PBKDF2 derivation (600,000 iterations) shared by the tests' members: they only need valid documents. */
export function passphraseKey(): Promise<PassphraseKey> {
  sharedPassphraseKey ??= derivePassphraseKey('correct horse battery staple');
  return sharedPassphraseKey;
}

export async function addStaff(s: TestServer, institution: TestInstitution, id: string, role: 'admin' | 'reviewer'): Promise<Staff> {
  const cell = s.services.cells.get(institution.region);
  if (!cell) throw new Error('no cell');
  await insertStaff(cell.db, { id, institution_id: institution.id, role, label: null, created_at: s.now, disabled_at: null });
  const session = await createStaffSession(cell, id, s.now);
  const keys = await generateMemberKeys();
  return {
    id,
    role,
    institution,
    keys,
    get: { cookie: session.cookie },
    send: { cookie: session.cookie, 'x-ev-csrf': session.csrfToken, origin: s.config.publicOrigin },
  };
}

/** The member's client: signs its key registration and wraps its private keys, then uploads them. */
export async function registrationBody(member: Staff, keys: MemberKeys = member.keys): Promise<{ registration: string; wrappedKeys: Record<string, unknown> }> {
  const registration = await signStatement({
    type: 'key-registration',
    institution: member.institution.id,
    timestamp: Date.now(),
    reviewer: member.id,
    hpkePublicKey: keys.hpkePublicKey,
    signingPublicKey: keys.signingPublicKey,
  }, keys.signing.privateKey);
  const pk = await passphraseKey();
  const prefix = member.role === 'admin' ? 'admin' : 'reviewer';
  return {
    registration: toBase64Url(registration),
    wrappedKeys: {
      [`${prefix}-hpke`]: await wrapPrivateKey(keys.hpke.privateKey, { purpose: `${prefix}-hpke`, institution: member.institution.id, owner: member.id }, [{ passphraseKey: pk }]),
      [`${prefix}-signing`]: await wrapPrivateKey(keys.signing.privateKey, { purpose: `${prefix}-signing`, institution: member.institution.id, owner: member.id }, [{ passphraseKey: pk }]),
    },
  };
}

/** The member's client registers its keys (PUT /v1/custody/me/keys); an admin stays `pending` until enrolled. */
export async function registerKeys(s: TestServer, member: Staff): Promise<void> {
  const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: member.send, payload: await registrationBody(member) });
  if (r.statusCode !== 200) throw new Error(`register ${member.id}: ${r.statusCode} ${r.body}`);
}

const recoveryKeys = new Map<string, RecoveryKeys>();

/** The recovery key made at an institution's set-up by `register` (the printed key, held by the test). */
export function recoveryOf(institution: TestInstitution): RecoveryKeys {
  const keys = recoveryKeys.get(institution.id);
  if (!keys) throw new Error(`${institution.id} was not set up`);
  return keys;
}

/**
 * The first admin's client sets the institution up (KEY-CUSTODY §7.5): a recovery key, its
 * self-signed `institution` statement, the `admin-enrolment` of the admin's registered keys signed by
 * it, the `epoch` statement of epoch 1 signed by the admin, and epoch 1 granted to both.
 */
export async function setUpBody(admin: Staff, recovery: RecoveryKeys, epochKeys: EpochKeyPair = admin.institution.keys, epoch = 1): Promise<Record<string, unknown>> {
  const institution = admin.institution.id;
  const now = Date.now();
  return {
    institution: toBase64Url(await signStatement({ type: 'institution', institution, timestamp: now, hpkePublicKey: recovery.hpkePublicKey, signingPublicKey: recovery.signingPublicKey }, recovery.signing.privateKey)),
    enrolment: toBase64Url(await signStatement({ type: 'admin-enrolment', institution, timestamp: now, admin: admin.id, hpkePublicKey: admin.keys.hpkePublicKey, signingPublicKey: admin.keys.signingPublicKey, enrolledBy: { kind: 'recovery' } }, recovery.signing.privateKey)),
    epoch: toBase64Url(await signStatement({ type: 'epoch', institution, timestamp: now, admin: admin.id, epoch, epochPublicKey: await exportPublicKey(epochKeys.publicKey) }, admin.keys.signing.privateKey)),
    recoveryGrant: await createGrant(epochKeys.privateKey, { institution, epoch }, { kind: 'recovery', keys: recovery }),
    grant: await createGrant(epochKeys.privateKey, { institution, epoch }, { kind: 'member', member: admin.id, keys: admin.keys }),
  };
}

/** Sets the institution up with `admin` as its first admin (PUT /v1/custody/recovery); returns the recovery key. */
export async function setUp(s: TestServer, admin: Staff, recovery?: RecoveryKeys): Promise<RecoveryKeys> {
  const keys = recovery ?? await deriveRecoveryKeys(generateRecoverySecret());
  const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: admin.send, payload: await setUpBody(admin, keys) });
  if (r.statusCode !== 201) throw new Error(`set-up by ${admin.id}: ${r.statusCode} ${r.body}`);
  recoveryKeys.set(admin.institution.id, keys);
  return keys;
}

/**
 * The member's client joins: it registers its keys, and the first admin of an institution also sets
 * it up (which enrols it). A later admin stays `pending` until `enrol` (or the recovery key) enrols it.
 */
export async function register(s: TestServer, member: Staff): Promise<void> {
  await registerKeys(s, member);
  if (member.role !== 'admin') return;
  const root = await s.app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: member.get });
  if (root.statusCode === 409) await setUp(s, member);
}

/** An enrolled admin's client enrols another admin: the signed enrolment and epoch-1 granted to it. */
export async function enrolBody(by: Staff, admin: Staff, epochKeys: EpochKeyPair = admin.institution.keys, epoch = 1): Promise<{ enrolment: string; grants: unknown[] }> {
  const enrolment = await signStatement({
    type: 'admin-enrolment', institution: admin.institution.id, timestamp: Date.now(), admin: admin.id,
    hpkePublicKey: admin.keys.hpkePublicKey, signingPublicKey: admin.keys.signingPublicKey, enrolledBy: { kind: 'admin', admin: by.id },
  }, by.keys.signing.privateKey);
  return { enrolment: toBase64Url(enrolment), grants: [await createGrant(epochKeys.privateKey, { institution: admin.institution.id, epoch }, { kind: 'member', member: admin.id, keys: admin.keys })] };
}

/** The admin's client revokes a reviewer: the revocation starting `epoch`, and that epoch's key granted to the recovery key. */
export async function revocationBody(admin: Staff, reviewer: string, epoch: number, epochKeys: EpochKeyPair): Promise<{ revocation: string; recoveryGrant: unknown }> {
  const institution = admin.institution.id;
  const revocation = await signStatement({ type: 'revocation', institution, timestamp: Date.now(), admin: admin.id, reviewer, epoch, epochPublicKey: await exportPublicKey(epochKeys.publicKey) }, admin.keys.signing.privateKey);
  return { revocation: toBase64Url(revocation), recoveryGrant: await createGrant(epochKeys.privateKey, { institution, epoch }, { kind: 'recovery', keys: recoveryOf(admin.institution) }) };
}

/** The reviewer's own client: the safety number of its own keys, read out to the admin. */
export function ownSafetyNumber(member: Staff): Promise<string> {
  return safetyNumber({ institution: member.institution.id, member: member.id, keys: member.keys });
}

/**
 * The admin's client approves a reviewer: fetches the registration the server serves, runs the
 * library's approval (which checks the safety number the admin confirmed), uploads grant + approval.
 */
export async function approve(s: TestServer, admin: Staff, reviewer: Staff, epoch: number, epochKeys: EpochKeyPair): Promise<{ statusCode: number; body: string }> {
  const list = await s.app.inject({ method: 'GET', url: '/v1/custody/reviewers', headers: admin.get });
  const served = (list.json().reviewers as { member: string; registration: string }[]).find((m) => m.member === reviewer.id);
  if (!served) throw new Error(`${reviewer.id} is not listed`);
  const registration = fromBase64Url(served.registration) as Uint8Array;
  const approval = await approveReviewer({
    registration,
    confirmedSafetyNumber: await ownSafetyNumber(reviewer),
    institution: admin.institution.id,
    epoch,
    epochPrivateKey: epochKeys.privateKey,
    admin: admin.id,
    adminSigningKey: admin.keys.signing.privateKey,
  });
  const r = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: approval.grant, approval: toBase64Url(approval.approval) } });
  return { statusCode: r.statusCode, body: r.body };
}

export interface Uploaded {
  readonly recording: string;
  readonly chunks: Buffer[];
  readonly sealer: RecordingSealer;
}

/** A test taker's recorder seals and uploads a complete recording to the given epoch key. */
export async function upload(s: TestServer, institution: TestInstitution, recording: string, epoch = 1, epochPublicKey: CryptoKey = institution.keys.publicKey): Promise<Uploaded> {
  const att = await s.attempt(institution);
  const sealer = await createRecordingSealer({
    context: { institution: institution.id, region: institution.region, exam: att.exam, attempt: att.attempt, recording, track: 'camera', mediaType: 'video/webm' },
    recipient: epochPublicKey,
    epoch,
    maxSegment: 1000,
  });
  const chunks = [randomBytes(1000), randomBytes(777), randomBytes(3)];
  const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
  if (created.statusCode !== 201) throw new Error(`create: ${created.body}`);
  for (const [i, c] of chunks.entries()) {
    const sealed = await sealer.sealNext(c, i === chunks.length - 1);
    const r = await s.app.inject({ method: 'PUT', url: `/v1/recordings/${recording}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed) });
    if (r.statusCode !== 201) throw new Error(`segment ${i}: ${r.body}`);
  }
  const done = await s.app.inject({ method: 'POST', url: `/v1/recordings/${recording}/complete`, headers: { authorization: `Bearer ${att.token}` }, payload: { segmentCount: chunks.length } });
  if (done.statusCode !== 200) throw new Error(`complete: ${done.body}`);
  return { recording, chunks, sealer };
}

export async function scenario(t: CleanupScope): Promise<{ s: TestServer; inst: TestInstitution; admin: Staff }> {
  const s = await startTestServer(t);
  const inst = await s.institution('eu');
  const admin = await addStaff(s, inst, 'adm-1', 'admin');
  await register(s, admin);
  return { s, inst, admin };
}

/** The `eu` cell, where every custody scenario's institution lives. */
export function cellOf(s: { services: { cells: ReadonlyMap<string, Cell> } }): Cell {
  return s.services.cells.get('eu') as Cell;
}
