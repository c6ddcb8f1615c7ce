/**
 * Errors raised by the crypto core. Every error carries a stable `code` that callers switch on; the
 * codes are documented in docs/errors.md (a test fails when one is not).
 *
 * Authentication failures of any kind share one code, EV_ERR_CRYPTO_DECRYPTION_FAILED, and one
 * message: a reader must not learn which check refused (docs/SPEC.md §8).
 */

export const cryptoErrorCodes = [
  'EV_ERR_CRYPTO_DECRYPTION_FAILED',
  'EV_ERR_CRYPTO_INVALID_KEY',
  'EV_ERR_CRYPTO_INVALID_CONTEXT',
  'EV_ERR_CRYPTO_INVALID_ARGUMENT',
  'EV_ERR_CRYPTO_SEGMENT_LIMIT',
  'EV_ERR_FORMAT_TRUNCATED',
  'EV_ERR_FORMAT_BAD_MAGIC',
  'EV_ERR_FORMAT_UNSUPPORTED_VERSION',
  'EV_ERR_FORMAT_UNSUPPORTED_SUITE',
  'EV_ERR_FORMAT_MALFORMED_HEADER',
  'EV_ERR_FORMAT_SEGMENT_SIZE',
  'EV_ERR_FORMAT_EMPTY_SEGMENT',
  'EV_ERR_FORMAT_TRAILING_DATA',
  'EV_ERR_FORMAT_NO_FINAL_SEGMENT',
  'EV_ERR_KEYFILE_MALFORMED',
  'EV_ERR_KEYFILE_WEAK_KDF',
  // Key custody (docs/KEY-CUSTODY.md).
  'EV_ERR_CUSTODY_MALFORMED',
  'EV_ERR_CUSTODY_WEAK_KDF',
  'EV_ERR_CUSTODY_BINDING_MISMATCH',
  'EV_ERR_CUSTODY_NO_WRAPPING',
  'EV_ERR_CUSTODY_STATEMENT_MALFORMED',
  'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED',
  'EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE',
  'EV_ERR_CUSTODY_SIGNATURE_INVALID',
  'EV_ERR_CUSTODY_UNKNOWN_SIGNER',
  'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH',
  'EV_ERR_CUSTODY_RECOVERY_KEY_INVALID',
  'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM',
  // Case bundles (docs/SPEC.md §12).
  'EV_ERR_CASE_MALFORMED',
  // Review records (docs/SPEC.md §13).
  'EV_ERR_REVIEW_MALFORMED',
  'EV_ERR_REVIEW_BINDING_MISMATCH',
  'EV_ERR_REVIEW_OUT_OF_ORDER',
  'EV_ERR_REVIEW_NO_EPOCH_KEY',
] as const;

export type CryptoErrorCode = (typeof cryptoErrorCodes)[number];

export class ExamVaultCryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'ExamVaultCryptoError';
    this.code = code;
  }
}

/** The one error for every authentication failure; its message never varies. */
export class DecryptionFailedError extends ExamVaultCryptoError {
  constructor() {
    super('EV_ERR_CRYPTO_DECRYPTION_FAILED', 'decryption failed');
    this.name = 'DecryptionFailedError';
  }
}

export function isCryptoError(e: unknown, code?: CryptoErrorCode): e is ExamVaultCryptoError {
  return e instanceof ExamVaultCryptoError && (code === undefined || e.code === code);
}
