/**
 * Errors raised by the storage layer: blob stores, the region keyring and at-rest encryption. Each
 * carries a stable `code` to switch on; every code is documented in docs/errors.md (a test fails when
 * one is not). An invalid key is a programming error with its own class, `BlobKeyError`
 * (blob-store.ts, `EV_ERR_STORAGE_INVALID_KEY`). Plain I/O failures are not wrapped: they keep Node's
 * `code` (`ENOSPC`, `EACCES`, ...), which says more than a code of ours would.
 */

export const storageErrorCodes = [
  'EV_ERR_STORAGE_CLOSED',
  'EV_ERR_STORAGE_CORRUPT',
  'EV_ERR_STORAGE_LOG_FAILED',
  'EV_ERR_KEYRING_PERMISSIONS',
  'EV_ERR_KEYRING_MALFORMED',
  'EV_ERR_KEYRING_MISMATCH',
  'EV_ERR_KEYRING_UNKNOWN_KEY',
  'EV_ERR_KEYRING_CURRENT_VERSION',
  'EV_ERR_KEYRING_LOCKED',
  'EV_ERR_AT_REST_INTEGRITY',
] as const;

export type StorageErrorCode = (typeof storageErrorCodes)[number];

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

/**
 * A stored object or key record did not authenticate or does not parse: it was modified, truncated,
 * moved to another key, or paired with another object's key record. Deliberately one error with one
 * message whatever failed inside: the caller must not learn which check refused. The key names the
 * object, which the caller already knows.
 */
export class AtRestIntegrityError extends StorageError {
  constructor(key: string) {
    super('EV_ERR_AT_REST_INTEGRITY', `stored object ${JSON.stringify(key)} failed its integrity check`);
    this.name = 'AtRestIntegrityError';
  }
}

/** What every method of a closed store throws. */
export function assertNotClosed(closed: unknown): void {
  if (closed) throw new StorageError('EV_ERR_STORAGE_CLOSED', 'the blob store is closed');
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

/** True for a Node system error with the given errno code (`ENOENT`, `EEXIST`, ...). */
export function isErrno(e: unknown, ...codes: string[]): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && codes.includes((e as NodeJS.ErrnoException).code as string);
}
