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
  approveReviewer,
  createRecordingSealer,
  derivePassphraseKey,
  fromBase64Url,
  generateMemberKeys,
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

export async function register(s: TestServer, member: Staff): Promise<void> {
  const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: member.send, payload: await registrationBody(member) });
  if (r.statusCode !== 200) throw new Error(`register ${member.id}: ${r.statusCode} ${r.body}`);
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
