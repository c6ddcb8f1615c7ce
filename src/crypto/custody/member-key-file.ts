/**
 * A staff member's key file (docs/KEY-CUSTODY.md §3, §5, §7.4): the self-signed key registration and
 * both private keys wrapped by one passphrase. It is exactly what the member uploads
 * (`PUT /v1/custody/me/keys`) and keeps: `examvault custody keygen` writes it to a file, the web apps
 * to IndexedDB. No private key exists in any other form once it is made.
 *
 * Both keys share one PBKDF2 salt (§5), so unlocking derives the passphrase key once and unwraps both.
 */
import { constantTimeEqual } from '../bytes.js';
import { MIN_MEMBER_PASSPHRASE_LENGTH, passphraseLength } from '../passphrase.js';
import { ExamVaultCryptoError } from '../errors.js';
import { type MemberKeys, generateMemberKeys } from './member-keys.js';
import { signStatement, verified, verifyStatement } from './statement-signature.js';
import type { KeyRegistrationStatement } from './statement.js';
import { type KeyPurpose, type WrappedPrivateKey, derivePassphraseKey, passphraseParameters, unwrapPrivateKey, wrapPrivateKey } from './wrapped-key.js';

export type MemberRole = 'admin' | 'reviewer';

export interface NewMemberKeyFile {
  /** The fresh keys, for the caller's immediate use (an admin's set-up signs with them at once). */
  readonly keys: MemberKeys;
  /** The signed key-registration statement (statement ‖ signature). */
  readonly registration: Uint8Array;
  /** By purpose (`<role>-hpke`, `<role>-signing`): the private keys wrapped by the passphrase. */
  readonly wrappedKeys: Readonly<Record<string, WrappedPrivateKey>>;
}

/**
 * Makes a member's two key pairs, signs their registration with the new signing key and wraps both
 * private keys under `passphrase`. A passphrase shorter than MIN_MEMBER_PASSPHRASE_LENGTH is refused
 * (EV_ERR_CRYPTO_INVALID_ARGUMENT): the server keeps the wrapped keys, so the passphrase is all that
 * stands against offline guessing by whoever holds it.
 */
export async function createMemberKeyFile(input: {
  readonly institution: string;
  readonly member: string;
  readonly role: MemberRole;
  readonly passphrase: string;
  readonly timestamp?: number;
}): Promise<NewMemberKeyFile> {
  if (passphraseLength(input.passphrase) < MIN_MEMBER_PASSPHRASE_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `a member key passphrase has at least ${MIN_MEMBER_PASSPHRASE_LENGTH} characters`);
  }
  const keys = await generateMemberKeys();
  const owner = { institution: input.institution, owner: input.member };
  const passphraseKey = await derivePassphraseKey(input.passphrase);
  const registration = await signStatement({
    type: 'key-registration',
    institution: input.institution,
    timestamp: input.timestamp ?? Date.now(),
    reviewer: input.member,
    hpkePublicKey: keys.hpkePublicKey,
    signingPublicKey: keys.signingPublicKey,
  }, keys.signing.privateKey);
  const hpke: KeyPurpose = `${input.role}-hpke`;
  const signing: KeyPurpose = `${input.role}-signing`;
  return {
    keys,
    registration,
    wrappedKeys: {
      [hpke]: await wrapPrivateKey(keys.hpke.privateKey, { purpose: hpke, ...owner }, [{ passphraseKey }]),
      [signing]: await wrapPrivateKey(keys.signing.privateKey, { purpose: signing, ...owner }, [{ passphraseKey }]),
    },
  };
}

/** A member's private keys, unwrapped, and the registration they were checked against. */
export interface UnlockedMemberKeys {
  readonly registration: KeyRegistrationStatement;
  readonly hpkePrivateKey: CryptoKey;
  readonly signingPrivateKey: CryptoKey;
}

/**
 * Unlocks both of a member's private keys with the passphrase. The registration must verify
 * (self-signed) and name `institution` and `member`; each wrapped key is opened against it (purpose,
 * owner and public key), so keys swapped between members, purposes or registrations do not open.
 * A wrong passphrase is EV_ERR_CRYPTO_DECRYPTION_FAILED; weakened PBKDF2 parameters EV_ERR_CUSTODY_WEAK_KDF.
 */
export async function unlockMemberKeyFile(
  file: { readonly registration: Uint8Array; readonly wrappedKeys: Readonly<Record<string, unknown>> },
  expected: { readonly institution: string; readonly member: string; readonly role: MemberRole },
  passphrase: string,
): Promise<UnlockedMemberKeys> {
  const registration = verified(await verifyStatement(file.registration, () => null, 'key-registration'));
  if (registration.institution !== expected.institution || registration.reviewer !== expected.member) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', "the key registration is not this member's");
  }
  const hpke: KeyPurpose = `${expected.role}-hpke`;
  const signing: KeyPurpose = `${expected.role}-signing`;
  const params = passphraseParameters(file.wrappedKeys[hpke]);
  if (!params) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_NO_WRAPPING', `the ${hpke} key has no passphrase wrapping`);
  const passphraseKey = await derivePassphraseKey(passphrase, params);
  const owner = { institution: expected.institution, owner: expected.member };
  const open = async (purpose: KeyPurpose, publicKey: Uint8Array, doc: unknown): Promise<CryptoKey> => {
    // A key wrapped under another salt needs its own derivation; the same salt reuses the one above.
    const own = passphraseParameters(doc);
    const unlock = own && constantTimeEqual(own.salt, params.salt) && own.iterations === params.iterations ? { passphraseKey } : { passphrase };
    return (await unwrapPrivateKey(doc, { purpose, ...owner, publicKey }, unlock)).privateKey;
  };
  return {
    registration,
    hpkePrivateKey: await open(hpke, registration.hpkePublicKey, file.wrappedKeys[hpke]),
    signingPrivateKey: await open(signing, registration.signingPublicKey, file.wrappedKeys[signing]),
  };
}
