/**
 * Staff sign-in (institution admins and reviewers, docs/STAFF.md): passkeys (WebAuthn) and session
 * cookies. Request and response shapes shared by the server and the web admin pages.
 *
 *   POST /v1/staff/invites/redeem      { token }            → registration options (sets a challenge cookie)
 *   POST /v1/staff/registration        { response }         → the new staff member, signed in
 *   POST /v1/staff/sign-in/options     {}                   → authentication options (sets a challenge cookie)
 *   POST /v1/staff/sign-in             { response }         → signed in
 *   POST /v1/staff/sign-out                                 (session + x-ev-csrf)
 *   GET  /v1/staff/me                                       (session) → who, and the CSRF token
 *   POST /v1/staff/invites             { role: 'reviewer' } (admin session + x-ev-csrf) → a setup link
 *
 * Every POST must carry `Origin: <publicOrigin>`; every state-changing call made with a session must
 * also carry `x-ev-csrf: <csrfToken>`.
 */

export const STAFF_SESSION_COOKIE = '__Host-ev_session';
export const STAFF_CHALLENGE_COOKIE = '__Host-ev_webauthn';
export const CSRF_HEADER = 'x-ev-csrf';

export interface StaffMe {
  readonly staffId: string;
  readonly institution: string;
  readonly region: string;
  readonly role: 'admin' | 'reviewer';
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface StaffInviteCreated {
  readonly setupUrl: string;
  readonly role: 'admin' | 'reviewer';
  readonly institution: string;
  readonly expiresAt: number;
}

/** Staff and session error codes, beyond the generic EV_ERR_API_* ones. */
export const staffErrors = {
  EV_ERR_STAFF_INVITE_INVALID: 400,
  EV_ERR_STAFF_INVITE_EXPIRED: 410,
  EV_ERR_STAFF_INVITE_USED: 410,
  EV_ERR_STAFF_CHALLENGE_INVALID: 400,
  EV_ERR_STAFF_REGISTRATION_FAILED: 400,
  EV_ERR_STAFF_SIGN_IN_FAILED: 401,
  EV_ERR_STAFF_ROLE_FORBIDDEN: 403,
  EV_ERR_STAFF_WRONG_INSTITUTION: 403,
  EV_ERR_STAFF_BAD_ORIGIN: 403,
  EV_ERR_SESSION_MISSING: 401,
  EV_ERR_SESSION_INVALID: 401,
  EV_ERR_SESSION_EXPIRED: 401,
  EV_ERR_SESSION_CSRF: 403,
  /** The audit log could not record the invite, registration, sign-in or sign-out first: it was not carried out. */
  EV_ERR_STAFF_AUDIT_UNAVAILABLE: 503,
} as const;

export type StaffErrorCode = keyof typeof staffErrors;
