/**
 * The exams API (docs/EXAMS.md): an institution's exams, which attempts, LTI resource links and
 * passcodes point at. Exams carry no personal data. Each code is documented in docs/errors.md.
 */

export const examErrors = {
  /** The body is not the documented JSON shape, or a field breaks its rule. */
  EV_ERR_EXAM_INVALID_REQUEST: 400,
  /** The institution has no exam with this id. */
  EV_ERR_EXAM_NOT_FOUND: 404,
  /** The institution already has an exam with this id. */
  EV_ERR_EXAM_EXISTS: 409,
} as const;

export type ExamErrorCode = keyof typeof examErrors;

/** Snapshot intervals a recorder accepts: none (0), or every 10 s to every hour. */
export const SNAPSHOT_INTERVAL_MIN_SECONDS = 10;
export const SNAPSHOT_INTERVAL_MAX_SECONDS = 3600;
/**
 * An exam's interval when its creator gives none, and an attempt's whose exam has no record: the
 * interval the recorder used before exams set their own.
 */
export const DEFAULT_SNAPSHOT_INTERVAL_SECONDS = 10;
export const EXAM_TITLE_MAX_LENGTH = 200;

/** POST /v1/exams */
export interface CreateExamRequest {
  /** Defaults to a new random id (`exam-…`). 1-64 characters of [A-Za-z0-9._:-]. */
  readonly exam?: string;
  readonly title: string;
  /** Seconds between still snapshots: 0 (none) or 10-3600. Default DEFAULT_SNAPSHOT_INTERVAL_SECONDS. */
  readonly snapshotIntervalSeconds?: number;
}

export interface Exam {
  readonly exam: string;
  readonly institution: string;
  readonly title: string;
  readonly snapshotIntervalSeconds: number;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
}
