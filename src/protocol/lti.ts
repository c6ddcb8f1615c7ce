/**
 * The LTI 1.3 tool (docs/LTI.md, docs/INTEGRATION.md Part 1): platform registrations, the OIDC
 * third-party-initiated login, launches (resource link, deep linking, proctoring) and the hand-off of
 * an attempt credential to the recorder. Each code is documented in docs/errors.md.
 *
 * A launch that fails validation gets its own code per rule broken, so an LMS administrator reading
 * the code (and the audit event it left) knows which setting to fix.
 */
import type { AttemptInfo } from './attempt.js';

export const ltiErrors = {
  /** A platform registration body is not the documented shape. */
  EV_ERR_LTI_INVALID_REQUEST: 400,
  /** A registration with this issuer and client id exists already. */
  EV_ERR_LTI_PLATFORM_EXISTS: 409,
  /** No registration with this id in the caller's institution. */
  EV_ERR_LTI_PLATFORM_NOT_FOUND: 404,
  /** Login initiation: a required parameter is missing or malformed. */
  EV_ERR_LTI_LOGIN_INVALID: 400,
  /** Login initiation: no registration for this issuer (and client id). */
  EV_ERR_LTI_PLATFORM_UNKNOWN: 400,
  /** Launch: the form lacks id_token or state. */
  EV_ERR_LTI_LAUNCH_INVALID: 400,
  /** Launch: the state is unknown, expired or already used. */
  EV_ERR_LTI_STATE_INVALID: 400,
  /** Launch: the browser does not hold the state's binding (cookie or platform storage). */
  EV_ERR_LTI_STATE_UNBOUND: 403,
  EV_ERR_LTI_TOKEN_MALFORMED: 401,
  /** The id_token is unsigned (`alg: none`). */
  EV_ERR_LTI_TOKEN_UNSIGNED: 401,
  EV_ERR_LTI_TOKEN_ALG: 401,
  EV_ERR_LTI_TOKEN_KID: 401,
  EV_ERR_LTI_TOKEN_SIGNATURE: 401,
  EV_ERR_LTI_TOKEN_ISSUER: 401,
  EV_ERR_LTI_TOKEN_AUDIENCE: 401,
  EV_ERR_LTI_TOKEN_AZP: 401,
  EV_ERR_LTI_TOKEN_EXPIRED: 401,
  EV_ERR_LTI_TOKEN_IAT: 401,
  EV_ERR_LTI_NONCE_MISMATCH: 401,
  EV_ERR_LTI_NONCE_REPLAYED: 401,
  EV_ERR_LTI_VERSION: 401,
  EV_ERR_LTI_MESSAGE_TYPE: 401,
  EV_ERR_LTI_DEPLOYMENT_MISSING: 401,
  EV_ERR_LTI_DEPLOYMENT_UNKNOWN: 401,
  EV_ERR_LTI_TARGET_LINK_URI: 401,
  EV_ERR_LTI_RESOURCE_LINK: 401,
  EV_ERR_LTI_ROLES: 401,
  /** Another claim the message needs is missing or malformed (sub, deep-linking settings, proctoring claims). */
  EV_ERR_LTI_CLAIM_INVALID: 401,
  /** The platform's JWKS could not be fetched or is not a key set. */
  EV_ERR_LTI_PLATFORM_JWKS_UNAVAILABLE: 502,
  /** The launch's roles allow nothing this message does (a learner asking to place an exam). */
  EV_ERR_LTI_ROLE_UNSUPPORTED: 403,
  /** The resource link names no exam of the institution (custom parameter examvault_exam). */
  EV_ERR_LTI_EXAM_UNKNOWN: 404,
  /** A one-time LTI code (deep linking, proctoring, staff sign-in) is unknown, used or expired. */
  EV_ERR_LTI_CODE_INVALID: 400,
  /** POST /v1/lti/recorder not from a form of an ExamVault page (another Origin, or a cross-site request). */
  EV_ERR_LTI_FOREIGN_ORIGIN: 400,
  /** LtiStartAssessment asked for before the recorder took the attempt credential. */
  EV_ERR_LTI_PROCTORING_NOT_READY: 409,
  /** Hand-off: the code is unknown. */
  EV_ERR_HANDOFF_INVALID: 400,
  /** Hand-off: the code was already exchanged. */
  EV_ERR_HANDOFF_USED: 409,
  /** Hand-off: the code has expired. */
  EV_ERR_HANDOFF_EXPIRED: 410,
} as const;

export type LtiErrorCode = keyof typeof ltiErrors;

/** Claims of a launch that are personal data, dropped unless a registration turns one on. */
export const optionalPersonClaims = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'email', 'picture', 'locale', 'lis'] as const;
export type OptionalPersonClaim = (typeof optionalPersonClaims)[number];

/** POST /v1/lti/platforms */
export interface CreatePlatformRequest {
  readonly issuer: string;
  readonly clientId: string;
  readonly deploymentIds: readonly string[];
  readonly authEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUrl: string;
  /** Origins allowed to frame ExamVault's LTI pages, beyond the issuer's and the auth endpoint's. */
  readonly frameOrigins?: readonly string[];
  /** Person claims the institution chooses to keep; none by default. */
  readonly keptClaims?: readonly OptionalPersonClaim[];
}

export interface Platform extends Required<CreatePlatformRequest> {
  readonly platform: string;
  readonly institution: string;
  readonly createdAt: string;
}

/** POST /v1/attempts/handoff */
export interface HandoffRequest {
  readonly code: string;
}

export interface HandoffResponse extends AttemptInfo {
  /** The attempt credential (`Authorization: Bearer …` for uploads). */
  readonly token: string;
}

/** The custom parameter deep linking sets on a resource link: which exam it opens. */
export const EXAM_CUSTOM_PARAMETER = 'examvault_exam';
/** The meta tag of the launch page that carries the hand-off code (the recorder reads it). */
export const HANDOFF_META = 'ev-handoff';
/** A hand-off code lives this long (ms), and works once. */
export const HANDOFF_TTL_MS = 2 * 60 * 1000;
