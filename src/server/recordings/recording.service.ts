/**
 * The upload protocol's rules, independent of HTTP. The server holds no key to the recordings, so it
 * checks what it can without one: header framing, the header's context against the credential,
 * segment sizes and indexes, and that a complete recording has every segment. Each segment is
 * acknowledged only once its blob and its index row are durable.
 */
import { createHash } from 'node:crypto';
import type { CompiledQuery } from 'kysely';
import { decodeHeader, isCryptoError, MAX_SEGMENT_LIMIT, TAG_LENGTH } from '../../crypto/index.js';
import { ApiError } from '../../protocol/errors.js';
import { type BatchEntry, MAX_BATCH_SEGMENTS, type RecordingStatus, SEGMENTS_HEADER, type SegmentReceipt, uploadErrors, type UploadErrorCode } from '../../protocol/upload.js';
import type { AttemptScope } from '../attempts/credential.js';
import type { QueryResult } from '../db/group-commit.js';
import type { RecordingTable, SegmentTable } from '../db/schema.js';
import { findEpochKey, findInstitution } from '../institutions/institution.repository.js';
import type { Cell } from '../regions/cell.types.js';
import { takesRows } from '../storage/blob-store.js';
import { randomPool } from '../storage/random-pool.js';
import { completeRecording, findRecording, findSegment, insertRecordingQuery, storedIndexes } from './recording.repository.js';
import type { BodyChunks } from './body-chunks.js';
import type { RecordingFacts } from './recording-cache.js';

export const MAX_SEGMENT_INDEX = 0xffffffff;
/** Largest body a segment PUT can carry: the format's maximum plaintext plus its tag. */
export const MAX_SEGMENT_BODY = MAX_SEGMENT_LIMIT + TAG_LENGTH;
export const MAX_HEADER_BODY = 2048;

export function uploadError(code: UploadErrorCode, message: string): ApiError {
  return new ApiError(code, message, uploadErrors[code]);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Client-chosen ids may hold ':' which blob keys do not allow; hex keeps every id distinct. */
function keyPart(recording: string): string {
  return Buffer.from(recording, 'utf8').toString('hex');
}

function recordingPrefix(institution: string, recording: string): string {
  return `institutions/${institution}/recordings/${keyPart(recording)}`;
}

export function headerBlobKey(r: Pick<RecordingTable, 'institution_id' | 'recording_id' | 'header_sha256'>): string {
  return `${recordingPrefix(r.institution_id, r.recording_id)}/header-${r.header_sha256.slice(0, 32)}`;
}

/** Marks a segment name drawn in upload order (`newSegmentName`), and the key layout that goes with it. */
const IN_UPLOAD_ORDER = 'o';

/**
 * A name for one upload's segment object: `o`, the upload's time in milliseconds as 12 hex digits,
 * then 20 random hex digits. The 80 random bits keep any two uploads' names apart, so no upload's
 * object ever takes another's key. The time comes first because the key begins with it
 * (`segmentBlobKey`): the index of object keys then takes the segments uploaded together at one
 * place, where keys led by their recording landed at as many places as recordings being uploaded,
 * each dirtying a page of its own for the commit and its checkpoint to write (docs/STORAGE.md).
 */
export function newSegmentName(now: number): string {
  const time = Math.max(0, Math.min(Math.floor(now), 0xffffffffffff));
  return `${IN_UPLOAD_ORDER}${time.toString(16).padStart(12, '0')}${randomPool.take(10).toString('hex')}`;
}

/**
 * A segment's blob key, from its index row (`name` is `SegmentTable.name`). A name drawn in upload
 * order leads the key, followed by the recording and the index, which the at-rest seal thereby still
 * binds the object to. A name drawn before (32 random hex digits, or a SHA-256's first 32 before cell
 * migration 0015) keeps the key its object was stored under, led by the recording.
 */
export function segmentBlobKey(institution: string, recording: string, idx: number, name: string): string {
  const index = String(idx).padStart(10, '0');
  if (!name.startsWith(IN_UPLOAD_ORDER)) return `${recordingPrefix(institution, recording)}/segments/${index}-${name}`;
  return `institutions/${institution}/segments/${name}/${keyPart(recording)}/${index}`;
}

function ownedBy(r: RecordingTable | undefined, scope: AttemptScope): r is RecordingTable {
  return !!r && r.institution_id === scope.institution && r.exam_id === scope.exam && r.attempt_id === scope.attempt;
}

// Another attempt's recording is reported as absent, not forbidden: its existence is not ours to learn.
const recordingNotFound = () => uploadError('EV_ERR_UPLOAD_RECORDING_NOT_FOUND', 'no such recording for this attempt');

async function ownRecording(cell: Cell, scope: AttemptScope, recordingId: string): Promise<RecordingTable> {
  const r = await findRecording(cell.db, scope.institution, recordingId);
  if (!ownedBy(r, scope)) throw recordingNotFound();
  return r;
}

export interface CreateResult {
  readonly created: boolean;
  readonly status: RecordingStatus;
}

export async function createRecording(cell: Cell, scope: AttemptScope, body: Uint8Array, now: number): Promise<CreateResult> {
  let header;
  try {
    header = decodeHeader(body);
  } catch (e) {
    if (isCryptoError(e)) throw uploadError('EV_ERR_UPLOAD_BAD_HEADER', `${e.message} (${e.code})`);
    throw e;
  }
  if (header.bytes.length !== body.length) throw uploadError('EV_ERR_UPLOAD_BAD_HEADER', 'bytes follow the sealed header');
  const ctx = header.context;
  const expected: Array<[string, string, string]> = [
    ['institution', ctx.institution, scope.institution],
    ['region', ctx.region, cell.region],
    ['exam', ctx.exam, scope.exam],
    ['attempt', ctx.attempt, scope.attempt],
  ];
  for (const [field, got, want] of expected) {
    if (got !== want) throw uploadError('EV_ERR_UPLOAD_CONTEXT_MISMATCH', `the header's ${field} does not match this credential`);
  }
  const institution = await findInstitution(cell.db, scope.institution);
  if (!institution) throw uploadError('EV_ERR_UPLOAD_CONTEXT_MISMATCH', 'the institution is not in this region');
  if (header.keySlot.epoch !== institution.current_epoch) {
    throw uploadError('EV_ERR_UPLOAD_EPOCH_NOT_CURRENT', `recordings must be sealed to the institution's current epoch ${institution.current_epoch}`);
  }
  // Created awaiting set-up, the institution has no epoch key anyone could open a recording with.
  if (!(await findEpochKey(cell.db, scope.institution, institution.current_epoch))) {
    throw uploadError('EV_ERR_UPLOAD_NOT_SET_UP', 'the institution is not set up yet: it has no epoch key to seal recordings to');
  }

  const row: RecordingTable = {
    institution_id: scope.institution,
    recording_id: ctx.recording,
    exam_id: scope.exam,
    attempt_id: scope.attempt,
    track: ctx.track,
    epoch: header.keySlot.epoch,
    max_segment: header.maxSegment,
    header_sha256: sha256(body),
    header_size: body.length,
    segment_count: null,
    created_at: now,
    completed_at: null,
  };
  const existing = await findRecording(cell.db, scope.institution, ctx.recording);
  if (existing) return { created: false, status: await sameRecordingOrConflict(cell, scope, existing, row) };

  if (!(await storeHeaderAndInsert(cell, row, body))) {
    const winner = await findRecording(cell.db, scope.institution, ctx.recording);
    if (winner?.header_sha256 !== row.header_sha256) await cell.blobs.delete(headerBlobKey(row));
    if (!winner) throw new Error('recording vanished during create');
    return { created: false, status: await sameRecordingOrConflict(cell, scope, winner, row) };
  }
  return { created: true, status: await statusOf(cell, row) };
}

async function sameRecordingOrConflict(cell: Cell, scope: AttemptScope, existing: RecordingTable, attempted: RecordingTable): Promise<RecordingStatus> {
  if (!ownedBy(existing, scope) || existing.header_sha256 !== attempted.header_sha256) {
    throw uploadError('EV_ERR_UPLOAD_RECORDING_EXISTS', 'a different recording with this id already exists');
  }
  return statusOf(cell, existing);
}

/**
 * Stores the sealed header and inserts the recording's row (`putCommitting`); true when this call
 * inserted it. A recording exists once its header does. A racing twin with the same header has the
 * same key and rewrites the same bytes; one with another header has a key of its own, which the
 * caller removes when it lost.
 */
async function storeHeaderAndInsert(cell: Cell, row: RecordingTable, body: Uint8Array): Promise<boolean> {
  const [inserted] = await putCommitting(cell, headerBlobKey(row), body, [insertRecordingQuery(cell.db, row)]);
  return inserted?.changes === 1;
}

/**
 * Puts an object and commits `queries` once it is stored. Where the cell's store commits rows with its
 * objects, both go in one write of the group commit: one commit before the acknowledgement instead of
 * two in a row. Elsewhere (S3) the put comes first, then the commit.
 */
async function putCommitting(cell: Cell, key: string, body: Uint8Array, queries: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
  const { blobs } = cell;
  if (takesRows(blobs)) return blobs.putWith(key, body, queries);
  await blobs.put(key, body);
  return cell.commits.run(queries);
}

function ranges(indexes: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const i of indexes) {
    const last = out[out.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

async function statusOf(cell: Cell, r: RecordingTable): Promise<RecordingStatus> {
  const stored = ranges(await storedIndexes(cell.db, r.institution_id, r.recording_id));
  const first = stored[0];
  return {
    recording: r.recording_id,
    institution: r.institution_id,
    exam: r.exam_id,
    attempt: r.attempt_id,
    track: r.track,
    epoch: r.epoch,
    maxSegment: r.max_segment,
    stored,
    nextMissing: first && first[0] === 0 ? first[1] + 1 : 0,
    complete: r.segment_count !== null,
    segmentCount: r.segment_count === null ? null : Number(r.segment_count),
  };
}

export async function recordingStatus(cell: Cell, scope: AttemptScope, recordingId: string): Promise<RecordingStatus> {
  return statusOf(cell, await ownRecording(cell, scope, recordingId));
}

/** The cached facts of a recording this attempt owns; any other is reported absent. */
async function ownFacts(cell: Cell, scope: AttemptScope, recordingId: string): Promise<RecordingFacts> {
  const facts = await cell.recordings.get(scope.institution, recordingId);
  if (!facts || facts.institution !== scope.institution || facts.exam !== scope.exam || facts.attempt !== scope.attempt) throw recordingNotFound();
  return facts;
}

export async function putSegment(cell: Cell, scope: AttemptScope, recordingId: string, idx: number, body: BodyChunks, now: number): Promise<SegmentReceipt> {
  const facts = await ownFacts(cell, scope, recordingId);
  checkSegment(facts.segmentCount, facts.maxSegment, idx, body.length);
  return storeSegment(cell, scope, facts, recordingId, idx, body, now);
}

/** Stores a segment already checked against `facts`, its recording's as read for this upload. */
async function storeSegment(cell: Cell, scope: AttemptScope, facts: RecordingFacts, recordingId: string, idx: number, body: BodyChunks, now: number): Promise<SegmentReceipt> {
  const name = newSegmentName(now);
  const upload: SegmentUpload = {
    key: segmentBlobKey(scope.institution, recordingId, idx, name),
    row: { institution_id: scope.institution, recording_id: recordingId, idx, size: body.length, name, created_at: now },
    body,
  };
  const { blobs } = cell;
  if (takesRows(blobs) && facts.segmentCount === null) {
    // Most segments are sent once: write them without reading first. The write itself finds a
    // segment already sent, or a recording completed or deleted since it was read; the checked path
    // below then settles those with fresh reads.
    const first = await cell.segmentIndex.insertFirst(upload.row, (queries) => blobs.putNewWith(upload.key, body.chunks, queries));
    if (first === 'inserted') return receiptOf(upload, true);
    cell.recordings.forget(scope.institution, recordingId);
    if (first === 'closed') await blobs.delete(upload.key);
  }
  return checkedPut(cell, scope, upload);
}

/**
 * Several segments of this attempt's recordings in one body, `entries` saying which and how long, in
 * body order. Every segment is checked before any is stored, so a batch refused for what it says
 * stores nothing; then all are stored together, each as `putSegment` stores one (from the facts read
 * for the check, not read again), and the batch is acknowledged once every one is durable. When one
 * fails while being stored (another upload holds its index with other bytes), the others may be
 * stored: the answer is that one's error, and sending the batch again stores what is missing, the
 * rest answering as repeats.
 */
export async function putSegments(cell: Cell, scope: AttemptScope, entries: readonly BatchEntry[], body: BodyChunks, now: number): Promise<SegmentReceipt[]> {
  const framing = (message: string) => uploadError('EV_ERR_UPLOAD_BATCH_FRAMING', message);
  if (entries.length === 0 || entries.length > MAX_BATCH_SEGMENTS) throw framing(`${SEGMENTS_HEADER} must list 1..${MAX_BATCH_SEGMENTS} segments`);
  if (new Set(entries.map((e) => `${e.recording} ${e.index}`)).size !== entries.length) throw framing(`${SEGMENTS_HEADER} lists a segment twice`);
  const listed = entries.reduce((n, e) => n + e.size, 0);
  if (listed !== body.length) throw framing(`${SEGMENTS_HEADER} lists ${listed} bytes; the body has ${body.length}`);
  const checked: RecordingFacts[] = [];
  for (const e of entries) {
    const facts = await ownFacts(cell, scope, e.recording);
    checkSegment(facts.segmentCount, facts.maxSegment, e.index, e.size);
    checked.push(facts);
  }
  let at = 0;
  const stored = await Promise.allSettled(entries.map((e, i) => storeSegment(cell, scope, checked[i] as RecordingFacts, e.recording, e.index, body.slice(at, (at += e.size)), now)));
  const failed = stored.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return stored.map((s) => (s as PromiseFulfilledResult<SegmentReceipt>).value);
}

/**
 * One upload of a segment. Its blob key holds a name of its own, drawn for this upload
 * (`newSegmentName`), so no other upload's object, whatever its bytes, ever takes or overwrites its
 * key: the index row alone decides which object a recording keeps, and a repeat is told from a
 * conflict by comparing the bytes. Nothing on the way is hashed: the segment's sealing tag already
 * names it to the client (the receipt).
 */
interface SegmentUpload {
  readonly key: string;
  readonly row: SegmentTable;
  readonly body: BodyChunks;
}

function checkSegment(segmentCount: number | null, maxSegment: number, idx: number, size: number): void {
  if (segmentCount !== null && idx >= segmentCount) {
    throw uploadError('EV_ERR_UPLOAD_RECORDING_COMPLETE', `the recording is complete with ${segmentCount} segments`);
  }
  if (size < TAG_LENGTH || size > maxSegment + TAG_LENGTH) {
    throw uploadError('EV_ERR_UPLOAD_SEGMENT_SIZE', `a sealed segment of this recording is ${TAG_LENGTH}..${maxSegment + TAG_LENGTH} bytes`);
  }
}

function receiptOf({ row, body }: SegmentUpload, created: boolean): SegmentReceipt {
  const tag = body.tail(TAG_LENGTH).toString('hex');
  return { recording: row.recording_id, index: row.idx, size: row.size, tag, created };
}

/** An upload decided from what the database holds now: a repeat, a conflict, or a new segment. */
async function checkedPut(cell: Cell, scope: AttemptScope, upload: SegmentUpload): Promise<SegmentReceipt> {
  const { key, row, body } = upload;
  const r = await ownRecording(cell, scope, row.recording_id);
  checkSegment(r.segment_count === null ? null : Number(r.segment_count), r.max_segment, row.idx, body.length);

  const prior = await findSegment(cell.db, scope.institution, row.recording_id, row.idx);
  if (prior) return repeatOrConflict(cell, upload, prior);
  const outcome = await cell.segmentIndex.insertThrough(row, (queries) => putCommitting(cell, key, body.bytes(), queries));
  if (outcome.inserted) return receiptOf(upload, true);
  // Another upload of this index won: the object under this upload's own name is nobody's.
  await cell.blobs.delete(key);
  return repeatOrConflict(cell, upload, outcome.existing);
}

/** 200 when the segment stored at this index holds exactly these bytes, 409 otherwise. */
async function repeatOrConflict(cell: Cell, upload: SegmentUpload, stored: SegmentTable): Promise<SegmentReceipt> {
  const { row, body } = upload;
  if (Number(stored.size) === body.length) {
    const bytes = await cell.blobs.get(segmentBlobKey(row.institution_id, row.recording_id, row.idx, stored.name));
    if (bytes && Buffer.compare(bytes, body.bytes()) === 0) return receiptOf(upload, false);
  }
  throw uploadError('EV_ERR_UPLOAD_SEGMENT_CONFLICT', `segment ${row.idx} is already stored with other bytes`);
}

export async function completeUpload(cell: Cell, scope: AttemptScope, recordingId: string, segmentCount: number, now: number): Promise<RecordingStatus> {
  const r = await ownRecording(cell, scope, recordingId);
  if (r.segment_count !== null) {
    if (Number(r.segment_count) === segmentCount) return statusOf(cell, r);
    throw uploadError('EV_ERR_UPLOAD_RECORDING_COMPLETE', `the recording is already complete with ${r.segment_count} segments`);
  }
  await cell.segmentIndex.idle();
  const completed = await completeRecording(cell.db, cell.commits, scope.institution, recordingId, segmentCount, now);
  cell.recordings.forget(scope.institution, recordingId);
  if (!completed) {
    const status = await statusOf(cell, r);
    throw uploadError('EV_ERR_UPLOAD_INCOMPLETE', `segments 0..${segmentCount - 1} are not all stored, or more are stored (next missing: ${status.nextMissing})`);
  }
  return statusOf(cell, (await findRecording(cell.db, scope.institution, recordingId)) as RecordingTable);
}

export async function readHeader(cell: Cell, scope: AttemptScope, recordingId: string): Promise<Uint8Array> {
  const r = await ownRecording(cell, scope, recordingId);
  const bytes = await cell.blobs.get(headerBlobKey(r));
  if (!bytes) throw uploadError('EV_ERR_UPLOAD_RECORDING_NOT_FOUND', 'the recording header is gone');
  return bytes;
}

export async function readSegment(cell: Cell, scope: AttemptScope, recordingId: string, idx: number): Promise<Uint8Array> {
  await ownRecording(cell, scope, recordingId);
  const s = await findSegment(cell.db, scope.institution, recordingId, idx);
  const bytes = s ? await cell.blobs.get(segmentBlobKey(scope.institution, recordingId, idx, s.name)) : null;
  if (!bytes) throw uploadError('EV_ERR_UPLOAD_SEGMENT_NOT_FOUND', `segment ${idx} is not stored`);
  return bytes;
}
