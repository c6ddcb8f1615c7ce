/**
 * The authorization matrix of the whole app: for every route the app serves, what each kind of caller
 * gets. This module is the one source of truth: test/server/authorization-matrix.test.ts (every route,
 * run against the real app, and fails when a served route has no entry), the custody scenario in
 * test/server/custody/authorization-matrix.test.ts, and docs/AUTHORIZATION.md (whose table must hold
 * exactly `markdownRow(route)` for every route) all read it.
 *
 * - `allow`: the caller passes authentication and authorization (any status but 401/403, below 500; a
 *   400 or 415 for the deliberately empty or bogus bodies the tests send, or a 404, means it got past
 *   the checks).
 * - `own`: allowed, but the route acts on the caller's own institution or attempt only (from its
 *   session or credential): the answer must not mention the resources of the institution or attempt
 *   the matrix targets.
 * - `hidden`: authenticated, but the resource is another's: it answers 404 exactly, as if it did not
 *   exist (an attempt credential meeting another attempt's recording).
 * - `deny`: 401 or 403.
 */

export const callers = ['anonymous', 'takerA', 'takerB', 'reviewerNoGrant', 'approvedReviewer', 'revokedReviewer', 'admin', 'otherInstitution'] as const;
export type Caller = (typeof callers)[number];
export type Rule = 'allow' | 'own' | 'hidden' | 'deny';
export type Row = Record<Caller, Rule>;

/** Column headings of docs/AUTHORIZATION.md, in `callers` order. */
export const callerTitles: Record<Caller, string> = {
  anonymous: 'anonymous',
  takerA: 'test taker A',
  takerB: 'test taker B',
  reviewerNoGrant: 'reviewer, no grant',
  approvedReviewer: 'approved reviewer',
  revokedReviewer: 'revoked reviewer',
  admin: 'admin',
  otherInstitution: 'staff of another institution',
};

const everyone: Row = {
  anonymous: 'allow', takerA: 'allow', takerB: 'allow', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'allow', admin: 'allow', otherInstitution: 'allow',
};
/** Upload routes on one recording: the attempt credential that created it; another attempt's answers 404. */
const attemptOwner: Row = {
  anonymous: 'deny', takerA: 'allow', takerB: 'hidden', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'deny', otherInstitution: 'deny',
};
/** Any signed-in staff member, about their own session. */
const anySession: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'allow', admin: 'allow', otherInstitution: 'own',
};
const selfService: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'own',
};
const adminOnly: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'own',
};
/** Listing an exam's attempts and an attempt's recordings: admins, and approved members, of the institution. */
const listing: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'allow', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'own',
};
/** The audit log's checkpoint and consistency proofs: any attempt credential or staff session, for its own cell's log. */
const logReader: Row = {
  anonymous: 'deny', takerA: 'allow', takerB: 'allow', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'allow', admin: 'allow', otherInstitution: 'own',
};
/** Unlocking and reading sealed segments: a member with a grant for the recording's epoch (the first admin got epoch 1 at set-up). */
const granted: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'allow', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'deny',
};
/** Routes that take a platform API key, a credential none of these callers holds. */
const platformKeyOnly: Row = {
  anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'deny', otherInstitution: 'deny',
};

/** Every route the app serves (`METHOD /path` as in the route table). Documented in docs/AUTHORIZATION.md. */
export const expectations: Record<string, Row> = {
  // Public.
  'GET /healthz': everyone,
  'GET /v1/openapi.json': everyone,

  // Upload (docs/UPLOAD.md): an attempt credential, for its own attempt only.
  'POST /v1/recordings': {
    anonymous: 'deny', takerA: 'allow', takerB: 'own', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'deny', otherInstitution: 'deny',
  },
  'GET /v1/recordings/:id': attemptOwner,
  'PUT /v1/recordings/:id/segments/:n': attemptOwner,
  'GET /v1/recordings/:id/segments/:n': attemptOwner,
  'POST /v1/segments': attemptOwner,
  'GET /v1/recordings/:id/header': attemptOwner,
  'POST /v1/recordings/:id/complete': attemptOwner,
  // The attempt's own context, for its recorder (each credential learns only its own).
  'GET /v1/attempts/me': {
    anonymous: 'deny', takerA: 'allow', takerB: 'own', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'deny', otherInstitution: 'deny',
  },

  // The browser apps (docs/WEB.md): public pages and assets; everything they do goes through the API.
  'GET /app/*': everyone,
  'GET /staff/setup': everyone,

  // Staff sign-in (docs/STAFF.md): the passkey ceremonies need no session (Origin is checked).
  'POST /v1/staff/invites/redeem': everyone,
  'POST /v1/staff/registration': everyone,
  'POST /v1/staff/sign-in/options': everyone,
  'POST /v1/staff/sign-in': everyone,
  'GET /v1/staff/me': anySession,
  'POST /v1/staff/sign-out': anySession,
  'POST /v1/staff/invites': adminOnly,

  // Key custody (docs/CUSTODY-SERVER.md).
  'PUT /v1/custody/me/keys': selfService,
  'GET /v1/custody/me/keys': selfService,
  'GET /v1/custody/me/grant': selfService,
  'GET /v1/custody/reviewers': adminOnly,
  // Admins: listed, and enrolled by an enrolled admin (the service refuses one whose keys are not).
  'GET /v1/custody/admins': adminOnly,
  'POST /v1/custody/admins': adminOnly,
  'POST /v1/custody/grants': adminOnly,
  'POST /v1/custody/revocations': adminOnly,
  'PUT /v1/custody/retention': adminOnly,
  'GET /v1/custody/retention': adminOnly,
  'GET /v1/custody/epoch': {
    anonymous: 'deny', takerA: 'allow', takerB: 'allow', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'allow', admin: 'allow', otherInstitution: 'own',
  },
  'GET /v1/custody/exams/:exam/attempts': listing,
  'GET /v1/custody/attempts/:attempt/recordings': listing,
  // An attempt's sealed review: written by approved members (enrolled admins too), read by them and admins.
  'PUT /v1/custody/attempts/:attempt/review': listing,
  'GET /v1/custody/attempts/:attempt/review': listing,
  'POST /v1/custody/recordings/:institution/:recording/unlock': granted,
  'GET /v1/custody/recordings/:institution/:recording/segments/:n': granted,
  // The recovery key: set up, read and used (enrolling a new admin) through an admin's session.
  'PUT /v1/custody/recovery': adminOnly,
  'GET /v1/custody/recovery': adminOnly,
  'POST /v1/custody/recovery/admins': adminOnly,
  // Re-wrapping older recordings to the current epoch: admins, of the recording's institution.
  'GET /v1/custody/rewrap/pending': adminOnly,
  'PUT /v1/custody/recordings/:institution/:recording/header': {
    anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'deny',
  },
  // The audit log's read API (docs/AUDIT-LOG.md): any credential of the institution; admins read all its
  // entries, others its key-custody ones; the checkpoint and proofs are of the caller's own cell.
  'GET /v1/audit/checkpoint': logReader,
  'GET /v1/audit/consistency': logReader,
  'GET /v1/audit/entries': {
    anonymous: 'deny', takerA: 'allow', takerB: 'allow', reviewerNoGrant: 'allow', approvedReviewer: 'allow', revokedReviewer: 'allow', admin: 'allow', otherInstitution: 'own',
  },
  'DELETE /v1/custody/recordings/:institution/:recording': {
    anonymous: 'deny', takerA: 'deny', takerB: 'deny', reviewerNoGrant: 'deny', approvedReviewer: 'deny', revokedReviewer: 'deny', admin: 'allow', otherInstitution: 'deny',
  },

  // Exams (docs/EXAMS.md): admins create; admins and approved reviewers read.
  'POST /v1/exams': adminOnly,
  'GET /v1/exams': listing,
  'GET /v1/exams/:exam': listing,

  // Assessment platforms and passcodes (docs/INTEGRATION.md, Part 2): admins register and revoke
  // platforms; the platform routes take a platform API key, which none of these callers holds (its
  // scope is tested in test/server/platforms/platforms.test.ts); redeeming needs no credential.
  'POST /v1/platforms': adminOnly,
  'GET /v1/platforms': adminOnly,
  'DELETE /v1/platforms/:id': adminOnly,
  'POST /v1/platform/exams': platformKeyOnly,
  'POST /v1/platform/exams/:exam/passcodes': platformKeyOnly,
  'POST /v1/exams/:exam/passcodes': adminOnly,
  'GET /v1/exams/:exam/passcodes': adminOnly,
  'DELETE /v1/exams/:exam/passcodes/:id': adminOnly,
  'POST /v1/passcodes/redeem': everyone,
  // LTI 1.3 (docs/LTI.md): registrations by admins; the LMS-facing routes carry their own credential
  // (a state and its browser binding, or a one-time code), so anyone may call them.
  'POST /v1/lti/platforms': adminOnly,
  'GET /v1/lti/platforms': adminOnly,
  'DELETE /v1/lti/platforms/:platform': adminOnly,
  'GET /v1/lti/jwks': everyone,
  'GET /v1/lti/scripts/:name': everyone,
  'GET /v1/lti/login': everyone,
  'POST /v1/lti/login': everyone,
  'POST /v1/lti/launch': everyone,
  'POST /v1/lti/launch/confirm': everyone,
  'POST /v1/lti/deep-linking/response': everyone,
  'POST /v1/lti/proctoring/start': everyone,
  'POST /v1/lti/recorder': everyone,
  'POST /v1/lti/staff/session': everyone,
  'POST /v1/attempts/handoff': everyone,
};

export function routeKey(route: { method: string; url: string }): string {
  return `${route.method} ${route.url}`;
}

/** The expectation row of a route, or a failure naming it. */
export function rowOf(key: string): Row {
  const row = expectations[key];
  if (!row) throw new Error(`no authorization entry for ${key}: add it to test/server/authorization.ts and docs/AUTHORIZATION.md`);
  return row;
}

/**
 * Whether an answer matches the rule. `foreign`: strings the answer must not contain for `own`
 * (ids of the institution or attempt the matrix targets).
 */
export function judge(rule: Rule, res: { statusCode: number; body: string }, foreign: readonly string[]): boolean {
  const denied = res.statusCode === 401 || res.statusCode === 403;
  switch (rule) {
    case 'deny': return denied;
    case 'hidden': return res.statusCode === 404;
    case 'allow': return !denied && res.statusCode < 500;
    case 'own': return !denied && res.statusCode < 500 && !foreign.some((f) => res.body.includes(f));
  }
}

/** The row of docs/AUTHORIZATION.md's table for a route: `| \`GET /v1/x\` | deny | allow | … |`. */
export function markdownRow(key: string): string {
  const row = rowOf(key);
  return `| \`${key}\` | ${callers.map((c) => row[c]).join(' | ')} |`;
}

export function markdownHeader(): string {
  return `| route | ${callers.map((c) => callerTitles[c]).join(' | ')} |\n|---|${callers.map(() => '---').join('|')}|`;
}
