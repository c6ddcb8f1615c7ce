/**
 * A log-structured BlobStore: objects are appended to a few large log files, and where each one is
 * (file, offset, length) is a row of the cell's database. It is the embedded default's store of
 * sealed objects (docs/STORAGE.md "LogBlobStore"): writing a segment costs a share of one append and
 * one fdatasync, where a file per object cost a file creation, a rename and two fsyncs.
 *
 * Files: `<dir>/<10-digit number>.log`, mode 0600. Each starts with `EVLG` 0x01 0 0 0; each record is
 * `EVLR` | key length (uint16 BE) | data length (uint32 BE) | key (ASCII) | data. A process only ever
 * appends to a file it created itself: `open` starts a new file, and a new one follows when the
 * current one passes `maxFileBytes`.
 *
 * Durability and atomicity. Puts arriving together are written with one `writev` and made durable
 * with one `fdatasync` of the log file (a new file's name is made durable by fsyncing the directory
 * before any row points into it); only then are their rows upserted, through the cell's group commit
 * (db/group-commit.ts), and a put resolves once its row is committed. So a row only ever points at
 * bytes that are on disk, and a crash at any instant leaves every key with its old row (old value, or
 * none) or its new one. Bytes a crash left without a row — a torn record at the end of a file, a
 * record whose row never committed — are never read: reads go through rows, never by scanning.
 *
 * A row may also keep a small record of the object's (`LogPutOptions.record`, up to 64 KiB): the at-rest
 * layer keeps each object's key record there (blob-store.encrypted.ts), so that a first put inserts one
 * row, not two, and an upload's metadata costs one random b-tree insertion fewer (docs/STORAGE.md). The
 * record is written with the location, survives compaction, can be replaced alone (`setRecord`, for a
 * key rotation's re-wrap) and goes with the row.
 *
 * Deleting a key deletes its row; its bytes stay in the log until reclaimed. `reclaim()` (run at open
 * and a few seconds after deletes) removes files no row points into, and compacts files mostly dead:
 * their live objects are appended again, then the file is removed. A key whose row is gone cannot be
 * read through this store; what makes deleted bytes unreadable to anyone holding the disk is the
 * at-rest layer above: a crypto-shred destroys the object's data key first (blob-store.encrypted.ts).
 *
 * Ordering: operations on one key take effect in the order they were called. One process writes a
 * directory at a time.
 */
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { CompiledQuery, Kysely } from 'kysely';
import { GroupCommit, type QueryResult, kyselyExecutor } from '../db/group-commit.js';
import { queryTemplate, rowsOf } from '../db/query-template.js';
import type { CellDatabase } from '../db/schema.js';
import { type ObjectBytes, type PartsBlobStore, type RowsBlobStore, assertBlobKey, assertBlobPrefix, partsOf } from './blob-store.js';
import { InFlight, KeyedQueue } from './concurrency.js';
import { StorageError, assertNotClosed, isErrno } from './errors.js';
import { DirSyncer, DurableDirs, FILE_MODE, syncDir } from './fs-durable.js';

const FILE_MAGIC = 'EVLG';
const RECORD_MAGIC = 'EVLR';
const FORMAT_VERSION = 1;
/**
 * Every batch starts on a block boundary and is padded with zeros to the next one, so that it can be
 * written with direct I/O, which asks for block-aligned offsets, lengths and memory. The file header
 * takes the first block: the first record is at LOG_BLOCK.
 */
export const LOG_BLOCK = 4096;
const alignUp = (n: number): number => Math.ceil(n / LOG_BLOCK) * LOG_BLOCK;
/** Default bytes of one batch (`maxBatchBytes`): 50 ms of a fully loaded server. */
const DEFAULT_MAX_BATCH = 8 * 2 ** 20;
/**
 * Default `batchIntervalMs`. Measured with 1,000 paced test takers (docs/BENCHMARKS.md): 5 ms, 10 ms
 * and 20 ms took 266, 309 and 305 MB per server CPU-second, against 224 with no interval.
 */
const DEFAULT_BATCH_INTERVAL_MS = 10;
/** The staging buffer grows in steps of this much. */
const STAGING_STEP = 2 ** 20;
const directIo = createRequire(import.meta.url)('@ronomon/direct-io') as { getAlignedBuffer(size: number, alignment: number): Buffer };
/** Undefined where the platform has no direct I/O (macOS): files are written through the page cache there. */
const O_DIRECT: number | undefined = fsConstants.O_DIRECT;
/** Bytes a record adds before its key and data. */
export const RECORD_HEADER = 10;
const namePattern = /^([0-9]{10})\.log$/;

export function logFileName(file: number): string {
  return `${String(file).padStart(10, '0')}.log`;
}

export interface LogBlobStoreOptions {
  /** The folder of the log files (created 0700 if missing). */
  readonly dir: string;
  /** The database holding the `log_objects` table (cell migration 0010). */
  readonly db: Kysely<CellDatabase>;
  /** The cell's shared group commit; by default one of the store's own. */
  readonly commits?: GroupCommit;
  /** A new log file is started once the current one passes this size. */
  readonly maxFileBytes?: number;
  /** Bytes written with one write and one fdatasync at most (but one object always goes whole). */
  readonly maxBatchBytes?: number;
  /**
   * Write the log with direct I/O (O_DIRECT) where the filesystem takes it (default true): a batch
   * goes from memory to the disk without being copied into the page cache, whose pages the server
   * would not read again soon. Where the filesystem refuses it (tmpfs, some network filesystems),
   * and with false, the same blocks are written through the page cache.
   */
  readonly directIo?: boolean;
  /**
   * A batch is taken at most this often (default 10 ms) unless a full batch is waiting. Each batch
   * costs an fdatasync and a commit of its rows whatever it holds: taken as soon as the last one is
   * written, batches under a steady load held two or three puts each. The wait adds at most this
   * much to a put's latency, and nothing to a put that finds the store idle for as long.
   */
  readonly batchIntervalMs?: number;
  /** How long after a delete `reclaim` runs (default 5 s); null: only when called. */
  readonly reclaimDelayMs?: number | null;
  /** A file whose live bytes are below this share of its size is compacted by `reclaim`. */
  readonly compactBelow?: number;
}

export interface ReclaimResult {
  /** Log files removed. */
  readonly files: number;
  /** Live objects appended again from files being compacted. */
  readonly moved: number;
}

/** What a put also does besides storing the object. */
export interface LogPutOptions {
  /** The location is inserted, not replaced: the write fails if the key holds an object (`putNewWith`). */
  readonly fresh?: boolean;
  /** Kept in the object's row with its location (at most MAX_ROW_RECORD bytes); without it, a row keeps the record it has. */
  readonly record?: Uint8Array;
}

/** The largest record a row keeps: it is meant for key records (~100 bytes), not data. */
export const MAX_ROW_RECORD = 64 * 1024;

interface Append {
  readonly key: string;
  readonly parts: readonly Uint8Array[];
  readonly length: number;
  /** Queries committed in the same write as the object's location (RowsBlobStore). */
  readonly alongside: readonly CompiledQuery[];
  readonly fresh: boolean;
  readonly record: Uint8Array | null;
  resolve(results: readonly QueryResult[]): void;
  reject(error: unknown): void;
}

interface Writer {
  readonly file: number;
  readonly handle: FileHandle;
  /** Where the next record goes. */
  size: number;
  /** A write or fdatasync failed: nothing more is appended, and what was not yet durable is refused. */
  broken: boolean;
  /** Opened with O_DIRECT. */
  readonly direct: boolean;
}

interface Location {
  readonly key: string;
  readonly file: number;
  readonly offset: number;
  readonly length: number;
}

// A new location keeps the row's record (an overwrite, a compaction) unless a put brings one.
const upsert = queryTemplate((db: Kysely<CellDatabase>, key: string, file: number, offset: number, length: number) =>
  db.insertInto('log_objects').values({ key, file, offset, length, record: null }).onConflict((oc) => oc.column('key').doUpdateSet({ file, offset, length })));
const upsertRecord = queryTemplate((db: Kysely<CellDatabase>, key: string, file: number, offset: number, length: number, record: Uint8Array) =>
  db.insertInto('log_objects').values({ key, file, offset, length, record }).onConflict((oc) => oc.column('key').doUpdateSet({ file, offset, length, record })));
const insert = queryTemplate((db: Kysely<CellDatabase>, key: string, file: number, offset: number, length: number, record: Uint8Array | null) =>
  db.insertInto('log_objects').values({ key, file, offset, length, record }));
const remove = queryTemplate((db: Kysely<CellDatabase>, key: string) => db.deleteFrom('log_objects').where('key', '=', key));
const locate = queryTemplate((db: Kysely<CellDatabase>, key: string) => db.selectFrom('log_objects').select(['file', 'offset', 'length', 'record']).where('key', '=', key));
const recordOf = queryTemplate((db: Kysely<CellDatabase>, key: string) => db.selectFrom('log_objects').select('record').where('key', '=', key));
const replaceRecord = queryTemplate((db: Kysely<CellDatabase>, key: string, record: Uint8Array) => db.updateTable('log_objects').set({ record }).where('key', '=', key));

interface Row {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
  readonly record: Uint8Array | null;
}

/** An object as `getWithRecord` returns it. */
export interface StoredObject {
  readonly data: Uint8Array;
  /** The record its row keeps, or null. */
  readonly record: Uint8Array | null;
}

/** The file's first block: the header, then zeros. Aligned memory, for direct I/O. */
function fileHeaderBlock(): Buffer {
  const block = directIo.getAlignedBuffer(LOG_BLOCK, LOG_BLOCK);
  block.fill(0);
  block.write(FILE_MAGIC, 0, 'latin1');
  block[4] = FORMAT_VERSION;
  return block;
}

function recordBytes(a: Pick<Append, 'key' | 'length'>): number {
  return RECORD_HEADER + a.key.length + a.length;
}

function checkRecord(record: Uint8Array): Uint8Array {
  if (record.byteLength > MAX_ROW_RECORD) throw new RangeError(`a LogBlobStore row keeps a record of up to ${MAX_ROW_RECORD} bytes`);
  return record;
}

function isDirectIoRefused(error: unknown): boolean {
  return isErrno(error, 'EINVAL') || isErrno(error, 'EOPNOTSUPP');
}

export class LogBlobStore implements PartsBlobStore, RowsBlobStore {
  readonly rowsAlongside = true;
  private readonly db: Kysely<CellDatabase>;
  /** Where the locations commit; queries passed alongside a put must be for the same database. */
  readonly commits: GroupCommit;
  private readonly maxFileBytes: number;
  private readonly maxBatchBytes: number;
  private readonly batchIntervalMs: number;
  /** When the last batch was taken (performance.now()). */
  private lastBatchAt = -Infinity;
  /** Bytes of the records queued and not yet taken into a batch. */
  private queuedBytes = 0;
  private readonly directIo: boolean;
  /** Where a batch is assembled, block-aligned, before its one write; reused from batch to batch. */
  private staging: Buffer;
  private readonly reclaimDelayMs: number | null;
  private readonly compactBelow: number;
  private readonly order = new KeyedQueue();
  private readonly inFlight = new InFlight();
  private queue: Append[] = [];
  private writing: Promise<void> | null = null;
  /** Rows not yet committed, per file: such a file is not reclaimed. */
  private readonly uncommitted = new Map<number, number>();
  private reclaimTimer: NodeJS.Timeout | null = null;
  private reclaiming: Promise<ReclaimResult> | null = null;
  private closing: Promise<void> | null = null;
  /** Counters for tests and metrics: `puts` made durable by `syncs` fdatasyncs. */
  readonly stats = { puts: 0, syncs: 0 };

  private constructor(
    readonly dir: string,
    private writer: Writer,
    options: LogBlobStoreOptions,
  ) {
    this.db = options.db;
    this.commits = options.commits ?? new GroupCommit(kyselyExecutor(options.db));
    this.maxFileBytes = options.maxFileBytes ?? 256 * 2 ** 20;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH;
    this.batchIntervalMs = options.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
    this.directIo = options.directIo ?? true;
    this.staging = directIo.getAlignedBuffer(STAGING_STEP, LOG_BLOCK);
    this.reclaimDelayMs = options.reclaimDelayMs === undefined ? 5000 : options.reclaimDelayMs;
    this.compactBelow = options.compactBelow ?? 0.5;
  }

  /** Opens the store in `dir`, starting a new log file; a reclaim of older files starts in the background. */
  static async open(options: LogBlobStoreOptions): Promise<LogBlobStore> {
    const dir = resolve(options.dir);
    await new DurableDirs(new DirSyncer()).ensure(dir);
    const files = await LogBlobStore.files(dir);
    const writer = await LogBlobStore.newFile(dir, (files.at(-1) ?? 0) + 1, options.directIo ?? true);
    const store = new LogBlobStore(dir, writer, options);
    if (store.reclaimDelayMs !== null) store.scheduleReclaim(0);
    return store;
  }

  /** The numbers of the log files in `dir`, ascending. */
  private static async files(dir: string): Promise<number[]> {
    const numbers: number[] = [];
    for (const name of await readdir(dir)) {
      const m = namePattern.exec(name);
      if (m) numbers.push(Number(m[1]));
    }
    return numbers.sort((a, b) => a - b);
  }

  private static async newFile(dir: string, file: number, direct: boolean): Promise<Writer> {
    const path = join(dir, logFileName(file));
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
    let handle: FileHandle | null = null;
    if (direct && O_DIRECT !== undefined) {
      try {
        handle = await open(path, flags | O_DIRECT, FILE_MODE);
        await handle.write(fileHeaderBlock(), 0, LOG_BLOCK, 0);
      } catch (error) {
        await handle?.close().catch(() => {});
        if (!isDirectIoRefused(error)) throw error;
        // This filesystem takes no direct I/O: the same file, through the page cache.
        await unlink(path).catch(() => {});
        handle = null;
      }
    }
    const isDirect = handle !== null;
    try {
      if (!handle) {
        handle = await open(path, flags, FILE_MODE);
        await handle.write(fileHeaderBlock(), 0, LOG_BLOCK, 0);
      }
      await handle.datasync();
      // The name must be durable before any committed row points into the file.
      await syncDir(dir);
    } catch (error) {
      await handle?.close().catch(() => {});
      throw error;
    }
    return { file, handle, size: LOG_BLOCK, broken: false, direct: isDirect };
  }

  /** Whether the file being written takes direct I/O (for tests and the benchmark's report). */
  get writingDirect(): boolean {
    return this.writer.direct;
  }

  // The methods are async so that a bad key or a closed store reject rather than throw; the part
  // before the first await (taking the key's turn) still runs at the call.
  async put(key: string, data: Uint8Array): Promise<void> {
    await this.putParts(key, [data]);
  }

  /** `put` of the parts' concatenation, without making it: they are written as they are. */
  async putParts(key: string, parts: readonly Uint8Array[]): Promise<void> {
    await this.putPartsWith(key, parts, []);
  }

  async putWith(key: string, data: Uint8Array, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    return this.putPartsWith(key, [data], alongside);
  }

  async putNewWith(key: string, data: ObjectBytes, alongside: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    return this.putPartsWith(key, partsOf(data), alongside, { fresh: true });
  }

  /**
   * `putParts` and `putWith` in one, with `options` (`fresh`: `putNewWith`). A refused fresh put
   * leaves its bytes in the log with no row pointing at them: dead space, reclaimed like a deleted
   * object's.
   */
  async putPartsWith(key: string, parts: readonly Uint8Array[], alongside: readonly CompiledQuery[], options: LogPutOptions = {}): Promise<readonly QueryResult[]> {
    this.check(key);
    const length = parts.reduce((n, p) => n + p.byteLength, 0);
    if (length > 0xffffffff) throw new RangeError('LogBlobStore holds objects up to 4 GiB');
    // Copied now: the caller may reuse its buffer once the put resolves, and the row is written later.
    const record = options.record ? Uint8Array.from(checkRecord(options.record)) : null;
    return this.inFlight.track(this.order.run(key, () => this.append({ key, parts, length, alongside, fresh: options.fresh ?? false, record })));
  }

  async get(key: string): Promise<Uint8Array | null> {
    this.check(key);
    return this.inFlight.track(this.order.run(key, async () => (await this.read(key))?.data ?? null));
  }

  /** The object and the record its row keeps, read together; null when the key holds no object. */
  async getWithRecord(key: string): Promise<StoredObject | null> {
    this.check(key);
    return this.inFlight.track(this.order.run(key, () => this.read(key)));
  }

  /** The record the key's row keeps; null when it keeps none or the key holds no object. */
  async record(key: string): Promise<Uint8Array | null> {
    this.check(key);
    return this.inFlight.track(
      this.order.run(key, async () => {
        const [row] = await rowsOf<{ record: Uint8Array | null }>(this.db, recordOf(this.db, key));
        return row?.record ? new Uint8Array(row.record) : null;
      }),
    );
  }

  /** Replaces the record the key's row keeps, leaving the object as it is; false when the key holds no object. */
  async setRecord(key: string, record: Uint8Array): Promise<boolean> {
    this.check(key);
    const query = replaceRecord(this.db, key, Uint8Array.from(checkRecord(record)));
    return this.inFlight.track(this.order.run(key, async () => (await this.commits.run([query]))[0]?.changes === 1));
  }

  /** Every key under `prefix` whose row keeps a record (in no promised order; `list`'s prefix rule). */
  async *listRecorded(prefix: string): AsyncIterable<string> {
    for await (const key of this.keys(prefix, true)) yield key;
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    return this.inFlight.track(
      this.order.run(key, async () => {
        await this.commits.run([remove(this.db, key)]);
        if (this.reclaimDelayMs !== null) this.scheduleReclaim(this.reclaimDelayMs);
      }),
    );
  }

  async *list(prefix: string): AsyncIterable<string> {
    for await (const key of this.keys(prefix, false)) yield key;
  }

  private async *keys(prefix: string, recorded: boolean): AsyncIterable<string> {
    if (prefix !== '') assertBlobPrefix(prefix);
    assertNotClosed(this.closing);
    // A range, not LIKE: keys may hold `_`, which LIKE treats as a wildcard.
    let query = this.db.selectFrom('log_objects').select('key').where('key', '>=', prefix);
    if (prefix !== '') query = query.where('key', '<', `${prefix}\u{10ffff}`);
    if (recorded) query = query.where('record', 'is not', null);
    for (const row of await query.execute()) yield row.key;
  }

  /**
   * Removes log files no row points into (other than the one being written) and compacts those whose
   * live objects fill less than `compactBelow` of them: their objects are appended again, then the
   * file is removed. Runs one at a time; concurrent calls share the run.
   */
  reclaim(): Promise<ReclaimResult> {
    assertNotClosed(this.closing);
    this.reclaiming ??= this.inFlight.track(this.reclaimNow()).finally(() => (this.reclaiming = null));
    return this.reclaiming;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.reclaimTimer) clearTimeout(this.reclaimTimer);
      await this.inFlight.drain();
      while (this.writing) await this.writing;
      await this.writer.handle.close();
    })();
    return this.closing;
  }

  private check(key: string): void {
    assertBlobKey(key);
    assertNotClosed(this.closing);
  }

  private append(put: Omit<Append, 'resolve' | 'reject'>): Promise<readonly QueryResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...put, resolve, reject });
      this.queuedBytes += recordBytes(put);
      this.writing ??= this.drain();
    });
  }

  /**
   * Writes what is queued, a batch at a time, as a pipeline: a batch is written, then its fdatasync
   * runs while the next batch is assembled and written. Each fdatasync starts only once its batch's
   * bytes are written and the previous batch's fdatasync has returned, so a batch's rows go to the
   * group commit only once its own bytes, and every byte before them, are durable.
   */
  private async drain(): Promise<void> {
    // Yield once so puts from requests already in flight join this batch.
    await new Promise((r) => setImmediate(r));
    let previous: Promise<void> = Promise.resolve();
    for (;;) {
      while (this.queue.length > 0) {
        await this.gather();
        const { batch, bytes } = this.takeBatch();
        const w = this.writer;
        const full = w.size > LOG_BLOCK && w.size + bytes > this.maxFileBytes;
        if (w.broken || full) {
          // What a failed write or fdatasync left in the file is unknown: never append after it. And a
          // file is only closed once the fdatasyncs queued on it have returned.
          await previous;
          try {
            await this.roll();
          } catch (error) {
            for (const a of batch) a.reject(error);
            continue;
          }
        }
        const writer = this.writer;
        let rows: Location[];
        try {
          rows = await this.writeBatch(writer, batch, bytes);
        } catch (error) {
          writer.broken = true;
          for (const a of batch) a.reject(error);
          continue;
        }
        previous = this.syncBatch(previous, writer, batch, rows);
      }
      // Puts that arrived while the last fdatasync ran are written by this drain, not left queued.
      await previous;
      if (this.queue.length === 0) break;
    }
    this.writing = null;
  }

  /** Waits until `batchIntervalMs` after the last batch was taken, unless a full batch is queued already. */
  private async gather(): Promise<void> {
    const wait = this.lastBatchAt + this.batchIntervalMs - performance.now();
    if (wait >= 1 && this.queuedBytes < this.maxBatchBytes) await new Promise((r) => setTimeout(r, wait));
    this.lastBatchAt = performance.now();
  }

  private takeBatch(): { batch: Append[]; bytes: number } {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || bytes < this.maxBatchBytes)) bytes += recordBytes(this.queue[count++] as Append);
    this.queuedBytes -= bytes;
    return { batch: this.queue.splice(0, count), bytes };
  }

  /**
   * Writes the batch after what is there, in one write from the staging buffer: its records back to
   * back from a block boundary, then zeros to the next. Returns where each record went.
   */
  private async writeBatch(w: Writer, batch: readonly Append[], bytes: number): Promise<Location[]> {
    const length = alignUp(bytes);
    if (this.staging.length < length) this.staging = directIo.getAlignedBuffer(Math.ceil(length / STAGING_STEP) * STAGING_STEP, LOG_BLOCK);
    const staging = this.staging;
    const rows: Location[] = [];
    let at = 0;
    for (const a of batch) {
      rows.push({ key: a.key, file: w.file, offset: w.size + at, length: a.length });
      staging.write(RECORD_MAGIC, at, 'latin1');
      staging.writeUInt16BE(a.key.length, at + 4);
      staging.writeUInt32BE(a.length, at + 6);
      staging.write(a.key, at + RECORD_HEADER, 'latin1'); // keys are ASCII (blob-store.ts)
      at += RECORD_HEADER + a.key.length;
      for (const part of a.parts) {
        staging.set(part, at);
        at += part.byteLength;
      }
    }
    staging.fill(0, at, length);
    const { bytesWritten } = await w.handle.write(staging, 0, length, w.size);
    if (bytesWritten !== length) throw new Error(`short write to ${logFileName(w.file)}: ${bytesWritten} of ${length} bytes`);
    w.size += length;
    // An object larger than a batch grew the buffer: do not keep that much memory for good.
    if (staging.length > alignUp(this.maxBatchBytes) + STAGING_STEP) this.staging = directIo.getAlignedBuffer(STAGING_STEP, LOG_BLOCK);
    return rows;
  }

  /** After `previous`: makes the batch durable, then hands its rows to the group commit. */
  private async syncBatch(previous: Promise<void>, w: Writer, batch: readonly Append[], rows: readonly Location[]): Promise<void> {
    await previous;
    try {
      if (w.broken) throw new StorageError('EV_ERR_STORAGE_LOG_FAILED', `an earlier write to ${logFileName(w.file)} failed: the object was not stored`);
      await w.handle.datasync();
    } catch (error) {
      // After a failed fdatasync the kernel may report the next one as a success, data lost or not:
      // nothing written to this file since is trusted either.
      w.broken = true;
      for (const a of batch) a.reject(error);
      return;
    }
    this.stats.syncs++;
    this.stats.puts += batch.length;
    this.uncommitted.set(w.file, (this.uncommitted.get(w.file) ?? 0) + 1);
    // Not awaited: the next batch is made durable while these rows commit. The plain locations share
    // one write; a put with queries alongside has a write of its own, so that a failing query undoes
    // its own put only.
    const location = (i: number) => {
      const row = rows[i] as Location;
      const { fresh, record } = batch[i] as Append;
      if (fresh) return insert(this.db, row.key, row.file, row.offset, row.length, record);
      return record ? upsertRecord(this.db, row.key, row.file, row.offset, row.length, record) : upsert(this.db, row.key, row.file, row.offset, row.length);
    };
    const plain = batch.flatMap((a, i) => (a.alongside.length === 0 ? [i] : []));
    const writes: Promise<unknown>[] = [];
    if (plain.length > 0) {
      writes.push(
        this.commits.run(plain.map(location)).then(
          () => plain.forEach((i) => (batch[i] as Append).resolve([])),
          (error: unknown) => plain.forEach((i) => (batch[i] as Append).reject(error)),
        ),
      );
    }
    batch.forEach((a, i) => {
      if (a.alongside.length === 0) return;
      writes.push(this.commits.run([location(i), ...a.alongside]).then(
        (results) => a.resolve(results.slice(1)),
        (error: unknown) => a.reject(error),
      ));
    });
    void Promise.allSettled(writes).finally(() => {
      const left = (this.uncommitted.get(w.file) ?? 1) - 1;
      if (left > 0) this.uncommitted.set(w.file, left);
      else this.uncommitted.delete(w.file);
    });
  }

  /** Starts the next log file; the previous one is closed once its queued work is done. */
  private async roll(): Promise<void> {
    const previous = this.writer;
    this.writer = await LogBlobStore.newFile(this.dir, previous.file + 1, this.directIo);
    await previous.handle.close().catch(() => {});
  }

  private async read(key: string): Promise<StoredObject | null> {
    const [row] = await rowsOf<Row>(this.db, locate(this.db, key));
    if (!row) return null;
    const length = Number(row.length);
    const total = RECORD_HEADER + key.length + length;
    const handle = await open(join(this.dir, logFileName(Number(row.file))), 'r');
    let record: Buffer;
    try {
      record = Buffer.allocUnsafe(total);
      const { bytesRead } = await handle.read(record, 0, total, Number(row.offset));
      if (bytesRead !== total) throw this.corrupt(key, 'the record is cut short');
    } finally {
      await handle.close();
    }
    if (record.toString('latin1', 0, 4) !== RECORD_MAGIC || record.readUInt16BE(4) !== key.length || record.readUInt32BE(6) !== length || record.toString('latin1', RECORD_HEADER, RECORD_HEADER + key.length) !== key) {
      throw this.corrupt(key, 'the record does not match its index row');
    }
    return { data: new Uint8Array(record.buffer, record.byteOffset + RECORD_HEADER + key.length, length), record: row.record ? new Uint8Array(row.record) : null };
  }

  private corrupt(key: string, why: string): StorageError {
    return new StorageError('EV_ERR_STORAGE_CORRUPT', `stored object ${JSON.stringify(key)} is unreadable: ${why}`);
  }

  private scheduleReclaim(delayMs: number): void {
    if (this.reclaimTimer || this.closing) return;
    this.reclaimTimer = setTimeout(() => {
      this.reclaimTimer = null;
      if (this.closing) return;
      // A failed reclaim leaves space unreclaimed, nothing else; the next delete tries again.
      this.reclaim().catch(() => {});
    }, delayMs);
    this.reclaimTimer.unref();
  }

  private async reclaimNow(): Promise<ReclaimResult> {
    const live = new Map<number, { objects: number; bytes: number }>();
    // Each object counts as if it filled its blocks alone: padding between batches is not dead space
    // that compacting would win back, since objects compacted one at a time are padded again.
    const rows = await this.db
      .selectFrom('log_objects')
      .select((eb) => ['file', eb.fn.countAll<number>().as('objects'), eb.fn.sum<number>(eb(eb(eb('length', '+', RECORD_HEADER + LOG_BLOCK - 1), '/', LOG_BLOCK), '*', LOG_BLOCK)).as('bytes')])
      .groupBy('file')
      .execute();
    for (const r of rows) live.set(Number(r.file), { objects: Number(r.objects), bytes: Number(r.bytes) });
    let files = 0;
    let moved = 0;
    for (const file of await LogBlobStore.files(this.dir)) {
      if (file >= this.writer.file || this.uncommitted.has(file)) continue;
      const path = join(this.dir, logFileName(file));
      const used = live.get(file);
      if (used) {
        const size = (await stat(path)).size;
        if (used.bytes >= size * this.compactBelow) continue;
        moved += await this.compact(file);
        if (this.uncommitted.has(file)) continue;
        const left = await this.db.selectFrom('log_objects').select('key').where('file', '=', file).limit(1).executeTakeFirst();
        if (left) continue;
      }
      try {
        await unlink(path);
        files++;
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
    if (files > 0) await syncDir(this.dir);
    return { files, moved };
  }

  /** Appends again every object whose row points into `file`; returns how many moved. */
  private async compact(file: number): Promise<number> {
    const keys = await this.db.selectFrom('log_objects').select('key').where('file', '=', file).execute();
    let moved = 0;
    for (const { key } of keys) {
      await this.order.run(key, async () => {
        const row = await this.db.selectFrom('log_objects').select('file').where('key', '=', key).executeTakeFirst();
        if (!row || Number(row.file) !== file) return; // deleted or rewritten meanwhile
        const stored = await this.read(key);
        if (!stored) return;
        // No record given: the row keeps its own.
        await this.append({ key, parts: [stored.data], length: stored.data.byteLength, alongside: [], fresh: false, record: null });
        moved++;
      });
    }
    return moved;
  }
}
