/**
 * Table types of the two kinds of database: a region cell's metadata database, and the small global
 * directory that maps an institution to its region (the only data shared between cells).
 *
 * Times are integer milliseconds since the epoch; ids are generated in application code
 * (src/server/ids.ts), never by the database, so both SQL dialects behave alike.
 */

export interface InstitutionTable {
  id: string;
  name: string;
  region: string;
  current_epoch: number;
  created_at: number;
}

export interface EpochKeyTable {
  institution_id: string;
  epoch: number;
  /** base64url of the 65-byte P-256 public key. */
  public_key: string;
  created_at: number;
}

export interface AttemptCredentialTable {
  /** Hex SHA-256 of the bearer token: the token itself is never stored. */
  token_hash: string;
  institution_id: string;
  exam_id: string;
  attempt_id: string;
  expires_at: number;
  created_at: number;
}

export interface RecordingTable {
  institution_id: string;
  recording_id: string;
  exam_id: string;
  attempt_id: string;
  track: string;
  epoch: number;
  max_segment: number;
  /** Hex SHA-256 of the sealed header, so a repeated create is recognised as the same one. */
  header_sha256: string;
  header_size: number;
  /** Set when the recording is complete: segments 0..segment_count-1 are all stored. */
  segment_count: number | null;
  created_at: number;
  completed_at: number | null;
}

export interface SegmentTable {
  institution_id: string;
  recording_id: string;
  idx: number;
  size: number;
  /** Hex SHA-256 of the sealed segment; part of its blob key, and what makes a re-upload idempotent. */
  sha256: string;
  created_at: number;
}

/** Small blobs (at-rest key records) kept in the cell's database: see storage/blob-store.sql.ts. */
export interface SmallObjectTable {
  key: string;
  data: Uint8Array;
}

/** The cell's audit log (src/server/audit, docs/AUDIT-LOG.md): append-only, never updated. */
export interface AuditLogTable {
  /** The RFC 6962 leaf index, from 0, assigned by the log in order. */
  seq: number;
  /** Null for an event of the whole cell. */
  institution_id: string | null;
  type: string;
  /** Canonical JSON of the event's payload (ids only, no personal data), UTF-8. */
  payload: Uint8Array;
  /** SHA-256(0x00 || leaf data): what the tree is built from. */
  leaf_hash: Uint8Array;
  created_at: number;
}

/** The checkpoints the audit log signed, one per tree size. */
export interface AuditCheckpointTable {
  tree_size: number;
  /** The signed note (C2SP signed-note text). */
  note: string;
  created_at: number;
}

export interface CellDatabase {
  small_objects: SmallObjectTable;
  institutions: InstitutionTable;
  epoch_keys: EpochKeyTable;
  attempt_credentials: AttemptCredentialTable;
  recordings: RecordingTable;
  segments: SegmentTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointTable;
}

export interface DirectoryTable {
  institution_id: string;
  region: string;
  created_at: number;
}

export interface DirectoryDatabase {
  directory: DirectoryTable;
}
