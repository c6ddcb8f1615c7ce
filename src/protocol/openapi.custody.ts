/**
 * OpenAPI description of the key-custody routes (docs/CUSTODY-SERVER.md), merged into
 * openapi.ts's document. Staff routes need the staff session cookie; state-changing ones also the
 * `x-ev-csrf` header and `Origin`. GET /v1/custody/epoch also takes an attempt credential.
 */

const json = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, content: json(schema) });
const body = (schema: object) => ({ required: true, content: json(schema) });
const session = [{ staffSession: [] }];
const b64 = { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'unpadded base64url' };
const denied = {
  '401': err('No, unknown or expired staff session (EV_ERR_SESSION_*)'),
  '403': err('Wrong role, CSRF or Origin refused, revoked, no grant, admin keys not enrolled, or another institution (EV_ERR_STAFF_*, EV_ERR_SESSION_CSRF, EV_ERR_CUSTODY_*)'),
};
const refused = {
  '400': err('Not the documented JSON shape (EV_ERR_CUSTODY_INVALID_REQUEST)'),
  '422': err('The signed statement does not verify, or names another member, key fingerprint, epoch or institution (EV_ERR_CUSTODY_STATEMENT_REJECTED); a revocation without the recovery grant (EV_ERR_CUSTODY_RECOVERY_GRANT_REQUIRED)'),
  '503': err('The audit log could not record the event first; nothing was done (EV_ERR_CUSTODY_AUDIT_UNAVAILABLE)'),
};
const institutionParam = { name: 'institution', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' } };
const recordingParam = { name: 'recording', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' } };
const indexParam = { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 0, maximum: 4294967295 } };
const examParam = { name: 'exam', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' } };
const attemptParam = { name: 'attempt', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' } };
const member = { $ref: '#/components/schemas/CustodyMember' };
/** The body of both admin enrolments, by an enrolled admin or by the recovery key. */
const enrolmentBody = (signer: string) => body({
  type: 'object',
  required: ['enrolment', 'grants'],
  properties: {
    enrolment: { ...b64, description: `The admin-enrolment statement signed by ${signer}, naming the admin's registered keys` },
    grants: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'object' }, description: 'Epoch keys granted to the enrolled admin, one per epoch' },
  },
});

export const custodySchemas = {
  CustodyMember: {
    type: 'object',
    required: ['member', 'role', 'status', 'hpkePublicKey', 'signingPublicKey', 'fingerprint', 'registration', 'approvals'],
    properties: {
      member: { type: 'string' },
      role: { type: 'string', enum: ['admin', 'reviewer'] },
      status: { type: 'string', enum: ['pending', 'approved', 'revoked'] },
      hpkePublicKey: b64,
      signingPublicKey: b64,
      fingerprint: b64,
      registration: { ...b64, description: 'The signed key-registration statement (KEY-CUSTODY §7); clients verify it and compute the safety number themselves' },
      approvals: { type: 'array', items: b64 },
      wrappedKeys: { type: 'object', description: 'Only in answers to the member itself: its wrapped private keys by purpose (KEY-CUSTODY §5)' },
    },
  },
} as const;

export const custodyPaths = {
  '/v1/custody/me/keys': {
    put: {
      summary: 'Register (or re-register) my public keys and wrapped private keys',
      description: 'The self-signed key-registration statement is verified and appended to the audit log. New keys reset the member to pending and drop its grants.',
      security: session,
      requestBody: body({ type: 'object', required: ['registration', 'wrappedKeys'], properties: { registration: b64, wrappedKeys: { type: 'object' } } }),
      responses: { '200': ok('The registered member, with its wrapped keys', member), ...denied, ...refused },
    },
    get: { summary: 'My registered keys and wrapped private keys', security: session, responses: { '200': ok('The member, with its wrapped keys', member), ...denied, '409': err('No keys registered (EV_ERR_CUSTODY_NOT_REGISTERED)') } },
  },
  '/v1/custody/me/grant': {
    get: { summary: 'My grants: epoch → epoch key sealed to my HPKE key, with the approval that made it', security: session, responses: { '200': ok('Status and grants'), ...denied } },
  },
  '/v1/custody/reviewers': {
    get: { summary: "The institution's reviewers (admin)", security: session, responses: { '200': ok('Reviewers with keys and statements', { type: 'object', properties: { reviewers: { type: 'array', items: member } } }), ...denied } },
  },
  '/v1/custody/admins': {
    get: { summary: "The institution's admins with keys and the signed enrolments that vouch for them (admin)", security: session, responses: { '200': ok('Admins; `approvals` holds their admin-enrolment statements', { type: 'object', properties: { admins: { type: 'array', items: member } } }), ...denied } },
    post: {
      summary: 'Enrol a registered admin by an admin-enrolment signed by the requesting, enrolled admin, with the epoch keys wrapped to it; audited first, then the admin is approved',
      security: session,
      requestBody: enrolmentBody('the requesting admin'),
      responses: {
        '201': ok('The admin, the epochs granted and the audit entry'),
        ...refused,
        ...denied,
        '409': err('The requesting admin or the admin named has no registered keys (EV_ERR_CUSTODY_NOT_REGISTERED)'),
      },
    },
  },
  '/v1/custody/grants': {
    post: {
      summary: 'Store a grant with its admin-signed approval (admin)',
      description: "Refused unless the approval verifies under the requesting admin's registered signing key and names the reviewer's current key fingerprint, and the grant names the same member, fingerprint, epoch and epoch key. The approval is appended to the audit log first.",
      security: session,
      requestBody: body({ type: 'object', required: ['grant', 'approval'], properties: { grant: { type: 'object' }, approval: b64 } }),
      responses: { '201': ok('Stored'), ...denied, ...refused, '409': err('The reviewer or admin has no registered keys (EV_ERR_CUSTODY_NOT_REGISTERED)') },
    },
  },
  '/v1/custody/revocations': {
    post: {
      summary: 'Revoke a reviewer and start the next epoch (admin)',
      description: "The admin-signed revocation names the new epoch and its public key; the reviewer's grants are deleted and new recordings must be sealed to the new epoch.",
      security: session,
      requestBody: body({
        type: 'object',
        required: ['revocation', 'recoveryGrant'],
        properties: { revocation: b64, recoveryGrant: { type: 'object', description: "The new epoch's key granted to the institution's recovery key (KEY-CUSTODY §6)" } },
      }),
      responses: { '201': ok('Revoked'), ...denied, ...refused, '409': err('Not the next epoch, or not a registered reviewer') },
    },
  },
  '/v1/custody/retention': {
    put: {
      summary: 'Set the retention period of recordings (admin)',
      security: session,
      requestBody: body({ type: 'object', required: ['days'], properties: { days: { type: ['integer', 'null'], minimum: 1, maximum: 36500 } } }),
      responses: { '200': ok('Set'), ...denied, ...refused },
    },
    get: {
      summary: 'The retention period of recordings (admin)',
      description: '`{ days }`: recordings older than this many days are deleted by the hourly sweep; `null` keeps them until deleted.',
      security: session,
      responses: { '200': ok('The retention period', { type: 'object', required: ['days'], properties: { days: { type: ['integer', 'null'] } } }), ...denied },
    },
  },
  '/v1/custody/epoch': {
    get: {
      summary: "The institution's current epoch public key, with the signed statements that justify it",
      description: '`statements` holds, in log order, the self-signed `institution` statement, every `admin-enrolment`, and every `epoch` and `revocation` statement: the chain from the recovery key to the current epoch key that a recorder checks before sealing. `auditSeqs` gives, for each statement, the seq of the audit log entry that recorded it, where the recorder checks it is in the log.',
      security: [{ attemptCredential: [] }, { staffSession: [] }],
      responses: {
        '200': ok('The current epoch'),
        '401': err('No valid attempt credential or staff session'),
        '409': err('The institution was created without an epoch key and is not set up yet: nothing can be sealed to it (EV_ERR_CUSTODY_NOT_SET_UP)'),
      },
    },
  },
  '/v1/custody/exams/{exam}/attempts': {
    get: {
      summary: "An exam's attempts in my institution, with their number of recordings (admins and approved members)",
      description: 'Every attempt of the exam with a credential or a recording in the institution of the session. An exam unknown there is an empty list. Not audited: metadata only.',
      security: session,
      parameters: [examParam],
      responses: {
        '200': ok('The attempts', {
          type: 'object',
          required: ['institution', 'exam', 'attempts'],
          properties: {
            institution: { type: 'string' },
            exam: { type: 'string' },
            attempts: { type: 'array', items: { type: 'object', required: ['attempt', 'recordings'], properties: { attempt: { type: 'string' }, recordings: { type: 'integer', minimum: 0 } } } },
          },
        }),
        '400': err('Not an exam id (EV_ERR_CUSTODY_INVALID_REQUEST)'),
        ...denied,
      },
    },
  },
  '/v1/custody/attempts/{attempt}/recordings': {
    get: {
      summary: "An attempt's recordings in my institution (admins and approved members)",
      description: 'Ids, tracks, epochs, stored and declared segment counts and the complete flag; no header and no key (unlock a recording for those). An attempt unknown in the institution of the session is an empty list with exam null. Not audited: metadata only.',
      security: session,
      parameters: [attemptParam],
      responses: {
        '200': ok('The recordings', {
          type: 'object',
          required: ['institution', 'attempt', 'exam', 'recordings'],
          properties: {
            institution: { type: 'string' },
            attempt: { type: 'string' },
            exam: { type: ['string', 'null'] },
            recordings: {
              type: 'array',
              items: {
                type: 'object',
                required: ['recording', 'track', 'epoch', 'segments', 'segmentCount', 'complete', 'createdAt', 'completedAt'],
                properties: {
                  recording: { type: 'string' },
                  track: { type: 'string' },
                  epoch: { type: 'integer', minimum: 1 },
                  segments: { type: 'integer', minimum: 0, description: 'Segments stored so far' },
                  segmentCount: { type: ['integer', 'null'], description: 'The count declared at completion; null while not complete' },
                  complete: { type: 'boolean' },
                  createdAt: { type: 'integer', description: 'ms since the epoch' },
                  completedAt: { type: ['integer', 'null'] },
                },
              },
            },
          },
        }),
        '400': err('Not an attempt id (EV_ERR_CUSTODY_INVALID_REQUEST)'),
        ...denied,
      },
    },
  },
  '/v1/custody/attempts/{attempt}/review': {
    put: {
      summary: "Store the next revision of an attempt's sealed review (approved members, enrolled admins)",
      description: 'A review record (docs/SPEC.md §13): verdict and notes sealed in the browser to the current epoch key, signed by the author. The server checks the clear head (institution, this attempt, the signed-in member as author, the current epoch, revision = stored newest + 1 naming its id) and the signature under the author\'s registered key, logs `review.stored` (ids and hashes) first, then stores it. Sending the stored newest again returns it (200).',
      security: session,
      parameters: [attemptParam],
      requestBody: body({ type: 'object', required: ['record'], additionalProperties: false, properties: { record: { ...b64, description: 'The whole review record' } } }),
      responses: {
        '201': ok('Stored', { type: 'object', required: ['attempt', 'revision', 'id', 'auditSeq'], properties: { attempt: { type: 'string' }, revision: { type: 'integer', minimum: 1 }, id: b64, auditSeq: { type: 'integer' } } }),
        '200': ok('The same record was already the stored newest revision'),
        '400': err('Not an attempt id, or not { record } (EV_ERR_CUSTODY_INVALID_REQUEST)'),
        ...denied,
        '404': err('No such attempt in the institution (EV_ERR_REVIEW_ATTEMPT_NOT_FOUND)'),
        '409': err('Not the next revision (EV_ERR_REVIEW_CONFLICT), or not sealed to the current epoch (EV_ERR_REVIEW_STALE_EPOCH)'),
        '422': err('Not a review record, of another institution, attempt or author, or not signed by the author\'s registered key (EV_ERR_REVIEW_REJECTED)'),
        '503': refused['503'],
      },
    },
    get: {
      summary: "An attempt's sealed review: every revision from 1, or the newest (admins and approved members)",
      description: 'Opaque records; the client verifies each author\'s signature, the chain of revisions, and opens them with its epoch keys. Not audited: nothing here opens without an epoch key.',
      security: session,
      parameters: [attemptParam, { name: 'latest', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } }],
      responses: {
        '200': ok('The records', {
          type: 'object',
          required: ['institution', 'attempt', 'records'],
          properties: {
            institution: { type: 'string' },
            attempt: { type: 'string' },
            records: {
              type: 'array',
              items: {
                type: 'object',
                required: ['revision', 'author', 'epoch', 'record', 'storedAt'],
                properties: { revision: { type: 'integer', minimum: 1 }, author: { type: 'string' }, epoch: { type: 'integer', minimum: 1 }, record: b64, storedAt: { type: 'integer', description: 'ms since the epoch, by the server' } },
              },
            },
          },
        }),
        '400': err('Not an attempt id, or latest is not true or false (EV_ERR_CUSTODY_INVALID_REQUEST)'),
        ...denied,
      },
    },
  },
  '/v1/custody/recordings/{institution}/{recording}/unlock': {
    post: {
      summary: 'Unlock a recording: audited first, then its sealed header (holding the wrapped data key) and segment list',
      security: session,
      parameters: [institutionParam, recordingParam],
      responses: { '200': ok('The sealed header and segment list'), ...denied, '404': err('No such recording'), '503': refused['503'] },
    },
  },
  '/v1/custody/recordings/{institution}/{recording}/segments/{n}': {
    get: {
      summary: 'Sealed segment n (approved reviewers)',
      security: session,
      parameters: [institutionParam, recordingParam, indexParam],
      responses: { '200': { description: 'The segment bytes', content: { 'application/octet-stream': {} } }, ...denied, '404': err('No such recording or segment') },
    },
  },
  '/v1/custody/recovery': {
    put: {
      summary: "Institution set-up, once, by its first admin (registered, not yet enrolled): the recovery key's institution statement, the recovery key's enrolment of that admin, the admin's epoch statement, and the current epoch key granted to both; audited first, then the admin is enrolled",
      security: session,
      requestBody: body({
        type: 'object',
        required: ['institution', 'enrolment', 'epoch', 'recoveryGrant', 'grant'],
        properties: {
          institution: { ...b64, description: 'The institution statement (KEY-CUSTODY §7), signed by the recovery signing key it carries' },
          enrolment: { ...b64, description: "The admin-enrolment of the requesting admin's registered keys, signed by that recovery key" },
          epoch: { ...b64, description: "The epoch statement of the current epoch and its stored public key, signed by the requesting admin's registered signing key. For an institution created without an epoch key, it names the epoch-1 public key the admin's client generated, which is stored with the set-up; a stored key is never replaced" },
          recoveryGrant: { type: 'object', description: 'The current epoch key granted to the recovery key (KEY-CUSTODY §6, recipient kind "recovery")' },
          grant: { type: 'object', description: 'The current epoch key granted to the requesting admin (recipient kind "member")' },
        },
      }),
      responses: {
        '201': ok('The institution, the recovery key fingerprint, the epoch granted and the audit entry'),
        ...refused,
        ...denied,
        '409': err('The institution already has a recovery key (EV_ERR_CUSTODY_RECOVERY_ALREADY_SET), or the admin has no registered keys (EV_ERR_CUSTODY_NOT_REGISTERED)'),
      },
    },
    get: {
      summary: "The institution statement and the recovery key's grants (admin), for the recovery holder's client",
      security: session,
      responses: {
        '200': ok('{ institution, statement, grants: [{ epoch, grant }] }'),
        ...denied,
        '409': err('No recovery key registered (EV_ERR_CUSTODY_RECOVERY_NOT_SET)'),
      },
    },
  },
  '/v1/custody/recovery/admins': {
    post: {
      summary: 'Recovery: enrol a registered admin by an admin-enrolment signed by the recovery key, with the epoch keys wrapped to it; audited first, then the admin is approved',
      security: session,
      requestBody: enrolmentBody('the recovery key'),
      responses: {
        '201': ok('The admin, the epochs granted and the audit entry'),
        ...refused,
        ...denied,
        '409': err('No recovery key registered (EV_ERR_CUSTODY_RECOVERY_NOT_SET), or the admin named has no registered keys (EV_ERR_CUSTODY_NOT_REGISTERED)'),
      },
    },
  },
  '/v1/custody/rewrap/pending': {
    get: {
      summary: "Recordings of the admin's institution still sealed to an older epoch, oldest first (at most 100), with their stored headers, for the admin's client to re-wrap",
      security: session,
      responses: {
        '200': ok('The current epoch, the pending recordings and whether more remain', {
          type: 'object',
          required: ['institution', 'currentEpoch', 'recordings', 'more'],
          properties: {
            institution: { type: 'string' },
            currentEpoch: { type: 'integer' },
            recordings: {
              type: 'array',
              items: { type: 'object', required: ['recording', 'epoch', 'header'], properties: { recording: { type: 'string' }, epoch: { type: 'integer' }, header: b64 } },
            },
            more: { type: 'boolean' },
          },
        }),
        ...denied,
      },
    },
  },
  '/v1/custody/recordings/{institution}/{recording}/header': {
    put: {
      summary: "Store a recording's header re-wrapped to the current epoch (admin): Bound must be byte-identical to the stored header's; audited first, then the old header is shredded",
      security: session,
      parameters: [institutionParam, recordingParam],
      requestBody: body({ type: 'object', required: ['header'], properties: { header: { ...b64, description: 'The re-wrapped sealed header (SPEC §5): the stored Bound, a KeySlot for the current epoch' } } }),
      responses: {
        '200': ok('The recording, its old and new epoch, the new header SHA-256 and the audit entry'),
        '400': err('Not the documented JSON, or not a sealed header (EV_ERR_CUSTODY_INVALID_REQUEST)'),
        ...denied,
        '404': err('No such recording'),
        '409': err('Bound differs from the stored header (EV_ERR_CUSTODY_REWRAP_BOUND_MISMATCH), or the KeySlot is not for the current epoch, the recording is already at it, or it changed meanwhile (EV_ERR_CUSTODY_REWRAP_EPOCH)'),
        '503': refused['503'],
      },
    },
  },
  '/v1/custody/recordings/{institution}/{recording}': {
    delete: {
      summary: 'Crypto-shred a recording (admin): receipt in the audit log, then header, segments and rows deleted',
      security: session,
      parameters: [institutionParam, recordingParam],
      responses: { '200': ok('The deletion receipt'), ...denied, '404': err('No such recording'), '503': refused['503'] },
    },
  },
} as const;
