/**
 * The embedded default's cell storage: sealed objects in a filesystem blob store, their key records
 * in the cell's own database (one ~100-byte row each, committed in groups, instead of a second
 * fsynced file per object), all wrapped by the cell's file keyring (`<cell>/keyring/keyring.json`,
 * key id `<region>-kek`).
 */
import { join } from 'node:path';
import { FsBlobStore } from '../storage/blob-store.fs.js';
import { SqlBlobStore } from '../storage/blob-store.sql.js';
import { EncryptedBlobStore } from '../storage/blob-store.encrypted.js';
import { FileKeyring } from '../storage/keyring.js';
import type { CellBlobFactory } from './cells.js';

export function regionKeyId(region: string): string {
  return `${region}-kek`;
}

export async function openCellKeyring(cellDirectory: string, region: string): Promise<FileKeyring> {
  return FileKeyring.open({ dir: join(cellDirectory, 'keyring'), keyId: regionKeyId(region) });
}

export const fsCellBlobs: CellBlobFactory = async (region, dir, db) => {
  const keyring = await openCellKeyring(dir, region);
  return new EncryptedBlobStore({
    objects: await FsBlobStore.open(join(dir, 'blobs', 'objects')),
    keyRecords: new SqlBlobStore(db),
    keyring,
  });
};
