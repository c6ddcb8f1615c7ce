/**
 * A region cell: everything that holds an institution's data lives in exactly one of these — its
 * metadata database, its blob store (encrypted at rest under the cell's own keyring), its segment
 * index writer and its audit log. Nothing that identifies a test taker or holds recording bytes is written elsewhere.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { GroupCommit } from '../db/group-commit.js';
import type { CellDatabase } from '../db/schema.js';
import type { RecordingCache } from '../recordings/recording-cache.js';
import type { SegmentIndexWriter } from '../recordings/segment-index.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface Cell {
  readonly region: string;
  readonly db: Kysely<CellDatabase>;
  /**
   * The database's group commit (db/group-commit.ts), committing in a worker thread: a write an
   * answer waits for goes here, so that no request holds the event loop for an fsync and writes
   * arriving together share one.
   */
  readonly commits: GroupCommit;
  /** Encrypted at rest: what it stores is ciphertext under per-object keys wrapped by the cell's keyring. */
  readonly blobs: BlobStore;
  readonly segmentIndex: SegmentIndexWriter;
  /** Recording rows as uploads read them, kept in memory; forget a recording after changing it. */
  readonly recordings: RecordingCache;
  /** The cell's tamper-evident log of security events (docs/AUDIT-LOG.md). */
  readonly audit: AuditLog;
  close(): Promise<void>;
}

export type Cells = ReadonlyMap<string, Cell>;
