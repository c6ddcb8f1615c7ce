/**
 * HTTP routes of the upload protocol (src/protocol/upload.ts, docs/openapi.json). Thin: parse,
 * authenticate, call the service, answer. Every failure is an ApiError with a stable code.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/errors.js';
import { type BatchEntry, type BatchReceipts, MAX_BATCH_SEGMENTS, type RecordingStatus, SEGMENTS_HEADER } from '../../protocol/upload.js';
import { authenticateAttempt } from '../attempts/attempt-auth.js';
import type { AttemptScope } from '../attempts/credential.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { Admission } from './admission.js';
import { BodyChunks, chunkedBodyParser } from './body-chunks.js';
import {
  MAX_HEADER_BODY,
  MAX_SEGMENT_BODY,
  MAX_SEGMENT_INDEX,
  completeUpload,
  createRecording,
  putSegment,
  putSegments,
  readHeader,
  readSegment,
  recordingStatus,
  uploadError,
} from './recording.service.js';

export interface RecordingRoutesOptions {
  readonly cells: Cells;
  readonly clock?: () => number;
  /** Runs after a completion (first or repeated) and before it is acknowledged: the platforms' webhook. */
  readonly onComplete?: (cell: Cell, scope: AttemptScope, status: RecordingStatus) => Promise<void>;
  /** Segment body bytes handled at once; past it a PUT waits its turn with its body unread (admission.ts). */
  readonly maxSegmentBytesInFlight?: number;
  /** How long a PUT waits for its turn before it is answered 503. */
  readonly segmentAdmissionWaitMs?: number;
  /** PUTs waiting at once; past it a PUT is answered 503 at once. */
  readonly maxSegmentsWaiting?: number;
}

/** About three times what a thousand test takers keep in flight (some 10 MB at 1,500 segments a second): overload shows as waiting, not as memory. */
export const DEFAULT_SEGMENT_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/**
 * A waiting PUT holds a connection and a few kilobytes of its body, not the body: ten seconds is five
 * of a recorder's segments, long enough to ride out a burst (a thousand takers joining at once) and
 * short enough that a recorder behind a server that cannot keep up is told so.
 */
export const DEFAULT_SEGMENT_ADMISSION_WAIT_MS = 10_000;
/** Waiting PUTs, a few kilobytes each: three connections for each of several thousand takers. */
export const DEFAULT_SEGMENTS_WAITING = 8192;
/** Seconds a refused uploader waits before sending again. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

const indexPattern = /^(?:0|[1-9][0-9]{0,9})$/;
const recordingIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function parseIndex(raw: string): number {
  const n = indexPattern.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= MAX_SEGMENT_INDEX)) throw uploadError('EV_ERR_UPLOAD_SEGMENT_INDEX', `segment index must be an integer 0..${MAX_SEGMENT_INDEX}`);
  return n;
}

function parseRecordingId(raw: string): string {
  if (!recordingIdPattern.test(raw)) throw uploadError('EV_ERR_UPLOAD_RECORDING_NOT_FOUND', 'no such recording for this attempt');
  return raw;
}

const sizePattern = /^(?:0|[1-9][0-9]{0,9})$/;

/** The EV-Segments header of a POST /v1/segments (protocol/upload.ts): `<recording> <index> <size>`, comma-separated. */
function parseSegmentsHeader(raw: string | string[] | undefined): BatchEntry[] {
  const framing = (message: string) => uploadError('EV_ERR_UPLOAD_BATCH_FRAMING', message);
  if (typeof raw !== 'string' || raw.trim() === '') throw framing(`send the ${SEGMENTS_HEADER} header: "<recording> <index> <size>" for each segment, comma-separated, in body order`);
  const items = raw.split(',');
  if (items.length > MAX_BATCH_SEGMENTS) throw framing(`${SEGMENTS_HEADER} must list 1..${MAX_BATCH_SEGMENTS} segments`);
  return items.map((item, i) => {
    const [recording, index, size, ...rest] = item.trim().split(/ +/);
    if (recording === undefined || index === undefined || size === undefined || rest.length > 0 || !sizePattern.test(size)) {
      throw framing(`entry ${i + 1} of ${SEGMENTS_HEADER} is not "<recording> <index> <size>"`);
    }
    return { recording: parseRecordingId(recording), index: parseIndex(index), size: Number(size) };
  });
}

function chunksOf(body: unknown): BodyChunks {
  if (!(body instanceof BodyChunks)) throw new ApiError('EV_ERR_API_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/octet-stream');
  return body;
}

/** A segment upload's body, freed once its handler is done with it (BodyChunks.release): the store has sealed its own copy by then. */
function releaseBody(body: unknown): void {
  if (body instanceof BodyChunks) body.release();
}

function octets(body: unknown): Uint8Array {
  return chunksOf(body).bytes();
}

/** The bytes a request declares it will send, as admission counts them. */
function declaredBytes(request: FastifyRequest): number {
  const n = Number(request.headers['content-length']);
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_SEGMENT_BODY ? n : MAX_SEGMENT_BODY;
}

export const recordingRoutes: FastifyPluginAsync<RecordingRoutesOptions> = async (app, options) => {
  const { cells, clock = Date.now, onComplete } = options;
  const auth = (request: Parameters<typeof authenticateAttempt>[0]) => authenticateAttempt(request, cells, clock());
  const admission = new Admission(
    options.maxSegmentBytesInFlight ?? DEFAULT_SEGMENT_BYTES_IN_FLIGHT,
    options.segmentAdmissionWaitMs ?? DEFAULT_SEGMENT_ADMISSION_WAIT_MS,
    options.maxSegmentsWaiting ?? DEFAULT_SEGMENTS_WAITING,
  );
  // Bodies stay in the chunks they arrived in (body-chunks.ts): a segment is sealed from them.
  app.removeContentTypeParser('application/octet-stream');
  app.addContentTypeParser('application/octet-stream', chunkedBodyParser());
  // Before the body is read: while this waits, the body stays in the client (admission.ts).
  const admit = async (request: FastifyRequest, reply: FastifyReply) => {
    const ticket = admission.enter(declaredBytes(request));
    // 'close' comes once the response is sent or the connection is gone, whichever happens.
    reply.raw.once('close', () => ticket.release());
    if (!(await ticket.admitted)) {
      void reply.header('retry-after', String(BUSY_RETRY_AFTER_SECONDS));
      throw uploadError('EV_ERR_UPLOAD_BUSY', 'the server is receiving as many segments as it holds at once: send this one again after Retry-After seconds');
    }
  };

  app.post('/recordings', { bodyLimit: MAX_HEADER_BODY }, async (request, reply) => {
    const { cell, scope } = await auth(request);
    const { created, status } = await createRecording(cell, scope, octets(request.body), clock());
    return reply.code(created ? 201 : 200).send(status);
  });

  app.get<{ Params: { id: string } }>('/recordings/:id', async (request) => {
    const { cell, scope } = await auth(request);
    return recordingStatus(cell, scope, parseRecordingId(request.params.id));
  });

  app.put<{ Params: { id: string; n: string } }>('/recordings/:id/segments/:n', { bodyLimit: MAX_SEGMENT_BODY, onRequest: admit, config: { quietWhenOk: true } }, async (request, reply) => {
    try {
      const { cell, scope } = await auth(request);
      const idx = parseIndex(request.params.n);
      const receipt = await putSegment(cell, scope, parseRecordingId(request.params.id), idx, chunksOf(request.body), clock());
      return reply.code(receipt.created ? 201 : 200).send(receipt);
    } finally {
      releaseBody(request.body);
    }
  });

  app.post('/segments', { bodyLimit: MAX_SEGMENT_BODY, onRequest: admit, config: { quietWhenOk: true } }, async (request): Promise<BatchReceipts> => {
    try {
      const { cell, scope } = await auth(request);
      const entries = parseSegmentsHeader(request.headers[SEGMENTS_HEADER]);
      return { receipts: await putSegments(cell, scope, entries, chunksOf(request.body), clock()) };
    } finally {
      releaseBody(request.body);
    }
  });

  app.get<{ Params: { id: string; n: string } }>('/recordings/:id/segments/:n', async (request, reply) => {
    const { cell, scope } = await auth(request);
    const bytes = await readSegment(cell, scope, parseRecordingId(request.params.id), parseIndex(request.params.n));
    return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.get<{ Params: { id: string } }>('/recordings/:id/header', async (request, reply) => {
    const { cell, scope } = await auth(request);
    const bytes = await readHeader(cell, scope, parseRecordingId(request.params.id));
    return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.post<{ Params: { id: string }; Body: unknown }>('/recordings/:id/complete', async (request) => {
    const { cell, scope } = await auth(request);
    const body = request.body as { segmentCount?: unknown } | null;
    const count = body && typeof body === 'object' ? body.segmentCount : undefined;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_SEGMENT_INDEX + 1) {
      throw new ApiError('EV_ERR_API_BAD_REQUEST', 'send { "segmentCount": n } with n ≥ 1 as application/json');
    }
    const status = await completeUpload(cell, scope, parseRecordingId(request.params.id), count, clock());
    await onComplete?.(cell, scope, status);
    return status;
  });
};
