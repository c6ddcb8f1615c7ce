/**
 * A BlobStore on the local filesystem: the embedded default (DESIGN "Storage and scale").
 *
 * Layout. A key's segments are path segments under the root: `rec/42/seg/7` is the file
 * `<root>/rec/42/seg/7+`. Every object file ends in `+`, a character keys cannot contain, so a key
 * and a longer key below it (`a` and `a/b`) live side by side as the file `a+` and the directory `a`,
 * and no object name can collide with a temporary file (`.tmp-<random>-<n>`, never ending in `+`). A
 * segment longer than 200 characters (a filesystem name holds 255 bytes) is split into directories
 * ending in `=`, also outside the key alphabet: `<200 chars>=/<rest>+`. Files are created 0600 and
 * directories 0700. Names that are not ours (foreign files, temporary files) are ignored by `get` and
 * `list`; leftover temporary files from a crash are removed by a sweep started in the background by
 * `open`.
 *
 * Durability (see fs-durable.ts for the rule): `put` writes a temporary file beside the target, fsyncs
 * it (the bytes), renames it over the target (the atomic switch) and fsyncs the directory (the new
 * name); it resolves only after all of that. Directory fsyncs are group-committed per directory, so a
 * burst of puts into one recording's folder shares one. `delete` unlinks, then fsyncs the directory
 * (group-committed too): a crypto-shredded key record must not come back after a power cut.
 *
 * Ordering: operations on one key take effect in the order they were called (the last `put` called
 * wins), while their file writes still run in parallel. One process writes a root at a time: the
 * sweep of a second one would remove the first one's temporary files. Empty directories are left in
 * place when their last object is deleted (removing them would race with puts into them).
 */
import type { Dirent } from 'node:fs';
import { readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BlobStore, assertBlobKey, assertBlobPrefix } from './blob-store.js';
import { InFlight, KeyedQueue } from './concurrency.js';
import { StorageError, isErrno } from './errors.js';
import { DirSyncer, DurableDirs, TempNames, writeTempFile } from './fs-durable.js';

const OBJECT_SUFFIX = '+';
const CONTINUED_SUFFIX = '=';
const MAX_NAME = 200;
const segmentPattern = /^[A-Za-z0-9._-]+$/;

/** The path components of one key segment: itself, or chunks of 200 ending in `=` but the last. */
function segmentNames(segment: string): string[] {
  if (segment.length <= MAX_NAME) return [segment];
  const names: string[] = [];
  for (let i = 0; i < segment.length; i += MAX_NAME) names.push(segment.slice(i, i + MAX_NAME));
  return names.map((name, i) => (i < names.length - 1 ? name + CONTINUED_SUFFIX : name));
}

function isSegment(name: string): boolean {
  return segmentPattern.test(name) && name !== '.' && name !== '..';
}

export class FsBlobStore implements BlobStore {
  private readonly syncer = new DirSyncer();
  private readonly dirs = new DurableDirs(this.syncer);
  private readonly temps = new TempNames();
  private readonly order = new KeyedQueue();
  private readonly inFlight = new InFlight();
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Resolves to the number of leftover temporary files removed by the sweep `open` started. */
  readonly swept: Promise<number>;

  private constructor(readonly root: string) {
    this.swept = this.sweep(root);
    this.swept.catch(() => {}); // a failed sweep only leaves invisible files behind
  }

  /** Opens (creating if needed, mode 0700) the store rooted at `root`. */
  static async open(root: string): Promise<FsBlobStore> {
    const absolute = resolve(root);
    await new DurableDirs(new DirSyncer()).ensure(absolute);
    return new FsBlobStore(absolute);
  }

  /** Directory fsyncs asked for and actually done; see DirSyncer. */
  get syncStats(): { readonly requests: number; readonly fsyncs: number } {
    return { ...this.syncer.stats };
  }

  // The methods are async so that a bad key or a closed store reject rather than throw; the part
  // before the first await (here: taking the key's turn) still runs at the call.
  async put(key: string, data: Uint8Array): Promise<void> {
    assertBlobKey(key);
    this.assertOpen();
    const turn = this.order.take(key);
    return this.inFlight.track(
      (async () => {
        try {
          const { dir, file } = this.locate(key);
          await this.dirs.ensure(dir);
          const temp = await writeTempFile(dir, this.temps, data);
          try {
            await turn.ready;
            await rename(temp, file);
          } catch (error) {
            await unlink(temp).catch(() => {});
            throw error;
          } finally {
            turn.done();
          }
          await this.syncer.sync(dir);
        } finally {
          turn.done();
        }
      })(),
    );
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertBlobKey(key);
    this.assertOpen();
    return this.inFlight.track(
      (async () => {
        try {
          return await readFile(this.locate(key).file);
        } catch (error) {
          if (isErrno(error, 'ENOENT', 'ENOTDIR')) return null;
          throw error;
        }
      })(),
    );
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    this.assertOpen();
    const { dir, file } = this.locate(key);
    return this.inFlight.track(
      this.order.run(key, async () => {
        try {
          await unlink(file);
        } catch (error) {
          if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
        }
        // Even when the name was already gone: an earlier delete of it may still await its fsync,
        // and this one must not resolve before the removal is durable.
        try {
          await this.syncer.sync(dir);
        } catch (error) {
          if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
        }
      }),
    );
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertBlobPrefix(prefix);
    this.assertOpen();
    // Start in the deepest directory the prefix names whole, so listing one recording never reads
    // the directory of all recordings.
    const slash = prefix.lastIndexOf('/');
    if (slash < 0) {
      yield* this.walk(this.root, '', prefix);
      return;
    }
    const head = prefix.slice(0, slash);
    try {
      assertBlobKey(head);
    } catch {
      return; // `a//b`, `../x`...: no key can start like that
    }
    yield* this.walk(join(this.root, ...head.split('/').flatMap(segmentNames)), `${head}/`, prefix);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.inFlight.drain();
      await this.swept.catch(() => {});
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('EV_ERR_STORAGE_CLOSED', 'the blob store is closed');
  }

  private locate(key: string): { dir: string; file: string } {
    const names = key.split('/').flatMap(segmentNames);
    const last = names.pop() as string;
    const dir = join(this.root, ...names);
    return { dir, file: join(dir, last + OBJECT_SUFFIX) };
  }

  /** Yields the keys below `dir`, whose path so far spells `soFar`, that start with `prefix`. */
  private async *walk(dir: string, soFar: string, prefix: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      const { name } = entry;
      if (entry.isFile()) {
        if (!name.endsWith(OBJECT_SUFFIX)) continue; // temporary or foreign
        const segment = name.slice(0, -1);
        if (!isSegment(segment)) continue;
        const key = soFar + segment;
        if (key.startsWith(prefix)) yield key;
      } else if (entry.isDirectory()) {
        const continued = name.endsWith(CONTINUED_SUFFIX);
        const segment = continued ? name.slice(0, -1) : name;
        if (!isSegment(segment)) continue;
        const below = continued ? soFar + segment : `${soFar}${segment}/`;
        if (below.startsWith(prefix) || prefix.startsWith(below)) yield* this.walk(join(dir, name), below, prefix);
      }
    }
  }

  /** Removes the temporary files a crashed writer left (never this store's own). Stops on close. */
  private async sweep(dir: string): Promise<number> {
    await Promise.resolve(); // let the constructor finish first
    let removed = 0;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return 0;
      throw error;
    }
    for (const entry of entries) {
      if (this.closed) break;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) removed += await this.sweep(path);
      else if (entry.isFile() && this.temps.isForeignTemp(entry.name)) {
        try {
          await unlink(path);
          removed++;
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
      }
    }
    return removed;
  }
}
