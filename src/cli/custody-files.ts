/**
 * The files of the `custody` commands (docs/cli.md "Key custody"), all in the JSON shapes of the
 * server's custody API (src/protocol/custody.ts), so that what the CLI writes can be uploaded as it is
 * and what the server serves can be given to the CLI as it is:
 *
 * - a *member key file* is the body of `PUT /v1/custody/me/keys`: the self-signed key registration and
 *   the member's private keys, wrapped by a passphrase (docs/KEY-CUSTODY.md §5). The answer of
 *   `GET /v1/custody/me/keys` is accepted too (a new machine fetching its keys);
 * - a *registration file* is any JSON object carrying a member's signed `registration`: a member key
 *   file, or one entry of `GET /v1/custody/reviewers`;
 * - a *grant file* is a grant document, the body of `POST /v1/custody/grants` (`custody approve`
 *   writes it), or the answer of `GET /v1/custody/me/grant`;
 * - a *recovery file* carries the institution statement that names the recovery key: the answer of
 *   `GET /v1/custody/recovery`, or the set-up body `custody recovery-key` wrote.
 *
 * Only signed or sealed bytes are trusted: the fields a server adds beside them (`member`, `role`,
 * `status`, the public keys and fingerprint as plain fields) are allowed but never read, because a
 * server that holds everything can write anything there. Keys are taken from the registration, whose
 * self-signature is checked, and every wrapped key is unwrapped against that registration's ids and
 * public keys, so a file whose parts were swapped fails to unlock.
 */
import {
  type InstitutionStatement,
  type KeyPurpose,
  type KeyRegistrationStatement,
  fromBase64Url,
  isCryptoError,
  memberFingerprint,
  passphraseParameters,
  toBase64Url,
  unwrapPrivateKey,
  verified,
  verifyStatement,
} from '../crypto/index.js';
import type { CustodyMember } from '../protocol/custody.js';
import { CliError } from './errors.js';
import { readJsonFile } from './io.js';
import { readPassphrase } from './passphrase.js';
import type { MemberRole } from '../crypto/index.js';

export type { MemberRole };

/** The fields of the server's member view that may sit beside `registration` and are ignored. */
const serverViewFields: readonly (keyof CustodyMember)[] = ['member', 'role', 'status', 'hpkePublicKey', 'signingPublicKey', 'fingerprint', 'approvals'];
const registrationFileFields: readonly string[] = ['registration', 'wrappedKeys', ...serverViewFields];

const memberKeyHint = 'pass the member key file `examvault custody keygen --out` wrote (or the answer of GET /v1/custody/me/keys)';
const registrationHint = 'pass a file holding the member\'s signed "registration": their member key file, or their entry of GET /v1/custody/reviewers';

function malformed(path: string, why: string, hint: string): CliError {
  return new CliError('EV_ERR_CUSTODY_MALFORMED', `'${path}': ${why}`, hint);
}

function objectOf(json: unknown, path: string, hint: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed(path, 'not a JSON object', hint);
  return json as Record<string, unknown>;
}

/** A verified key registration and where it came from. */
export interface Registration {
  readonly path: string;
  /** The signed statement as uploaded (statement ‖ signature). */
  readonly signed: Uint8Array;
  readonly statement: KeyRegistrationStatement;
}

async function registrationOf(doc: Record<string, unknown>, path: string, hint: string): Promise<Registration> {
  const unknown = Object.keys(doc).filter((k) => !registrationFileFields.includes(k));
  if (unknown.length > 0) throw malformed(path, `unknown member ${JSON.stringify(unknown[0])}`, hint);
  const signed = typeof doc.registration === 'string' ? fromBase64Url(doc.registration) : null;
  if (!signed) throw malformed(path, '"registration" must be the base64url of a signed key registration', hint);
  try {
    // Self-signed: the key it carries is the only one asked for (KEY-CUSTODY §7.4 step 4).
    return { path, signed, statement: verified(await verifyStatement(signed, () => null, 'key-registration')) };
  } catch (e) {
    if (isCryptoError(e)) {
      throw new CliError(e.code, `the key registration in '${path}' does not verify: ${e.message}`,
        'the file was damaged or altered, or a server substituted it: do not use it; ask the member for their registration again');
    }
    throw e;
  }
}

/** Reads a registration file (docs/cli.md): a member's self-signed registration, verified. */
export async function readRegistration(path: string): Promise<Registration> {
  const doc = objectOf(await readJsonFile(path, { name: 'registration file', missingHint: registrationHint }), path, registrationHint);
  return registrationOf(doc, path, registrationHint);
}

/** A member key file, read and checked, its private keys still wrapped. */
export interface MemberKeyFile extends Registration {
  readonly role: MemberRole;
  readonly institution: string;
  readonly member: string;
  readonly wrappedKeys: Readonly<Record<string, unknown>>;
}

function roleOf(wrappedKeys: Record<string, unknown>, path: string): MemberRole {
  const purposes = Object.keys(wrappedKeys);
  const roles = new Set(purposes.map((p) => (p.startsWith('admin-') ? 'admin' : p.startsWith('reviewer-') ? 'reviewer' : p)));
  const [role] = [...roles];
  if (roles.size !== 1 || (role !== 'admin' && role !== 'reviewer')) {
    throw malformed(path, `"wrappedKeys" must hold the keys of one admin or one reviewer, not ${purposes.join(', ') || 'nothing'}`, memberKeyHint);
  }
  return role;
}

/** Reads a member key file: its registration verified, its role from the keys it holds. No passphrase yet. */
export async function readMemberKeyFile(path: string, flag = '--key'): Promise<MemberKeyFile> {
  const json = await readJsonFile(path, { name: 'member key file', missingHint: `${flag} takes the member key file \`examvault custody keygen --out\` wrote` });
  const doc = objectOf(json, path, memberKeyHint);
  if (doc.format === 'examvault-private-key' || doc.format === 'examvault-public-key') {
    throw new CliError('EV_ERR_CUSTODY_MALFORMED', `'${path}' is an epoch key file, not a member key file`, `${flag} takes the file \`examvault custody keygen\` wrote; an epoch key file goes to --epoch-key`);
  }
  const wrappedKeys = doc.wrappedKeys;
  if (typeof wrappedKeys !== 'object' || wrappedKeys === null || Array.isArray(wrappedKeys)) {
    throw malformed(path, 'no "wrappedKeys": this is not a member key file', memberKeyHint);
  }
  const registration = await registrationOf(doc, path, memberKeyHint);
  return {
    ...registration,
    role: roleOf(wrappedKeys as Record<string, unknown>, path),
    institution: registration.statement.institution,
    member: registration.statement.reviewer,
    wrappedKeys: wrappedKeys as Record<string, unknown>,
  };
}

/** Which of the member's keys a command needs: the HPKE key opens grants, the signing key signs statements. */
export type KeyKind = 'hpke' | 'signing';

/**
 * Unlocks one of a member's private keys with its passphrase. The wrapped key's PBKDF2 parameters are
 * checked against the client's own bounds before the passphrase is asked for, so a weakened file (or
 * one a server weakened) is refused without a prompt. The key is unwrapped against the registration:
 * purpose, institution, owner and public key must all be this member's.
 */
export async function unlockMemberKey(file: MemberKeyFile, kind: KeyKind, passphraseFile: string | undefined): Promise<CryptoKey> {
  const purpose = `${file.role}-${kind}` as KeyPurpose;
  const doc = file.wrappedKeys[purpose];
  if (doc === undefined) throw malformed(file.path, `it holds no ${purpose} key`, memberKeyHint);
  const fail = (e: unknown): unknown => {
    if (isCryptoError(e, 'EV_ERR_CRYPTO_DECRYPTION_FAILED')) {
      return new CliError(e.code, `cannot unlock the ${purpose} key in '${file.path}': decryption failed`, 'wrong passphrase, or the member key file was modified');
    }
    if (isCryptoError(e)) return new CliError(e.code, `the ${purpose} key in '${file.path}': ${e.message}`, wrappedKeyHint(e.code));
    return e;
  };
  let params;
  try {
    params = passphraseParameters(doc);
  } catch (e) {
    throw fail(e);
  }
  if (!params) {
    throw new CliError('EV_ERR_CUSTODY_NO_WRAPPING', `the ${purpose} key in '${file.path}' has no passphrase wrapping`,
      'this key is protected by a passkey only, which the CLI cannot use: add a passphrase to it in the ExamVault web app, then fetch it again');
  }
  const passphrase = await readPassphrase({ passphraseFile, what: `the member key file '${file.path}'` });
  const publicKey = kind === 'hpke' ? file.statement.hpkePublicKey : file.statement.signingPublicKey;
  try {
    return (await unwrapPrivateKey(doc, { purpose, institution: file.institution, owner: file.member, publicKey }, { passphrase })).privateKey;
  } catch (e) {
    throw fail(e);
  }
}

function wrappedKeyHint(code: string): string {
  if (code === 'EV_ERR_CUSTODY_WEAK_KDF') {
    return 'ExamVault requires 600000 to 10000000 PBKDF2 iterations and a 16-64-byte salt: a wrapped key asking for less was altered '
      + '(or served weakened by a server) to make the passphrase easier to guess; do not use it';
  }
  if (code === 'EV_ERR_CUSTODY_BINDING_MISMATCH') {
    return 'the wrapped key is not the one its registration names (another member\'s, another purpose\'s or another key): the file was altered or assembled from parts; do not use it';
  }
  return 'the member key file is damaged or was edited: use the file `examvault custody keygen` wrote';
}

const grantHint = 'pass a grant file: the one `examvault custody approve` wrote, or the answer of GET /v1/custody/me/grant';

/** The grants of a grant file, still sealed, by the epoch each names. */
export interface GrantFile {
  readonly path: string;
  readonly grants: readonly unknown[];
}

/** Reads a grant file (docs/cli.md): one grant, a POST /v1/custody/grants body, or a GET /v1/custody/me/grant answer. */
export async function readGrantFile(path: string): Promise<GrantFile> {
  const doc = objectOf(await readJsonFile(path, { name: 'grant file', missingHint: grantHint }), path, grantHint);
  if (doc.format === 'examvault-grant') return { path, grants: [doc] };
  if ('grant' in doc && 'approval' in doc && Object.keys(doc).length === 2) return { path, grants: [doc.grant] };
  if (Array.isArray(doc.grants) && Object.keys(doc).every((k) => k === 'status' || k === 'grants')) {
    return { path, grants: doc.grants.map((g: unknown) => (typeof g === 'object' && g !== null ? (g as Record<string, unknown>).grant : undefined)) };
  }
  throw malformed(path, 'not a grant, a POST /v1/custody/grants body, or a GET /v1/custody/me/grant answer', grantHint);
}

/**
 * The grant for one epoch, still sealed. Throws EV_ERR_CLI_NO_GRANT when the file holds none for that
 * epoch; a grant's own shape is left to the crypto core (openGrant).
 */
export function grantFor(file: GrantFile, epoch: number): unknown {
  const epochOf = (g: unknown) => (typeof g === 'object' && g !== null ? (g as Record<string, unknown>).epoch : undefined);
  const grant = file.grants.find((g) => epochOf(g) === epoch);
  if (grant === undefined) {
    const held = file.grants.map(epochOf).filter((e) => typeof e === 'number');
    throw new CliError('EV_ERR_CLI_NO_GRANT', `'${file.path}' holds no grant for epoch ${epoch}, the epoch the recording is sealed to${held.length > 0 ? ` (it holds epoch ${held.join(', ')})` : ''}`,
      'fetch your grants again (GET /v1/custody/me/grant): if none is for this epoch, ask an admin to approve you for it');
  }
  return grant;
}

const recoveryHint = 'pass the answer of GET /v1/custody/recovery, or the set-up body `examvault custody recovery-key` wrote';

/** The recovery key as its institution statement names it, verified. */
export interface RecoveryFile {
  readonly statement: InstitutionStatement;
  /** base64url of the recovery keys' fingerprint, as `custody recovery-key` printed it and the server names it. */
  readonly fingerprint: string;
}

/**
 * Reads a recovery file (docs/cli.md) and verifies its institution statement, self-signed by the
 * recovery key it carries, for `institution`. A self-signature proves only that whoever made the
 * statement holds that key: a server could serve one of its own making. The fingerprint returned is
 * what to compare with the one printed at set-up (`--recovery-fingerprint` of `custody revoke`).
 */
export async function readRecoveryFile(path: string, institution: string): Promise<RecoveryFile> {
  const doc = objectOf(await readJsonFile(path, { name: 'recovery file', missingHint: recoveryHint }), path, recoveryHint);
  // GET /v1/custody/recovery names the statement `statement`; the set-up body names it `institution`.
  const encoded = 'statement' in doc ? doc.statement : 'enrolment' in doc ? doc.institution : undefined;
  const signed = typeof encoded === 'string' ? fromBase64Url(encoded) : null;
  if (!signed) throw malformed(path, 'no signed institution statement: this is not a recovery file', recoveryHint);
  let statement: InstitutionStatement;
  try {
    statement = verified(await verifyStatement(signed, (signer, s) => (signer.kind === 'recovery' && s.type === 'institution' ? s.signingPublicKey : null), 'institution'));
  } catch (e) {
    if (isCryptoError(e)) {
      throw new CliError(e.code, `the institution statement in '${path}' does not verify: ${e.message}`,
        'the file was damaged or altered, or a server substituted it: do not use it; fetch GET /v1/custody/recovery again');
    }
    throw e;
  }
  if (statement.institution !== institution) {
    throw new CliError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the recovery key in '${path}' is institution '${statement.institution}'s, yours is '${institution}'`,
      'fetch the recovery statement of your own institution (GET /v1/custody/recovery, signed in to it)');
  }
  return { statement, fingerprint: toBase64Url(await memberFingerprint(statement)) };
}
