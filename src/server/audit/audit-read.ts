/**
 * The audit log's read API (docs/AUDIT-LOG.md, "Reading the log"): a signed checkpoint, a caller's
 * entries with their inclusion proofs against one, and consistency proofs between tree sizes, so that
 * clients check what the server shows them against what the log key signed.
 *
 * Who reads what: an institution's admins read every entry of their institution; its other staff and
 * its recorders (attempt credentials) read the key-custody entries (`custody.*`: key registrations,
 * enrolments, approvals, revocations, set-up, retention), which is what they verify keys against.
 * Unlocks, deletions, sign-ins and invites are for admins. Nobody reads another institution's entries.
 */
import { toBase64 } from '../../crypto/merkle/index.js';
import { type AuditApiErrorCode, type CheckpointResponse, type ConsistencyResponse, type EntriesResponse, auditApiErrors } from '../../protocol/audit.js';
import { ApiError } from '../../protocol/errors.js';
import type { Cell } from '../regions/cell.types.js';

export type ReadScope = EntriesResponse['scope'];

/** Entries one page holds at most, and by default. */
export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 100;

function auditApiError(code: AuditApiErrorCode, message: string): ApiError {
  return new ApiError(code, message, auditApiErrors[code]);
}

const decimal = /^(?:0|[1-9][0-9]{0,15})$/;

/** A whole-number query parameter, or `fallback` when absent; anything else is 400. */
export function countParam(value: unknown, name: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = typeof value === 'string' && decimal.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw auditApiError('EV_ERR_AUDIT_BAD_QUERY', `${name} must be a whole number`);
  return n;
}

/** The log's latest state, signed now if it grew since the last checkpoint. */
export async function readCheckpoint(cell: Cell): Promise<CheckpointResponse> {
  const signed = await cell.audit.checkpoint();
  return { origin: cell.audit.origin, logKey: cell.audit.verifierKey, size: signed.checkpoint.size, checkpoint: signed.note };
}

/**
 * The caller's entries with seq ≥ `from`, below the size of the checkpoint `size` (a stored one), or
 * of one signed now; each with its leaf hash and its inclusion proof against that checkpoint.
 */
export async function readEntries(cell: Cell, institution: string, scope: ReadScope, query: { from?: unknown; limit?: unknown; size?: unknown }): Promise<EntriesResponse> {
  const from = countParam(query.from, 'from', 0);
  const limit = countParam(query.limit, 'limit', DEFAULT_PAGE);
  if (limit < 1 || limit > MAX_PAGE) throw auditApiError('EV_ERR_AUDIT_BAD_QUERY', `limit must be 1 to ${MAX_PAGE}`);
  const signed = query.size === undefined ? await cell.audit.checkpoint() : await cell.audit.checkpointAt(countParam(query.size, 'size'));
  if (!signed) throw auditApiError('EV_ERR_AUDIT_CHECKPOINT_NOT_FOUND', 'the log signed no checkpoint of that size: ask GET /v1/audit/checkpoint for one');
  const size = signed.checkpoint.size;
  if (from > size) throw auditApiError('EV_ERR_AUDIT_BAD_QUERY', `from must be at most the checkpoint's size ${size}`);
  const rows = await cell.audit.institutionEntries(institution, from, size, limit + 1, scope === 'custody' ? 'custody.' : undefined);
  const entries = await Promise.all(rows.slice(0, limit).map(async (e) => ({
    ...e,
    leafHash: toBase64(cell.audit.leafHash(e.seq)),
    inclusion: (await cell.audit.inclusionProof(e.seq, size)).map(toBase64),
  })));
  return { institution, scope, size, checkpoint: signed.note, entries, next: rows[limit]?.seq ?? null };
}

/** The proof that the tree of `from` entries is a prefix of the tree of `to` entries. */
export async function readConsistency(cell: Cell, query: { from?: unknown; to?: unknown }): Promise<ConsistencyResponse> {
  const from = countParam(query.from, 'from');
  const to = countParam(query.to, 'to');
  if (from > to || to > cell.audit.size) throw auditApiError('EV_ERR_AUDIT_BAD_QUERY', `need from ≤ to ≤ ${cell.audit.size}, the log's size`);
  return { from, to, proof: (await cell.audit.consistencyProof(from, to)).map(toBase64) };
}
