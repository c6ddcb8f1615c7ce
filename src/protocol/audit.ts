/**
 * The audit log's read API (docs/AUDIT-LOG.md, "Reading the log"): what clients receive under
 * /v1/audit to check, with src/crypto/merkle's verifyEntryPage and verifyCheckpointExtension, that
 * what the server shows them is in the log it signed. Hashes are standard base64, as in exports.
 * Each code is documented in docs/errors.md.
 */

export const auditApiErrors = {
  /** A query parameter is not a whole number in its range (from ≤ to ≤ the log's size, 1 ≤ limit ≤ 500). */
  EV_ERR_AUDIT_BAD_QUERY: 400,
  /** `size` names a tree size the log signed no checkpoint at. */
  EV_ERR_AUDIT_CHECKPOINT_NOT_FOUND: 404,
} as const;

export type AuditApiErrorCode = keyof typeof auditApiErrors;

/** One entry with its proof (what src/crypto/merkle's ProvenEntry checks). */
export interface ProvenEntryJson {
  readonly seq: number;
  readonly createdAt: number;
  readonly institution: string | null;
  readonly type: string;
  readonly payload: { readonly [key: string]: unknown };
  /** Base64 of the entry's RFC 6962 leaf hash. */
  readonly leafHash: string;
  /** The audit path from the leaf to the checkpoint's root. */
  readonly inclusion: readonly string[];
}

/** GET /v1/audit/checkpoint */
export interface CheckpointResponse {
  /** The log's name (the note's first line). */
  readonly origin: string;
  /** The log's verifier key line, for information: a client checks with the key it pinned. */
  readonly logKey: string;
  readonly size: number;
  /** The signed note. */
  readonly checkpoint: string;
}

/** GET /v1/audit/entries */
export interface EntriesResponse {
  readonly institution: string;
  /** What the caller may read: every entry of its institution (admins), or the key-custody ones (`custody.*`). */
  readonly scope: 'all' | 'custody';
  readonly size: number;
  /** The signed note of the checkpoint every inclusion proof leads to. */
  readonly checkpoint: string;
  readonly entries: readonly ProvenEntryJson[];
  /** The `from` of the next page, or null when no entry of the scope remains below `size`. */
  readonly next: number | null;
}

/** GET /v1/audit/consistency */
export interface ConsistencyResponse {
  readonly from: number;
  readonly to: number;
  /** RFC 6962 consistency proof from the tree of `from` entries to the tree of `to`. */
  readonly proof: readonly string[];
}
