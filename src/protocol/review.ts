/**
 * Review records over HTTP (docs/CUSTODY-SERVER.md, "Review records"): a reviewer's verdict and
 * notes on an attempt, each revision sealed and signed in the browser (docs/SPEC.md §13). The server
 * stores and serves them; it reads only their clear head. Each code is documented in docs/errors.md.
 */

export const reviewErrors = {
  /** The record does not decode, names another institution, attempt or author than the request, or is not signed by the author's registered key. */
  EV_ERR_REVIEW_REJECTED: 422,
  /** The record is not the next revision: another was stored meanwhile (fetch, reseal, send again). */
  EV_ERR_REVIEW_CONFLICT: 409,
  /** The record is sealed to an epoch that is no longer the institution's current one (reseal to the current epoch). */
  EV_ERR_REVIEW_STALE_EPOCH: 409,
  /** No attempt of that id in the session's institution. */
  EV_ERR_REVIEW_ATTEMPT_NOT_FOUND: 404,
} as const;

export type ReviewErrorCode = keyof typeof reviewErrors;

/** PUT /v1/custody/attempts/{attempt}/review */
export interface ReviewWriteRequest {
  /** base64url of the whole record (SPEC §13), revision = the stored latest + 1. */
  readonly record: string;
}

export interface ReviewWriteResponse {
  readonly attempt: string;
  readonly revision: number;
  /** base64url of the record's id (SHA-256 of the record without its signature). */
  readonly id: string;
  readonly auditSeq: number;
}

export interface StoredReview {
  readonly revision: number;
  readonly author: string;
  readonly epoch: number;
  /** base64url of the whole record. */
  readonly record: string;
  /** When the server stored it (ms since the Unix epoch): the server's clock, not the author's. */
  readonly storedAt: number;
}

/** GET /v1/custody/attempts/{attempt}/review[?latest=true] */
export interface ReviewListResponse {
  readonly institution: string;
  readonly attempt: string;
  /** Revision 1 on, in order; only the newest with `latest=true`; empty before the first. */
  readonly records: readonly StoredReview[];
}
