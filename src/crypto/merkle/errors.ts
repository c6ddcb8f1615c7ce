/**
 * Errors of the audit log's isomorphic core: the Merkle tree, signed checkpoints, log entries and the
 * offline verification of an export. Each carries a stable `code` (docs/errors.md, section "Audit
 * log"); a verifier's caller switches on it to say what failed: a signature, a root, a missing entry.
 */

export const auditLogErrorCodes = [
  'EV_ERR_AUDIT_INVALID_EVENT',
  'EV_ERR_AUDIT_OUT_OF_RANGE',
  'EV_ERR_AUDIT_MALFORMED_KEY',
  'EV_ERR_AUDIT_MALFORMED_CHECKPOINT',
  'EV_ERR_AUDIT_NOT_SIGNED',
  'EV_ERR_AUDIT_BAD_SIGNATURE',
  'EV_ERR_AUDIT_WRONG_ORIGIN',
  'EV_ERR_AUDIT_EXPORT_MALFORMED',
  'EV_ERR_AUDIT_NO_CHECKPOINT',
  'EV_ERR_AUDIT_ENTRY_MODIFIED',
  'EV_ERR_AUDIT_ENTRIES_MISSING',
  'EV_ERR_AUDIT_ROOT_MISMATCH',
  'EV_ERR_AUDIT_INCONSISTENT',
] as const;

export type AuditLogErrorCode = (typeof auditLogErrorCodes)[number];

export class AuditLogError extends Error {
  readonly code: AuditLogErrorCode;

  constructor(code: AuditLogErrorCode, message: string) {
    super(message);
    this.name = 'AuditLogError';
    this.code = code;
  }
}

export function isAuditLogError(e: unknown, code?: AuditLogErrorCode): e is AuditLogError {
  return e instanceof AuditLogError && (code === undefined || e.code === code);
}
