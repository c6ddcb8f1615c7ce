/** Review records of the institution's cell (docs/SPEC.md §13): one row per revision of an attempt's review. */
import type { Kysely, Transaction } from 'kysely';
import type { CellDatabase, ReviewRecordTable } from '../db/schema.js';

type Db = Kysely<CellDatabase> | Transaction<CellDatabase>;

export async function latestReview(db: Db, institution: string, attempt: string): Promise<ReviewRecordTable | undefined> {
  return db
    .selectFrom('review_records')
    .selectAll()
    .where('institution_id', '=', institution)
    .where('attempt_id', '=', attempt)
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function listReviews(db: Db, institution: string, attempt: string): Promise<ReviewRecordTable[]> {
  return db.selectFrom('review_records').selectAll().where('institution_id', '=', institution).where('attempt_id', '=', attempt).orderBy('revision').execute();
}

/** Stores a revision unless that revision is already stored: false when another writer got there first. */
export async function insertReview(db: Db, row: ReviewRecordTable): Promise<boolean> {
  const r = await db.insertInto('review_records').values(row).onConflict((oc) => oc.columns(['institution_id', 'attempt_id', 'revision']).doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Whether the institution has an attempt of that id: a credential was issued for it, or it recorded. */
export async function attemptExists(db: Db, institution: string, attempt: string): Promise<boolean> {
  const credential = await db.selectFrom('attempt_credentials').select('attempt_id').where('institution_id', '=', institution).where('attempt_id', '=', attempt).limit(1).executeTakeFirst();
  if (credential) return true;
  const recording = await db.selectFrom('recordings').select('attempt_id').where('institution_id', '=', institution).where('attempt_id', '=', attempt).limit(1).executeTakeFirst();
  return !!recording;
}
