/**
 * OpenAPI 3.1 description of the upload protocol, served at GET /v1/openapi.json. A test checks that
 * every route the server registers under /v1 is described here and every described one exists.
 */
import { apiErrors } from './errors.js';
import { uploadErrors } from './upload.js';

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
      attemptCredential: { type: 'http', scheme: 'bearer', description: 'An attempt credential `ev1.<region>.<random>`, scoped to one attempt' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', enum: [...Object.keys(apiErrors), ...Object.keys(uploadErrors)] }, message: { type: 'string' } },
          },
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
        required: ['recording', 'index', 'size', 'sha256', 'created'],
        properties: {
          recording: { type: 'string' },
          index: { type: 'integer' },
          size: { type: 'integer' },
          sha256: { type: 'string', description: 'Hex SHA-256 of the stored sealed segment' },
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
        responses: { '201': status, '200': status, ...commonErrors, '403': errorResponse('Header context does not match the credential'), '409': errorResponse('Another recording has this id, or the epoch is not current') },
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
        },
      },
      get: { summary: 'Sealed segment n', parameters: [idParam, indexParam], responses: { '200': { description: 'The segment bytes', content: { 'application/octet-stream': {} } }, ...commonErrors } },
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
    '/v1/openapi.json': {
      get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } } },
    },
  },
} as const;
