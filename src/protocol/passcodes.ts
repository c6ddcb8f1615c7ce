/**
 * Assessment platforms and passcodes (docs/INTEGRATION.md, Part 2): shapes and error codes shared by
 * the server, the recorder web app and platforms' own code. Each code is documented in docs/errors.md.
 *
 *   POST   /v1/platforms                          (admin session)  { name, webhookUrl } → the platform, its API key and webhook secret, once
 *   GET    /v1/platforms                          (admin session)  → the institution's platforms
 *   DELETE /v1/platforms/{id}                     (admin session)  → revoked: its key and unredeemed passcodes stop working
 *   POST   /v1/platform/exams                     (platform key)   → an exam of the platform's institution
 *   POST   /v1/platform/exams/{exam}/passcodes    (platform key)   → a passcode for one attempt
 *   POST   /v1/exams/{exam}/passcodes             (admin session)  { count } → that many passcodes, one attempt each
 *   GET    /v1/exams/{exam}/passcodes             (admin session)  → the exam's latest passcodes (never the passcodes themselves)
 *   DELETE /v1/exams/{exam}/passcodes/{id}        (admin session)  → withdrawn: an unused passcode can no longer be redeemed
 *   POST   /v1/passcodes/redeem                   (no credential)  { passcode } → the attempt credential
 */
import type { AttemptInfo } from './attempt.js';

export const platformErrors = {
  /** The body is not the documented shape, or a field breaks its rule (name, webhookUrl, attempt, lifetimes). */
  EV_ERR_PLATFORM_INVALID_REQUEST: 400,
  /** No `Authorization: Bearer <API key>` header. */
  EV_ERR_PLATFORM_MISSING_KEY: 401,
  /** The API key is unknown, malformed or revoked. */
  EV_ERR_PLATFORM_INVALID_KEY: 401,
  /** The institution has no platform with this id. */
  EV_ERR_PLATFORM_NOT_FOUND: 404,
  /** The audit log could not record the registration or revocation, so it was not carried out. */
  EV_ERR_PLATFORM_AUDIT_UNAVAILABLE: 503,
} as const;

export const passcodeErrors = {
  /** The body is not `{ "passcode": "<text>" }`. */
  EV_ERR_PASSCODE_INVALID_REQUEST: 400,
  /** Not 25 symbols of the passcode alphabet once hyphens and spaces are removed. */
  EV_ERR_PASSCODE_MALFORMED: 400,
  /** The check character does not match: a character was mistyped. Not counted as a guess. */
  EV_ERR_PASSCODE_TYPO: 400,
  /** No such passcode (or a withdrawn one, or one of a revoked platform). Says nothing about whether the exam exists. */
  EV_ERR_PASSCODE_INVALID: 401,
  /** The passcode was already redeemed (passcodes are single-use). */
  EV_ERR_PASSCODE_USED: 410,
  /** The passcode's lifetime is over. */
  EV_ERR_PASSCODE_EXPIRED: 410,
  /** Too many wrong passcodes from this address or for this exam: try again after Retry-After seconds. */
  EV_ERR_PASSCODE_THROTTLED: 429,
  /** An admin's issue request is not `{ count, ttlSeconds?, credentialTtlSeconds? }` within the documented bounds. */
  EV_ERR_PASSCODE_ISSUE_INVALID_REQUEST: 400,
  /** The exam has no passcode with this id (never issued, already withdrawn, or another exam's). */
  EV_ERR_PASSCODE_NOT_FOUND: 404,
  /** The passcode was redeemed already: its attempt has started, and withdrawing it would change nothing. */
  EV_ERR_PASSCODE_ALREADY_USED: 409,
} as const;

export type PlatformErrorCode = keyof typeof platformErrors;
export type PasscodeErrorCode = keyof typeof passcodeErrors;

/** Limits of the fields platforms send. */
export const PLATFORM_NAME_MAX_LENGTH = 100;
export const WEBHOOK_URL_MAX_LENGTH = 2048;
/** A passcode lives 5 minutes to 30 days; default 7 days. */
export const PASSCODE_TTL_MIN_SECONDS = 300;
export const PASSCODE_TTL_MAX_SECONDS = 30 * 24 * 3600;
export const PASSCODE_TTL_DEFAULT_SECONDS = 7 * 24 * 3600;
/** An admin issues 1-500 passcodes at once (a sitting's worth, printed and handed out). */
export const PASSCODE_BATCH_MAX = 500;
/** An exam's passcode list holds its latest 1,000 passcodes. */
export const PASSCODE_LIST_MAX = 1000;
/** The attempt credential a redeemed passcode yields lives 1 minute to 7 days; default 8 hours. */
export const CREDENTIAL_TTL_MIN_SECONDS = 60;
export const CREDENTIAL_TTL_MAX_SECONDS = 7 * 24 * 3600;
export const CREDENTIAL_TTL_DEFAULT_SECONDS = 8 * 3600;

/** POST /v1/platforms */
export interface RegisterPlatformRequest {
  /** 1-100 printable characters: the platform's (organisation's) name, never a person's. */
  readonly name: string;
  /** Where signed webhooks go: https, no user name or password in it. */
  readonly webhookUrl: string;
}

export interface Platform {
  readonly platform: string;
  readonly institution: string;
  readonly name: string;
  readonly webhookUrl: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** The answer to a registration: the only time the API key and the webhook secret are shown. */
export interface RegisteredPlatform extends Platform {
  /** `evp1.<region>.<random>`: send as `Authorization: Bearer …`. Stored only as its hash. */
  readonly apiKey: string;
  /** `whsec_…`: the HMAC key of webhook signatures (webhook-signature.ts). */
  readonly webhookSecret: string;
}

/** POST /v1/platform/exams/{exam}/passcodes */
export interface CreatePasscodeRequest {
  /** The attempt's id (default a new random one): 1-64 characters of [A-Za-z0-9._:-], never personal data. */
  readonly attempt?: string;
  readonly ttlSeconds?: number;
  readonly credentialTtlSeconds?: number;
}

export interface IssuedPasscode {
  /** `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`: hand it to the test taker. Shown once; stored only as a keyed hash. */
  readonly passcode: string;
  readonly institution: string;
  readonly exam: string;
  readonly attempt: string;
  /** ISO 8601, UTC. */
  readonly expiresAt: string;
}

/** POST /v1/exams/{exam}/passcodes (admin session): one passcode per attempt, each attempt a new random id. */
export interface IssuePasscodesRequest {
  /** 1-500. */
  readonly count: number;
  readonly ttlSeconds?: number;
  readonly credentialTtlSeconds?: number;
}

export interface IssuedPasscodes {
  /** Shown once: only keyed hashes are stored. */
  readonly passcodes: readonly IssuedPasscode[];
}

/** One passcode of an exam, as an admin sees it: what it is for and where it stands, never the passcode. */
export interface PasscodeSummary {
  /** The passcode's id: what DELETE /v1/exams/{exam}/passcodes/{id} takes. */
  readonly id: string;
  readonly attempt: string;
  readonly issuedBy: 'admin' | 'platform';
  /** The issuing platform's id; null for an admin's passcode. */
  readonly platform: string | null;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly usedAt: string | null;
  /** `used` once redeemed (even after its lifetime); else `expired` once its lifetime is over; else `unused`. */
  readonly state: 'unused' | 'used' | 'expired';
}

/**
 * GET /v1/exams/{exam}/passcodes[?limit=N][&before=cursor][&attempt=id]: a page of the exam's
 * passcodes (or of one attempt's), newest first, at most `limit` (1 to PASSCODE_LIST_MAX, which is
 * the default).
 */
export interface PasscodeList {
  readonly passcodes: readonly PasscodeSummary[];
  /** The `before` of the next, older page; null on the last page. */
  readonly next: string | null;
}

/** POST /v1/passcodes/redeem: the attempt credential the upload API takes (docs/UPLOAD.md). */
export interface RedeemedPasscode extends AttemptInfo {
  /** `ev1.<region>.<random>`: the attempt credential, `Authorization: Bearer …` on the upload API. */
  readonly token: string;
  readonly title: string;
  readonly snapshotIntervalSeconds: number;
}
