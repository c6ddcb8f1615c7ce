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
  /**
   * Names the segment's object in its blob key, drawn by the upload that stored it so that no other
   * upload's object can ever take its key: `o`, the upload time and 80 random bits
   * (recording.service.ts `newSegmentName`); from cell migration 0015 until then, 32 random hex digits.
   */
  name: string;
  created_at: number;
}

/** Small blobs (at-rest key records) kept in the cell's database: see storage/blob-store.sql.ts. */
export interface SmallObjectTable {
  key: string;
  data: Uint8Array;
}

/** Where each object of the cell's log-structured blob store is: see storage/blob-store.log.ts. */
export interface LogObjectTable {
  key: string;
  /** The log file's number: `<cell>/blobs/objects/<10 digits>.log`. */
  file: number;
  /** Where the object's record starts in the file. */
  offset: number;
  /** The object's length in bytes. */
  length: number;
  /** A small record kept with the object (cell migration 0014): its at-rest key record, or null. */
  record: Uint8Array | null;
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

/**
 * A staff member (institution admin or reviewer): an opaque id, never a name or an email. The
 * institution may give a free-text label of its own choosing.
 */
export interface StaffTable {
  id: string;
  institution_id: string;
  role: 'admin' | 'reviewer';
  label: string | null;
  created_at: number;
  disabled_at: number | null;
}

/** One-time, expiring setup links; only SHA-256 of the token is kept. */
export interface StaffInviteTable {
  token_hash: string;
  institution_id: string;
  role: 'admin' | 'reviewer';
  /** The inviting staff id, or null for an operator's `examvault admins invite`. */
  created_by: string | null;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** A staff member's WebAuthn credentials. */
export interface PasskeyTable {
  /** base64url credential id. */
  credential_id: string;
  staff_id: string;
  /** COSE public key. */
  public_key: Uint8Array;
  counter: number;
  /** JSON array of AuthenticatorTransport strings. */
  transports: string;
  created_at: number;
}

/** Staff sessions: SHA-256 of the cookie token and of the CSRF token, never the tokens. */
export interface StaffSessionTable {
  token_hash: string;
  staff_id: string;
  csrf_hash: string | null;
  expires_at: number;
  created_at: number;
}

/** Pending WebAuthn challenges: single-use, short-lived, keyed by SHA-256 of a random id. */
export interface WebauthnChallengeTable {
  id_hash: string;
  purpose: 'register' | 'sign-in';
  challenge: string;
  /** For registration: the invite's token hash being redeemed. */
  invite_hash: string | null;
  /** For registration: the WebAuthn user handle offered to the authenticator (the future staff id). */
  staff_id: string | null;
  expires_at: number;
  created_at: number;
}

/** A staff member's custody keys (src/server/custody): public keys, wrapped private keys, signed registration. */
export interface CustodyMemberTable {
  institution_id: string;
  member_id: string;
  role: 'admin' | 'reviewer';
  /** base64url of the 65-byte points. */
  hpke_public_key: string;
  signing_public_key: string;
  /** base64url of the 32-byte member fingerprint (KEY-CUSTODY §3). */
  fingerprint: string;
  /** base64url of the signed key-registration statement. */
  registration: string;
  /** JSON object: purpose → wrapped private key document (opaque to the server). */
  wrapped_keys: string;
  status: 'pending' | 'approved' | 'revoked';
  created_at: number;
  updated_at: number;
}

/** An epoch key sealed to one member (KEY-CUSTODY §6), with the admin-signed approval that made it. */
export interface CustodyGrantTable {
  institution_id: string;
  member_id: string;
  epoch: number;
  grant_json: string;
  /** base64url of the signed approval statement. */
  approval: string;
  created_at: number;
}

/** The signed statements the server accepted, each also in the audit log at `audit_seq`. */
export interface CustodyStatementTable {
  institution_id: string;
  /** Hex SHA-256 of the statement without its signature (KEY-CUSTODY §7.5). */
  statement_id: string;
  audit_seq: number;
  type: string;
  subject: string | null;
  epoch: number | null;
  /** base64url of the signed statement. */
  signed: string;
  created_at: number;
}

/** An institution's retention period for recordings. */
export interface CustodyRetentionTable {
  institution_id: string;
  days: number;
  updated_at: number;
}

/** One revision of the sealed review of an attempt (docs/SPEC.md §13): opaque but for its clear head. */
export interface ReviewRecordTable {
  institution_id: string;
  attempt_id: string;
  revision: number;
  author_id: string;
  epoch: number;
  /** Hex SHA-256 of the record without its signature: what the next revision must name. */
  record_id: string;
  /** base64url of the whole record. */
  record: string;
  audit_seq: number;
  created_at: number;
}

export interface ExamTable {
  institution_id: string;
  exam_id: string;
  title: string;
  /** Seconds between the recorder's still snapshots; 0: none. */
  snapshot_interval_seconds: number;
  created_at: number;
}

/** An assessment platform an institution's admin registered (src/server/platforms). */
export interface PlatformTable {
  id: string;
  institution_id: string;
  /** The platform's (organisation's) name, chosen by the admin. */
  name: string;
  /** Hex SHA-256 of the API key: the key itself is never stored. */
  key_hash: string;
  webhook_url: string;
  /** The admin who registered it, or null for an operator's `examvault platforms register`. */
  created_by: string | null;
  created_at: number;
  revoked_at: number | null;
}

/** The passcode locator of an exam: the first symbols of every passcode of the exam. */
export interface PasscodeExamTable {
  institution_id: string;
  exam_id: string;
  locator: string;
  created_at: number;
}

/** Per-attempt passcodes: only a keyed hash (HMAC-SHA256 under the cell's passcode key) is kept. */
export interface PasscodeTable {
  id: string;
  /** Hex HMAC-SHA256 of the canonical passcode. */
  code_hash: string;
  institution_id: string;
  exam_id: string;
  attempt_id: string;
  /** The issuing platform; null when an admin issued it (who: the `passcodes.issued` audit event). */
  platform_id: string | null;
  credential_ttl_seconds: number;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** A passcode guessing lockout, kept across restarts: a keyed hash of its budget, never an address. */
export interface PasscodeLockoutTable {
  key_hash: string;
  locked_until: number;
}

/** Webhook events waiting for, or done with, delivery: written in the transaction of what caused them. */
export interface WebhookOutboxTable {
  id: string;
  institution_id: string;
  platform_id: string;
  type: string;
  /** Makes enqueueing idempotent: one event per cause (a passcode redeemed, a recording completed). */
  dedupe_key: string;
  /** The exact JSON body delivered (and signed). */
  body: string;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  /** Set when delivery was given up after the last retry. */
  failed_at: number | null;
  /** HTTP status of the last attempt; 0 when no answer came. */
  last_status: number | null;
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
  staff: StaffTable;
  staff_invites: StaffInviteTable;
  passkeys: PasskeyTable;
  staff_sessions: StaffSessionTable;
  webauthn_challenges: WebauthnChallengeTable;
  custody_members: CustodyMemberTable;
  custody_grants: CustodyGrantTable;
  custody_statements: CustodyStatementTable;
  custody_retention: CustodyRetentionTable;
  exams: ExamTable;
  platforms: PlatformTable;
  passcode_exams: PasscodeExamTable;
  passcodes: PasscodeTable;
  webhook_outbox: WebhookOutboxTable;
  passcode_lockouts: PasscodeLockoutTable;
  lti_platforms: LtiPlatformTable;
  lti_logins: LtiLoginTable;
  lti_nonces: LtiNonceTable;
  lti_launches: LtiLaunchTable;
  lti_staff: LtiStaffTable;
  lti_codes: LtiCodeTable;
  log_objects: LogObjectTable;
  review_records: ReviewRecordTable;
}

export interface DirectoryTable {
  institution_id: string;
  region: string;
  created_at: number;
}

/** Passcode locator → region: which cell holds an exam's passcodes (no ids of people, no exam ids). */
export interface PasscodeLocatorTable {
  locator: string;
  region: string;
  created_at: number;
}

export interface DirectoryDatabase {
  directory: DirectoryTable;
  passcode_locators: PasscodeLocatorTable;
  lti_platforms: LtiPlatformDirectoryTable;
}

/** The LTI tables (src/server/lti, docs/LTI.md); JSON columns are arrays or objects as text. */
export interface LtiPlatformTable {
  id: string;
  institution_id: string;
  issuer: string;
  client_id: string;
  deployment_ids: string;
  auth_endpoint: string;
  token_endpoint: string;
  jwks_url: string;
  frame_origins: string;
  kept_claims: string;
  created_at: number;
}

export interface LtiLoginTable {
  state_hash: string;
  platform_id: string;
  nonce: string;
  binding_hash: string;
  target_link_uri: string;
  storage_target: string | null;
  expires_at: number;
  created_at: number;
}

export interface LtiNonceTable {
  platform_id: string;
  nonce_hash: string;
  expires_at: number;
}

export interface LtiLaunchTable {
  id: string;
  institution_id: string;
  platform_id: string;
  message_type: string;
  deployment_id: string;
  sub: string | null;
  roles: string;
  context_id: string | null;
  resource_link_id: string | null;
  exam_id: string | null;
  attempt_id: string | null;
  staff_id: string | null;
  kept_claims: string | null;
  created_at: number;
}

export interface LtiStaffTable {
  platform_id: string;
  sub: string;
  staff_id: string;
  created_at: number;
}

export interface LtiCodeTable {
  code_hash: string;
  kind: string;
  institution_id: string;
  payload: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** The global half of a registration: (issuer, client id) → institution and region. */
export interface LtiPlatformDirectoryTable {
  issuer: string;
  client_id: string;
  platform_id: string;
  institution_id: string;
  region: string;
  created_at: number;
}
