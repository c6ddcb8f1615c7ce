/** Helpers for the storage tests that touch the filesystem directly. */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import { GroupCommit } from '../../../src/server/db/group-commit.js';
import { sqliteWorkerExecutor } from '../../../src/server/db/sqlite-commit-worker.js';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { LogBlobStore, type LogBlobStoreOptions } from '../../../src/server/storage/blob-store.log.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { FsBlobStore } from '../../../src/server/storage/blob-store.fs.js';
import { FileKeyring } from '../../../src/server/storage/keyring.js';

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ev-${label}-`));
}

/** Every file and directory below `dir`, relative and sorted, directories ending in `/`. */
export async function tree(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = base + entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...(await tree(join(dir, entry.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface EncryptedFixture {
  readonly store: EncryptedBlobStore;
  /** The inner stores, to look at (and tamper with) what is really stored. */
  readonly objects: FsBlobStore;
  readonly records: FsBlobStore;
  readonly keyring: FileKeyring;
  readonly dir: string;
}

/** An EncryptedBlobStore over two FsBlobStores and a FileKeyring, all under `dir`. */
export async function openEncrypted(dir: string, keyring?: FileKeyring): Promise<EncryptedFixture> {
  const objects = await FsBlobStore.open(join(dir, 'objects'));
  const records = await FsBlobStore.open(join(dir, 'key-records'));
  const ring = keyring ?? (await FileKeyring.open({ dir: join(dir, 'keyring'), keyId: 'eu-kek' }));
  return { store: new EncryptedBlobStore({ objects, keyRecords: records, keyring: ring }), objects, records, keyring: ring, dir };
}

export interface LogFixture {
  readonly store: LogBlobStore;
  readonly db: Kysely<CellDatabase>;
  close(): Promise<void>;
}

/** A LogBlobStore in `<dir>/log/` with its index in `<dir>/index.db` (migrated), as a cell has them. */
export async function openLog(dir: string, options: Partial<LogBlobStoreOptions> = {}): Promise<LogFixture> {
  await mkdir(dir, { recursive: true });
  const db = openSqlite<CellDatabase>(join(dir, 'index.db'));
  await migrateToLatest(db as never, 'cell');
  const store = await LogBlobStore.open({ dir: join(dir, 'log'), db, reclaimDelayMs: null, ...options });
  return {
    store,
    db,
    async close() {
      await store.close();
      await db.destroy();
    },
  };
}

/** The embedded default's cell store: EncryptedBlobStore over a LogBlobStore and a SqlBlobStore sharing one group commit. */
export async function openCellStore(dir: string): Promise<{ store: EncryptedBlobStore; log: LogBlobStore; db: Kysely<CellDatabase>; close(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const db = openSqlite<CellDatabase>(join(dir, 'index.db'));
  await migrateToLatest(db as never, 'cell');
  const commits = new GroupCommit(sqliteWorkerExecutor(join(dir, 'index.db')));
  const log = await LogBlobStore.open({ dir: join(dir, 'log'), db, commits, reclaimDelayMs: null });
  const keyring = await FileKeyring.open({ dir: join(dir, 'keyring'), keyId: 'eu-kek' });
  const store = new EncryptedBlobStore({ objects: log, keyRecords: new SqlBlobStore(db, commits), keyring });
  return {
    store,
    log,
    db,
    async close() {
      await store.close();
      await commits.close();
      await db.destroy();
    },
  };
}

type AfterHooks = { after(fn: () => Promise<unknown>): void };

/**
 * What `open` opens in a directory of its own (`dir`), closed and then removed after the test, in one
 * hook: node:test runs a test's hooks in the order they were added and stops at the first that throws,
 * so a removal added on its own before the close would race what is open, and its failure would leave
 * it open (a commit worker then keeps the test's process alive).
 */
async function inDirOfItsOwn<T extends { close(): Promise<void> }>(t: AfterHooks, label: string, open: (dir: string) => Promise<T>): Promise<T & { readonly dir: string }> {
  const dir = await tempDir(label);
  const opened = await open(dir);
  t.after(async () => {
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  });
  return Object.assign(opened, { dir });
}

/** `openCellStore` in a directory of its own, closed and then removed after the test. */
export async function cellStoreFor(t: AfterHooks, label: string): Promise<Awaited<ReturnType<typeof openCellStore>>> {
  return inDirOfItsOwn(t, label, openCellStore);
}

/** `openLog` in a directory of its own (`dir`), closed and then removed after the test. */
export async function logFor(t: AfterHooks, label: string, options: Partial<LogBlobStoreOptions> = {}): Promise<LogFixture & { readonly dir: string }> {
  return inDirOfItsOwn(t, label, (dir) => openLog(dir, options));
}
