/**
 * OpenAPI 3.1 description of the upload protocol and staff sign-in, served at GET /v1/openapi.json. A test checks that
 * every route the server registers under /v1 is described here and every described one exists.
 */
import { apiErrors } from './errors.js';
import { custodyErrors } from './custody.js';
import { examErrors } from './exams.js';
import { custodyPaths, custodySchemas } from './openapi.custody.js';
import { examPaths, examSchemas } from './openapi.exams.js';
import { passcodePaths, passcodeSchemas, passcodeSecuritySchemes } from './openapi.passcodes.js';
import { passcodeErrors, platformErrors } from './passcodes.js';
import { ltiErrors } from './lti.js';
import { ltiPaths, ltiSchemas } from './openapi.lti.js';
import { auditApiErrors } from './audit.js';
import { auditPaths } from './openapi.audit.js';
import { staffErrors } from './staff.js';
import { MAX_BATCH_SEGMENTS, SEGMENTS_HEADER, uploadErrors } from './upload.js';
import { reviewErrors } from './review.js';

/** Every feature's error codes: the Error schema's `code` enum. One line per feature. */
const errorCatalogs: readonly Record<string, number>[] = [
  apiErrors,
  uploadErrors,
  staffErrors,
  custodyErrors,
  examErrors,
  platformErrors,
  passcodeErrors,
  ltiErrors,
  auditApiErrors,
  reviewErrors,
];

const bearer = [{ attemptCredential: [] }];
const octetBody = (description: string) => ({
  required: true,
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const idParam = { name: 'id', in: 'path', required: true, description: 'The recording id from the sealed header', schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' } };
const indexParam = { name: 'n', in: 'path', required: true, description: 'Segment index', schema: { type: 'integer', minimum: 0, maximum: 4294967295 } };
const commonErrors = {
  '400': errorResponse('Bad input (EV_ERR_API_BAD_REQUEST, EV_ERR_UPLOAD_*)'),
  '401': errorResponse('Missing, unknown or expired credential (EV_ERR_AUTH_*)'),
  '404': errorResponse('No such recording or segment for this attempt'),
};
const session = [{ staffSession: [] }];
const json = (schema: object) => ({ 'application/json': { schema } });
const jsonBody = (schema: object) => ({ required: true, content: json(schema) });
const credentialBody = jsonBody({ type: 'object', required: ['response'], properties: { response: { type: 'object', description: 'The WebAuthn credential as JSON (RegistrationResponseJSON / AuthenticationResponseJSON)' } } });
const staffMe = { description: 'The signed-in staff member and the session\'s CSRF token', content: json({ $ref: '#/components/schemas/StaffMe' }) };
const ceremonyOptions = (what: string) => ({
  description: `${what}; sets the short-lived __Host-ev_webauthn challenge cookie`,
  content: json({ type: 'object', required: ['options'], properties: { options: { type: 'object' } } }),
});
const originRefused = errorResponse('Origin is not the public origin (EV_ERR_STAFF_BAD_ORIGIN)');
const sessionRefused = errorResponse('No, unknown or expired session (EV_ERR_SESSION_*)');
const status = { description: 'Recording status', content: { 'application/json': { schema: { $ref: '#/components/schemas/RecordingStatus' } } } };

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'ExamVault upload API',
    version: '1',
    description:
      'Uploads sealed recordings (docs/SPEC.md) segment by segment. The server stores ciphertext only; it checks framing, context, sizes and order, never content. Errors are `{ "error": { "code", "message" } }` with the stable codes of docs/errors.md.',
  },
  components: {
    securitySchemes: {
      staffSession: { type: 'apiKey', in: 'cookie', name: '__Host-ev_session', description: 'A staff session (docs/STAFF.md); state-changing calls also need x-ev-csrf and Origin' },
      attemptCredential: { type: 'http', scheme: 'bearer', description: 'An attempt credential `ev1.<region>.<random>`, scoped to one attempt' },
      ...passcodeSecuritySchemes,
    },
    schemas: {
      ...custodySchemas,
      ...examSchemas,
      ...passcodeSchemas,
      ...ltiSchemas,
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', enum: errorCatalogs.flatMap((catalog) => Object.keys(catalog)) }, message: { type: 'string' } },
          },
        },
      },
      StaffMe: {
        type: 'object',
        required: ['staffId', 'institution', 'region', 'role', 'csrfToken', 'expiresAt'],
        properties: {
          staffId: { type: 'string' },
          institution: { type: 'string' },
          region: { type: 'string' },
          role: { type: 'string', enum: ['admin', 'reviewer'] },
          csrfToken: { type: 'string', description: 'Send as x-ev-csrf on state-changing calls' },
          expiresAt: { type: 'integer', description: 'Milliseconds since the epoch' },
        },
      },
      RecordingStatus: {
        type: 'object',
        required: ['recording', 'institution', 'exam', 'attempt', 'track', 'epoch', 'maxSegment', 'stored', 'nextMissing', 'complete', 'segmentCount'],
        properties: {
          recording: { type: 'string' },
          institution: { type: 'string' },
          exam: { type: 'string' },
          attempt: { type: 'string' },
          track: { type: 'string', enum: ['camera', 'microphone', 'screen', 'snapshot'] },
          epoch: { type: 'integer' },
          maxSegment: { type: 'integer' },
          stored: { type: 'array', description: 'Stored indexes as inclusive [first, last] ranges', items: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 } },
          nextMissing: { type: 'integer', description: 'The first index not stored: where a resuming client starts' },
          complete: { type: 'boolean' },
          segmentCount: { type: ['integer', 'null'] },
        },
      },
      SegmentReceipt: {
        type: 'object',
        required: ['recording', 'index', 'size', 'tag', 'created'],
        properties: {
          recording: { type: 'string' },
          index: { type: 'integer' },
          size: { type: 'integer' },
          tag: { type: 'string', pattern: '^[0-9a-f]{32}$', description: "Hex of the stored segment's last 16 bytes: the AES-GCM tag its sealing ends with" },
          created: { type: 'boolean', description: 'False when the same bytes were already stored' },
        },
      },
    },
  },
  security: bearer,
  paths: {
    '/v1/recordings': {
      post: {
        summary: 'Create a recording from its sealed header',
        description: 'The header context must match the credential (institution, region, exam, attempt) and its epoch must be the institution\'s current one. Posting the same header again returns 200.',
        requestBody: octetBody('The sealed header (SPEC §5), nothing after it'),
        responses: { '201': status, '200': status, ...commonErrors, '403': errorResponse('Header context does not match the credential'), '409': errorResponse('Another recording has this id, the epoch is not current, or the institution has no epoch key yet (EV_ERR_UPLOAD_NOT_SET_UP)') },
      },
    },
    '/v1/recordings/{id}': {
      get: { summary: 'Which segments are stored', parameters: [idParam], responses: { '200': status, ...commonErrors } },
    },
    '/v1/recordings/{id}/header': {
      get: { summary: 'The sealed header', parameters: [idParam], responses: { '200': { description: 'The header bytes', content: { 'application/octet-stream': {} } }, ...commonErrors } },
    },
    '/v1/recordings/{id}/segments/{n}': {
      put: {
        summary: 'Store sealed segment n (idempotent)',
        description: 'Acknowledged only once the segment and its index entry are durable. The same bytes again → 200; other bytes for a stored index → 409.',
        parameters: [idParam, indexParam],
        requestBody: octetBody('The sealed segment: 16 bytes up to the recording\'s maximum segment size + 16'),
        responses: {
          '201': { description: 'Stored', content: { 'application/json': { schema: { $ref: '#/components/schemas/SegmentReceipt' } } } },
          '200': { description: 'Already stored with the same bytes', content: { 'application/json': { schema: { $ref: '#/components/schemas/SegmentReceipt' } } } },
          ...commonErrors,
          '409': errorResponse('Other bytes are stored at this index, or the recording is complete'),
          '413': errorResponse('Body larger than any segment can be'),
          '415': errorResponse('Body is not application/octet-stream'),
          '503': errorResponse('The server holds as many segment bodies as it takes at once (EV_ERR_UPLOAD_BUSY): send again after the Retry-After seconds'),
        },
      },
      get: { summary: 'Sealed segment n', parameters: [idParam, indexParam], responses: { '200': { description: 'The segment bytes', content: { 'application/octet-stream': {} } }, ...commonErrors } },
    },
    '/v1/segments': {
      post: {
        summary: 'Store several sealed segments of this attempt\'s recordings at once (idempotent)',
        description:
          `The body is the segments back to back; the ${SEGMENTS_HEADER} header lists them in body order, each as "<recording> <index> <size>", comma-separated, at most ${MAX_BATCH_SEGMENTS}. ` +
          'Every segment is checked before any is stored, so a batch refused for what it says stores nothing. Answered once every segment and its index entry are durable, with a receipt for each in order (created false for a repeat). ' +
          'A 409 for one segment (other bytes stored at its index) may leave the others stored: sending the batch again is safe.',
        parameters: [{ name: SEGMENTS_HEADER, in: 'header', required: true, description: 'The segments in the body: "<recording> <index> <size>", comma-separated', schema: { type: 'string' } }],
        requestBody: octetBody('The sealed segments one after the other, as many bytes in all as a single segment may have'),
        responses: {
          '200': { description: 'Every segment stored, now or before', content: { 'application/json': { schema: { type: 'object', required: ['receipts'], properties: { receipts: { type: 'array', items: { $ref: '#/components/schemas/SegmentReceipt' } } } } } } },
          ...commonErrors,
          '409': errorResponse('Other bytes are stored at one segment\'s index, or its recording is complete'),
          '413': errorResponse('Body larger than any segment can be'),
          '415': errorResponse('Body is not application/octet-stream'),
          '503': errorResponse('The server holds as many segment bodies as it takes at once (EV_ERR_UPLOAD_BUSY): send again after the Retry-After seconds'),
        },
      },
    },
    '/v1/recordings/{id}/complete': {
      post: {
        summary: 'Mark the recording complete',
        description: 'Accepted only when exactly segments 0..segmentCount-1 are stored. The last one must be the segment sealed with the last flag; the server cannot check the flag, reviewers do.',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['segmentCount'], properties: { segmentCount: { type: 'integer', minimum: 1 } } } } } },
        responses: { '200': status, ...commonErrors, '409': errorResponse('Segments are missing, or the recording is complete with another count') },
      },
    },
    '/v1/staff/invites/redeem': {
      post: {
        summary: 'Redeem a setup link: passkey registration options',
        security: [],
        requestBody: jsonBody({ type: 'object', required: ['token'], properties: { token: { type: 'string', description: 'The token from the setup link\'s fragment' } } }),
        responses: { '200': ceremonyOptions('PublicKeyCredentialCreationOptionsJSON'), '400': errorResponse('Unknown invite'), '403': originRefused, '410': errorResponse('Invite expired or used') },
      },
    },
    '/v1/staff/registration': {
      post: {
        summary: 'Register the passkey: creates the staff member and signs in',
        security: [],
        requestBody: credentialBody,
        responses: { '200': staffMe, '400': errorResponse('No pending ceremony, or the registration did not verify'), '403': originRefused, '410': errorResponse('Invite expired or used') },
      },
    },
    '/v1/staff/sign-in/options': {
      post: { summary: 'Passkey sign-in options (discoverable credentials)', security: [], requestBody: jsonBody({ type: 'object' }), responses: { '200': ceremonyOptions('PublicKeyCredentialRequestOptionsJSON'), '403': originRefused } },
    },
    '/v1/staff/sign-in': {
      post: {
        summary: 'Sign in with a passkey',
        security: [],
        requestBody: credentialBody,
        responses: { '200': staffMe, '400': errorResponse('No pending ceremony'), '401': errorResponse('The sign-in did not verify'), '403': originRefused },
      },
    },
    '/v1/staff/sign-out': {
      post: { summary: 'End the session', security: session, responses: { '204': { description: 'Signed out' }, '401': sessionRefused, '403': errorResponse('Bad Origin or CSRF token') } },
    },
    '/v1/staff/me': {
      get: { summary: 'Who is signed in', security: session, responses: { '200': staffMe, '401': sessionRefused } },
    },
    '/v1/staff/invites': {
      post: {
        summary: 'Invite a reviewer (admins only): a one-time setup link',
        security: session,
        requestBody: jsonBody({ type: 'object', required: ['role'], properties: { role: { const: 'reviewer' }, institution: { type: 'string', description: 'If given, must be the admin\'s own' }, ttlSeconds: { type: 'integer', minimum: 300, maximum: 604800 } } }),
        responses: {
          '201': { description: 'The setup link (token in its fragment)', content: json({ type: 'object', required: ['setupUrl', 'role', 'institution', 'expiresAt'] }) },
          '401': sessionRefused,
          '403': errorResponse('Not an admin, another institution, or bad Origin / CSRF token'),
        },
      },
    },
    '/v1/attempts/me': {
      get: {
        summary: 'The attempt this credential belongs to',
        description: 'The context a recorder seals into each recording header: institution, region, exam and attempt ids, and when the credential expires.',
        responses: {
          '200': {
            description: 'The attempt',
            content: json({ type: 'object', required: ['institution', 'region', 'exam', 'attempt', 'expiresAt', 'snapshotIntervalSeconds'], properties: { institution: { type: 'string' }, region: { type: 'string' }, exam: { type: 'string' }, attempt: { type: 'string' }, expiresAt: { type: 'integer', description: 'Milliseconds since the epoch' }, snapshotIntervalSeconds: { type: 'integer', description: "The exam's; 0: no snapshots" } } }),
          },
          '401': errorResponse('Missing, unknown or expired credential (EV_ERR_AUTH_*)'),
        },
      },
    },
    '/v1/openapi.json': {
      get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } } },
    },
    ...custodyPaths,
    ...examPaths,
    ...passcodePaths,
    ...ltiPaths,
    ...auditPaths,
  },
} as const;
