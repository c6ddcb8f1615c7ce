/**
 * A BlobStore for small objects in a SQL table (`small_objects`), through Kysely, so it works on every
 * dialect the cells use. It is the cells' `keyRecords` store of at-rest key records: a key record is
 * ~100 bytes, and a file per record would cost a second fsynced file for every object. New records
 * now go into their objects' rows of the log store (blob-store.encrypted.ts); this table keeps those
 * written before cell migration 0014 whose object the log did not hold.
 *
 * Writes go through a group commit (db/group-commit.ts): puts and deletes that arrive together share
 * one transaction, in a cell with every other write of its database, so a burst of N writes costs one
 * fsync, and each write still resolves only once its transaction has committed.
 */
import type { Kysely } from 'kysely';
import { GroupCommit, kyselyExecutor } from '../db/group-commit.js';
import { queryTemplate, rowsOf } from '../db/query-template.js';
import type { CompiledQuery } from 'kysely';
import type { CellDatabase } from '../db/schema.js';
import { type BlobStore, assertBlobKey, assertBlobPrefix } from './blob-store.js';
import { InFlight } from './concurrency.js';
import { StorageError } from './errors.js';

const upsert = queryTemplate((db: Kysely<CellDatabase>, key: string, data: Uint8Array) =>
  db.insertInto('small_objects').values({ key, data }).onConflict((oc) => oc.column('key').doUpdateSet({ data })));
const remove = queryTemplate((db: Kysely<CellDatabase>, key: string) => db.deleteFrom('small_objects').where('key', '=', key));
const select = queryTemplate((db: Kysely<CellDatabase>, key: string) => db.selectFrom('small_objects').select('data').where('key', '=', key));

/** The largest object this store takes: it is meant for records, not media. */
export const MAX_SMALL_OBJECT = 64 * 1024;

export class SqlBlobStore implements BlobStore {
  private readonly inFlight = new InFlight();
  /** The last write called on each key, until it settles. */
  private readonly pending = new Map<string, Promise<void>>();
  private closed = false;

  /** `commits`: the cell's shared group commit; by default one of the store's own. */
  constructor(
    private readonly db: Kysely<CellDatabase>,
    readonly commits: GroupCommit = new GroupCommit(kyselyExecutor(db)),
  ) {}

  async put(key: string, data: Uint8Array): Promise<void> {
    assertBlobKey(key);
    if (data.byteLength > MAX_SMALL_OBJECT) throw new RangeError(`SqlBlobStore holds objects up to ${MAX_SMALL_OBJECT} bytes`);
    this.assertOpen();
    // Copied now: the caller may reuse its buffer once put resolves, and the row is written later.
    return this.write(key, upsert(this.db, key, Uint8Array.from(data)));
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    return this.write(key, remove(this.db, key));
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertBlobKey(key);
    this.assertOpen();
    // A reader sees every write to the key called before it.
    await this.pending.get(key)?.catch(() => {});
    const [row] = await rowsOf<{ data: Uint8Array }>(this.db, select(this.db, key));
    return row ? new Uint8Array(row.data) : null;
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix !== '') assertBlobPrefix(prefix);
    this.assertOpen();
    await this.inFlight.drain();
    // A range, not LIKE: keys may hold `_`, which LIKE treats as a wildcard.
    let query = this.db.selectFrom('small_objects').select('key').where('key', '>=', prefix);
    if (prefix !== '') query = query.where('key', '<', `${prefix}\u{10ffff}`);
    for (const row of await query.execute()) yield row.key;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inFlight.drain();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('EV_ERR_STORAGE_CLOSED', 'the blob store is closed');
  }

  /**
   * Queued synchronously, so writes commit in the order they were called (the group commit keeps its
   * queue's order, within a transaction and across them): the last put to a key wins.
   */
  private write(key: string, query: CompiledQuery): Promise<void> {
    this.assertOpen();
    const done = this.inFlight.track(this.commits.run([query]).then(() => {}));
    this.pending.set(key, done);
    const forget = () => {
      if (this.pending.get(key) === done) this.pending.delete(key);
    };
    done.then(forget, forget);
    return done;
  }
}
