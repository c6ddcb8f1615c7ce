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
 * Over a LogBlobStore (the cells' layout), whose rows live in a database anyway, a record is kept
 * in its object's own row instead (`LogPutOptions.record`): a first put inserts one row, not two,
 * and record and object are written, and shredded, together. `keyRecords` is then only read for
 * records written before that (cell migration 0014 moves those whose object the log holds), and a
 * shred deletes from it too.
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
import { type BlobStore, type ObjectBytes, type RowsBlobStore, assertBlobKey, takesParts } from './blob-store.js';
import { LogBlobStore } from './blob-store.log.js';
import { InFlight, KeyedQueue } from './concurrency.js';
import { type DataKey, decodeKeyRecord, encodeKeyRecord, importDataKey, keyRecordAad, newDataKey, openObject, sealObjectParts } from './at-rest.js';
import { releaseBuffers } from './release-buffer.js';
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
  /**
   * True over a log store (the cells' layout): queries given alongside a put commit in one write with
   * the object's row, which holds its key record.
   */
  readonly rowsAlongside: boolean;
  /** Set when `objects` is a log store: new key records go into the objects' rows. */
  private readonly log: LogBlobStore | null;
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
    this.log = options.objects instanceof LogBlobStore ? options.objects : null;
    this.rowsAlongside = this.log !== null;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    this.check(key);
    await this.inFlight.track(this.order.run(key, () => this.write(key, data, null)));
  }

  /**
   * `put`, with `alongside` committed in the same write as the sealed object's row, which on a first
   * put holds its key record too: they exist together or not at all. Only when `rowsAlongside`.
   */
  async putWith(key: string, data: Uint8Array, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    this.check(key);
    this.rowStore();
    return this.inFlight.track(this.order.run(key, () => this.write(key, data, alongside)));
  }

  /**
   * `putWith` for a key that holds nothing: a fresh data key, without reading whether the key has a
   * record, and the object's row, record included, inserted, not replaced, so that the write fails,
   * committing nothing, if the key holds an object after all (blob-store.ts RowsBlobStore). Only when
   * `rowsAlongside`.
   */
  async putNewWith(key: string, data: ObjectBytes, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    this.check(key);
    const log = this.rowStore();
    return this.inFlight.track(
      this.order.run(key, async () => {
        const { dataKey, record } = await this.freshKey(key);
        return putSealed(sealOnce(dataKey, key, data), (parts) => log.putPartsWith(key, parts, alongside, { fresh: true, record }));
      }),
    );
  }

  /** In the key's turn. `alongside` null: a plain put. */
  private async write(key: string, data: Uint8Array, alongside: readonly CompiledQuery[] | null): Promise<readonly QueryResult[]> {
    const existing = await this.recordOf(key);
    let dataKey: DataKey;
    let record: Uint8Array | null = null;
    if (existing) dataKey = await this.openRecord(key, existing);
    else ({ dataKey, record } = await this.freshKey(key));
    const parts = sealOnce(dataKey, key, data);
    if (this.log) {
      // One write: the object's row, with its record on a first put, and the caller's rows commit
      // together. A record kept elsewhere (written before records moved into rows) stays there.
      const log = this.log;
      return putSealed(parts, (p) => log.putPartsWith(key, p, alongside ?? [], record ? { record } : {}));
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

  /**
   * Crypto-shredding: the key record goes first (durably), then the sealed object. Over a log store
   * the record in the object's row goes with the row, after any record kept apart.
   */
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
    await this.forEachKey(this.recordKeys(prefix), async (key) => {
      await this.order.run(key, async () => {
        const held = await this.heldRecord(key);
        if (!held) return; // shredded meanwhile
        const record = decodeKeyRecord(held.bytes);
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
          await held.replace(next);
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
    const apartKeys = await keySet(this.records.list(prefix));
    // A record in an object's row always has its object: only records kept apart can be orphans.
    const recordKeys = this.log ? new Set([...apartKeys, ...(await keySet(this.log.listRecorded(prefix)))]) : apartKeys;
    return {
      objects: await this.removeUnpaired(objectKeys, recordKeys, async (key) => (await this.recordOf(key)) !== null, this.objects),
      records: await this.removeUnpaired(apartKeys, objectKeys, async (key) => (await this.objects.get(key)) !== null, this.records),
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

  /** The log store, for the puts that commit rows alongside; only when `rowsAlongside`. */
  private rowStore(): LogBlobStore {
    if (!this.log) throw new Error('this store cannot commit rows alongside its objects: check rowsAlongside');
    return this.log;
  }

  private check(key: string): void {
    assertBlobKey(key);
    assertNotClosed(this.closing);
  }

  /** The key's record, from its object's row if it has one there, else from `keyRecords`. */
  private async recordOf(key: string): Promise<Uint8Array | null> {
    return (await this.heldRecord(key))?.bytes ?? null;
  }

  /** The key's record (from its object's row first) and how to replace it where it is; null when it has none. */
  private async heldRecord(key: string): Promise<{ bytes: Uint8Array; replace(next: Uint8Array): Promise<unknown> } | null> {
    const log = this.log;
    const inRow = await log?.record(key);
    if (log && inRow) return { bytes: inRow, replace: (next) => log.setRecord(key, next) };
    const apart = await this.records.get(key);
    return apart ? { bytes: apart, replace: (next) => this.records.put(key, next) } : null;
  }

  /** Keys that have a record, in an object's row or kept apart, each once. */
  private async *recordKeys(prefix: string): AsyncIterable<string> {
    const log = this.log;
    if (!log) {
      yield* this.records.list(prefix);
      return;
    }
    yield* log.listRecorded(prefix);
    // Records kept apart are few (migration 0014 moved the rest): a key with one in its row came above.
    for await (const key of this.records.list(prefix)) if ((await log.record(key)) === null) yield key;
  }

  /** The object with its record: one read of its row over a log store. */
  private async sealedWithRecord(key: string): Promise<{ record: Uint8Array | null; sealed: Uint8Array | null }> {
    if (!this.log) {
      const [record, sealed] = await Promise.all([this.records.get(key), this.objects.get(key)]);
      return { record, sealed };
    }
    const stored = await this.log.getWithRecord(key);
    if (!stored) return { record: null, sealed: null };
    return { record: stored.record ?? (await this.records.get(key)), sealed: stored.data };
  }

  /** The plaintext; null when record or object is missing; false when the pair does not open. */
  private async read(key: string): Promise<Uint8Array | null | false> {
    const { record, sealed } = await this.sealedWithRecord(key);
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

  /**
   * A fresh data key for `key`, raw, with its record wrapped under the keyring's current version: the
   * caller seals with it once (`sealOnce`), which wipes it.
   */
  private async freshKey(key: string): Promise<{ dataKey: Uint8Array; record: Uint8Array }> {
    const dataKey = newDataKey();
    try {
      return { dataKey, record: encodeKeyRecord(await this.keyring.wrapKey(dataKey, keyRecordAad(key))) };
    } catch (error) {
      dataKey.fill(0);
      throw error;
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

  /** Deletes from `from` each of `keys` missing from `paired`, checked again (`stillPaired`) in the key's turn. */
  private async removeUnpaired(keys: Set<string>, paired: Set<string>, stillPaired: (key: string) => Promise<boolean>, from: BlobStore): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      if (paired.has(key)) continue;
      // A put may have completed the pair since the listing.
      await this.order.run(key, async () => {
        if (await stillPaired(key)) return;
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

/** Seals `data` for `key`; a raw data key is wiped then (the cipher keeps a copy of its own while it runs). */
function sealOnce(dataKey: DataKey, key: string, data: ObjectBytes): Uint8Array[] {
  try {
    return sealObjectParts(dataKey, key, data);
  } finally {
    if (dataKey instanceof Uint8Array) dataKey.fill(0);
  }
}

/**
 * Puts a sealed object's parts with `put`, a log store's put, which has copied them into its batch by
 * the time it settles; then frees the ciphertext's memory at once instead of at the next garbage
 * collection (release-buffer.ts). The parts are this store's own: nothing else holds them.
 */
async function putSealed<T>(parts: Uint8Array[], put: (parts: Uint8Array[]) => Promise<T>): Promise<T> {
  try {
    return await put(parts);
  } finally {
    releaseBuffers(parts);
  }
}

async function keySet(keys: AsyncIterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const key of keys) out.add(key);
  return out;
}
