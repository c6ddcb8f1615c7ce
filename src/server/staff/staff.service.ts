/**
 * Staff identities: invites (one-time, expiring setup links), passkey registration that redeems an
 * invite, and passkey sign-in with discoverable credentials. WebAuthn checks are @simplewebauthn's;
 * this module decides what is stored and when something is used up.
 *
 * Tokens: an invite is `evi1.<region>.<43 chars base64url>`, a pending ceremony's id (in the
 * `__Host-ev_webauthn` cookie) is `evc1.<region>.<43 chars>`; the region names the cell holding the
 * row, and only SHA-256 of either is stored. A challenge is deleted when it is checked, success or not,
 * so a captured response cannot be replayed, and it expires after five minutes.
 */
import { randomBytes } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  type WebAuthnCredential,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import type { DirectoryDatabase } from '../db/schema.js';
import { regionOf } from '../directory/directory.repository.js';
import { newId } from '../ids.js';
import { findInstitution } from '../institutions/institution.repository.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { auditId, auditStaffEvent, createStaffSession, sha256Hex, staffError } from './staff-auth.js';
import {
  consumeInvite,
  deleteExpiredChallenges,
  findInvite,
  findPasskey,
  findStaff,
  insertChallenge,
  insertInvite,
  insertPasskey,
  insertStaff,
  takeChallenge,
  updatePasskeyCounter,
} from './staff.repository.js';
import type { StaffPrincipal, StaffRole, StaffSession } from './staff.types.js';

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
export const MIN_INVITE_TTL_S = 5 * 60;
export const MAX_INVITE_TTL_S = 7 * 24 * 3600;

const invitePattern = /^evi1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;
const challengeIdPattern = /^evc1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

/** Where WebAuthn is bound: the relying party id is the public origin's host name. */
export interface RelyingParty {
  readonly origin: string;
  readonly rpID: string;
  readonly rpName: string;
}

export function relyingParty(publicOrigin: string): RelyingParty {
  return { origin: publicOrigin, rpID: new URL(publicOrigin).hostname, rpName: 'ExamVault' };
}

export interface IssuedInvite {
  readonly token: string;
  readonly setupUrl: string;
  readonly institution: string;
  readonly role: StaffRole;
  readonly expiresAt: number;
}

/** Where a pending ceremony is kept: the caller puts `id` in the challenge cookie. */
export interface Ceremony<T> {
  readonly id: string;
  readonly options: T;
}

export interface SignedIn {
  readonly principal: StaffPrincipal;
  readonly session: StaffSession;
}

function random43(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Creates a one-time setup link for `role` in `institution`. The token goes in the URL's fragment,
 * which browsers never send, so it stays out of every server and proxy log.
 */
export async function issueStaffInvite(
  cells: Cells,
  directory: Kysely<DirectoryDatabase>,
  input: { institution: string; role: StaffRole; ttlSeconds: number; createdBy: string | null; publicOrigin: string },
  now: number,
): Promise<IssuedInvite> {
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < MIN_INVITE_TTL_S || input.ttlSeconds > MAX_INVITE_TTL_S) {
    throw staffError('EV_ERR_STAFF_INVITE_INVALID', 'an invite lives 5 minutes to 7 days');
  }
  const region = await regionOf(directory, input.institution);
  const cell = region ? cells.get(region) : undefined;
  if (!region || !cell || !(await findInstitution(cell.db, input.institution))) {
    throw staffError('EV_ERR_STAFF_WRONG_INSTITUTION', `no institution ${JSON.stringify(input.institution)} here`);
  }
  const token = `evi1.${region}.${random43()}`;
  const expiresAt = now + input.ttlSeconds * 1000;
  await auditStaffEvent(cell, input.institution, 'staff.invite-issued', { invite: auditId(token), role: input.role, by: input.createdBy ?? 'operator', expiresAt });
  await insertInvite(cell.db, {
    token_hash: sha256Hex(token),
    institution_id: input.institution,
    role: input.role,
    created_by: input.createdBy,
    expires_at: expiresAt,
    used_at: null,
    created_at: now,
  });
  return { token, setupUrl: `${input.publicOrigin}/staff/setup#${token}`, institution: input.institution, role: input.role, expiresAt };
}

async function usableInvite(cells: Cells, token: string, now: number) {
  const region = invitePattern.exec(token)?.[1];
  const cell = region ? cells.get(region) : undefined;
  const invite = cell ? await findInvite(cell.db, sha256Hex(token)) : undefined;
  if (!cell || !invite) throw staffError('EV_ERR_STAFF_INVITE_INVALID', 'the setup link is not valid');
  if (invite.used_at !== null) throw staffError('EV_ERR_STAFF_INVITE_USED', 'the setup link was already used: ask for a new one');
  if (Number(invite.expires_at) <= now) throw staffError('EV_ERR_STAFF_INVITE_EXPIRED', 'the setup link has expired: ask for a new one');
  return { cell, invite };
}

/** Redeeming an invite (step 1): passkey registration options for a new, not yet created, staff id. */
export async function startRegistration(cells: Cells, rp: RelyingParty, inviteToken: string, now: number): Promise<Ceremony<PublicKeyCredentialCreationOptionsJSON>> {
  const { cell, invite } = await usableInvite(cells, inviteToken, now);
  const staffId = newId('stf');
  // No name or email: the account name the authenticator shows is the opaque id and the role.
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userID: new TextEncoder().encode(staffId),
    userName: `${invite.role} ${staffId}`,
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const id = `evc1.${cell.region}.${random43()}`;
  await deleteExpiredChallenges(cell.db, now);
  await insertChallenge(cell.db, {
    id_hash: sha256Hex(id),
    purpose: 'register',
    challenge: options.challenge,
    invite_hash: invite.token_hash,
    staff_id: staffId,
    expires_at: now + CHALLENGE_TTL_MS,
    created_at: now,
  });
  return { id, options };
}

async function takeCeremony(cells: Cells, id: string | null, purpose: 'register' | 'sign-in', now: number) {
  const region = id ? challengeIdPattern.exec(id)?.[1] : undefined;
  const cell = region ? cells.get(region) : undefined;
  const row = cell && id ? await takeChallenge(cell.db, sha256Hex(id)) : undefined;
  if (!cell || !row || row.purpose !== purpose || Number(row.expires_at) <= now) {
    throw staffError('EV_ERR_STAFF_CHALLENGE_INVALID', 'no pending passkey ceremony (it expired or was already used): start again');
  }
  return { cell, row };
}

/** Redeeming an invite (step 2): verifies the new passkey, uses up the invite, creates the staff member and signs them in. */
export async function finishRegistration(cells: Cells, rp: RelyingParty, ceremonyId: string | null, response: RegistrationResponseJSON, now: number): Promise<SignedIn> {
  const { cell, row } = await takeCeremony(cells, ceremonyId, 'register', now);
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: row.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
    });
  } catch {
    // The library's message can echo client input: keep the meaning only.
    throw staffError('EV_ERR_STAFF_REGISTRATION_FAILED', 'the passkey registration did not verify');
  }
  if (!verified.verified || row.invite_hash === null || row.staff_id === null) throw staffError('EV_ERR_STAFF_REGISTRATION_FAILED', 'the passkey registration did not verify');
  const { credential } = verified.registrationInfo;
  const staffId = row.staff_id;
  const inviteHash = row.invite_hash;
  // Logged before the invite is used up (the log may so hold a redemption whose last check below then
  // failed, never miss one that happened); appended outside the transaction, which holds the database.
  const invited = await findInvite(cell.db, inviteHash);
  if (!invited) throw staffError('EV_ERR_STAFF_INVITE_INVALID', 'the setup link is not valid');
  await auditStaffEvent(cell, invited.institution_id, 'staff.invite-redeemed', { invite: inviteHash.slice(0, 16), staff: staffId, role: invited.role });
  await auditStaffEvent(cell, invited.institution_id, 'staff.passkey-registered', { staff: staffId, credential: auditId(credential.id) });
  const principal = await cell.db.transaction().execute(async (trx) => {
    const invite = await findInvite(trx, inviteHash);
    if (!invite) throw staffError('EV_ERR_STAFF_INVITE_INVALID', 'the setup link is not valid');
    if (Number(invite.expires_at) <= now) throw staffError('EV_ERR_STAFF_INVITE_EXPIRED', 'the setup link has expired: ask for a new one');
    if (!(await consumeInvite(trx, inviteHash, now))) throw staffError('EV_ERR_STAFF_INVITE_USED', 'the setup link was already used: ask for a new one');
    if (await findPasskey(trx, credential.id)) throw staffError('EV_ERR_STAFF_REGISTRATION_FAILED', 'this passkey is already registered');
    await insertStaff(trx, { id: staffId, institution_id: invite.institution_id, role: invite.role, label: null, created_at: now, disabled_at: null });
    await insertPasskey(trx, {
      credential_id: credential.id,
      staff_id: staffId,
      public_key: credential.publicKey,
      counter: credential.counter,
      transports: JSON.stringify(credential.transports ?? []),
      created_at: now,
    });
    return { staffId, institution: invite.institution_id, region: cell.region, role: invite.role } satisfies StaffPrincipal;
  });
  return { principal, session: await createStaffSession(cell, staffId, now) };
}

/**
 * Sign-in (step 1): options for a discoverable credential (no user named, so nothing about who has
 * an account leaks). The challenge is kept in the first configured cell: it is a random nonce, not
 * anyone's data, and the credential itself is looked up in every cell at step 2.
 */
export async function startSignIn(cells: Cells, rp: RelyingParty, now: number): Promise<Ceremony<PublicKeyCredentialRequestOptionsJSON>> {
  const cell = cells.values().next().value as Cell | undefined;
  if (!cell) throw new Error('no region cell is configured');
  const options = await generateAuthenticationOptions({ rpID: rp.rpID, userVerification: 'required' });
  const id = `evc1.${cell.region}.${random43()}`;
  await deleteExpiredChallenges(cell.db, now);
  await insertChallenge(cell.db, {
    id_hash: sha256Hex(id),
    purpose: 'sign-in',
    challenge: options.challenge,
    invite_hash: null,
    staff_id: null,
    expires_at: now + CHALLENGE_TTL_MS,
    created_at: now,
  });
  return { id, options };
}

const signInFailed = () => staffError('EV_ERR_STAFF_SIGN_IN_FAILED', 'the passkey sign-in did not verify');

/** Sign-in (step 2): verifies the assertion against the stored passkey and starts a session. */
export async function finishSignIn(cells: Cells, rp: RelyingParty, ceremonyId: string | null, response: AuthenticationResponseJSON, now: number): Promise<SignedIn> {
  const { row } = await takeCeremony(cells, ceremonyId, 'sign-in', now);
  let found: { cell: Cell; passkey: NonNullable<Awaited<ReturnType<typeof findPasskey>>> } | undefined;
  for (const cell of cells.values()) {
    const passkey = await findPasskey(cell.db, response.id);
    if (passkey) found = { cell, passkey };
  }
  if (!found) throw signInFailed();
  const { cell, passkey } = found;
  // A discoverable credential names its user: it must be the one the passkey was registered to.
  const userHandle = response.response.userHandle;
  if (userHandle !== undefined && Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.staff_id) throw signInFailed();
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: row.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
      credential: {
        id: passkey.credential_id,
        publicKey: new Uint8Array(passkey.public_key),
        counter: Number(passkey.counter),
        transports: JSON.parse(passkey.transports) as WebAuthnCredential['transports'],
      },
    });
  } catch {
    throw signInFailed();
  }
  if (!verified.verified) throw signInFailed();
  const staff = await findStaff(cell.db, passkey.staff_id);
  if (!staff || staff.disabled_at !== null) throw signInFailed();
  await auditStaffEvent(cell, staff.institution_id, 'staff.signed-in', { staff: staff.id, credential: auditId(passkey.credential_id) });
  await updatePasskeyCounter(cell.db, passkey.credential_id, verified.authenticationInfo.newCounter);
  const principal: StaffPrincipal = { staffId: staff.id, institution: staff.institution_id, region: cell.region, role: staff.role };
  return { principal, session: await createStaffSession(cell, staff.id, now) };
}
