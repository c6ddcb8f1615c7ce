/**
 * At-rest encryption for any BlobStore (DESIGN "At rest"): every object is sealed with AES-256-GCM
 * under its own data key, and the data key is wrapped by the region's key-encryption keyring. The
 * formats are in at-rest.ts; the reasoning, in docs/STORAGE.md.
 *
 * Layout: two inner stores under the same keys. `objects` holds the sealed object (the bulk),
 * `keyRecords` the key record (~80 bytes: key id, KEK version, wrapped data key). Keeping them apart
 * (two fs roots, or two buckets) leaves the whole 512-character key space to callers, lets `list`
 * be the inner `list`, and lets the records have their own, short, backup retention: a shred is
 * final only once no backup of the record is left.
 *
 * - Rotation re-wraps, never re-encrypts: `rewrapAll` rewrites key records under the keyring's
 *   current version and leaves every sealed object untouched.
 * - Shredding (`shred`, which is also `delete`) destroys the key record first, then the object:
 *   once the record is gone the object is noise, backups of it included.
 * - One data key per stored key, made by the first put and kept by later puts (each with a fresh
 *   nonce). An overwrite is then a single atomic put of the sealed object, so a crash mid-overwrite
 *   leaves the old value or the new one, never an object paired with the wrong key. (A new data key per
 *   put would need the record and the object replaced together, which two blob writes cannot do.)
 *
 * Write order and recovery. A first put writes the sealed object and the record at once, and resolves
 * when both are durable; a shred deletes the record, then the object. A crash in a first put leaves
 * either one alone, a crash in a shred a sealed object alone. A sealed object without a record: `get`
 * returns null (the put never resolved, or the shred did its part), `list` may still show the key, and
 * `sweepOrphans` deletes it. A record without an object reads as null too, is not listed, and is
 * reused by the next put or swept. A readable half never exists: the object alone cannot be
 * decrypted, and a record alone holds no data.
 *
 * Errors: a record or object that does not parse or authenticate is `EV_ERR_AT_REST_INTEGRITY`
 * (AtRestIntegrityError, one opaque message); a record naming a key version the keyring no longer
 * holds is `EV_ERR_KEYRING_UNKNOWN_KEY`. `put` over an object whose record fails either way fails the
 * same way: delete it first. Operations on one key are ordered within this process; writes to one key
 * from two processes at once are not supported (run `rewrapAll` in the server, or with it stopped).
 */
import type { KeyObject } from 'node:crypto';
import type { CompiledQuery } from 'kysely';
import type { QueryResult } from '../db/group-commit.js';
import { type BlobStore, type RowsBlobStore, assertBlobKey, takesParts } from './blob-store.js';
import { LogBlobStore } from './blob-store.log.js';
import { SqlBlobStore } from './blob-store.sql.js';
import { InFlight, KeyedQueue } from './concurrency.js';
import { decodeKeyRecord, encodeKeyRecord, importDataKey, keyRecordAad, newDataKey, openObject, sealObjectParts } from './at-rest.js';
import { AtRestIntegrityError, StorageError, assertNotClosed } from './errors.js';
import type { KeyEncryptionKeyring } from './keyring.js';

export interface EncryptedBlobStoreOptions {
  /** Receives the sealed objects. */
  readonly objects: BlobStore;
  /** Receives the key records, under the same keys. Give its backups a short retention. */
  readonly keyRecords: BlobStore;
  readonly keyring: KeyEncryptionKeyring;
  /** Key records re-wrapped at once by `rewrapAll`. */
  readonly rewrapConcurrency?: number;
}

export interface RewrapResult {
  /** Records now wrapped under the current version. */
  readonly rewrapped: number;
  /** Records that already were. */
  readonly upToDate: number;
  /** Keys whose record could not be opened (integrity, unknown key version), left as they were. */
  readonly failed: readonly { readonly key: string; readonly code: string }[];
}

export interface SweepResult {
  /** Sealed objects without a key record, deleted. */
  readonly objects: number;
  /** Key records without a sealed object, deleted. */
  readonly records: number;
}

export class EncryptedBlobStore implements RowsBlobStore {
  /** True when objects and key records are rows of one database through one group commit (the cells' layout). */
  readonly rowsAlongside: boolean;
  /** Set when `rowsAlongside`: the inner stores, seen as what they are. */
  private readonly rows: { readonly objects: LogBlobStore; readonly records: SqlBlobStore } | null = null;
  private readonly objects: BlobStore;
  private readonly records: BlobStore;
  private readonly keyring: KeyEncryptionKeyring;
  private readonly rewrapConcurrency: number;
  private readonly order = new KeyedQueue();
  private readonly inFlight = new InFlight();
  private closing: Promise<void> | null = null;

  constructor(options: EncryptedBlobStoreOptions) {
    this.objects = options.objects;
    this.records = options.keyRecords;
    this.keyring = options.keyring;
    this.rewrapConcurrency = options.rewrapConcurrency ?? 16;
    const { objects, keyRecords } = options;
    if (objects instanceof LogBlobStore && keyRecords instanceof SqlBlobStore && objects.commits === keyRecords.commits) this.rows = { objects, records: keyRecords };
    this.rowsAlongside = this.rows !== null;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    this.check(key);
    await this.inFlight.track(this.order.run(key, () => this.write(key, data, null)));
  }

  /**
   * `put`, with `alongside` committed in the same write as the sealed object's location and, on a
   * first put, its key record: the three exist together or not at all. Only when `rowsAlongside`.
   */
  async putWith(key: string, data: Uint8Array, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    this.check(key);
    this.rowStores();
    return this.inFlight.track(this.order.run(key, () => this.write(key, data, alongside)));
  }

  /**
   * `putWith` for a key that holds nothing: a fresh data key, without reading whether the key has a
   * record, and its record inserted, not replaced, so that the write fails, committing nothing, if
   * the key has one after all (blob-store.ts RowsBlobStore). Only when `rowsAlongside`.
   */
  async putNewWith(key: string, data: Uint8Array, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    this.check(key);
    const rows = this.rowStores();
    return this.inFlight.track(
      this.order.run(key, async () => {
        const { dataKey, record } = await this.freshKey(key);
        const results = await rows.objects.putPartsWith(key, sealObjectParts(dataKey, key, data), [rows.records.insertQuery(key, record), ...alongside], true);
        return results.slice(1);
      }),
    );
  }

  /** In the key's turn. `alongside` null: a plain put. */
  private async write(key: string, data: Uint8Array, alongside: readonly CompiledQuery[] | null): Promise<readonly QueryResult[]> {
    const existing = await this.records.get(key);
    let dataKey: KeyObject;
    let record: Uint8Array | null = null;
    if (existing) dataKey = await this.openRecord(key, existing);
    else ({ dataKey, record } = await this.freshKey(key));
    const parts = sealObjectParts(dataKey, key, data);
    if (this.rows) {
      // One write: the record, the object's location and the caller's rows commit together.
      const queries = record ? [this.rows.records.putQuery(key, record), ...(alongside ?? [])] : (alongside ?? []);
      const results = await this.rows.objects.putPartsWith(key, parts, queries);
      return results.slice(record ? 1 : 0);
    }
    const object = takesParts(this.objects) ? this.objects.putParts(key, parts) : this.objects.put(key, Buffer.concat(parts));
    // A first put writes both at once: either may land alone in a crash, and each alone reads as
    // null (see the recovery rule above), so waiting for one before the other buys nothing.
    await Promise.all([object, record ? this.records.put(key, record) : null]);
    return [];
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.check(key);
    return this.inFlight.track(
      (async () => {
        const first = await this.read(key);
        if (first !== false) return first;
        // Record and object are two reads: one may predate a write or shred that the other follows.
        // Look again once in this key's turn, after the writes under way; a second failure is real.
        const second = await this.order.run(key, () => this.read(key));
        if (second !== false) return second;
        throw new AtRestIntegrityError(key);
      })(),
    );
  }

  /** Crypto-shredding: the key record goes first (durably), then the sealed object. */
  async shred(key: string): Promise<void> {
    this.check(key);
    return this.inFlight.track(
      this.order.run(key, async () => {
        await this.records.delete(key);
        await this.objects.delete(key);
      }),
    );
  }

  delete(key: string): Promise<void> {
    return this.shred(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertNotClosed(this.closing);
    yield* this.objects.list(prefix);
  }

  /**
   * Re-wraps every key record under `prefix` with the keyring's current version; sealed objects are
   * not read or written. Run it after a rotation (once every process uses the new version), before
   * removing the old version from the keyring.
   */
  async rewrapAll(prefix = ''): Promise<RewrapResult> {
    assertNotClosed(this.closing);
    const { keyId, version } = await this.keyring.current();
    let rewrapped = 0;
    let upToDate = 0;
    const failed: Array<{ key: string; code: string }> = [];
    await this.forEachKey(this.records.list(prefix), async (key) => {
      await this.order.run(key, async () => {
        const bytes = await this.records.get(key);
        if (!bytes) return; // shredded meanwhile
        const record = decodeKeyRecord(bytes);
        if (record && record.keyId === keyId && record.version === version) {
          upToDate++;
          return;
        }
        try {
          if (!record) throw new AtRestIntegrityError(key);
          const raw = await this.keyring.unwrapKey(record, keyRecordAad(key));
          if (!raw) throw new AtRestIntegrityError(key);
          const next = encodeKeyRecord(await this.keyring.wrapKey(raw, keyRecordAad(key)));
          raw.fill(0);
          await this.records.put(key, next);
          rewrapped++;
        } catch (error) {
          if (!(error instanceof StorageError)) throw error;
          failed.push({ key, code: error.code });
        }
      });
    });
    return { rewrapped, upToDate, failed };
  }

  /**
   * Deletes what a crash between the two writes of a put or a shred left under `prefix`: sealed
   * objects without a record and records without an object. Safe while this process serves; not
   * while another process writes the same keys.
   */
  async sweepOrphans(prefix = ''): Promise<SweepResult> {
    assertNotClosed(this.closing);
    const objectKeys = await keySet(this.objects.list(prefix));
    const recordKeys = await keySet(this.records.list(prefix));
    return {
      objects: await this.removeUnpaired(objectKeys, recordKeys, this.records, this.objects),
      records: await this.removeUnpaired(recordKeys, objectKeys, this.objects, this.records),
    };
  }

  /** Waits for the operations under way, then closes both inner stores. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.inFlight.drain();
      await Promise.all([this.objects.close(), this.records.close()]);
    })();
    return this.closing;
  }

  /** The inner stores, for the puts that commit rows alongside; only when `rowsAlongside`. */
  private rowStores(): { readonly objects: LogBlobStore; readonly records: SqlBlobStore } {
    if (!this.rows) throw new Error('this store cannot commit rows alongside its objects: check rowsAlongside');
    return this.rows;
  }

  private check(key: string): void {
    assertBlobKey(key);
    assertNotClosed(this.closing);
  }

  /** The plaintext; null when record or object is missing; false when the pair does not open. */
  private async read(key: string): Promise<Uint8Array | null | false> {
    const [record, sealed] = await Promise.all([this.records.get(key), this.objects.get(key)]);
    if (!record || !sealed) return null;
    let dataKey: KeyObject;
    try {
      dataKey = await this.openRecord(key, record);
    } catch (error) {
      if (error instanceof AtRestIntegrityError) return false;
      throw error;
    }
    return openObject(dataKey, key, sealed) ?? false;
  }

  /** A new data key for `key`, and its record wrapped under the keyring's current version. */
  private async freshKey(key: string): Promise<{ dataKey: KeyObject; record: Uint8Array }> {
    const fresh = newDataKey();
    try {
      return { dataKey: fresh.key, record: encodeKeyRecord(await this.keyring.wrapKey(fresh.raw, keyRecordAad(key))) };
    } finally {
      fresh.raw.fill(0);
    }
  }

  private async openRecord(key: string, bytes: Uint8Array): Promise<KeyObject> {
    const record = decodeKeyRecord(bytes);
    if (!record) throw new AtRestIntegrityError(key);
    const raw = await this.keyring.unwrapKey(record, keyRecordAad(key));
    if (!raw) throw new AtRestIntegrityError(key);
    try {
      return importDataKey(raw);
    } finally {
      raw.fill(0);
    }
  }

  /** Deletes from `from` each of `keys` missing from `paired`, checked again in the key's turn. */
  private async removeUnpaired(keys: Set<string>, paired: Set<string>, other: BlobStore, from: BlobStore): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      if (paired.has(key)) continue;
      // A put may have completed the pair since the listing.
      await this.order.run(key, async () => {
        if ((await other.get(key)) !== null) return;
        await from.delete(key);
        removed++;
      });
    }
    return removed;
  }

  private async forEachKey(keys: AsyncIterable<string>, work: (key: string) => Promise<void>): Promise<void> {
    const running = new Set<Promise<void>>();
    const failures: unknown[] = [];
    try {
      for await (const key of keys) {
        const task = work(key).finally(() => running.delete(task));
        running.add(task);
        if (running.size >= this.rewrapConcurrency) await Promise.race(running);
      }
    } catch (error) {
      failures.push(error);
    }
    // Never leave a task behind, even when one failed: its rejection would go unhandled.
    for (const result of await Promise.allSettled(running)) if (result.status === 'rejected') failures.push(result.reason);
    if (failures.length > 0) throw failures[0];
  }
}

async function keySet(keys: AsyncIterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const key of keys) out.add(key);
  return out;
}
