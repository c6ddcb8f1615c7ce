/**
 * Opens the region cells of a deployment. On the embedded default each cell is a folder
 * `<dataDir>/cells/<region>/` holding its SQLite database (`metadata.db`, which also keeps the at-rest
 * key records), its sealed objects (`blobs/objects/`) and its keyring (`keyring/keyring.json`):
 * nothing is shared between two cells' folders.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { AuditLog } from '../audit/audit-log.js';
import { openSqlite } from '../db/dialect.sqlite.js';
import { GroupCommit } from '../db/group-commit.js';
import { sqliteWorkerExecutor } from '../db/sqlite-commit-worker.js';
import { migrateToLatest } from '../db/migrate.js';
import type { CellDatabase } from '../db/schema.js';
import { RecordingCache } from '../recordings/recording-cache.js';
import { SegmentIndexWriter } from '../recordings/segment-index.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Cell } from './cell.types.js';

export function cellDir(dataDir: string, region: string): string {
  return join(dataDir, 'cells', region);
}

/** Builds a cell's encrypted blob store from its folder, its database and the database's group commit. */
export type CellBlobFactory = (region: string, dir: string, db: Kysely<CellDatabase>, commits: GroupCommit) => Promise<BlobStore>;

export async function openCell(dataDir: string, region: string, blobs: CellBlobFactory): Promise<Cell> {
  const dir = cellDir(dataDir, region);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dbPath = join(dir, 'metadata.db');
  const db = openSqlite<CellDatabase>(dbPath);
  await migrateToLatest(db as never, 'cell');
  // One group commit per database, off the event loop: segment rows, key records and object
  // locations share its commits.
  const commits = new GroupCommit(sqliteWorkerExecutor(dbPath));
  const store = await blobs(region, dir, db, commits);
  const audit = await AuditLog.open({ db, keyDir: join(dir, 'audit'), region });
  const segmentIndex = new SegmentIndexWriter(db, commits);
  return {
    region,
    db,
    commits,
    blobs: store,
    segmentIndex,
    recordings: new RecordingCache(db),
    audit,
    async close() {
      await segmentIndex.idle();
      await audit.close();
      await store.close();
      await commits.close();
      await db.destroy();
    },
  };
}
