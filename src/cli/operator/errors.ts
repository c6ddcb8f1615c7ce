/**
 * The operator commands' view of the server's failures. errors.ts already keeps every server code
 * (ApiError, ConfigError and StorageError pass through with their own codes); this module adds the
 * fix for each storage code, which only code allowed to import the storage layer can type, and lets a
 * command say what an API code means for its own flags (NOT_FOUND in `attempts issue` is the
 * institution). A test checks every storage code has a hint.
 */
import { type ApiErrorCode, ApiError } from '../../protocol/errors.js';
import { MigrationError } from '../../server/db/migrate.js';
import { BlobKeyError } from '../../server/storage/blob-store.js';
import { StorageError, type StorageErrorCode } from '../../server/storage/errors.js';
import { CliError } from '../errors.js';

const bug = 'a bug in examvault: please report it with the command you ran';

/** The fix for each code of the storage layer and the databases, when an operator command meets it. */
export const serverErrorHints: Readonly<Record<StorageErrorCode | BlobKeyError['code'] | MigrationError['code'], string>> = {
  EV_ERR_STORAGE_INVALID_KEY: bug,
  EV_ERR_STORAGE_CLOSED: bug,
  EV_ERR_STORAGE_CORRUPT: 'a log file of the cell\'s objects was modified or damaged: restore the cell\'s blobs/objects/ folder and its database from one backup',
  EV_ERR_STORAGE_LOG_FAILED: 'a write to a log file failed earlier (the first failure named the cause: a full or failing disk): fix the disk, then run the command again',
  EV_ERR_KEYRING_PERMISSIONS:
    'only the user running the server may read the keyring: chmod 600 the file named above (and chmod 700 its directory), '
    + 'then run `examvault keys rotate` for the region, as anyone who could read it may have copied its keys',
  EV_ERR_KEYRING_MALFORMED: 'the keyring file was edited or damaged: restore it from a backup (without it the cell\'s stored objects cannot be read)',
  EV_ERR_KEYRING_MISMATCH: 'this is another region\'s keyring: restore the region\'s own file, and check that --config or EXAMVAULT_DATA_DIR names the right data directory',
  EV_ERR_KEYRING_UNKNOWN_KEY:
    'a key version was removed before everything under it was re-wrapped: restore the keyring from a backup that still holds it, then run `examvault keys rotate` again',
  EV_ERR_KEYRING_CURRENT_VERSION: 'rotate first (`examvault keys rotate`), then remove the old version',
  EV_ERR_KEYRING_LOCKED: 'another process is changing the keyring: wait for it to finish and run the command again',
  EV_ERR_AT_REST_INTEGRITY: 'the stored object or its key record was modified or damaged: restore it from a backup',
  EV_ERR_DB_MIGRATION_FAILED: 'the database could not be brought up to date: restore it from a backup, or run the examvault version that wrote it',
};

/** The same failure with the storage layer's hint, for errors.ts to print; anything else unchanged. */
export function withServerHint(e: unknown): unknown {
  if (e instanceof StorageError || e instanceof BlobKeyError || e instanceof MigrationError) return new CliError(e.code, e.message, serverErrorHints[e.code]);
  return e;
}

/**
 * Runs `work`; an ApiError whose code `hints` names becomes a CliError with that hint, still under the
 * API's code. The service's message says what was refused; the hint says which flag to change.
 */
export async function withApiHints<T>(hints: Partial<Record<ApiErrorCode, string>>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const hint = e instanceof ApiError ? hints[e.code as ApiErrorCode] : undefined;
    if (e instanceof ApiError && hint) throw new CliError(e.code as ApiErrorCode, e.message, hint);
    throw e;
  }
}
