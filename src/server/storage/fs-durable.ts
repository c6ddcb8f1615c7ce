/**
 * Durable file writes on a POSIX filesystem, shared by the fs blob store and the file keyring.
 *
 * The rule (what ext4, XFS and btrfs promise, and what they do not): a file's bytes are on disk once
 * the file is fsynced; a directory entry (a created, renamed or removed name) is on disk only once the
 * directory itself is fsynced. So a durable atomic replace is: write a temporary file, fsync it,
 * rename it over the target, fsync the directory. A crash before the rename leaves the old object and
 * a stray temporary file; after the rename, the new object, whole.
 *
 * Directory fsyncs are the expensive part when many small files land in one directory, so `DirSyncer`
 * group-commits them: every caller waiting on a directory is released by one fsync that started after
 * its rename.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isErrno } from './errors.js';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** fsync on a directory: makes the names created, renamed or removed in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Batch {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function batch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface DirState {
  running: boolean;
  /** The callers waiting for the next fsync of this directory (none while null). */
  next: Batch | null;
}

/**
 * Group commit for directory fsyncs. `sync(dir)` resolves after an fsync of `dir` that began after
 * the call. Callers that arrive while no fsync of `dir` runs are gathered until the next turn of the
 * event loop (every rename that completed in the same poll phase), those that arrive while one runs
 * wait for the next one: under load, one fsync per directory releases a whole batch.
 */
export class DirSyncer {
  private readonly dirs = new Map<string, DirState>();
  /** Counters for tests and metrics: `requests` callers, served by `fsyncs` directory fsyncs. */
  readonly stats = { requests: 0, fsyncs: 0 };

  sync(dir: string): Promise<void> {
    this.stats.requests++;
    let state = this.dirs.get(dir);
    if (!state) {
      state = { running: false, next: null };
      this.dirs.set(dir, state);
    }
    if (!state.next) {
      state.next = batch();
      if (!state.running) this.schedule(dir, state);
    }
    return state.next.promise;
  }

  private schedule(dir: string, state: DirState): void {
    setImmediate(() => void this.flush(dir, state));
  }

  private async flush(dir: string, state: DirState): Promise<void> {
    const waiting = state.next as Batch;
    state.next = null;
    state.running = true;
    this.stats.fsyncs++;
    try {
      await syncDir(dir);
      waiting.resolve();
    } catch (error) {
      waiting.reject(error);
    }
    state.running = false;
    if (state.next) this.schedule(dir, state);
    else this.dirs.delete(dir);
  }
}

/**
 * Directories that exist and whose entries are durable. `ensure(dir)` creates what is missing (mode
 * 0700) and fsyncs the parent of each directory it makes, since a file inside a directory whose own
 * entry was lost in a crash is lost with it. A directory found already there is treated the same way
 * once per process: a previous process may have created it and died before its parent was fsynced.
 * Results are cached (least recently used first out), so the hot path costs one map lookup.
 */
export class DurableDirs {
  private readonly known = new Map<string, Promise<void>>();

  constructor(
    private readonly syncer: DirSyncer,
    private readonly capacity = 4096,
  ) {}

  ensure(dir: string): Promise<void> {
    const cached = this.known.get(dir);
    if (cached) {
      this.known.delete(dir);
      this.known.set(dir, cached);
      return cached;
    }
    const parent = dirname(dir);
    if (parent === dir) return Promise.resolve(); // the filesystem root
    const made = (async () => {
      await this.ensure(parent);
      let existed = false;
      try {
        await mkdir(dir, { mode: DIR_MODE });
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
        existed = true;
      }
      try {
        await this.syncer.sync(parent);
      } catch (error) {
        // An ancestor we did not make and may not read (a 0711 home directory): its entry is the
        // owner's business, and was most likely durable long ago.
        if (!(existed && isErrno(error, 'EACCES', 'EPERM'))) throw error;
      }
    })();
    this.known.set(dir, made);
    made.catch(() => {
      if (this.known.get(dir) === made) this.known.delete(dir);
    });
    if (this.known.size > this.capacity) this.known.delete(this.known.keys().next().value as string);
    return made;
  }
}

/**
 * Names temporary files `<prefix><token>-<n>` (by default `.tmp-<token>-<n>`): the token is random per
 * writer, so writers never clash, and a sweep can tell a crashed writer's files from its own.
 */
export class TempNames {
  readonly prefix: string;
  private readonly pattern: RegExp;
  private counter = 0;

  constructor(readonly base = '.tmp-') {
    this.prefix = `${base}${randomBytes(8).toString('hex')}-`;
    this.pattern = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{16}-[0-9a-z]+$`);
  }

  next(): string {
    return `${this.prefix}${(this.counter++).toString(36)}`;
  }

  /** True for a name some writer with this base made (and only those: `.tmp-x` may be an object). */
  isTemp(name: string): boolean {
    return this.pattern.test(name);
  }

  /** True for a temporary file of another writer (one that crashed, if one writer owns the place). */
  isForeignTemp(name: string): boolean {
    return this.isTemp(name) && !name.startsWith(this.prefix);
  }
}

/**
 * Writes `data` to a new temporary file in `dir` (mode 0600, created exclusively) and fsyncs it;
 * returns its path. On failure nothing is left behind. `fdatasync` suffices: it flushes the bytes and
 * the size; the other metadata it skips (times) does not matter for reading the file back.
 */
export async function writeTempFile(dir: string, names: TempNames, data: Uint8Array): Promise<string> {
  for (;;) {
    const path = join(dir, names.next());
    let handle;
    try {
      handle = await open(path, 'wx', FILE_MODE);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) continue;
      throw error;
    }
    try {
      await handle.writeFile(data);
      await handle.datasync();
      await handle.close();
      return path;
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw error;
    }
  }
}

/**
 * Creates `path` with `data` unless it already exists: the whole file or nothing, and never over a
 * file another process created first (link fails with EEXIST, and theirs is kept). The directory is
 * fsynced so the new name survives a crash before anything that relies on it does.
 */
export async function createFileOnce(dir: string, path: string, names: TempNames, data: Uint8Array): Promise<void> {
  const temp = await writeTempFile(dir, names, data);
  try {
    await link(temp, path);
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  await syncDir(dir);
}

/** How a secret file's reader names what is wrong: not a regular file, or open to group or others. */
export interface SecretFileErrors {
  notRegular(): Error;
  /** `mode`: the file's permission bits as four octal digits, e.g. 0644. */
  exposed(mode: string): Error;
}

/**
 * Reads a secret file (a keyring, a log or tool key, a passcode key) after checking that it is a
 * regular file only its owner may access. The checks are on the file opened, not on the name, which
 * could be swapped between a check and a read.
 */
export async function readSecretFile(path: string, errors: SecretFileErrors): Promise<{ text: string; stats: Stats }> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw errors.notRegular();
    if ((stats.mode & 0o077) !== 0) throw errors.exposed((stats.mode & 0o777).toString(8).padStart(4, '0'));
    return { text: await handle.readFile('utf8'), stats };
  } finally {
    await handle.close();
  }
}
