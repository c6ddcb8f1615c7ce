/**
 * Segment index rows, written through the cell's group commit (db/group-commit.ts): every upload
 * waits for its row to be committed, and rows arriving together share one transaction (one fsync)
 * with each other and with the cell's other small writes.
 *
 * A row whose (institution, recording, index) already exists is not overwritten; the caller learns the
 * stored row and decides, by comparing the bytes stored under it (same bytes: idempotent success;
 * other bytes: conflict).
 */
import type { CompiledQuery, Kysely } from 'kysely';
import { isConstraintViolation } from '../db/constraint.js';
import type { GroupCommit, QueryResult } from '../db/group-commit.js';
import { queryTemplate } from '../db/query-template.js';
import type { CellDatabase, SegmentTable } from '../db/schema.js';
import { findSegment } from './recording.repository.js';

export type IndexOutcome = { readonly inserted: true } | { readonly inserted: false; readonly existing: SegmentTable };

/**
 * How a first try ended (`insertFirst`). `inserted`: the row committed with the object. `taken`: the
 * index or the object's key holds something already, and nothing was committed. `closed`: the
 * recording is complete or gone, and the object committed without the row: the caller removes it.
 */
export type FirstOutcome = 'inserted' | 'taken' | 'closed';

const insertNew = queryTemplate((db: Kysely<CellDatabase>, institutionId: string, recordingId: string, idx: number, size: number, name: string, createdAt: number) =>
  db.insertInto('segments').values({ institution_id: institutionId, recording_id: recordingId, idx, size, name, created_at: createdAt }).onConflict((oc) => oc.doNothing()));

// A plain insert (a row already at this index fails the write), of a row only while its recording
// exists and is not complete: the check and the insert are one statement in the commit.
const insertOpen = queryTemplate((db: Kysely<CellDatabase>, institutionId: string, recordingId: string, idx: number, size: number, name: string, createdAt: number) =>
  db
    .insertInto('segments')
    .columns(['institution_id', 'recording_id', 'idx', 'size', 'name', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom('recordings')
        .select((s) => ['institution_id', 'recording_id', s.val(idx).as('idx'), s.val(size).as('size'), s.val(name).as('name'), s.val(createdAt).as('created_at')])
        .where('institution_id', '=', institutionId)
        .where('recording_id', '=', recordingId)
        .where('segment_count', 'is', null),
    ));

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
    const [result] = await commit([insertNew(this.db, row.institution_id, row.recording_id, row.idx, row.size, row.name, row.created_at)]);
    if (result?.changes === 1) return { inserted: true };
    // Rows are never changed once written, so the one that won can be read after the commit.
    const existing = await findSegment(this.db, row.institution_id, row.recording_id, row.idx);
    if (!existing) throw new Error(`segment ${row.idx} of ${row.recording_id} was neither inserted nor found`);
    return { inserted: false, existing };
  }

  /**
   * An upload's first try, which reads nothing before it writes: `commit` is a blob store's
   * `putNewWith`, so the write fails as a whole on a constraint (the index or the object's key taken)
   * and commits nothing. What it found taken or closed, the caller settles by reading (`insert`).
   */
  async insertFirst(row: SegmentTable, commit: (queries: readonly CompiledQuery[]) => Promise<readonly QueryResult[]>): Promise<FirstOutcome> {
    let results: readonly QueryResult[];
    try {
      results = await commit([insertOpen(this.db, row.institution_id, row.recording_id, row.idx, row.size, row.name, row.created_at)]);
    } catch (error) {
      if (isConstraintViolation(error)) return 'taken';
      throw error;
    }
    return results[0]?.changes === 1 ? 'inserted' : 'closed';
  }

  /** Resolves once every row queued so far is committed. */
  idle(): Promise<void> {
    return this.commits.idle();
  }
}
