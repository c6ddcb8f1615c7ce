/**
 * A BlobStore for small objects in a SQL table (`small_objects`), through Kysely, so it works on every
 * dialect the cells use. The cells keep their at-rest key records here: a key record is ~100 bytes,
 * and a file per record would cost a second fsynced file for every segment.
 *
 * Writes are committed in groups: puts and deletes that arrive while a transaction is in flight share
 * the next one, so with SQLite (WAL, synchronous=FULL) a burst of N writes costs one fsync, and each
 * write still resolves only once its transaction has committed (durable, atomic).
 */
import type { Kysely } from 'kysely';
import type { CellDatabase } from '../db/schema.js';
import { type BlobStore, assertBlobKey, assertBlobPrefix } from './blob-store.js';
import { StorageError } from './errors.js';

/** The largest object this store takes: it is meant for records, not media. */
export const MAX_SMALL_OBJECT = 64 * 1024;

type Write = { readonly key: string; readonly data: Uint8Array | null; resolve(): void; reject(e: unknown): void };

export class SqlBlobStore implements BlobStore {
  private queue: Write[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly db: Kysely<CellDatabase>) {}

  async put(key: string, data: Uint8Array): Promise<void> {
    assertBlobKey(key);
    if (data.byteLength > MAX_SMALL_OBJECT) throw new RangeError(`SqlBlobStore holds objects up to ${MAX_SMALL_OBJECT} bytes`);
    // Copied now: the caller may reuse its buffer once put resolves, and the row is written later.
    return this.enqueue(key, Uint8Array.from(data));
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    return this.enqueue(key, null);
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertBlobKey(key);
    this.assertOpen();
    await this.settled();
    const row = await this.db.selectFrom('small_objects').select('data').where('key', '=', key).executeTakeFirst();
    return row ? new Uint8Array(row.data) : null;
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix !== '') assertBlobPrefix(prefix);
    this.assertOpen();
    await this.settled();
    // A range, not LIKE: keys may hold `_`, which LIKE treats as a wildcard.
    let query = this.db.selectFrom('small_objects').select('key').where('key', '>=', prefix);
    if (prefix !== '') query = query.where('key', '<', `${prefix}\u{10ffff}`);
    for (const row of await query.execute()) yield row.key;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }

  /**
   * Reads wait for the writes queued before them: a reader sees its own writes, and (with a driver
   * that answers in microtasks) a busy reader cannot starve the commit that waits for the next turn.
   */
  private async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('EV_ERR_STORAGE_CLOSED', 'the blob store is closed');
  }

  private enqueue(key: string, data: Uint8Array | null): Promise<void> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      this.queue.push({ key, data, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Yield once so writes from requests already in flight join this transaction.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 1024);
      try {
        await this.db.transaction().execute(async (trx) => {
          // In arrival order, so the last write to a key wins, as with any other store.
          for (const w of batch) {
            if (w.data === null) await trx.deleteFrom('small_objects').where('key', '=', w.key).execute();
            else await trx.insertInto('small_objects').values({ key: w.key, data: w.data }).onConflict((oc) => oc.column('key').doUpdateSet({ data: w.data as Uint8Array })).execute();
          }
        });
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.flushing = null;
  }
}
