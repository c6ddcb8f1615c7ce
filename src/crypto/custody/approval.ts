/**
 * An admin approving a reviewer (docs/KEY-CUSTODY.md §9): the one operation that gives anyone access,
 * run in the admin's client, never on the server.
 *
 * 1. The reviewer's key registration must verify under the key it carries (self-signed) and belong to
 *    this institution.
 * 2. Its safety number must equal the one the admin confirmed by comparing it with the number on the
 *    reviewer's own screen. A server that substituted the keys shows the admin another number; the
 *    admin's confirmation of the true one then fails here, before anything is granted.
 * 3. The epoch private key is sealed to the reviewer (grant.ts) and the approval statement is signed.
 */
import { ExamVaultCryptoError } from '../errors.js';
import { type EpochGrant, createGrant } from './grant.js';
import { checkEpoch, checkId } from './ids.js';
import { memberFingerprint } from './member-keys.js';
import { safetyNumber, safetyNumbersMatch } from './safety-number.js';
import { signStatement, verified, verifyStatement } from './statement-signature.js';
import type { KeyRegistrationStatement } from './statement.js';

export interface ApproveReviewerInput {
  /** The reviewer's signed key-registration statement, as the server served it. */
  readonly registration: Uint8Array;
  /** The safety number the admin confirmed against the reviewer's own screen. */
  readonly confirmedSafetyNumber: string;
  readonly institution: string;
  readonly epoch: number;
  /** The epoch's private key (extractable), as the admin's own grant opened it. */
  readonly epochPrivateKey: CryptoKey;
  readonly admin: string;
  readonly adminSigningKey: CryptoKey;
  /** Milliseconds since the Unix epoch; defaults to now. */
  readonly timestamp?: number;
}

export interface ReviewerApproval {
  readonly registration: KeyRegistrationStatement;
  /** The signed approval statement, to append to the log. */
  readonly approval: Uint8Array;
  readonly grant: EpochGrant;
}

/** The reviewer's keys and safety number from a registration that verifies; for the admin's screen. */
export async function reviewRegistration(registration: Uint8Array, institution: string): Promise<{ statement: KeyRegistrationStatement; safetyNumber: string }> {
  // A key registration is self-signed: no other key is asked for.
  const statement = verified(await verifyStatement(registration, () => null, 'key-registration'));
  if (statement.institution !== checkId('institution', institution)) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', 'the key registration is for another institution');
  }
  return { statement, safetyNumber: await safetyNumber({ institution, member: statement.reviewer, keys: statement }) };
}

/** The registration, verified, once the safety number the admin confirmed is its own; before anything is made. */
async function confirmedRegistration(input: { registration: Uint8Array; institution: string; confirmedSafetyNumber: string }): Promise<KeyRegistrationStatement> {
  const { statement, safetyNumber: expected } = await reviewRegistration(input.registration, input.institution);
  if (!safetyNumbersMatch(input.confirmedSafetyNumber, expected)) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH', "the confirmed safety number is not the registration's: its keys may have been substituted");
  }
  return statement;
}

export async function approveReviewer(input: ApproveReviewerInput): Promise<ReviewerApproval> {
  const epoch = checkEpoch(input.epoch);
  const statement = await confirmedRegistration(input);
  const grant = await createGrant(input.epochPrivateKey, { institution: input.institution, epoch }, { kind: 'member', member: statement.reviewer, keys: statement });
  const approval = await signStatement({
    type: 'approval',
    institution: input.institution,
    timestamp: input.timestamp ?? Date.now(),
    admin: input.admin,
    reviewer: statement.reviewer,
    epoch,
    fingerprint: await memberFingerprint(statement),
  }, input.adminSigningKey);
  return { registration: statement, approval, grant };
}

export interface EnrolAdminInput extends Omit<ApproveReviewerInput, 'registration'> {
  /** The new admin's signed key-registration statement, as the server served it. */
  readonly registration: Uint8Array;
}

export interface AdminEnrolment {
  readonly registration: KeyRegistrationStatement;
  /** The signed admin-enrolment statement, to append to the log. */
  readonly enrolment: Uint8Array;
  readonly grant: EpochGrant;
}

/**
 * An enrolled admin enrols another admin's keys (docs/KEY-CUSTODY.md §7; docs/CUSTODY-SERVER.md
 * "Admins"): the same checks as an approval (a registration that verifies, of this institution, whose
 * safety number the admin confirmed), then the admin-enrolment statement and the epoch key sealed to
 * the new admin. An admin cannot enrol itself (the statement encoding refuses it).
 */
export async function enrolAdminKeys(input: EnrolAdminInput): Promise<AdminEnrolment> {
  const epoch = checkEpoch(input.epoch);
  const statement = await confirmedRegistration(input);
  const enrolment = await signStatement({
    type: 'admin-enrolment',
    institution: input.institution,
    timestamp: input.timestamp ?? Date.now(),
    admin: statement.reviewer,
    hpkePublicKey: statement.hpkePublicKey,
    signingPublicKey: statement.signingPublicKey,
    enrolledBy: { kind: 'admin', admin: input.admin },
  }, input.adminSigningKey);
  const grant = await createGrant(input.epochPrivateKey, { institution: input.institution, epoch }, { kind: 'member', member: statement.reviewer, keys: statement });
  return { registration: statement, enrolment, grant };
}
