/**
 * A region's key-encryption key (DESIGN "At rest"): the key that wraps every at-rest data key of the
 * region's cell. `KeyEncryptionKeyring` is the small interface the encrypted blob store needs, so a
 * KMS can stand in for the file keyring in production. `FileKeyring` is the embedded default: a JSON
 * file `keyring.json` holding every version of the key, one of them current.
 *
 * Contract of `KeyEncryptionKeyring`:
 * - `wrapKey(dek, aad)` wraps under the current version and says which (`keyId`, `version`). The
 *   store keeps all three with the object.
 * - `unwrapKey(wrapped, aad)` returns the data key, or null when `wrapped` does not authenticate under
 *   the version it names with this `aad` (modified, or moved to another object). It throws
 *   `EV_ERR_KEYRING_UNKNOWN_KEY` when it does not hold that key id and version, and on I/O failure.
 * - `current()` names the version `wrapKey` would use now, so a re-wrap can skip what is up to date.
 *
 * The file keyring, on disk:
 * ```json
 * { "format": "examvault-keyring/1", "keyId": "eu-kek", "current": 2,
 *   "versions": [{ "id": "eu-kek", "version": 1, "key": "<base64 of 32 bytes>", "createdAt": "<ISO 8601>" }, ...] }
 * ```
 * It is created on first use (file 0600 in a directory created 0700) and refused, with
 * `EV_ERR_KEYRING_PERMISSIONS`, if group or others have any access to it. Every change (`rotate`,
 * `removeVersion`) is a durable atomic replace (write a temporary file, fsync, rename, fsync the
 * directory) made under a lock file, so the CLI and a running server can share it: the server rereads
 * the file when it meets a version it does not know, and checks for a new current version at most
 * once per `reloadIntervalMs` (default 1 s).
 *
 * Wrapping is AES-256-GCM (Node's OpenSSL): `wrapped` = nonce (12 bytes) || ciphertext of the key || tag
 * (16 bytes). The GCM additional data is `keyId || 0x00 || version (uint32 BE) || aad`, so a wrapped
 * key only opens under the version it names, for the object it was made for.
 */
import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageError, isErrno, isStorageError } from './errors.js';
import { DirSyncer, DurableDirs, FILE_MODE, TempNames, createFileOnce, readSecretFile, syncDir, writeTempFile } from './fs-durable.js';
import { randomPool } from './random-pool.js';

export interface WrappedKey {
  readonly keyId: string;
  readonly version: number;
  readonly wrapped: Uint8Array;
}

export interface KeyEncryptionKeyring {
  current(): Promise<{ readonly keyId: string; readonly version: number }>;
  wrapKey(dek: Uint8Array, aad: Uint8Array): Promise<WrappedKey>;
  unwrapKey(wrapped: WrappedKey, aad: Uint8Array): Promise<Uint8Array | null>;
}

export interface FileKeyringOptions {
  /** The directory of `keyring.json`: the region's own, not shared with a blob store root. */
  readonly dir: string;
  /** The region's key id, e.g. `eu-kek`: `[a-z0-9-]`, 1–64 characters. */
  readonly keyId: string;
  /** How often `current` and `wrapKey` look for a rotation made by another process. */
  readonly reloadIntervalMs?: number;
}

export interface KeyVersionInfo {
  readonly version: number;
  readonly createdAt: string;
  readonly current: boolean;
}

const FORMAT = 'examvault-keyring/1';
const FILE_NAME = 'keyring.json';
const NONCE_LENGTH = 12;
const KEY_LENGTH = 32;
const keyIdPattern = /^[a-z0-9-]{1,64}$/;
const TAG_LENGTH = 16;

interface VersionEntry {
  readonly id: string;
  readonly version: number;
  readonly key: string;
  readonly createdAt: string;
}

interface KeyringFile {
  readonly format: typeof FORMAT;
  readonly keyId: string;
  readonly current: number;
  readonly versions: readonly VersionEntry[];
}

interface Loaded {
  readonly file: KeyringFile;
  readonly keys: ReadonlyMap<number, KeyObject>;
  /** What identifies this content on disk, to notice a replacement cheaply. */
  readonly stamp: string;
}

const stampOf = (s: { ino: number; size: number; mtimeMs: number; ctimeMs: number }) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

function malformed(path: string, why: string): StorageError {
  return new StorageError('EV_ERR_KEYRING_MALFORMED', `keyring ${path} is malformed: ${why}`);
}

function gcmAad(keyId: string, version: number, aad: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(keyId.length + 5 + aad.length);
  out.write(keyId, 0, 'latin1');
  out[keyId.length] = 0;
  out.writeUInt32BE(version, keyId.length + 1);
  out.set(aad, keyId.length + 5);
  return out;
}

function parse(path: string, text: string, keyId: string): KeyringFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw malformed(path, 'not JSON');
  }
  const file = data as Partial<KeyringFile> | null;
  if (!file || typeof file !== 'object' || file.format !== FORMAT) throw malformed(path, `format is not "${FORMAT}"`);
  if (file.keyId !== keyId) {
    throw new StorageError('EV_ERR_KEYRING_MISMATCH', `keyring ${path} holds key id ${JSON.stringify(file.keyId)}, not ${JSON.stringify(keyId)}`);
  }
  if (!Array.isArray(file.versions) || file.versions.length === 0) throw malformed(path, 'no versions');
  const seen = new Set<number>();
  for (const v of file.versions as unknown[]) {
    const entry = v as Partial<VersionEntry> | null;
    if (!entry || entry.id !== keyId || !Number.isInteger(entry.version) || (entry.version as number) < 1 || (entry.version as number) > 0xffffffff) {
      throw malformed(path, 'a version entry lacks a valid id or version');
    }
    if (seen.has(entry.version as number)) throw malformed(path, `version ${entry.version} appears twice`);
    seen.add(entry.version as number);
    if (typeof entry.key !== 'string' || Buffer.from(entry.key, 'base64').length !== KEY_LENGTH) throw malformed(path, `version ${entry.version} does not hold a 32-byte base64 key`);
    if (typeof entry.createdAt !== 'string') throw malformed(path, `version ${entry.version} has no createdAt`);
  }
  if (!Number.isInteger(file.current) || !seen.has(file.current as number)) throw malformed(path, 'the current version is not among the versions');
  return file as KeyringFile;
}

/** Key objects hold their bytes in native memory, out of the JavaScript heap; the decoded copies are wiped. */
function importKeys(file: KeyringFile): Map<number, KeyObject> {
  const keys = new Map<number, KeyObject>();
  for (const entry of file.versions) {
    const raw = Buffer.from(entry.key, 'base64');
    keys.set(entry.version, createSecretKey(raw));
    raw.fill(0);
  }
  return keys;
}

function newVersion(keyId: string, version: number): VersionEntry {
  return { id: keyId, version, key: randomBytes(KEY_LENGTH).toString('base64'), createdAt: new Date().toISOString() };
}

function serialize(file: KeyringFile): Uint8Array {
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

export class FileKeyring implements KeyEncryptionKeyring {
  readonly path: string;
  private readonly temps = new TempNames(`.${FILE_NAME}.tmp-`);
  private readonly reloadIntervalMs: number;
  private lastCheck = Date.now();
  private reloading: Promise<Loaded> | null = null;
  /** Changes by this process queue here; the lock file keeps other processes out. */
  private changing: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly keyId: string,
    private state: Loaded,
    reloadIntervalMs: number,
  ) {
    this.path = join(dir, FILE_NAME);
    this.reloadIntervalMs = reloadIntervalMs;
  }

  /** Opens the keyring in `dir`, creating it with a first version if there is none. */
  static async open(options: FileKeyringOptions): Promise<FileKeyring> {
    if (!keyIdPattern.test(options.keyId)) throw new RangeError(`invalid key id ${JSON.stringify(options.keyId)}: use [a-z0-9-], 1-64 characters`);
    const dir = resolve(options.dir);
    const path = join(dir, FILE_NAME);
    await new DurableDirs(new DirSyncer()).ensure(dir);
    const temps = new TempNames(`.${FILE_NAME}.tmp-`);
    let loaded: Loaded;
    try {
      loaded = await load(path, options.keyId);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
      await create(dir, path, temps, options.keyId);
      loaded = await load(path, options.keyId);
    }
    await removeStaleTemps(dir, path, temps);
    return new FileKeyring(dir, options.keyId, loaded, options.reloadIntervalMs ?? 1000);
  }

  async current(): Promise<{ keyId: string; version: number }> {
    await this.refreshIfStale();
    return { keyId: this.keyId, version: this.state.file.current };
  }

  async wrapKey(dek: Uint8Array, aad: Uint8Array): Promise<WrappedKey> {
    if (dek.length !== KEY_LENGTH) throw new RangeError('a data key is 32 bytes');
    await this.refreshIfStale();
    const version = this.state.file.current;
    const key = this.state.keys.get(version) as KeyObject;
    const nonce = randomPool.take(NONCE_LENGTH);
    // On the calling thread: wrapping 32 bytes takes microseconds, a thread-pool round trip far more.
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(gcmAad(this.keyId, version, aad));
    const wrapped = Buffer.concat([nonce, cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
    return { keyId: this.keyId, version, wrapped };
  }

  async unwrapKey(wrapped: WrappedKey, aad: Uint8Array): Promise<Uint8Array | null> {
    if (wrapped.keyId !== this.keyId) throw unknownKey(wrapped);
    let key = this.state.keys.get(wrapped.version);
    if (!key) {
      // Perhaps another process (the CLI) rotated since we loaded: look again, once.
      await this.reload();
      key = this.state.keys.get(wrapped.version);
      if (!key) throw unknownKey(wrapped);
    }
    if (wrapped.wrapped.length !== NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, wrapped.wrapped.subarray(0, NONCE_LENGTH), { authTagLength: TAG_LENGTH });
      decipher.setAAD(gcmAad(this.keyId, wrapped.version, aad));
      decipher.setAuthTag(wrapped.wrapped.subarray(NONCE_LENGTH + KEY_LENGTH));
      const dek = decipher.update(wrapped.wrapped.subarray(NONCE_LENGTH, NONCE_LENGTH + KEY_LENGTH));
      decipher.final();
      const out = Uint8Array.from(dek);
      dek.fill(0);
      return out;
    } catch {
      return null;
    }
  }

  /** Adds a new version and makes it current; returns its number. Old versions stay, for reading. */
  async rotate(): Promise<number> {
    return this.change((file) => {
      const version = Math.max(...file.versions.map((v) => v.version)) + 1;
      return { ...file, current: version, versions: [...file.versions, newVersion(this.keyId, version)] };
    }).then((file) => file.current);
  }

  /**
   * Destroys an old version. Everything still wrapped under it becomes unreadable: run
   * `EncryptedBlobStore.rewrapAll` first, after every process has picked up the rotation (wait
   * longer than `reloadIntervalMs`). Refuses the current version; removing an absent one does nothing.
   */
  async removeVersion(version: number): Promise<void> {
    await this.change((file) => {
      if (version === file.current) {
        throw new StorageError('EV_ERR_KEYRING_CURRENT_VERSION', `version ${version} of ${this.keyId} is current: rotate first, then remove it`);
      }
      return { ...file, versions: file.versions.filter((v) => v.version !== version) };
    });
  }

  async versions(): Promise<KeyVersionInfo[]> {
    await this.reload();
    const { file } = this.state;
    return file.versions.map((v) => ({ version: v.version, createdAt: v.createdAt, current: v.version === file.current }));
  }

  private async refreshIfStale(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCheck < this.reloadIntervalMs) return;
    this.lastCheck = now;
    const seen = stampOf(await stat(this.path));
    if (seen !== this.state.stamp) await this.reload();
  }

  private async reload(): Promise<void> {
    this.reloading ??= load(this.path, this.keyId).finally(() => (this.reloading = null));
    this.state = await this.reloading;
  }

  /** Read-modify-write under the lock file, from what is on disk now (not what we loaded). */
  private change(edit: (file: KeyringFile) => KeyringFile): Promise<KeyringFile> {
    const next = this.changing.then(() => this.changeLocked(edit));
    this.changing = next.catch(() => {});
    return next;
  }

  private async changeLocked(edit: (file: KeyringFile) => KeyringFile): Promise<KeyringFile> {
    const release = await lock(this.path);
    try {
      const { file } = await load(this.path, this.keyId);
      const next = edit(file);
      await replace(this.dir, this.path, this.temps, serialize(next));
      this.state = await load(this.path, this.keyId);
      return next;
    } finally {
      await release();
    }
  }
}

function unknownKey(wrapped: WrappedKey): StorageError {
  return new StorageError(
    'EV_ERR_KEYRING_UNKNOWN_KEY',
    `the keyring does not hold key ${JSON.stringify(wrapped.keyId)} version ${wrapped.version}: it was removed, or the object belongs to another region`,
  );
}

async function load(path: string, keyId: string): Promise<Loaded> {
  const { text, stats } = await readSecretFile(path, {
    notRegular: () => malformed(path, 'not a regular file'),
    exposed: (mode) => new StorageError('EV_ERR_KEYRING_PERMISSIONS', `keyring ${path} has mode ${mode}: group or others may access it; it must be 0600 (chmod 600 ${path})`),
  });
  const file = parse(path, text, keyId);
  return { file, keys: importKeys(file), stamp: stampOf(stats) };
}

/** First use: write the file with version 1, unless another process creates it first (link fails). */
async function create(dir: string, path: string, temps: TempNames, keyId: string): Promise<void> {
  const file: KeyringFile = { format: FORMAT, keyId, current: 1, versions: [newVersion(keyId, 1)] };
  // The new name must survive a crash before any key it wraps does: createFileOnce fsyncs the directory.
  await createFileOnce(dir, path, temps, serialize(file));
}

/** Durable atomic replace: temporary file (fsynced), rename over, fsync the directory for the name. */
async function replace(dir: string, path: string, temps: TempNames, content: Uint8Array): Promise<void> {
  const temp = await writeTempFile(dir, temps, content);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDir(dir);
}

/**
 * A crash mid-change leaves a temporary copy of the keys: remove it (it holds key material). Only under
 * the lock, so as not to pull the temporary file from under a change another process is making.
 */
async function removeStaleTemps(dir: string, path: string, temps: TempNames): Promise<void> {
  let release: () => Promise<void>;
  try {
    release = await lock(path);
  } catch (error) {
    // Held by another process (its business), or a read-only keyring directory: nothing to clean.
    if (isStorageError(error, 'EV_ERR_KEYRING_LOCKED') || isErrno(error, 'EACCES', 'EPERM', 'EROFS')) return;
    throw error;
  }
  try {
    for (const name of await readdir(dir)) if (temps.isForeignTemp(name)) await unlink(join(dir, name)).catch(() => {});
  } finally {
    await release();
  }
}

/**
 * An exclusive lock file beside the keyring, holding the owner's pid. A lock whose process is gone
 * (a crashed CLI) is taken over; a live one refuses with `EV_ERR_KEYRING_LOCKED`.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', mode: FILE_MODE });
      return () => unlink(lockPath).catch(() => {});
    } catch (error) {
      if (!isErrno(error, 'EEXIST') || attempt > 0) {
        if (isErrno(error, 'EEXIST')) throw lockedError(lockPath);
        throw error;
      }
    }
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw lockedError(lockPath);
    await unlink(lockPath).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

function lockedError(lockPath: string): StorageError {
  return new StorageError('EV_ERR_KEYRING_LOCKED', `the keyring is being changed by another process (lock file ${lockPath}); try again`);
}
