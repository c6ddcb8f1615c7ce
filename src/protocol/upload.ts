/**
 * The recording upload protocol (docs/openapi.json, served at /v1/openapi.json): request and
 * response shapes shared by the server, the recorder and the CLI.
 *
 *   POST /v1/recordings                         body: the sealed header (application/octet-stream)
 *   PUT  /v1/recordings/{id}/segments/{n}       body: sealed segment n; idempotent
 *   POST /v1/segments                           body: several sealed segments, listed in EV-Segments
 *   GET  /v1/recordings/{id}                    status: which segments are stored
 *   POST /v1/recordings/{id}/complete           body: { "segmentCount": n }
 *   GET  /v1/recordings/{id}/header             the sealed header back
 *   GET  /v1/recordings/{id}/segments/{n}       sealed segment n back
 *
 * Every call carries `Authorization: Bearer <attempt credential>`.
 */

export interface RecordingStatus {
  readonly recording: string;
  readonly institution: string;
  readonly exam: string;
  readonly attempt: string;
  readonly track: string;
  readonly epoch: number;
  readonly maxSegment: number;
  /** Stored segment indexes as inclusive [first, last] ranges, ascending. */
  readonly stored: ReadonlyArray<readonly [number, number]>;
  /** The first index not yet stored: where a resuming client starts. */
  readonly nextMissing: number;
  readonly complete: boolean;
  readonly segmentCount: number | null;
}

export interface SegmentReceipt {
  readonly recording: string;
  readonly index: number;
  readonly size: number;
  /**
   * Hex of the segment's last 16 bytes: the tag its sealing ends with (SPEC §6), which names these bytes
   * to the client that sealed them.
   */
  readonly tag: string;
  /** False when the same bytes were already stored (an idempotent retry). */
  readonly created: boolean;
}

/**
 * The request header of POST /v1/segments that says what its body holds: one entry per segment, in
 * body order, each `<recording id> <index> <size in bytes>`, entries separated by commas. The body is
 * the segments' bytes one after the other, nothing between them.
 */
export const SEGMENTS_HEADER = 'ev-segments';

/** Segments one POST /v1/segments may carry. */
export const MAX_BATCH_SEGMENTS = 16;

/** One segment of a POST /v1/segments, as its EV-Segments entry names it. */
export interface BatchEntry {
  readonly recording: string;
  readonly index: number;
  readonly size: number;
}

/** The EV-Segments value for `entries`: the sender's side of the framing (the recorder's uploader). */
export function segmentsHeader(entries: readonly BatchEntry[]): string {
  return entries.map((e) => `${e.recording} ${e.index} ${e.size}`).join(', ');
}

/** The answer to POST /v1/segments: a receipt for each segment, in the request's order. */
export interface BatchReceipts {
  readonly receipts: readonly SegmentReceipt[];
}

export interface CompleteRequest {
  readonly segmentCount: number;
}

/** Upload error codes, beyond the generic EV_ERR_API_* ones. */
export const uploadErrors = {
  EV_ERR_AUTH_MISSING_CREDENTIAL: 401,
  EV_ERR_AUTH_INVALID_CREDENTIAL: 401,
  EV_ERR_AUTH_EXPIRED_CREDENTIAL: 401,
  EV_ERR_UPLOAD_BAD_HEADER: 400,
  EV_ERR_UPLOAD_CONTEXT_MISMATCH: 403,
  EV_ERR_UPLOAD_EPOCH_NOT_CURRENT: 409,
  EV_ERR_UPLOAD_RECORDING_EXISTS: 409,
  EV_ERR_UPLOAD_RECORDING_NOT_FOUND: 404,
  EV_ERR_UPLOAD_SEGMENT_INDEX: 400,
  EV_ERR_UPLOAD_SEGMENT_SIZE: 400,
  /** A POST /v1/segments whose EV-Segments header is missing, malformed, repeats a segment or does not add up to its body. */
  EV_ERR_UPLOAD_BATCH_FRAMING: 400,
  EV_ERR_UPLOAD_SEGMENT_CONFLICT: 409,
  EV_ERR_UPLOAD_SEGMENT_NOT_FOUND: 404,
  EV_ERR_UPLOAD_RECORDING_COMPLETE: 409,
  EV_ERR_UPLOAD_INCOMPLETE: 409,
  /** The institution has no epoch key yet (awaiting its first admin's set-up): there is nothing a recording could be sealed to. */
  EV_ERR_UPLOAD_NOT_SET_UP: 409,
  /** The server holds as many segment bodies as it takes at once: retry after the Retry-After seconds. */
  EV_ERR_UPLOAD_BUSY: 503,
} as const;

export type UploadErrorCode = keyof typeof uploadErrors;
