/**
 * Segment index rows, written through the cell's group commit (db/group-commit.ts): every upload
 * waits for its row to be committed, and rows arriving together share one transaction (one fsync)
 * with each other and with the cell's other small writes.
 *
 * A row whose (institution, recording, index) already exists is not overwritten; the caller learns the
 * stored row and decides (same bytes: idempotent success; other bytes: conflict).
 */
import type { CompiledQuery, Kysely } from 'kysely';
import type { GroupCommit, QueryResult } from '../db/group-commit.js';
import { queryTemplate } from '../db/query-template.js';
import type { CellDatabase, SegmentTable } from '../db/schema.js';
import { findSegment } from './recording.repository.js';

export type IndexOutcome = { readonly inserted: true } | { readonly inserted: false; readonly existing: SegmentTable };

const insertNew = queryTemplate((db: Kysely<CellDatabase>, institutionId: string, recordingId: string, idx: number, size: number, sha256: string, createdAt: number) =>
  db.insertInto('segments').values({ institution_id: institutionId, recording_id: recordingId, idx, size, sha256, created_at: createdAt }).onConflict((oc) => oc.doNothing()));

export class SegmentIndexWriter {
  constructor(
    private readonly db: Kysely<CellDatabase>,
    private readonly commits: GroupCommit,
  ) {}

  async insert(row: SegmentTable): Promise<IndexOutcome> {
    return this.insertThrough(row, (queries) => this.commits.run(queries));
  }

  /**
   * `insert`, with the row's query committed by `commit`: a blob store's put that commits it in the
   * same write as the segment's object (storage/blob-store.ts RowsBlobStore), so the row exists
   * exactly when the object does, at the cost of one commit instead of two in a row.
   */
  async insertThrough(row: SegmentTable, commit: (queries: readonly CompiledQuery[]) => Promise<readonly QueryResult[]>): Promise<IndexOutcome> {
    const [result] = await commit([insertNew(this.db, row.institution_id, row.recording_id, row.idx, row.size, row.sha256, row.created_at)]);
    if (result?.changes === 1) return { inserted: true };
    // Rows are never changed once written, so the one that won can be read after the commit.
    const existing = await findSegment(this.db, row.institution_id, row.recording_id, row.idx);
    if (!existing) throw new Error(`segment ${row.idx} of ${row.recording_id} was neither inserted nor found`);
    return { inserted: false, existing };
  }

  /** Resolves once every row queued so far is committed. */
  idle(): Promise<void> {
    return this.commits.idle();
  }
}
