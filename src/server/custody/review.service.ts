/**
 * Review records on the server (docs/CUSTODY-SERVER.md, "Review records"; the format is docs/SPEC.md
 * §13). The server stores each revision of an attempt's review whole and serves it back; it reads only
 * the clear head. What it checks without a key: the framing, that the head names the session's
 * institution, the attempt of the path and the signed-in member as author, that the author's
 * registered signing key signed it, that it is sealed to the current epoch, and that it is exactly the
 * next revision after the stored newest (optimistic concurrency: the loser of a race gets 409 and
 * reseals on top of the winner). Every stored revision is in the audit log first, by ids and hashes.
 */
import { createHash } from 'node:crypto';
import { MAX_REVIEW_RECORD, type DecodedReview, decodeReview, fromBase64Url, isCryptoError, toBase64Url, toHex, verifyReviewSignature } from '../../crypto/index.js';
import { ApiError } from '../../protocol/errors.js';
import { type ReviewErrorCode, type ReviewListResponse, type ReviewWriteResponse, reviewErrors } from '../../protocol/review.js';
import type { ReviewRecordTable } from '../db/schema.js';
import { findInstitution } from '../institutions/institution.repository.js';
import type { Cell } from '../regions/cell.types.js';
import type { StaffPrincipal } from '../staff/staff.types.js';
import { approvedMember, audit, custodyError, mayList } from './custody.service.js';
import { attemptExists, insertReview, latestReview, listReviews } from './review.repository.js';

function reviewError(code: ReviewErrorCode, message: string): ApiError {
  return new ApiError(code, message, reviewErrors[code]);
}

/** Base64url of at most MAX_REVIEW_RECORD bytes. */
const recordText = new RegExp(`^[A-Za-z0-9_-]{1,${Math.ceil((MAX_REVIEW_RECORD * 4) / 3)}}$`);

function recordOf(body: unknown): Uint8Array {
  const text = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 ? (body as { record?: unknown }).record : undefined;
  const bytes = typeof text === 'string' && recordText.test(text) ? fromBase64Url(text) : null;
  if (!bytes) throw custodyError('EV_ERR_CUSTODY_INVALID_REQUEST', 'send { "record": "<base64url of the review record>" } as application/json');
  return bytes;
}

async function decoded(bytes: Uint8Array): Promise<DecodedReview> {
  try {
    return await decodeReview(bytes);
  } catch (e) {
    if (isCryptoError(e)) throw reviewError('EV_ERR_REVIEW_REJECTED', `the review record was refused: ${e.message} (${e.code})`);
    throw e;
  }
}

function view(row: ReviewRecordTable): ReviewListResponse['records'][number] {
  return { revision: Number(row.revision), author: row.author_id, epoch: Number(row.epoch), record: row.record, storedAt: Number(row.created_at) };
}

/**
 * Stores the next revision of an attempt's review, written by the signed-in member. Sending the
 * stored newest revision again (a retry after a lost answer) returns it without storing anything.
 */
export async function writeReview(cell: Cell, principal: StaffPrincipal, attempt: string, body: unknown, now: number): Promise<ReviewWriteResponse & { readonly created: boolean }> {
  const member = await approvedMember(cell, principal);
  const institution = principal.institution;
  if (!(await attemptExists(cell.db, institution, attempt))) throw reviewError('EV_ERR_REVIEW_ATTEMPT_NOT_FOUND', 'no such attempt in your institution');
  const bytes = recordOf(body);
  const record = await decoded(bytes);
  if (record.institution !== institution || record.attempt !== attempt) throw reviewError('EV_ERR_REVIEW_REJECTED', 'the review record names another institution or attempt');
  if (record.author !== member.member_id) throw reviewError('EV_ERR_REVIEW_REJECTED', 'the review record names another author than the member signed in');
  if (!(await verifyReviewSignature(bytes, fromBase64Url(member.signing_public_key) as Uint8Array))) {
    throw reviewError('EV_ERR_REVIEW_REJECTED', 'the review record is not signed by your registered signing key');
  }
  const id = toHex(record.id);
  const latest = await latestReview(cell.db, institution, attempt);
  if (latest && Number(latest.revision) === record.revision && latest.record_id === id) {
    return { attempt, revision: record.revision, id: toBase64Url(record.id), auditSeq: Number(latest.audit_seq), created: false };
  }
  const expected = latest ? Number(latest.revision) + 1 : 1;
  if (record.revision !== expected || (latest && toHex(record.previous) !== latest.record_id)) {
    throw reviewError('EV_ERR_REVIEW_CONFLICT', `the next revision is ${expected}, following the stored revision ${expected - 1}: fetch it and write on top of it`);
  }
  const current = Number((await findInstitution(cell.db, institution))?.current_epoch ?? 0);
  if (record.epoch !== current) throw reviewError('EV_ERR_REVIEW_STALE_EPOCH', `seal the review to the current epoch ${current}`);

  const seq = await audit(cell, institution, 'review.stored', {
    member: member.member_id,
    attempt,
    revision: record.revision,
    epoch: record.epoch,
    recordId: id,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  });
  // The log may hold a revision that then lost the race below: it records every write it was asked to make.
  const stored = await insertReview(cell.db, {
    institution_id: institution,
    attempt_id: attempt,
    revision: record.revision,
    author_id: member.member_id,
    epoch: record.epoch,
    record_id: id,
    record: toBase64Url(bytes),
    audit_seq: seq,
    created_at: now,
  });
  if (!stored) throw reviewError('EV_ERR_REVIEW_CONFLICT', `revision ${record.revision} was stored by another writer meanwhile: fetch it and write on top of it`);
  return { attempt, revision: record.revision, id: toBase64Url(record.id), auditSeq: seq, created: true };
}

/** Every revision of an attempt's review, from revision 1, or only the newest. Sealed: nothing to audit. */
export async function readReview(cell: Cell, principal: StaffPrincipal, attempt: string, latestOnly: boolean): Promise<ReviewListResponse> {
  await mayList(cell, principal);
  const institution = principal.institution;
  const rows = latestOnly ? [await latestReview(cell.db, institution, attempt)].filter((r) => r !== undefined) : await listReviews(cell.db, institution, attempt);
  return { institution, attempt, records: rows.map(view) };
}
