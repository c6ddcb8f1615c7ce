/**
 * Key custody (docs/KEY-CUSTODY.md): staff key pairs, private keys wrapped for the server, safety
 * numbers, grants of the epoch key, signed log statements and the recovery key. Pure crypto, no I/O:
 * the server stores what these functions produce and can open none of it.
 */
export {
  SIGNATURE_LENGTH,
  generateSigningKeyPair,
  exportSigningPublicKey,
  importSigningPublicKey,
  importSigningPublicKeyText,
  importSigningKeyPair,
  importSigningPrivateKey,
} from './signing-key.js';
export * from './member-keys.js';
export {
  type KeyPurpose,
  type KeyBinding,
  type KeyWrapping,
  type PassphraseWrapping,
  type PrfWrapping,
  type WrappedPrivateKey,
  type PassphraseKey,
  type PrfResult,
  type Protector,
  type Unlock,
  type UnwrappedKey,
  keyPurposes,
  PRF_INPUT_LENGTH,
  PRF_OUTPUT_LENGTH,
  derivePassphraseKey,
  wrapPrivateKey,
  unwrapPrivateKey,
  addWrapping,
  removeWrapping,
  passphraseParameters,
  prfCredentials,
} from './wrapped-key.js';
export * from './safety-number.js';
export * from './grant.js';
export {
  type Statement,
  type StatementOf,
  type StatementType,
  type Signer,
  type InstitutionStatement,
  type AdminEnrolmentStatement,
  type EpochStatement,
  type KeyRegistrationStatement,
  type ApprovalStatement,
  type RevocationStatement,
  statementTypes,
  encodeStatement,
  decodeStatement,
  signerOf,
} from './statement.js';
export * from './statement-signature.js';
export {
  type RecoveryKeys,
  RECOVERY_SECRET_LENGTH,
  generateRecoverySecret,
  formatRecoveryKey,
  parseRecoveryKey,
  deriveRecoveryKeys,
} from './recovery-key.js';
export * from './approval.js';
export * from './member-key-file.js';
export * from './set-up.js';
export * from './revocation.js';
