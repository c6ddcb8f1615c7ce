/**
 * The key-custody API (docs/CUSTODY-SERVER.md): what staff clients send and receive under
 * /v1/custody. The server stores and relays public keys, wrapped private keys, grants and signed
 * statements; it verifies what it can (shapes, signatures against registered keys, fingerprints) and
 * can open none of it. Each code is documented in docs/errors.md.
 */

export const custodyErrors = {
  /** The body is not the documented JSON shape, or a field breaks its size or form rule. */
  EV_ERR_CUSTODY_INVALID_REQUEST: 400,
  /** A signed statement does not verify, is of the wrong type, names someone or something else, or is not the signer's to make. */
  EV_ERR_CUSTODY_STATEMENT_REJECTED: 422,
  /** The staff member (or the reviewer named) has no registered custody keys. */
  EV_ERR_CUSTODY_NOT_REGISTERED: 409,
  /** The reviewer holds no grant for the recording's epoch, or is not approved. */
  EV_ERR_CUSTODY_NO_GRANT: 403,
  /** The reviewer was revoked. */
  EV_ERR_CUSTODY_REVOKED: 403,
  /** The staff member belongs to another institution than the path names. */
  EV_ERR_CUSTODY_WRONG_INSTITUTION: 403,
  /** A revocation's epoch is not the next one, or the institution changed meanwhile. */
  EV_ERR_CUSTODY_EPOCH_CONFLICT: 409,
  EV_ERR_CUSTODY_RECORDING_NOT_FOUND: 404,
  EV_ERR_CUSTODY_SEGMENT_NOT_FOUND: 404,
  /** The audit log could not record the event first: the action was not carried out. */
  EV_ERR_CUSTODY_AUDIT_UNAVAILABLE: 503,
  /** A re-wrapped header changes Bound (and so would not match the stored segments), or is not a header at all. */
  EV_ERR_CUSTODY_REWRAP_BOUND_MISMATCH: 409,
  /** A re-wrapped header is not for the institution's current epoch, the recording is already at it, or it changed meanwhile. */
  EV_ERR_CUSTODY_REWRAP_EPOCH: 409,
  /** The institution has no recovery key registered (PUT /v1/custody/recovery at set-up). */
  EV_ERR_CUSTODY_RECOVERY_NOT_SET: 409,
  /** The institution's recovery key is registered once, at set-up; it is already. */
  EV_ERR_CUSTODY_RECOVERY_ALREADY_SET: 409,
  /** The requesting admin's keys are not enrolled: no admin-enrolment (by an admin, the recovery key, or set-up) names them. */
  EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED: 403,
  /** A revocation came without the new epoch key granted to the institution's recovery key. */
  EV_ERR_CUSTODY_RECOVERY_GRANT_REQUIRED: 422,
  /** The institution has no epoch key yet: it awaits set-up by its first admin, whose console generates the key (PUT /v1/custody/recovery). */
  EV_ERR_CUSTODY_NOT_SET_UP: 409,
} as const;

export type CustodyErrorCode = keyof typeof custodyErrors;

/** PUT /v1/custody/me/keys */
export interface RegisterKeysRequest {
  /** base64url of the signed key-registration statement (self-signed, KEY-CUSTODY §7). */
  readonly registration: string;
  /** Wrapped private keys (KEY-CUSTODY §5) by purpose: opaque to the server, checked for shape and size only. */
  readonly wrappedKeys: Readonly<Record<string, unknown>>;
}

export interface CustodyMember {
  readonly member: string;
  readonly role: 'admin' | 'reviewer';
  readonly status: 'pending' | 'approved' | 'revoked';
  readonly hpkePublicKey: string;
  readonly signingPublicKey: string;
  readonly fingerprint: string;
  /** base64url of the signed key registration: the client verifies it and computes the safety number itself. */
  readonly registration: string;
  /** base64url signed approval statements for this member, oldest first. */
  readonly approvals: readonly string[];
}

/** POST /v1/custody/grants */
export interface GrantRequest {
  /** The grant document (KEY-CUSTODY §6). */
  readonly grant: unknown;
  /** base64url of the admin-signed approval statement. */
  readonly approval: string;
}

/** POST /v1/custody/revocations */
export interface RevocationRequest {
  /** base64url of the admin-signed revocation statement, which names the new epoch and its public key. */
  readonly revocation: string;
  /** The new epoch's key granted to the institution's recovery key (KEY-CUSTODY §6). */
  readonly recoveryGrant: unknown;
}

/** PUT /v1/custody/recovery: institution set-up by its first admin (docs/CUSTODY-SERVER.md). */
export interface SetUpRequest {
  /** base64url of the `institution` statement, self-signed by the recovery key it carries. */
  readonly institution: string;
  /** base64url of the `admin-enrolment` of the requesting admin's registered keys, signed by the recovery key. */
  readonly enrolment: string;
  /**
   * base64url of the `epoch` statement of the current epoch's public key, signed by the requesting
   * admin: the stored key, or, for an institution created without one, the epoch-1 key the admin's
   * client just generated, which the server then stores.
   */
  readonly epoch: string;
  /** The current epoch key granted to the recovery key. */
  readonly recoveryGrant: unknown;
  /** The current epoch key granted to the requesting admin. */
  readonly grant: unknown;
}

/** POST /v1/custody/admins (signed by the requesting admin) and POST /v1/custody/recovery/admins (signed by the recovery key). */
export interface AdminEnrolmentRequest {
  /** base64url of the `admin-enrolment` statement naming the new admin's registered keys. */
  readonly enrolment: string;
  /** The epoch keys granted to the new admin, one grant per epoch (1 to 64). */
  readonly grants: readonly unknown[];
}

export interface UnlockResponse {
  readonly institution: string;
  readonly recording: string;
  readonly epoch: number;
  /** base64url of the sealed header (SPEC §5): it holds the data key wrapped to the epoch key. */
  readonly header: string;
  readonly segmentCount: number | null;
  readonly segments: readonly { readonly index: number; readonly size: number }[];
  /** The audit log entry that recorded this unlock. */
  readonly auditSeq: number;
}

export interface EpochResponse {
  readonly institution: string;
  readonly epoch: number;
  /** base64url of the 65-byte epoch public key. */
  readonly publicKey: string;
  /**
   * base64url signed statements in log order: the institution statement (self-signed by the recovery
   * key), the admin enrolments, and the epoch and revocation statements naming this or earlier epochs.
   */
  readonly statements: readonly string[];
  /**
   * For each statement, at the same place, the seq of the audit log entry that recorded it: where a
   * recorder looks for it in the log (GET /v1/audit/entries) to check it is there (docs/WEB.md).
   */
  readonly auditSeqs: readonly number[];
}

/** GET /v1/custody/exams/{exam}/attempts: the exam's attempts in the caller's institution. */
export interface AttemptListResponse {
  readonly institution: string;
  readonly exam: string;
  /** Attempts with a credential or a recording, by attempt id. */
  readonly attempts: readonly { readonly attempt: string; readonly recordings: number }[];
}

/** One recording of an attempt, as listed to reviewers: metadata only, nothing that opens it. */
export interface RecordingListItem {
  readonly recording: string;
  readonly track: string;
  readonly epoch: number;
  /** Segments stored so far. */
  readonly segments: number;
  /** The count declared at completion; null while the recording is not complete. */
  readonly segmentCount: number | null;
  readonly complete: boolean;
  readonly createdAt: number;
  readonly completedAt: number | null;
}

/** GET /v1/custody/attempts/{attempt}/recordings */
export interface RecordingListResponse {
  readonly institution: string;
  readonly attempt: string;
  /** The attempt's exam, or null when the attempt is unknown in the caller's institution. */
  readonly exam: string | null;
  readonly recordings: readonly RecordingListItem[];
}

/** GET /v1/custody/rewrap/pending: recordings sealed to an epoch older than the current one, oldest first. */
export interface RewrapPendingResponse {
  readonly institution: string;
  readonly currentEpoch: number;
  readonly recordings: readonly {
    readonly recording: string;
    readonly epoch: number;
    /** base64url of the sealed header as stored. */
    readonly header: string;
  }[];
  /** True when more recordings are pending than this answer lists: re-wrap these and ask again. */
  readonly more: boolean;
}

/** PUT /v1/custody/recordings/{institution}/{recording}/header */
export interface RewrapRequest {
  /** base64url of the re-wrapped header: the stored Bound byte for byte, a KeySlot for the current epoch. */
  readonly header: string;
}

export interface RewrapResponse {
  readonly institution: string;
  readonly recording: string;
  readonly fromEpoch: number;
  readonly epoch: number;
  readonly headerSha256: string;
  readonly auditSeq: number;
}
