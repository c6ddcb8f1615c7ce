/**
 * Recording rows as a segment upload reads them, kept in memory: a recorder sends a segment of each of
 * its recordings every two seconds, and reading the row from the database each time was one of the
 * largest costs of an upload.
 *
 * Only what the upload path relies on is kept, and each is safe to keep: the owner (institution, exam,
 * attempt) and the largest segment size never change once a recording is created, and a recording
 * once complete stays complete. What a kept row cannot tell is that the recording was completed or
 * deleted since it was read: this process forgets a row when it does either, another process (or
 * this one, between the read and the write) may not have, so the segment's own insert checks both
 * again when it commits (segment-index.ts `insertFirst`).
 */
import type { Kysely } from 'kysely';
import type { CellDatabase } from '../db/schema.js';
import { findRecording } from './recording.repository.js';

export interface RecordingFacts {
  readonly institution: string;
  readonly exam: string;
  readonly attempt: string;
  readonly maxSegment: number;
  /** Set once the recording is complete. */
  readonly segmentCount: number | null;
}

/** Rows kept at most; the oldest read go first. Three recordings per test taker. */
const DEFAULT_SIZE = 30_000;

export class RecordingCache {
  private readonly rows = new Map<string, RecordingFacts>();

  constructor(
    private readonly db: Kysely<CellDatabase>,
    private readonly size = DEFAULT_SIZE,
  ) {}

  /** The recording's facts, read from the database unless kept; undefined when there is no such recording. */
  async get(institution: string, recording: string): Promise<RecordingFacts | undefined> {
    const id = cacheKey(institution, recording);
    const kept = this.rows.get(id);
    if (kept) return kept;
    const r = await findRecording(this.db, institution, recording);
    if (!r) return undefined;
    const facts: RecordingFacts = {
      institution: r.institution_id,
      exam: r.exam_id,
      attempt: r.attempt_id,
      maxSegment: Number(r.max_segment),
      segmentCount: r.segment_count === null ? null : Number(r.segment_count),
    };
    this.rows.set(id, facts);
    if (this.rows.size > this.size) this.rows.delete(this.rows.keys().next().value as string);
    return facts;
  }

  /** Reads the recording again next time: after completing or deleting it, or after a write found it changed. */
  forget(institution: string, recording: string): void {
    this.rows.delete(cacheKey(institution, recording));
  }
}

// Neither id holds a newline (institution ids are generated, recording ids are checked by the routes).
function cacheKey(institution: string, recording: string): string {
  return `${institution}\n${recording}`;
}
