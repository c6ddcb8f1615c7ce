/**
 * The server side of key custody (docs/CUSTODY-SERVER.md, docs/KEY-CUSTODY.md). The server only
 * stores and relays: public keys, wrapped private keys, grants and signed statements. It checks what
 * it can without any private key — shapes and sizes, statement signatures against the keys members
 * registered, that an approval names the reviewer's current key fingerprint — and it records every
 * registration, approval, revocation, unlock and deletion in the cell's audit log *before* acting on it.
 * It cannot approve anyone (it has nothing to wrap) and cannot open anything it stores.
 */
import { createHash } from 'node:crypto';
import {
  type Signer,
  type Statement,
  type StatementOf,
  type StatementType,
  type Header,
  decodeHeader,
  fromBase64Url,
  isCryptoError,
  keyPurposes,
  memberFingerprint,
  toBase64Url,
  verifyStatement,
} from '../../crypto/index.js';
import type { AuditPayload } from '../../crypto/merkle/index.js';
import {
  type AttemptListResponse,
  type CustodyErrorCode,
  type CustodyMember,
  type EpochResponse,
  type RecordingListResponse,
  type RewrapPendingResponse,
  type RewrapResponse,
  type UnlockResponse,
  custodyErrors,
} from '../../protocol/custody.js';
import { ApiError } from '../../protocol/errors.js';
import type { Transaction } from 'kysely';
import type { CellDatabase, CustodyMemberTable, RecordingTable } from '../db/schema.js';
import { findEpochKey, findInstitution } from '../institutions/institution.repository.js';
import { findRecording, findSegment } from '../recordings/recording.repository.js';
import { headerBlobKey, segmentBlobKey } from '../recordings/recording.service.js';
import type { Cell } from '../regions/cell.types.js';
import type { StaffPrincipal } from '../staff/staff.types.js';
import {
  deleteGrants,
  findGrant,
  findGrants,
  findMember,
  hasStatement,
  insertStatement,
  listMembers,
  listStatements,
  setMemberStatus,
  findRetention,
  setRetention,
  upsertGrant,
  upsertMember,
} from './custody.repository.js';

export function custodyError(code: CustodyErrorCode, message: string): ApiError {
  return new ApiError(code, message, custodyErrors[code]);
}

/** Largest JSON of all of a member's wrapped keys together, and of one grant. */
export const MAX_WRAPPED_KEYS_JSON = 32 * 1024;
export const MAX_GRANT_JSON = 2048;
export const MAX_RETENTION_DAYS = 36_500;

const b64 = /^[A-Za-z0-9_-]{1,4096}$/;

function bytesField(value: unknown, what: string, max = 2048): Uint8Array {
  const bytes = typeof value === 'string' && b64.test(value) ? fromBase64Url(value) : null;
  if (!bytes || bytes.length === 0 || bytes.length > max) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `${what} must be unpadded base64url`);
  return bytes;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Records an event in the audit log, durably, before the action it describes. If the log cannot
 * take it, the action must not happen: 503 EV_ERR_CUSTODY_AUDIT_UNAVAILABLE.
 */
export async function audit(cell: Cell, institution: string, type: string, payload: AuditPayload): Promise<number> {
  try {
    return (await cell.audit.append({ institution, type, payload })).seq;
  } catch (e) {
    throw custodyError('EV_ERR_CUSTODY_AUDIT_UNAVAILABLE', `the audit log could not record the ${type} event, so it was not carried out (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Verifies a signed statement; any failure is 422 with the crypto code in the message. */
async function checkStatement<T extends StatementType>(
  signed: Uint8Array,
  type: T,
  resolve: (signer: Signer, statement: Statement) => Uint8Array | null | Promise<Uint8Array | null>,
): Promise<{ statement: StatementOf<T>; id: string }> {
  const result = await verifyStatement(signed, (signer, statement) => resolve(signer, statement), type);
  if (!result.ok) throw custodyError('EV_ERR_CUSTODY_STATEMENT_REJECTED', `the ${type} statement was refused: ${result.message} (${result.code})`);
  return { statement: result.statement, id: result.id };
}

/** Nothing can be sealed for an institution created without an epoch key until its first admin set it up. */
function notSetUp(): ApiError {
  return custodyError('EV_ERR_CUSTODY_NOT_SET_UP', "the institution is not set up yet: it has no epoch key until its first admin sets it up in the admin console");
}

function rejected(message: string): ApiError {
  return custodyError('EV_ERR_CUSTODY_STATEMENT_REJECTED', message);
}

/** The requesting admin's custody row: registered, not revoked (enrolled or not). */
async function registeredAdmin(cell: Cell, principal: StaffPrincipal): Promise<CustodyMemberTable> {
  const admin = await findMember(cell.db, principal.institution, principal.staffId);
  if (!admin || admin.role !== 'admin') throw custodyError('EV_ERR_CUSTODY_NOT_REGISTERED', 'register your custody keys (PUT /v1/custody/me/keys) before signing statements');
  if (admin.status === 'revoked') throw custodyError('EV_ERR_CUSTODY_REVOKED', 'your access was revoked');
  return admin;
}

/**
 * The signing key the server holds for the requesting admin, the only one who may sign through its
 * session. An admin's session alone vouches for nothing: its keys count only once an admin-enrolment
 * (by another admin, by the recovery key, or at set-up) named them, which made the member `approved`;
 * new keys put it back to `pending`.
 */
async function adminSigningKey(cell: Cell, principal: StaffPrincipal): Promise<Uint8Array> {
  const admin = await registeredAdmin(cell, principal);
  if (admin.status !== 'approved') {
    throw custodyError('EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED', 'your admin keys are not enrolled: another admin (POST /v1/custody/admins) or the recovery key must sign an admin-enrolment naming them');
  }
  return fromBase64Url(admin.signing_public_key) as Uint8Array;
}

function requestingAdmin(principal: StaffPrincipal, key: Uint8Array) {
  return (signer: Signer): Uint8Array | null => (signer.kind === 'admin' && signer.admin === principal.staffId ? key : null);
}

// ---------------------------------------------------------------------------------------------
// Registration

function checkWrappedKeys(value: unknown, principal: StaffPrincipal): string {
  if (!isPlainObject(value)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'wrappedKeys must be an object of wrapped private keys by purpose');
  const entries = Object.entries(value);
  if (entries.length < 1 || entries.length > keyPurposes.length) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'wrappedKeys holds 1 to 5 wrapped keys');
  for (const [purpose, doc] of entries) {
    if (!(keyPurposes as readonly string[]).includes(purpose) || purpose === 'epoch') throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `wrappedKeys.${purpose} is not a member key purpose`);
    if (!isPlainObject(doc) || doc.format !== 'examvault-wrapped-key' || doc.version !== 1 || doc.purpose !== purpose) {
      throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `wrappedKeys.${purpose} is not an examvault-wrapped-key document for ${purpose}`);
    }
    if (doc.institution !== principal.institution || doc.owner !== principal.staffId) {
      throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `wrappedKeys.${purpose} belongs to another member`);
    }
  }
  const json = JSON.stringify(value);
  if (json.length > MAX_WRAPPED_KEYS_JSON) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `wrappedKeys is larger than ${MAX_WRAPPED_KEYS_JSON} bytes`);
  return json;
}

function memberView(m: CustodyMemberTable, approvals: readonly string[]): CustodyMember {
  return {
    member: m.member_id,
    role: m.role,
    status: m.status,
    hpkePublicKey: m.hpke_public_key,
    signingPublicKey: m.signing_public_key,
    fingerprint: m.fingerprint,
    registration: m.registration,
    approvals,
  };
}

/** A staff member registers (or re-registers) its public keys and wrapped private keys. */
export async function registerKeys(cell: Cell, principal: StaffPrincipal, body: unknown, now: number): Promise<CustodyMember & { readonly wrappedKeys: unknown }> {
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "registration", "wrappedKeys" } as application/json');
  const signed = bytesField(body.registration, 'registration');
  const wrappedJson = checkWrappedKeys(body.wrappedKeys, principal);
  const { statement, id } = await checkStatement(signed, 'key-registration', () => null);
  if (statement.institution !== principal.institution) throw rejected('the key registration is for another institution');
  if (statement.reviewer !== principal.staffId) throw rejected('the key registration names another member than the one signed in');

  const existing = await findMember(cell.db, principal.institution, principal.staffId);
  if (existing?.status === 'revoked') throw custodyError('EV_ERR_CUSTODY_REVOKED', 'your access was revoked; an admin must start over with you');
  const fingerprint = toBase64Url(await memberFingerprint(statement));
  const sameKeys = existing?.fingerprint === fingerprint;
  const registration = toBase64Url(signed);
  if (!(await hasStatement(cell.db, principal.institution, id))) {
    const seq = await audit(cell, principal.institution, 'custody.key-registered', {
      member: principal.staffId,
      role: principal.role,
      fingerprint,
      statementId: id,
      statement: registration,
    });
    await insertStatement(cell.db, { institution_id: principal.institution, statement_id: id, audit_seq: seq, type: 'key-registration', subject: principal.staffId, epoch: null, signed: registration, created_at: now });
  }
  const row: CustodyMemberTable = {
    institution_id: principal.institution,
    member_id: principal.staffId,
    role: principal.role,
    hpke_public_key: toBase64Url(statement.hpkePublicKey),
    signing_public_key: toBase64Url(statement.signingPublicKey),
    fingerprint,
    registration: sameKeys && existing ? existing.registration : registration,
    wrapped_keys: wrappedJson,
    // New keys need a new approval: grants are bound to the fingerprint of the old ones.
    status: sameKeys && existing ? existing.status : 'pending',
    created_at: existing ? Number(existing.created_at) : now,
    updated_at: now,
  };
  await cell.db.transaction().execute(async (trx) => {
    if (existing && !sameKeys) await deleteGrants(trx, principal.institution, principal.staffId);
    await upsertMember(trx, row);
  });
  return { ...memberView(row, []), wrappedKeys: JSON.parse(wrappedJson) as unknown };
}

export async function myKeys(cell: Cell, principal: StaffPrincipal): Promise<CustodyMember & { readonly wrappedKeys: unknown }> {
  const m = await findMember(cell.db, principal.institution, principal.staffId);
  if (m?.status === 'revoked') throw custodyError('EV_ERR_CUSTODY_REVOKED', 'your access was revoked');
  if (!m) throw custodyError('EV_ERR_CUSTODY_NOT_REGISTERED', 'you have not registered custody keys');
  return { ...memberView(m, []), wrappedKeys: JSON.parse(m.wrapped_keys) as unknown };
}

/** Members of one role with their keys and the signed statements that vouch for them, oldest first. */
async function membersWithStatements(cell: Cell, institution: string, role: 'admin' | 'reviewer', type: StatementType): Promise<CustodyMember[]> {
  const views: CustodyMember[] = [];
  for (const m of await listMembers(cell.db, institution, role)) {
    const statements = await listStatements(cell.db, institution, [type], m.member_id);
    views.push(memberView(m, statements.map((s) => s.signed)));
  }
  return views;
}

/** The institution's reviewers with their keys and approvals; the admin's client verifies them. */
export async function listReviewers(cell: Cell, principal: StaffPrincipal): Promise<{ reviewers: CustodyMember[] }> {
  return { reviewers: await membersWithStatements(cell, principal.institution, 'reviewer', 'approval') };
}

/**
 * The institution's admins with their keys, registrations and the signed enrolments that vouch for
 * them (in `approvals`): what an admin's client verifies, and compares the safety number of, before
 * enrolling a new admin.
 */
export async function listAdmins(cell: Cell, principal: StaffPrincipal): Promise<{ admins: CustodyMember[] }> {
  return { admins: await membersWithStatements(cell, principal.institution, 'admin', 'admin-enrolment') };
}

// ---------------------------------------------------------------------------------------------
// Grants

function checkGrantShape(grant: unknown, expected: { institution: string; epoch: number; epochPublicKey: string; member: string | null; fingerprint: string }): string {
  const fail = (why: string) => custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `the grant ${why}`);
  if (!isPlainObject(grant)) throw fail('must be an examvault-grant document');
  const keys = Object.keys(grant).sort().join(',');
  if (keys !== 'ciphertext,enc,epoch,epochPublicKey,format,institution,recipient,version') throw fail('has missing or unknown members');
  if (grant.format !== 'examvault-grant' || grant.version !== 1) throw fail('must be format examvault-grant, version 1');
  const enc = typeof grant.enc === 'string' ? fromBase64Url(grant.enc) : null;
  const ct = typeof grant.ciphertext === 'string' ? fromBase64Url(grant.ciphertext) : null;
  if (enc?.length !== 65 || ct?.length !== 48) throw fail('has an enc of 65 bytes and a ciphertext of 48');
  const r = grant.recipient;
  if (expected.member === null) {
    if (!isPlainObject(r) || Object.keys(r).sort().join(',') !== 'fingerprint,kind' || r.kind !== 'recovery') throw fail('must be for the recovery key');
  } else if (!isPlainObject(r) || Object.keys(r).sort().join(',') !== 'fingerprint,kind,member' || r.kind !== 'member') throw fail('must be for a member');
  // What the server can check without keys: the grant names what the approval names.
  if (grant.institution !== expected.institution) throw rejected('the grant is for another institution than the approval');
  if (grant.epoch !== expected.epoch) throw rejected('the grant is for another epoch than the approval');
  if (grant.epochPublicKey !== expected.epochPublicKey) throw rejected("the grant names another epoch public key than the epoch's");
  if (expected.member !== null && r.member !== expected.member) throw rejected('the grant is for another member than the approval');
  if (r.fingerprint !== expected.fingerprint) throw rejected('the grant is bound to another key fingerprint than the approval');
  const json = JSON.stringify(grant);
  if (json.length > MAX_GRANT_JSON) throw fail(`is larger than ${MAX_GRANT_JSON} bytes`);
  return json;
}

/**
 * An admin uploads a grant with its signed approval. Refused unless the approval verifies under the
 * requesting admin's registered signing key and names the reviewer's current key fingerprint: a key
 * the server substituted, or an approval of other keys, makes no grant.
 */
export async function storeGrant(cell: Cell, principal: StaffPrincipal, body: unknown, now: number): Promise<{ member: string; epoch: number; auditSeq: number }> {
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "grant", "approval" } as application/json');
  const signed = bytesField(body.approval, 'approval');
  const key = await adminSigningKey(cell, principal);
  const { statement, id } = await checkStatement(signed, 'approval', requestingAdmin(principal, key));
  if (statement.institution !== principal.institution) throw rejected('the approval is for another institution');
  const member = await findMember(cell.db, principal.institution, statement.reviewer);
  if (!member) throw custodyError('EV_ERR_CUSTODY_NOT_REGISTERED', `${statement.reviewer} has no registered custody keys`);
  if (member.status === 'revoked') throw rejected(`${statement.reviewer} was revoked`);
  if (member.role === 'admin' && member.status !== 'approved') throw rejected(`${statement.reviewer} is an admin whose keys are not enrolled: enrol it (POST /v1/custody/admins), an approval does not`);
  const fingerprint = toBase64Url(statement.fingerprint);
  if (fingerprint !== member.fingerprint) throw rejected("the approval names another key fingerprint than the reviewer's registered keys");
  const epochKey = await findEpochKey(cell.db, principal.institution, statement.epoch);
  if (!epochKey) throw rejected(`the institution has no epoch ${statement.epoch}`);
  const grantJson = checkGrantShape(body.grant, { institution: principal.institution, epoch: statement.epoch, epochPublicKey: epochKey, member: member.member_id, fingerprint });

  const approval = toBase64Url(signed);
  const seq = await audit(cell, principal.institution, 'custody.approved', {
    admin: principal.staffId,
    member: member.member_id,
    epoch: statement.epoch,
    fingerprint,
    statementId: id,
    statement: approval,
  });
  await cell.db.transaction().execute(async (trx) => {
    await insertStatement(trx, { institution_id: principal.institution, statement_id: id, audit_seq: seq, type: 'approval', subject: member.member_id, epoch: statement.epoch, signed: approval, created_at: now });
    await upsertGrant(trx, { institution_id: principal.institution, member_id: member.member_id, epoch: statement.epoch, grant_json: grantJson, approval, created_at: now });
    await setMemberStatus(trx, principal.institution, member.member_id, 'approved', now);
  });
  return { member: member.member_id, epoch: statement.epoch, auditSeq: seq };
}

export async function myGrants(cell: Cell, principal: StaffPrincipal): Promise<{ status: string; grants: { epoch: number; grant: unknown; approval: string }[] }> {
  const m = await findMember(cell.db, principal.institution, principal.staffId);
  if (m?.status === 'revoked') throw custodyError('EV_ERR_CUSTODY_REVOKED', 'your access was revoked');
  const grants = await findGrants(cell.db, principal.institution, principal.staffId);
  return {
    status: m?.status ?? 'unregistered',
    grants: grants.map((g) => ({ epoch: Number(g.epoch), grant: JSON.parse(g.grant_json) as unknown, approval: g.approval })),
  };
}

// ---------------------------------------------------------------------------------------------
// Revocation and epochs

/**
 * An admin revokes a reviewer: its grants are deleted, the signed revocation (which names the new
 * epoch and its public key) is logged, and the new epoch becomes current, so new recordings are
 * sealed to a key the revoked reviewer never held.
 */
export async function revoke(cell: Cell, principal: StaffPrincipal, body: unknown, now: number): Promise<{ member: string; epoch: number; auditSeq: number }> {
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "revocation" } as application/json');
  const signed = bytesField(body.revocation, 'revocation');
  const key = await adminSigningKey(cell, principal);
  const { statement, id } = await checkStatement(signed, 'revocation', requestingAdmin(principal, key));
  if (statement.institution !== principal.institution) throw rejected('the revocation is for another institution');
  const member = await findMember(cell.db, principal.institution, statement.reviewer);
  if (!member || member.role !== 'reviewer') throw custodyError('EV_ERR_CUSTODY_NOT_REGISTERED', `${statement.reviewer} is not a registered reviewer`);
  if (member.status === 'revoked') throw rejected(`${statement.reviewer} is already revoked`);
  const institution = await findInstitution(cell.db, principal.institution);
  if (!institution) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'the institution is not in this region');
  const current = Number(institution.current_epoch);
  if (statement.epoch !== current + 1) throw custodyError('EV_ERR_CUSTODY_EPOCH_CONFLICT', `the revocation must start epoch ${current + 1}`);

  const revocation = toBase64Url(signed);
  const epochPublicKey = toBase64Url(statement.epochPublicKey);
  // Every epoch's key is granted to the recovery key (KEY-CUSTODY §6): a new epoch without it would
  // be one the recovery key cannot restore. An enrolled admin implies a set-up institution, so the
  // recovery key is always there to grant to.
  const root = await recoveryRoot(cell, principal.institution);
  if (!root) throw custodyError('EV_ERR_CUSTODY_RECOVERY_NOT_SET', 'the institution has no recovery key registered to grant the new epoch to');
  if (body.recoveryGrant === undefined) {
    throw custodyError('EV_ERR_CUSTODY_RECOVERY_GRANT_REQUIRED', `send the new epoch ${statement.epoch} key granted to the recovery key as "recoveryGrant" with the revocation`);
  }
  const recoveryGrantJson = checkGrantShape(body.recoveryGrant, { institution: principal.institution, epoch: statement.epoch, epochPublicKey, member: null, fingerprint: root.fingerprint });
  const seq = await audit(cell, principal.institution, 'custody.revoked', {
    admin: principal.staffId,
    member: member.member_id,
    epoch: statement.epoch,
    epochPublicKey,
    statementId: id,
    statement: revocation,
    recoveryFingerprint: root.fingerprint,
  });
  await cell.db.transaction().execute(async (trx) => {
    const bumped = await trx
      .updateTable('institutions')
      .set({ current_epoch: statement.epoch })
      .where('id', '=', principal.institution)
      .where('current_epoch', '=', current)
      .executeTakeFirst();
    if (Number(bumped.numUpdatedRows) !== 1) throw custodyError('EV_ERR_CUSTODY_EPOCH_CONFLICT', 'the epoch changed meanwhile');
    await trx.insertInto('epoch_keys').values({ institution_id: principal.institution, epoch: statement.epoch, public_key: epochPublicKey, created_at: now }).execute();
    await deleteGrants(trx, principal.institution, member.member_id);
    await setMemberStatus(trx, principal.institution, member.member_id, 'revoked', now);
    await insertStatement(trx, { institution_id: principal.institution, statement_id: id, audit_seq: seq, type: 'revocation', subject: member.member_id, epoch: statement.epoch, signed: revocation, created_at: now });
    await upsertGrant(trx, { institution_id: principal.institution, member_id: RECOVERY_MEMBER, epoch: statement.epoch, grant_json: recoveryGrantJson, approval: revocation, created_at: now });
  });
  return { member: member.member_id, epoch: statement.epoch, auditSeq: seq };
}

/**
 * The current epoch public key and the signed statements a recorder needs to check it from the
 * institution's recovery key: the self-signed `institution` statement, the `admin-enrolment`s and the
 * `epoch`/`revocation` statements, in log order (docs/CUSTODY-SERVER.md, docs/WEB.md "Trust").
 */
export async function currentEpoch(cell: Cell, institutionId: string): Promise<EpochResponse> {
  const institution = await findInstitution(cell.db, institutionId);
  const epoch = institution ? Number(institution.current_epoch) : 0;
  const publicKey = institution ? await findEpochKey(cell.db, institutionId, epoch) : undefined;
  if (!institution) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'the institution is not in this region');
  if (!publicKey) throw notSetUp();
  const chain = ['institution', 'admin-enrolment', 'epoch', 'revocation'];
  // Set-up logs its three statements under one audit entry: within an entry, a signer's enrolment comes before what it signs.
  const statements = (await listStatements(cell.db, institutionId, chain))
    .sort((a, b) => Number(a.audit_seq) - Number(b.audit_seq) || chain.indexOf(a.type) - chain.indexOf(b.type));
  return { institution: institutionId, epoch, publicKey, statements: statements.map((s) => s.signed), auditSeqs: statements.map((s) => Number(s.audit_seq)) };
}

// ---------------------------------------------------------------------------------------------
// Unlock and reading

function sameInstitution(principal: StaffPrincipal, institution: string): void {
  if (principal.institution !== institution) throw custodyError('EV_ERR_CUSTODY_WRONG_INSTITUTION', 'you are staff of another institution');
}

export async function approvedMember(cell: Cell, principal: StaffPrincipal): Promise<CustodyMemberTable> {
  const m = await findMember(cell.db, principal.institution, principal.staffId);
  if (m?.status === 'revoked') throw custodyError('EV_ERR_CUSTODY_REVOKED', 'your access was revoked');
  if (m?.status !== 'approved') throw custodyError('EV_ERR_CUSTODY_NO_GRANT', 'you are not an approved reviewer of this institution');
  return m;
}

async function recordingOf(cell: Cell, institution: string, recording: string): Promise<RecordingTable> {
  const r = await findRecording(cell.db, institution, recording);
  if (!r) throw custodyError('EV_ERR_CUSTODY_RECORDING_NOT_FOUND', 'no such recording');
  return r;
}

/** Headers one unlock follows through concurrent re-wraps (each moves the recording one epoch on). */
const MAX_UNLOCK_ATTEMPTS = 4;

/**
 * A reviewer unlocks a recording: the unlock is appended to the audit log durably first, and only
 * then is the sealed header (holding the data key wrapped to the epoch key) served. If the log
 * cannot take the event, nothing is served.
 */
export async function unlock(cell: Cell, principal: StaffPrincipal, institution: string, recordingId: string): Promise<UnlockResponse> {
  sameInstitution(principal, institution);
  const member = await approvedMember(cell, principal);
  let r = await recordingOf(cell, institution, recordingId);
  let epoch: number;
  let seq: number;
  let header: Uint8Array | null;
  for (let attempt = 1; ; attempt++) {
    epoch = Number(r.epoch);
    if (!(await findGrant(cell.db, institution, member.member_id, epoch))) throw custodyError('EV_ERR_CUSTODY_NO_GRANT', `you hold no grant for epoch ${epoch}`);
    seq = await audit(cell, institution, 'recording.unlocked', { member: member.member_id, recording: r.recording_id, epoch });
    header = await cell.blobs.get(headerBlobKey(r));
    if (header) break;
    // A re-wrap may have switched the row to a new header and shredded the one read above between
    // the two reads. Then the row names the new header: check the grant for its epoch, log that
    // unlock too (first, as always) and serve it. The old or the new header, never neither.
    const now = await findRecording(cell.db, institution, recordingId);
    if (!now || now.header_sha256 === r.header_sha256 || attempt >= MAX_UNLOCK_ATTEMPTS) throw custodyError('EV_ERR_CUSTODY_RECORDING_NOT_FOUND', 'the recording header is gone');
    r = now;
  }
  const segments = await cell.db
    .selectFrom('segments')
    .select(['idx', 'size'])
    .where('institution_id', '=', institution)
    .where('recording_id', '=', r.recording_id)
    .orderBy('idx')
    .execute();
  return {
    institution,
    recording: r.recording_id,
    epoch,
    header: toBase64Url(header),
    segmentCount: r.segment_count === null ? null : Number(r.segment_count),
    segments: segments.map((s) => ({ index: Number(s.idx), size: Number(s.size) })),
    auditSeq: seq,
  };
}

export async function readSegmentForReviewer(cell: Cell, principal: StaffPrincipal, institution: string, recordingId: string, idx: number): Promise<Uint8Array> {
  sameInstitution(principal, institution);
  await approvedMember(cell, principal);
  await recordingOf(cell, institution, recordingId);
  const s = await findSegment(cell.db, institution, recordingId, idx);
  const bytes = s ? await cell.blobs.get(segmentBlobKey(institution, recordingId, idx, s.name)) : null;
  if (!bytes) throw custodyError('EV_ERR_CUSTODY_SEGMENT_NOT_FOUND', `segment ${idx} is not stored`);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Deletion and retention

// ---------------------------------------------------------------------------------------------
// Listing an exam's attempts and an attempt's recordings (metadata only: no header, no key)

/** Who may list: an admin of the institution, or an approved member (a revoked or pending reviewer may not). */
export async function mayList(cell: Cell, principal: StaffPrincipal): Promise<void> {
  if (principal.role === 'admin') return;
  await approvedMember(cell, principal);
}

/**
 * The attempts of an exam in the caller's institution (from the session): every attempt with a
 * credential or a recording, with its number of recordings. An exam unknown here is an empty list.
 */
export async function listAttempts(cell: Cell, principal: StaffPrincipal, exam: string): Promise<AttemptListResponse> {
  await mayList(cell, principal);
  const institution = principal.institution;
  const issued = await cell.db
    .selectFrom('attempt_credentials')
    .select('attempt_id')
    .distinct()
    .where('institution_id', '=', institution)
    .where('exam_id', '=', exam)
    .execute();
  const recorded = await cell.db
    .selectFrom('recordings')
    .select(['attempt_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('institution_id', '=', institution)
    .where('exam_id', '=', exam)
    .groupBy('attempt_id')
    .execute();
  const counts = new Map<string, number>(issued.map((a) => [a.attempt_id, 0]));
  for (const r of recorded) counts.set(r.attempt_id, Number(r.n));
  const attempts = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([attempt, recordings]) => ({ attempt, recordings }));
  return { institution, exam, attempts };
}

/**
 * The recordings of an attempt in the caller's institution: ids, tracks, epochs, stored and declared
 * segment counts, complete flag. An attempt unknown here is an empty list (exam null).
 */
export async function listRecordings(cell: Cell, principal: StaffPrincipal, attempt: string): Promise<RecordingListResponse> {
  await mayList(cell, principal);
  const institution = principal.institution;
  const rows = await cell.db
    .selectFrom('recordings')
    .leftJoin('segments', (join) => join.onRef('segments.institution_id', '=', 'recordings.institution_id').onRef('segments.recording_id', '=', 'recordings.recording_id'))
    .select([
      'recordings.recording_id',
      'recordings.exam_id',
      'recordings.track',
      'recordings.epoch',
      'recordings.segment_count',
      'recordings.created_at',
      'recordings.completed_at',
      (eb) => eb.fn.count<number>('segments.idx').as('stored'),
    ])
    .where('recordings.institution_id', '=', institution)
    .where('recordings.attempt_id', '=', attempt)
    .groupBy(['recordings.recording_id', 'recordings.exam_id', 'recordings.track', 'recordings.epoch', 'recordings.segment_count', 'recordings.created_at', 'recordings.completed_at'])
    .orderBy('recordings.created_at')
    .orderBy('recordings.recording_id')
    .execute();
  let exam = rows[0]?.exam_id ?? null;
  if (exam === null) {
    const credential = await cell.db
      .selectFrom('attempt_credentials')
      .select('exam_id')
      .where('institution_id', '=', institution)
      .where('attempt_id', '=', attempt)
      .executeTakeFirst();
    exam = credential?.exam_id ?? null;
  }
  return {
    institution,
    attempt,
    exam,
    recordings: rows.map((r) => ({
      recording: r.recording_id,
      track: r.track,
      epoch: Number(r.epoch),
      segments: Number(r.stored),
      segmentCount: r.segment_count === null ? null : Number(r.segment_count),
      complete: r.segment_count !== null,
      createdAt: Number(r.created_at),
      completedAt: r.completed_at === null ? null : Number(r.completed_at),
    })),
  };
}

export interface DeletionReceipt {
  readonly institution: string;
  readonly recording: string;
  readonly segments: number;
  readonly headerSha256: string;
  readonly reason: 'admin' | 'retention';
  readonly auditSeq: number;
}

/**
 * Crypto-shreds a recording: the receipt goes into the audit log first (the log may record a deletion
 * that then failed and is retried, never miss one that happened), then the header blob (which holds
 * the wrapped data key) and every segment are shredded through the cell's encrypted blob store (key
 * record first), then the rows go.
 */
export async function deleteRecording(cell: Cell, institution: string, recordingId: string, by: { reason: 'admin'; admin: string } | { reason: 'retention' }): Promise<DeletionReceipt> {
  const r = await recordingOf(cell, institution, recordingId);
  await cell.segmentIndex.idle();
  const segments = await cell.db.selectFrom('segments').select(['idx', 'name']).where('institution_id', '=', institution).where('recording_id', '=', r.recording_id).execute();
  const payload: AuditPayload = {
    recording: r.recording_id,
    epoch: Number(r.epoch),
    headerSha256: r.header_sha256,
    segments: segments.length,
    reason: by.reason,
    ...(by.reason === 'admin' ? { admin: by.admin } : {}),
  };
  const seq = await audit(cell, institution, 'recording.deleted', payload);
  await cell.blobs.delete(headerBlobKey(r));
  for (const s of segments) await cell.blobs.delete(segmentBlobKey(institution, r.recording_id, Number(s.idx), s.name));
  await cell.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('segments').where('institution_id', '=', institution).where('recording_id', '=', r.recording_id).execute();
    await trx.deleteFrom('recordings').where('institution_id', '=', institution).where('recording_id', '=', r.recording_id).execute();
  });
  cell.recordings.forget(institution, r.recording_id);
  return { institution, recording: r.recording_id, segments: segments.length, headerSha256: r.header_sha256, reason: by.reason, auditSeq: seq };
}

export async function deleteRecordingAsAdmin(cell: Cell, principal: StaffPrincipal, institution: string, recordingId: string): Promise<DeletionReceipt> {
  sameInstitution(principal, institution);
  return deleteRecording(cell, institution, recordingId, { reason: 'admin', admin: principal.staffId });
}

/** The institution's retention period: days, or null when recordings are kept until deleted. */
export async function readRetention(cell: Cell, principal: StaffPrincipal): Promise<{ days: number | null }> {
  return { days: await findRetention(cell.db, principal.institution) };
}

export async function updateRetention(cell: Cell, principal: StaffPrincipal, body: unknown, now: number): Promise<{ days: number | null; auditSeq: number }> {
  const days = isPlainObject(body) ? body.days : undefined;
  if (!(days === null || (typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_RETENTION_DAYS))) {
    throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `send { "days": n } with 1 ≤ n ≤ ${MAX_RETENTION_DAYS}, or { "days": null } to keep recordings until deleted`);
  }
  const seq = await audit(cell, principal.institution, 'custody.retention-set', { admin: principal.staffId, days });
  await setRetention(cell.db, principal.institution, days, now);
  return { days, auditSeq: seq };
}

// ---------------------------------------------------------------------------------------------
// Re-wrapping older recordings to the current epoch (an admin's client does the crypto)

/** Most recordings one GET /v1/custody/rewrap/pending answer lists. */
export const REWRAP_PAGE = 100;
/** Largest re-wrapped header accepted (a header is a few hundred bytes; the base64url field caps at 4096 characters). */
const MAX_HEADER_BYTES = 3072;

async function currentEpochOf(cell: Cell, institution: string): Promise<number> {
  const row = await findInstitution(cell.db, institution);
  if (!row) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'the institution is not in this region');
  return Number(row.current_epoch);
}

/**
 * The admin's work list after a revocation: recordings of the admin's institution still sealed to an
 * older epoch, oldest first, with their stored headers (which hold only the data key wrapped to that
 * epoch's key). The admin's client unwraps each with the old epoch key and wraps it to the current one.
 */
export async function pendingRewraps(cell: Cell, principal: StaffPrincipal): Promise<RewrapPendingResponse> {
  const institution = principal.institution;
  const current = await currentEpochOf(cell, institution);
  const rows = await cell.db
    .selectFrom('recordings')
    .selectAll()
    .where('institution_id', '=', institution)
    .where('epoch', '<', current)
    .orderBy('created_at')
    .orderBy('recording_id')
    .limit(REWRAP_PAGE + 1)
    .execute();
  const page = rows.slice(0, REWRAP_PAGE);
  // Headers hold data keys wrapped to epochs the admin may hold a grant for: serving them is logged like an unlock, first.
  if (page.length > 0) await audit(cell, institution, 'recording.rewrap-listed', { admin: principal.staffId, recordings: page.map((r) => r.recording_id) });
  const recordings: { recording: string; epoch: number; header: string }[] = [];
  for (const r of page) {
    const header = await cell.blobs.get(headerBlobKey(r));
    if (header) recordings.push({ recording: r.recording_id, epoch: Number(r.epoch), header: toBase64Url(header) });
  }
  return { institution, currentEpoch: current, recordings, more: rows.length > REWRAP_PAGE };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Stores a recording's re-wrapped header. The server cannot check the new KeySlot opens (it holds no
 * key), but it checks everything that keeps the recording intact: the header parses, its Bound is
 * byte-identical to the stored header's (so every stored segment still authenticates under it), and
 * its KeySlot names the current epoch. The event is audited first; then the new header blob is
 * written, the row switched to it (only if it still names the old header: a concurrent re-wrap or
 * deletion wins), and the old header blob, with the data key wrapped to the old epoch, is shredded.
 */
export async function rewrapRecording(cell: Cell, principal: StaffPrincipal, institution: string, recordingId: string, body: unknown): Promise<RewrapResponse> {
  sameInstitution(principal, institution);
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "header" } as application/json');
  const bytes = bytesField(body.header, 'header', MAX_HEADER_BYTES);
  const r = await recordingOf(cell, institution, recordingId);
  let header: Header;
  try {
    header = decodeHeader(bytes);
  } catch (e) {
    if (isCryptoError(e)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `not a sealed header: ${e.message} (${e.code})`);
    throw e;
  }
  if (header.bytes.length !== bytes.length) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'bytes follow the sealed header');
  const storedBytes = await cell.blobs.get(headerBlobKey(r));
  if (!storedBytes) throw custodyError('EV_ERR_CUSTODY_RECORDING_NOT_FOUND', 'the recording header is gone');
  const stored = decodeHeader(storedBytes);
  if (!equalBytes(header.bound, stored.bound)) {
    throw custodyError('EV_ERR_CUSTODY_REWRAP_BOUND_MISMATCH', 'the new header must keep the stored Bound byte for byte: only its KeySlot may change');
  }
  const current = await currentEpochOf(cell, institution);
  const from = Number(r.epoch);
  const newSha = sha256Hex(bytes);
  if (newSha === r.header_sha256) {
    return { institution, recording: r.recording_id, fromEpoch: from, epoch: from, headerSha256: newSha, auditSeq: 0 };
  }
  if (header.keySlot.epoch !== current) throw custodyError('EV_ERR_CUSTODY_REWRAP_EPOCH', `the new header must be wrapped to the current epoch ${current}`);
  if (from >= current) throw custodyError('EV_ERR_CUSTODY_REWRAP_EPOCH', `the recording is already sealed to the current epoch ${current}`);

  const seq = await audit(cell, institution, 'recording.rewrapped', {
    admin: principal.staffId,
    recording: r.recording_id,
    fromEpoch: from,
    epoch: current,
    oldHeaderSha256: r.header_sha256,
    headerSha256: newSha,
  });
  const next = { institution_id: institution, recording_id: r.recording_id, header_sha256: newSha };
  await cell.blobs.put(headerBlobKey(next), bytes);
  const switched = await cell.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('recordings')
      .set({ header_sha256: newSha, header_size: bytes.length, epoch: current })
      .where('institution_id', '=', institution)
      .where('recording_id', '=', r.recording_id)
      .where('header_sha256', '=', r.header_sha256)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  });
  if (!switched) {
    await cell.blobs.delete(headerBlobKey(next));
    throw custodyError('EV_ERR_CUSTODY_REWRAP_EPOCH', 'the recording changed meanwhile (re-wrapped or deleted): fetch it again');
  }
  await cell.blobs.delete(headerBlobKey(r));
  return { institution, recording: r.recording_id, fromEpoch: from, epoch: current, headerSha256: newSha, auditSeq: seq };
}

// ---------------------------------------------------------------------------------------------
// The recovery key: registered once at set-up, it can enrol a new admin when every admin is lost

/** The `member_id` under which the recovery key's grants are kept in custody_grants (not a staff id: ids start with a letter or digit). */
export const RECOVERY_MEMBER = '~recovery';
/** Most grants one admin enrolment may carry (one per epoch). */
const MAX_ENROLMENT_GRANTS = 64;

/** An institution statement is self-signed by the recovery key it carries (the set-up admin's client shows it once). */
function carriedRecoveryKey(signer: Signer, statement: Statement): Uint8Array | null {
  return signer.kind === 'recovery' && statement.type === 'institution' ? statement.signingPublicKey : null;
}

interface RecoveryRoot {
  readonly signed: string;
  readonly hpkePublicKey: Uint8Array;
  readonly signingPublicKey: Uint8Array;
  readonly fingerprint: string;
}

async function recoveryRoot(cell: Cell, institution: string): Promise<RecoveryRoot | null> {
  const [row] = await listStatements(cell.db, institution, ['institution']);
  if (!row) return null;
  const signed = fromBase64Url(row.signed) as Uint8Array;
  // Stored only after verification; verified again so a tampered row is not trusted.
  const { statement } = await checkStatement(signed, 'institution', carriedRecoveryKey);
  return {
    signed: row.signed,
    hpkePublicKey: statement.hpkePublicKey,
    signingPublicKey: statement.signingPublicKey,
    fingerprint: toBase64Url(await memberFingerprint(statement)),
  };
}

interface CheckedEnrolment {
  readonly id: string;
  readonly signed: string;
  readonly member: CustodyMemberTable;
  readonly fingerprint: string;
}

/**
 * Checks an `admin-enrolment`: signed by whom `signerKey` trusts (an enrolled admin, or the recovery
 * key), for this institution, naming a registered, non-revoked admin and exactly the keys it has
 * registered now. An enrolment of keys the admin has since replaced is stale and refused: the
 * signer vouched for other keys.
 */
async function checkEnrolment(cell: Cell, institution: string, signed: Uint8Array, signerKey: (signer: Signer) => Uint8Array | null): Promise<CheckedEnrolment> {
  const { statement, id } = await checkStatement(signed, 'admin-enrolment', signerKey);
  if (statement.institution !== institution) throw rejected('the enrolment is for another institution');
  const member = await findMember(cell.db, institution, statement.admin);
  if (!member || member.role !== 'admin') throw custodyError('EV_ERR_CUSTODY_NOT_REGISTERED', `${statement.admin} is not an admin with registered custody keys`);
  if (member.status === 'revoked') throw rejected(`${statement.admin} was revoked`);
  const fingerprint = toBase64Url(await memberFingerprint(statement));
  if (fingerprint !== member.fingerprint) throw rejected("the enrolment names other keys than the admin's registered ones (stale: they were replaced, or never registered)");
  return { id, signed: toBase64Url(signed), member, fingerprint };
}

/** One grant per epoch (1 to 64 of them) to `member`, each checked as for POST /v1/custody/grants. */
async function checkMemberGrants(cell: Cell, institution: string, member: string, fingerprint: string, grants: unknown): Promise<{ epoch: number; json: string }[]> {
  if (!Array.isArray(grants) || grants.length < 1 || grants.length > MAX_ENROLMENT_GRANTS) {
    throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `send "grants": 1 to ${MAX_ENROLMENT_GRANTS} grants of epoch keys to the admin`);
  }
  const checked: { epoch: number; json: string }[] = [];
  for (const g of grants as unknown[]) {
    const epoch = isPlainObject(g) && typeof g.epoch === 'number' ? g.epoch : NaN;
    const epochKey = Number.isInteger(epoch) ? await findEpochKey(cell.db, institution, epoch) : undefined;
    if (!epochKey) throw rejected('a grant names an epoch the institution does not have');
    if (checked.some((x) => x.epoch === epoch)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `two grants for epoch ${epoch}`);
    checked.push({ epoch, json: checkGrantShape(g, { institution, epoch, epochPublicKey: epochKey, member, fingerprint }) });
  }
  return checked.sort((a, b) => a.epoch - b.epoch);
}

/** Stores an accepted enrolment (already audited at `seq`): the statement, the admin's grants, status approved. */
async function storeEnrolment(trx: Transaction<CellDatabase>, institution: string, e: CheckedEnrolment, grants: readonly { epoch: number; json: string }[], seq: number, now: number): Promise<void> {
  await insertStatement(trx, { institution_id: institution, statement_id: e.id, audit_seq: seq, type: 'admin-enrolment', subject: e.member.member_id, epoch: null, signed: e.signed, created_at: now });
  for (const g of grants) await upsertGrant(trx, { institution_id: institution, member_id: e.member.member_id, epoch: g.epoch, grant_json: g.json, approval: e.signed, created_at: now });
  await setMemberStatus(trx, institution, e.member.member_id, 'approved', now);
}

/**
 * Institution set-up (KEY-CUSTODY §7.5), once per institution, by its first admin: a registered admin
 * whose keys nothing vouches for yet. Its client generated the recovery key and sends
 * - `institution`: the `institution` statement, self-signed by the recovery key it carries;
 * - `enrolment`: the `admin-enrolment` of the requesting admin's registered keys, signed by that
 *   recovery key (so the first admin is enrolled by the root, like any admin after it);
 * - `epoch`: the `epoch` statement of the current epoch's stored public key, signed by the admin's key;
 *   for an institution created without an epoch key, of the epoch-1 key the admin's client generated,
 *   which is stored with the rest (a stored key is never replaced: a statement naming another is refused);
 * - `recoveryGrant` and `grant`: the current epoch key granted to the recovery key and to the admin.
 * One audit event records it all first; then everything is stored in one transaction, and the admin
 * is enrolled (`approved`). A second set-up is refused: no one can swap the key that may enrol admins.
 */
export async function setUpInstitution(cell: Cell, principal: StaffPrincipal, body: unknown, now: number): Promise<{ institution: string; fingerprint: string; epoch: number; auditSeq: number }> {
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "institution", "enrolment", "epoch", "recoveryGrant", "grant" } as application/json');
  const signedRoot = bytesField(body.institution, 'institution');
  const signedEnrolment = bytesField(body.enrolment, 'enrolment');
  const signedEpoch = bytesField(body.epoch, 'epoch');
  const admin = await registeredAdmin(cell, principal);
  const institutionId = principal.institution;
  const { statement, id } = await checkStatement(signedRoot, 'institution', carriedRecoveryKey);
  if (statement.institution !== institutionId) throw rejected('the institution statement is for another institution');
  if (await recoveryRoot(cell, institutionId)) throw custodyError('EV_ERR_CUSTODY_RECOVERY_ALREADY_SET', 'the institution already has a recovery key');
  const enrolment = await checkEnrolment(cell, institutionId, signedEnrolment, (signer) => (signer.kind === 'recovery' ? statement.signingPublicKey : null));
  if (enrolment.member.member_id !== admin.member_id) throw rejected('the set-up enrolment must name the admin setting the institution up');
  const epoch = await currentEpochOf(cell, institutionId);
  const stored = await findEpochKey(cell.db, institutionId, epoch);
  const epochStatement = await checkStatement(signedEpoch, 'epoch', requestingAdmin(principal, fromBase64Url(admin.signing_public_key) as Uint8Array));
  const named = toBase64Url(epochStatement.statement.epochPublicKey);
  if (epochStatement.statement.institution !== institutionId || epochStatement.statement.epoch !== epoch || (stored !== undefined && named !== stored)) {
    throw rejected(`the epoch statement must name this institution's epoch ${epoch}${stored === undefined ? '' : ' and its stored public key'}`);
  }
  // An institution created awaiting set-up has no key yet: the admin's client generated the epoch-1
  // pair, and the statement it signed, checked above (its key a point of the curve), names the public
  // key to store with the rest.
  const epochKey = stored ?? named;
  const fingerprint = toBase64Url(await memberFingerprint(statement));
  const recoveryGrantJson = checkGrantShape(body.recoveryGrant, { institution: institutionId, epoch, epochPublicKey: epochKey, member: null, fingerprint });
  const adminGrantJson = checkGrantShape(body.grant, { institution: institutionId, epoch, epochPublicKey: epochKey, member: admin.member_id, fingerprint: admin.fingerprint });
  const root = toBase64Url(signedRoot);
  const epochSigned = toBase64Url(signedEpoch);
  const seq = await audit(cell, institutionId, 'custody.recovery-set', {
    admin: principal.staffId,
    epoch,
    fingerprint,
    statementId: id,
    statement: root,
    adminFingerprint: enrolment.fingerprint,
    enrolmentId: enrolment.id,
    enrolment: enrolment.signed,
    epochStatementId: epochStatement.id,
    epochStatement: epochSigned,
    ...(stored === undefined ? { epochPublicKey: epochKey } : {}),
  });
  await cell.db.transaction().execute(async (trx) => {
    const [existing] = await listStatements(trx, institutionId, ['institution']);
    if (existing) throw custodyError('EV_ERR_CUSTODY_RECOVERY_ALREADY_SET', 'the institution already has a recovery key');
    if (stored === undefined) await trx.insertInto('epoch_keys').values({ institution_id: institutionId, epoch, public_key: epochKey, created_at: now }).execute();
    await insertStatement(trx, { institution_id: institutionId, statement_id: id, audit_seq: seq, type: 'institution', subject: null, epoch: null, signed: root, created_at: now });
    await insertStatement(trx, { institution_id: institutionId, statement_id: epochStatement.id, audit_seq: seq, type: 'epoch', subject: null, epoch, signed: epochSigned, created_at: now });
    await upsertGrant(trx, { institution_id: institutionId, member_id: RECOVERY_MEMBER, epoch, grant_json: recoveryGrantJson, approval: root, created_at: now });
    await storeEnrolment(trx, institutionId, enrolment, [{ epoch, json: adminGrantJson }], seq, now);
  });
  return { institution: institutionId, fingerprint, epoch, auditSeq: seq };
}

/** The institution statement and the recovery key's grants, for the recovery holder's client (useless without the recovery key). */
export async function recoveryInfo(cell: Cell, principal: StaffPrincipal): Promise<{ institution: string; statement: string; grants: { epoch: number; grant: unknown }[] }> {
  const root = await recoveryRoot(cell, principal.institution);
  if (!root) throw custodyError('EV_ERR_CUSTODY_RECOVERY_NOT_SET', 'the institution has no recovery key registered');
  const grants = await findGrants(cell.db, principal.institution, RECOVERY_MEMBER);
  return { institution: principal.institution, statement: root.signed, grants: grants.map((g) => ({ epoch: Number(g.epoch), grant: JSON.parse(g.grant_json) as unknown })) };
}

/**
 * Enrols an admin: `{ enrolment, grants }`, an `admin-enrolment` naming a registered admin and its
 * current keys, with the epoch keys wrapped to that admin. `by: 'admin'`: signed by the requesting
 * admin, itself enrolled (POST /v1/custody/admins). `by: 'recovery'`: signed by the recovery key of the
 * institution statement registered at set-up, when every admin is lost (POST /v1/custody/recovery/admins).
 * Audited first; then the enrolment and grants are stored and the admin becomes `approved`.
 */
export async function enrolAdmin(cell: Cell, principal: StaffPrincipal, body: unknown, now: number, by: 'admin' | 'recovery'): Promise<{ member: string; epochs: number[]; auditSeq: number }> {
  if (!isPlainObject(body)) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', `send { "enrolment", "grants": [1 to ${MAX_ENROLMENT_GRANTS} grants] } as application/json`);
  const signed = bytesField(body.enrolment, 'enrolment');
  let signerKey: (signer: Signer) => Uint8Array | null;
  if (by === 'admin') {
    signerKey = requestingAdmin(principal, await adminSigningKey(cell, principal));
  } else {
    const root = await recoveryRoot(cell, principal.institution);
    if (!root) throw custodyError('EV_ERR_CUSTODY_RECOVERY_NOT_SET', 'the institution has no recovery key registered');
    signerKey = (signer) => (signer.kind === 'recovery' ? root.signingPublicKey : null);
  }
  const enrolment = await checkEnrolment(cell, principal.institution, signed, signerKey);
  const grants = await checkMemberGrants(cell, principal.institution, enrolment.member.member_id, enrolment.fingerprint, body.grants);
  const epochs = grants.map((g) => g.epoch);
  const seq = await audit(cell, principal.institution, 'custody.admin-enrolled', {
    by,
    requestedBy: principal.staffId,
    member: enrolment.member.member_id,
    fingerprint: enrolment.fingerprint,
    epochs,
    statementId: enrolment.id,
    statement: enrolment.signed,
  });
  await cell.db.transaction().execute((trx) => storeEnrolment(trx, principal.institution, enrolment, grants, seq, now));
  return { member: enrolment.member.member_id, epochs, auditSeq: seq };
}

/** Hex SHA-256, for tests and receipts. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
