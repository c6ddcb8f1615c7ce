/** An institution's exams, in the institution's own cell. */
import type { Kysely } from 'kysely';
import type { CellDatabase, ExamTable } from '../db/schema.js';

/** Inserts an exam; false when the institution already has that exam id. */
export async function insertExam(db: Kysely<CellDatabase>, exam: ExamTable): Promise<boolean> {
  const result = await db.insertInto('exams').values(exam).onConflict((oc) => oc.columns(['institution_id', 'exam_id']).doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function findExam(db: Kysely<CellDatabase>, institutionId: string, examId: string): Promise<ExamTable | undefined> {
  return db.selectFrom('exams').selectAll().where('institution_id', '=', institutionId).where('exam_id', '=', examId).executeTakeFirst();
}

export async function listExams(db: Kysely<CellDatabase>, institutionId: string): Promise<ExamTable[]> {
  return db.selectFrom('exams').selectAll().where('institution_id', '=', institutionId).orderBy('created_at').orderBy('exam_id').execute();
}
