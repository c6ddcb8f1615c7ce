/**
 * Output files that appear whole or not at all. Bytes go to a hidden temporary file in the target's
 * directory (so the final rename stays on one file system and is atomic); `commit` flushes it to disk
 * and renames it into place, `abort` deletes it. `examvault open` relies on this to never leave
 * unauthenticated or partial plaintext behind (docs/SPEC.md §8): it commits only after the final
 * segment has verified.
 *
 * Without `overwrite`, the target is claimed with link(2), which fails if the name exists: two runs
 * racing for one name cannot both win, and an existing file is never replaced.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, link, lstat, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError, EXIT_INTERRUPTED } from './errors.js';

export interface AtomicFileOptions {
  /** Permission bits of the new file, before the umask; 0o600 for private keys. Default 0o666. */
  readonly mode?: number;
  /** Replace an existing file (`--force`). Default false: an existing file is an error. */
  readonly overwrite?: boolean;
}

/** Temporary files (and directories) not yet committed: deleted if the process is interrupted. */
const pending = new Set<string>();
let signalsHooked = false;

/** On Ctrl-C or a kill, delete pending temporary files before exiting, so no partial output remains. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const signals: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [signal, number] of Object.entries(signals)) {
    process.on(signal, () => {
      for (const path of pending) {
        try {
          rmSync(path, { recursive: true, force: true });
        } catch {
          // Already gone, or cannot be removed: nothing more to do while exiting.
        }
      }
      process.exit(signal === 'SIGINT' ? EXIT_INTERRUPTED : 128 + number);
    });
  }
}

/** A hidden temporary name beside `target`, in the same directory (so a rename stays atomic). */
function tempPathFor(target: string): string {
  return join(dirname(resolve(target)), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Why the temporary file or directory for `target` could not be created, as the user can fix it. */
function cannotCreate(target: string, e: unknown): unknown {
  const dir = dirname(resolve(target));
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CliError('EV_ERR_CLI_FILE_NOT_FOUND', `cannot write '${target}': no such directory '${dir}'`, 'create the directory first, or check the path');
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new CliError('EV_ERR_CLI_IO', `cannot write '${target}': permission denied in '${dir}'`, 'write the output to a directory you can write to');
  }
  return e;
}

function exists(target: string): CliError {
  return new CliError('EV_ERR_CLI_FILE_EXISTS', `'${target}' already exists`, 'choose another output name, or pass --force to replace it');
}

async function isPresent(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Flushes a directory entry (the rename) to disk; not every platform can, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename still happened.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Fails with the file-exists error when `target` exists; a fast check before expensive work. */
export async function assertAbsent(target: string): Promise<void> {
  if (await isPresent(target)) throw exists(target);
}

/** One output file in the making: write, then `commit` or `abort`. */
export class AtomicFile {
  private done = false;

  private constructor(
    /** The path the file will have once committed. */
    readonly target: string,
    /** Where the bytes are written until then. */
    readonly tempPath: string,
    private readonly handle: FileHandle,
    private readonly overwrite: boolean,
  ) {}

  /**
   * Creates the temporary file next to `target`. Fails early, before any work, when `target` exists
   * and `overwrite` is off (commit checks again, atomically).
   */
  static async create(target: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const overwrite = options.overwrite ?? false;
    if (!overwrite) await assertAbsent(target);
    const tempPath = tempPathFor(target);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx', options.mode ?? 0o666);
    } catch (e) {
      throw cannotCreate(target, e);
    }
    hookSignals();
    pending.add(tempPath);
    return new AtomicFile(target, tempPath, handle, overwrite);
  }

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    // A write may be partial; loop until the whole chunk is on its way to disk.
    while (offset < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }

  /** A sink for `pipeTo`; closing it does not commit: only an explicit `commit` does. */
  writable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({ write: (chunk) => this.write(chunk) });
  }

  /** Flushes the bytes to disk and moves the file to its final name. */
  async commit(): Promise<void> {
    if (this.done) throw new Error('atomic file already committed or aborted');
    await this.handle.sync();
    await this.handle.close();
    if (this.overwrite) {
      await rename(this.tempPath, this.target);
    } else {
      try {
        await link(this.tempPath, this.target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          await this.discard();
          throw exists(this.target);
        }
        // File systems without hard links (some network and FAT mounts): check, then rename. The
        // check and the rename can race, which only matters if two runs write one name at once.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
        if (await isPresent(this.target)) {
          await this.discard();
          throw exists(this.target);
        }
        await rename(this.tempPath, this.target);
      }
      await unlink(this.tempPath).catch(() => undefined);
    }
    this.done = true;
    pending.delete(this.tempPath);
    await syncDirectory(dirname(resolve(this.target)));
  }

  /** Deletes the temporary file; the target is left as it was. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.done) return;
    await this.handle.close().catch(() => undefined);
    await this.discard();
  }

  private async discard(): Promise<void> {
    await unlink(this.tempPath).catch(() => undefined);
    this.done = true;
    pending.delete(this.tempPath);
  }
}

/**
 * Runs `fill` against a new atomic file and commits it when `fill` resolves; any failure deletes the
 * temporary file and rethrows, so nothing is left at `target`.
 */
export async function writeAtomically<T>(target: string, options: AtomicFileOptions, fill: (file: AtomicFile) => Promise<T>): Promise<T> {
  const file = await AtomicFile.create(target, options);
  try {
    const result = await fill(file);
    await file.commit();
    return result;
  } catch (e) {
    await file.abort();
    throw e;
  }
}

/**
 * Creates the directory `target` whole or not at all: `fill` writes into a hidden temporary directory
 * beside it (each file through an AtomicFile, so flushed to disk), which is renamed to `target` only
 * when `fill` resolves, and deleted with everything in it on any failure or interruption. `target`
 * must not exist. The check before the rename can race another process creating an empty directory
 * of that name, which the rename would then replace; nothing is lost either way.
 */
export async function writeDirectoryAtomically<T>(target: string, fill: (dir: string) => Promise<T>): Promise<T> {
  await assertAbsent(target);
  const temp = tempPathFor(target);
  try {
    await mkdir(temp, { mode: 0o700 });
  } catch (e) {
    throw cannotCreate(target, e);
  }
  hookSignals();
  pending.add(temp);
  try {
    const result = await fill(temp);
    if (await isPresent(target)) throw exists(target);
    await rename(temp, target);
    pending.delete(temp);
    await syncDirectory(dirname(resolve(target)));
    return result;
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    pending.delete(temp);
    throw e;
  }
}
