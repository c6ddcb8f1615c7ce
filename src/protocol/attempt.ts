/**
 * What an attempt credential may learn about itself (GET /v1/attempts/me): the context its recorder
 * seals into every recording (docs/SPEC.md §5). Opaque ids only; nothing about the person.
 */
export interface AttemptInfo {
  readonly institution: string;
  readonly region: string;
  readonly exam: string;
  readonly attempt: string;
  /** When the credential stops working, in milliseconds since 1970-01-01T00:00:00Z. */
  readonly expiresAt: number;
  /** Seconds between the recorder's still snapshots, the exam's setting (docs/EXAMS.md); 0: none. */
  readonly snapshotIntervalSeconds: number;
}
