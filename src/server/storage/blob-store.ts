/**
 * The one interface every blob store implements (local filesystem now, S3-compatible later). Every
 * implementation passes the shared contract suite in test/server/storage/blob-store.contract.ts.
 *
 * Contract:
 * - `put` resolves only once the object is durable (it survives a crash or power loss from then on)
 *   and is atomic: a reader sees either the whole previous value (or nothing) or the whole new one,
 *   never a partial object, even if the process dies mid-write. `put` overwrites.
 * - `get` returns the bytes, or null when no object has the key. It throws only on I/O failure, or,
 *   in a store that authenticates what it reads (blob-store.encrypted.ts), on an integrity failure.
 * - `delete` is idempotent: deleting a missing key succeeds. Once it resolves, `get` returns null.
 * - `list(prefix)` yields every key starting with `prefix` (in no promised order). The prefix is plain
 *   string matching: `a/b` matches `a/b`, `a/b/c` and `a/bc`. It is `''` (everything) or up to 512
 *   characters of `[A-Za-z0-9._/-]`; any other prefix is a `BlobKeyError`, raised when iterated.
 * - Keys are 1–512 characters of `[A-Za-z0-9._/-]`, with no empty, `.` or `..` path segment and no
 *   leading or trailing `/`. Anything else is a programming error: `BlobKeyError`. A key may also be
 *   a path prefix of another: `a` and `a/b` are two independent objects.
 * - Bytes are copied, never shared: changing `data` after `put` resolves, or changing what `get`
 *   returned, changes nothing stored. (Until `put` resolves the store may still be reading `data`.)
 * - `close` waits for the operations under way; it is idempotent. Afterwards every method rejects
 *   with a `StorageError` of code `EV_ERR_STORAGE_CLOSED` (errors.ts).
 */
import type { CompiledQuery } from 'kysely';
import type { QueryResult } from '../db/group-commit.js';

export interface BlobStore {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<string>;
  /** Flushes and releases resources; the store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * A store that also takes an object as consecutive parts, so a caller holding it in pieces (a sealed
 * object: header, ciphertext, tag) need not copy them into one buffer first. Same contract as `put`.
 */
export interface PartsBlobStore extends BlobStore {
  putParts(key: string, parts: readonly Uint8Array[]): Promise<void>;
}

/** An object's bytes: whole, or as consecutive parts (a request body's chunks, a sealed object's pieces). */
export type ObjectBytes = Uint8Array | readonly Uint8Array[];

/** The parts of `data`: itself when it is parts, else the one part it is. */
export function partsOf(data: ObjectBytes): readonly Uint8Array[] {
  return data instanceof Uint8Array ? [data] : data;
}

export function takesParts(store: BlobStore): store is PartsBlobStore {
  return typeof (store as Partial<PartsBlobStore>).putParts === 'function';
}

/**
 * A store whose objects exist by rows of a SQL database written through a group commit
 * (db/group-commit.ts): a put can carry more queries of that database, committed in the same write as
 * the object's own rows, so that what they record exists exactly when the object does, and the put
 * costs one commit instead of two in a row. `rowsAlongside` says whether this instance can.
 */
export interface RowsBlobStore extends BlobStore {
  readonly rowsAlongside: boolean;
  /** `put`, with `alongside` committed in the same write; resolves with their results once committed. */
  putWith(key: string, data: Uint8Array, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]>;
  /**
   * `putWith` for a key that holds no object. The object's rows are inserted, not replaced: if the key
   * holds an object already, the write fails with the database's constraint violation
   * (db/constraint.ts) and none of its rows, `alongside` included, is committed. It spares the read
   * an encrypted store's put makes to learn whether the key already has a data key. `data` may be the
   * object's consecutive parts, taken as they are.
   */
  putNewWith(key: string, data: ObjectBytes, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]>;
}

export function takesRows(store: BlobStore): store is RowsBlobStore {
  return (store as Partial<RowsBlobStore>).rowsAlongside === true;
}

export class BlobKeyError extends Error {
  readonly code = 'EV_ERR_STORAGE_INVALID_KEY';

  constructor(key: string) {
    super(`invalid blob key: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'BlobKeyError';
  }
}

const keyPattern = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
/** A path segment that is `.` or `..`; tested, not split out: every segment upload checks a key twice. */
const dotSegment = /(?:^|\/)\.\.?(?:\/|$)/;

export function assertBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512 || !keyPattern.test(key) || dotSegment.test(key)) throw new BlobKeyError(String(key));
}

const prefixPattern = /^[A-Za-z0-9._/-]*$/;

/** The rule for `list(prefix)`: `''`, or up to 512 characters of the key alphabet. */
export function assertBlobPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length > 512 || !prefixPattern.test(prefix)) throw new BlobKeyError(String(prefix));
}
