/** Recordings and their segment index, in the institution's cell. */
import type { CompiledQuery, Kysely } from 'kysely';
import type { GroupCommit } from '../db/group-commit.js';
import { queryTemplate, rowsOf } from '../db/query-template.js';
import type { CellDatabase, RecordingTable, SegmentTable } from '../db/schema.js';

// The two lookups every segment upload makes, compiled once (db/query-template.ts).
const recordingQuery = queryTemplate((db: Kysely<CellDatabase>, institutionId: string, recordingId: string) =>
  db.selectFrom('recordings').selectAll().where('institution_id', '=', institutionId).where('recording_id', '=', recordingId));
const segmentQuery = queryTemplate((db: Kysely<CellDatabase>, institutionId: string, recordingId: string, idx: number) =>
  db.selectFrom('segments').selectAll().where('institution_id', '=', institutionId).where('recording_id', '=', recordingId).where('idx', '=', idx));

/**
 * Inserts a recording's row unless its id is taken: one change when it inserted the row, none when the
 * id was taken. Committed through the cell's group commit (recording.service.ts), never on the
 * server's own connection: test takers start an exam together, three recordings each, and each insert
 * committed there held every request for its fsync.
 */
export function insertRecordingQuery(db: Kysely<CellDatabase>, row: RecordingTable): CompiledQuery {
  return db.insertInto('recordings').values(row).onConflict((oc) => oc.doNothing()).compile();
}

export async function findRecording(db: Kysely<CellDatabase>, institutionId: string, recordingId: string): Promise<RecordingTable | undefined> {
  return (await rowsOf<RecordingTable>(db, recordingQuery(db, institutionId, recordingId)))[0];
}

export async function findSegment(
  db: Kysely<CellDatabase>,
  institutionId: string,
  recordingId: string,
  idx: number,
): Promise<SegmentTable | undefined> {
  return (await rowsOf<SegmentTable>(db, segmentQuery(db, institutionId, recordingId, idx)))[0];
}

export async function storedIndexes(db: Kysely<CellDatabase>, institutionId: string, recordingId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('segments')
    .select('idx')
    .where('institution_id', '=', institutionId)
    .where('recording_id', '=', recordingId)
    .orderBy('idx')
    .execute();
  return rows.map((r) => Number(r.idx));
}

/**
 * Marks a recording complete if, and only if, exactly segments 0..count-1 are stored (count ≥ 1).
 * Returns false (and changes nothing) otherwise. The check is part of the update, one statement
 * committed through the cell's group commit: test takers finish an exam together, and a transaction
 * on the server's own connection held every request for its fsync.
 */
export async function completeRecording(
  db: Kysely<CellDatabase>,
  commits: GroupCommit,
  institutionId: string,
  recordingId: string,
  count: number,
  now: number,
): Promise<boolean> {
  const stored = () => db.selectFrom('segments').where('institution_id', '=', institutionId).where('recording_id', '=', recordingId);
  const update = db
    .updateTable('recordings')
    .set({ segment_count: count, completed_at: now })
    .where('institution_id', '=', institutionId)
    .where('recording_id', '=', recordingId)
    .where((eb) =>
      eb.and([
        eb(stored().select((s) => s.fn.countAll<number>().as('n')), '=', count),
        eb(stored().select((s) => s.fn.max('idx').as('last')), '=', count - 1),
      ]),
    );
  const [result] = await commits.run([update.compile()]);
  return result?.changes === 1;
}
