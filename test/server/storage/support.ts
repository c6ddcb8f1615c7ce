/** Helpers for the storage tests that touch the filesystem directly. */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
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
