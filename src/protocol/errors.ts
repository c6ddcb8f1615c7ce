/**
 * Error codes of the HTTP API, shared by the server, the web apps and the CLI. Every error response
 * has the body `{ "error": { "code": "EV_ERR_API_NOT_FOUND", "message": "..." } }`; clients switch on `code`.
 * Each code is documented in docs/errors.md (a test fails when one is not).
 */

export const apiErrors = {
  EV_ERR_API_BAD_REQUEST: 400,
  EV_ERR_API_UNAUTHENTICATED: 401,
  EV_ERR_API_FORBIDDEN: 403,
  /** Proxy mode: the request did not reach the TLS-terminating proxy over HTTPS (X-Forwarded-Proto). */
  EV_ERR_API_TLS_REQUIRED: 403,
  EV_ERR_API_NOT_FOUND: 404,
  EV_ERR_API_METHOD_NOT_ALLOWED: 405,
  EV_ERR_API_CONFLICT: 409,
  EV_ERR_API_PAYLOAD_TOO_LARGE: 413,
  EV_ERR_API_UNSUPPORTED_MEDIA_TYPE: 415,
  EV_ERR_API_INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof apiErrors;

export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;

  /** `code` is an ApiErrorCode or a feature's own `EV_ERR_<AREA>_<WHAT>` with an explicit status. */
  constructor(code: ApiErrorCode, message: string);
  constructor(code: string, message: string, status: number);
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status ?? apiErrors[code as ApiErrorCode] ?? 500;
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}
