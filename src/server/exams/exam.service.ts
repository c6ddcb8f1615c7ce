/**
 * Exams (docs/EXAMS.md): created by an institution's admins (and, through the passcode API, by its
 * assessment platforms); read by its admins and approved reviewers. The institution always comes
 * from the caller's session or key, never from the request body.
 */
import { idPattern } from '../../crypto/context.js';
import { ApiError } from '../../protocol/errors.js';
import {
  DEFAULT_SNAPSHOT_INTERVAL_SECONDS,
  EXAM_TITLE_MAX_LENGTH,
  type Exam,
  type ExamErrorCode,
  SNAPSHOT_INTERVAL_MAX_SECONDS,
  SNAPSHOT_INTERVAL_MIN_SECONDS,
  examErrors,
} from '../../protocol/exams.js';
import type { ExamTable } from '../db/schema.js';
import { newId } from '../ids.js';
import type { Cell } from '../regions/cell.types.js';
import { findExam, insertExam, listExams } from './exam.repository.js';

export function examError(code: ExamErrorCode, message: string): ApiError {
  return new ApiError(code, message, examErrors[code]);
}

function toExam(row: ExamTable): Exam {
  return {
    exam: row.exam_id,
    institution: row.institution_id,
    title: row.title,
    snapshotIntervalSeconds: Number(row.snapshot_interval_seconds),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a CreateExamRequest from an untrusted body; the first broken rule is the error. */
function parseCreate(body: unknown): { exam: string; title: string; snapshotIntervalSeconds: number } {
  if (!isPlainObject(body)) throw examError('EV_ERR_EXAM_INVALID_REQUEST', 'the body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !['exam', 'title', 'snapshotIntervalSeconds'].includes(k));
  if (unknown.length > 0) throw examError('EV_ERR_EXAM_INVALID_REQUEST', `unknown field ${JSON.stringify(unknown[0])}`);
  const { exam = newId('exam'), title, snapshotIntervalSeconds = DEFAULT_SNAPSHOT_INTERVAL_SECONDS } = body;
  if (typeof exam !== 'string' || !idPattern.test(exam)) throw examError('EV_ERR_EXAM_INVALID_REQUEST', 'exam must be 1-64 characters of [A-Za-z0-9._:-]');
  // Titles are shown to test takers and staff: printable text, no control characters.
  if (typeof title !== 'string' || title.trim().length === 0 || title.length > EXAM_TITLE_MAX_LENGTH || /\p{Cc}/u.test(title)) {
    throw examError('EV_ERR_EXAM_INVALID_REQUEST', `title must be 1-${EXAM_TITLE_MAX_LENGTH} printable characters`);
  }
  const interval = snapshotIntervalSeconds;
  if (!Number.isInteger(interval) || (interval !== 0 && ((interval as number) < SNAPSHOT_INTERVAL_MIN_SECONDS || (interval as number) > SNAPSHOT_INTERVAL_MAX_SECONDS))) {
    throw examError('EV_ERR_EXAM_INVALID_REQUEST', `snapshotIntervalSeconds must be 0 (none) or ${SNAPSHOT_INTERVAL_MIN_SECONDS}-${SNAPSHOT_INTERVAL_MAX_SECONDS}`);
  }
  return { exam, title: title.trim(), snapshotIntervalSeconds: interval as number };
}

/** Creates an exam of `institution` in its cell. */
export async function createExam(cell: Cell, institution: string, body: unknown, now: number): Promise<Exam> {
  const input = parseCreate(body);
  const row: ExamTable = { institution_id: institution, exam_id: input.exam, title: input.title, snapshot_interval_seconds: input.snapshotIntervalSeconds, created_at: now };
  if (!(await insertExam(cell.db, row))) throw examError('EV_ERR_EXAM_EXISTS', `the institution already has an exam ${JSON.stringify(input.exam)}`);
  return toExam(row);
}

export async function examsOf(cell: Cell, institution: string): Promise<{ exams: Exam[] }> {
  return { exams: (await listExams(cell.db, institution)).map(toExam) };
}

export async function examOf(cell: Cell, institution: string, exam: string): Promise<Exam> {
  const row = idPattern.test(exam) ? await findExam(cell.db, institution, exam) : undefined;
  if (!row) throw examError('EV_ERR_EXAM_NOT_FOUND', `no exam ${JSON.stringify(exam)} in your institution`);
  return toExam(row);
}

/**
 * The snapshot interval an attempt's recorder uses and its reviewers' player assumes: its exam's,
 * or the default for an attempt whose exam was never created (an LTI or a test credential may
 * name any exam id), which is also what GET /v1/exams/:exam's 404 tells the player.
 */
export async function snapshotIntervalOf(cell: Cell, institution: string, exam: string): Promise<number> {
  const row = await findExam(cell.db, institution, exam);
  return row ? Number(row.snapshot_interval_seconds) : DEFAULT_SNAPSHOT_INTERVAL_SECONDS;
}
