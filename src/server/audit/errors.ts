/**
 * Errors of the server's audit log (audit-log.ts, log-key.ts). Each carries a stable `code`
 * (docs/errors.md, "Audit log"). The isomorphic core raises its own AuditLogError
 * (src/crypto/merkle/errors.ts): an invalid event (`EV_ERR_AUDIT_INVALID_EVENT`) and a proof asked
 * for outside the tree (`EV_ERR_AUDIT_OUT_OF_RANGE`) reach callers of the log with those codes.
 *
 * `EV_ERR_AUDIT_APPEND_FAILED` is the one a caller must act on: the event is not in the log, so the
 * action it records must not happen (an unlock whose audit append fails is refused).
 */

export const auditErrorCodes = [
  'EV_ERR_AUDIT_APPEND_FAILED',
  'EV_ERR_AUDIT_STORE_CORRUPT',
  'EV_ERR_AUDIT_KEY_PERMISSIONS',
  'EV_ERR_AUDIT_KEY_FILE_MALFORMED',
] as const;

export type AuditErrorCode = (typeof auditErrorCodes)[number];

export class AuditError extends Error {
  readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}

export function isAuditError(e: unknown, code?: AuditErrorCode): e is AuditError {
  return e instanceof AuditError && (code === undefined || e.code === code);
}
