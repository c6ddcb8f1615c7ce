/**
 * The embedded default's cell storage: sealed objects and their key records in two filesystem blob
 * stores, wrapped by the cell's own file keyring (`<cell>/keyring/keyring.json`, key id `<region>-kek`).
 */
import { join } from 'node:path';
import { FsBlobStore } from '../storage/blob-store.fs.js';
import { EncryptedBlobStore } from '../storage/blob-store.encrypted.js';
import { FileKeyring } from '../storage/keyring.js';
import type { CellBlobFactory } from './cells.js';

export function regionKeyId(region: string): string {
  return `${region}-kek`;
}

export async function openCellKeyring(cellDirectory: string, region: string): Promise<FileKeyring> {
  return FileKeyring.open({ dir: join(cellDirectory, 'keyring'), keyId: regionKeyId(region) });
}

export const fsCellBlobs: CellBlobFactory = async (region, dir) => {
  const keyring = await openCellKeyring(dir, region);
  return new EncryptedBlobStore({
    objects: await FsBlobStore.open(join(dir, 'blobs', 'objects')),
    keyRecords: await FsBlobStore.open(join(dir, 'blobs', 'keys')),
    keyring,
  });
};
