/**
 * The embedded default's cell storage: sealed objects in a log-structured blob store (log files in
 * `<cell>/blobs/objects/`, their index in the cell's database), each object's key record in its row
 * of that index (records written before cell migration 0014 whose object the log did not hold stay
 * in `small_objects`), all written through the cell's group commit so that a segment's index row and
 * its object's row share commits with every other upload's; all wrapped by the cell's file keyring
 * (`<cell>/keyring/keyring.json`, key id `<region>-kek`).
 */
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { CellDatabase } from '../db/schema.js';
import { LogBlobStore, type LogBlobStoreOptions } from '../storage/blob-store.log.js';
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

/**
 * The store of a cell's sealed objects, as they sit on disk (the at-rest layer's inner store). Tools
 * that look at a cell beside the server pass `reclaimDelayMs: null`, leaving reclaiming to the server.
 */
export function openCellObjects(cellDirectory: string, db: Kysely<CellDatabase>, options: Pick<LogBlobStoreOptions, 'commits' | 'reclaimDelayMs'> = {}): Promise<LogBlobStore> {
  return LogBlobStore.open({ dir: join(cellDirectory, 'blobs', 'objects'), db, ...options });
}

export const fsCellBlobs: CellBlobFactory = async (region, dir, db, commits) => {
  const keyring = await openCellKeyring(dir, region);
  return new EncryptedBlobStore({
    objects: await openCellObjects(dir, db, { commits }),
    keyRecords: new SqlBlobStore(db, commits),
    keyring,
  });
};
