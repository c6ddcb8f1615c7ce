/** OpenAPI description of assessment platforms and passcodes (docs/INTEGRATION.md, Part 2), merged into openapi.ts's document. */
import { examPaths } from './openapi.exams.js';
import { CREDENTIAL_TTL_MAX_SECONDS, CREDENTIAL_TTL_MIN_SECONDS, PASSCODE_BATCH_MAX, PASSCODE_LIST_MAX, PASSCODE_TTL_MAX_SECONDS, PASSCODE_TTL_MIN_SECONDS, PLATFORM_NAME_MAX_LENGTH, WEBHOOK_URL_MAX_LENGTH } from './passcodes.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const session = [{ staffSession: [] }];
const platformKey = [{ platformKey: [] }];
const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' };
const adminDenied = {
  '401': err('No, unknown or expired staff session (EV_ERR_SESSION_*)'),
  '403': err('Not an admin, or bad Origin / CSRF token'),
};
const keyDenied = { '401': err('No API key, or an unknown or revoked one (EV_ERR_PLATFORM_MISSING_KEY, EV_ERR_PLATFORM_INVALID_KEY)') };
const platform = { $ref: '#/components/schemas/Platform' };

export const passcodeSecuritySchemes = {
  platformKey: { type: 'http', scheme: 'bearer', description: 'An assessment platform\'s API key `evp1.<region>.<random>`, scoped to its institution' },
} as const;

const platformProperties = {
  platform: id,
  institution: id,
  name: { type: 'string', minLength: 1, maxLength: PLATFORM_NAME_MAX_LENGTH },
  webhookUrl: { type: 'string', format: 'uri' },
  createdAt: { type: 'string', format: 'date-time' },
  revokedAt: { type: ['string', 'null'], format: 'date-time' },
};

export const passcodeSchemas = {
  Platform: { type: 'object', required: Object.keys(platformProperties), properties: platformProperties },
  RegisteredPlatform: {
    type: 'object',
    required: [...Object.keys(platformProperties), 'apiKey', 'webhookSecret'],
    properties: {
      ...platformProperties,
      apiKey: { type: 'string', description: 'Shown this once; stored only as its hash. Send as Authorization: Bearer' },
      webhookSecret: { type: 'string', description: 'whsec_…: the HMAC-SHA256 key of webhook signatures. Shown this once' },
    },
  },
  IssuedPasscode: {
    type: 'object',
    required: ['passcode', 'institution', 'exam', 'attempt', 'expiresAt'],
    properties: {
      passcode: { type: 'string', pattern: '^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$', description: 'Shown this once; stored only as a keyed hash' },
      institution: id,
      exam: id,
      attempt: id,
      expiresAt: { type: 'string', format: 'date-time' },
    },
  },
  PasscodeSummary: {
    type: 'object',
    required: ['id', 'attempt', 'issuedBy', 'platform', 'createdAt', 'expiresAt', 'usedAt', 'state'],
    properties: {
      id,
      attempt: id,
      issuedBy: { type: 'string', enum: ['admin', 'platform'] },
      platform: { type: ['string', 'null'], description: 'The issuing platform; null for an admin\'s passcode' },
      createdAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: 'string', format: 'date-time' },
      usedAt: { type: ['string', 'null'], format: 'date-time' },
      state: { type: 'string', enum: ['unused', 'used', 'expired'], description: '`used` once redeemed; else `expired` once its lifetime is over; else `unused`' },
    },
  },
  RedeemedPasscode: {
    type: 'object',
    required: ['token', 'institution', 'region', 'exam', 'attempt', 'expiresAt', 'title', 'snapshotIntervalSeconds'],
    properties: {
      token: { type: 'string', description: 'The attempt credential for the upload API (Authorization: Bearer)' },
      institution: id,
      region: { type: 'string' },
      exam: id,
      attempt: id,
      expiresAt: { type: 'integer', description: 'Milliseconds since the epoch' },
      title: { type: 'string' },
      snapshotIntervalSeconds: { type: 'integer' },
    },
  },
} as const;

export const passcodePaths = {
  '/v1/platforms': {
    post: {
      summary: 'Register an assessment platform of my institution (admin): its API key and webhook secret, shown once',
      security: session,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['name', 'webhookUrl'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: PLATFORM_NAME_MAX_LENGTH }, webhookUrl: { type: 'string', format: 'uri', maxLength: WEBHOOK_URL_MAX_LENGTH, description: 'https; no loopback or private address' } },
        }),
      },
      responses: { '201': { description: 'The platform, with its API key and webhook secret', content: json({ $ref: '#/components/schemas/RegisteredPlatform' }) }, '400': err('EV_ERR_PLATFORM_INVALID_REQUEST'), ...adminDenied, '503': err('The audit log could not record it (EV_ERR_PLATFORM_AUDIT_UNAVAILABLE)') },
    },
    get: {
      summary: "My institution's platforms, oldest first (admin)",
      security: session,
      responses: { '200': { description: 'The platforms (never their keys)', content: json({ type: 'object', required: ['platforms'], properties: { platforms: { type: 'array', items: platform } } }) }, ...adminDenied },
    },
  },
  '/v1/platforms/{id}': {
    delete: {
      summary: 'Revoke a platform (admin): its key, its unredeemed passcodes and its webhooks stop',
      security: session,
      parameters: [{ name: 'id', in: 'path', required: true, schema: id }],
      responses: { '204': { description: 'Revoked (or already revoked)' }, ...adminDenied, '404': err('No such platform in my institution (EV_ERR_PLATFORM_NOT_FOUND)'), '503': err('EV_ERR_PLATFORM_AUDIT_UNAVAILABLE') },
    },
  },
  '/v1/platform/exams': {
    post: {
      summary: "Create an exam of the platform's institution",
      security: platformKey,
      requestBody: examPaths['/v1/exams'].post.requestBody,
      responses: { '201': { description: 'The exam', content: json({ $ref: '#/components/schemas/Exam' }) }, '400': err('EV_ERR_EXAM_INVALID_REQUEST'), ...keyDenied, '409': err('EV_ERR_EXAM_EXISTS') },
    },
  },
  '/v1/platform/exams/{exam}/passcodes': {
    post: {
      summary: 'Issue a passcode for one attempt of an exam',
      security: platformKey,
      parameters: [{ name: 'exam', in: 'path', required: true, schema: id }],
      requestBody: {
        required: false,
        content: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            attempt: { ...id, description: 'Default: a new random id. Never personal data' },
            ttlSeconds: { type: 'integer', minimum: PASSCODE_TTL_MIN_SECONDS, maximum: PASSCODE_TTL_MAX_SECONDS, description: 'How long the passcode can be redeemed. Default 7 days' },
            credentialTtlSeconds: { type: 'integer', minimum: CREDENTIAL_TTL_MIN_SECONDS, maximum: CREDENTIAL_TTL_MAX_SECONDS, description: 'Lifetime of the attempt credential it yields. Default 8 hours' },
          },
        }),
      },
      responses: { '201': { description: 'The passcode', content: json({ $ref: '#/components/schemas/IssuedPasscode' }) }, '400': err('EV_ERR_PLATFORM_INVALID_REQUEST'), ...keyDenied, '404': err('No such exam in the institution (EV_ERR_EXAM_NOT_FOUND)') },
    },
  },
  '/v1/exams/{exam}/passcodes': {
    post: {
      summary: 'Issue passcodes for an exam (admin): one per attempt, each attempt a new random id',
      description: 'The same passcodes as a platform\'s (stored as keyed hashes, single-use, expiring), issued by no platform: their attempts send no webhooks. Written to the audit log (`passcodes.issued`, with the admin) first. Shown once.',
      security: session,
      parameters: [{ name: 'exam', in: 'path', required: true, schema: id }],
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['count'],
          additionalProperties: false,
          properties: {
            count: { type: 'integer', minimum: 1, maximum: PASSCODE_BATCH_MAX },
            ttlSeconds: { type: 'integer', minimum: PASSCODE_TTL_MIN_SECONDS, maximum: PASSCODE_TTL_MAX_SECONDS, description: 'How long the passcodes can be redeemed. Default 7 days' },
            credentialTtlSeconds: { type: 'integer', minimum: CREDENTIAL_TTL_MIN_SECONDS, maximum: CREDENTIAL_TTL_MAX_SECONDS, description: 'Lifetime of the attempt credential each yields. Default 8 hours' },
          },
        }),
      },
      responses: {
        '201': { description: 'The passcodes', content: json({ type: 'object', required: ['passcodes'], properties: { passcodes: { type: 'array', items: { $ref: '#/components/schemas/IssuedPasscode' } } } }) },
        '400': err('EV_ERR_PASSCODE_ISSUE_INVALID_REQUEST'),
        ...adminDenied,
        '404': err('No such exam in my institution (EV_ERR_EXAM_NOT_FOUND)'),
        '503': err('The audit log could not record it (EV_ERR_STAFF_AUDIT_UNAVAILABLE)'),
      },
    },
    get: {
      summary: `An exam's passcodes, newest first, a page of at most ${PASSCODE_LIST_MAX} (admin)`,
      description: 'Every passcode of the exam, an admin\'s or a platform\'s, with where it stands: never the passcode nor its hash. Withdrawn passcodes are gone from the list. `next` is the `before` of the next, older page, null on the last one; pages follow by position, so a passcode issued or withdrawn meanwhile neither shifts a page nor shows twice.',
      security: session,
      parameters: [
        { name: 'exam', in: 'path', required: true, schema: id },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: PASSCODE_LIST_MAX, default: PASSCODE_LIST_MAX } },
        { name: 'before', in: 'query', required: false, description: 'The `next` of the previous page', schema: { type: 'string', pattern: '^[0-9]{1,15}\\.[A-Za-z0-9_:-]{1,128}$' } },
        { name: 'attempt', in: 'query', required: false, description: "Only this attempt's passcodes (paged the same way)", schema: id },
      ],
      responses: {
        '200': {
          description: 'A page of the passcodes',
          content: json({
            type: 'object',
            required: ['passcodes', 'next'],
            properties: { passcodes: { type: 'array', maxItems: PASSCODE_LIST_MAX, items: { $ref: '#/components/schemas/PasscodeSummary' } }, next: { type: ['string', 'null'] } },
          }),
        },
        '400': err('A limit, before or attempt that is not one (EV_ERR_API_BAD_REQUEST)'),
        ...adminDenied,
        '404': err('No such exam in my institution (EV_ERR_EXAM_NOT_FOUND)'),
      },
    },
  },
  '/v1/exams/{exam}/passcodes/{id}': {
    delete: {
      summary: 'Withdraw an unused passcode of an exam (admin): it can no longer be redeemed',
      description: 'Written to the audit log (`passcodes.withdrawn`, with the admin) first, then the passcode is deleted; redeeming it afterwards answers as for a passcode never issued (EV_ERR_PASSCODE_INVALID). Of a withdrawal and a redemption at the same time, exactly one succeeds.',
      security: session,
      parameters: [{ name: 'exam', in: 'path', required: true, schema: id }, { name: 'id', in: 'path', required: true, schema: id }],
      responses: {
        '204': { description: 'Withdrawn' },
        ...adminDenied,
        '404': err('No such exam in my institution, or no such passcode of the exam (EV_ERR_EXAM_NOT_FOUND, EV_ERR_PASSCODE_NOT_FOUND)'),
        '409': err('Already redeemed (EV_ERR_PASSCODE_ALREADY_USED)'),
        '503': err('The audit log could not record it (EV_ERR_STAFF_AUDIT_UNAVAILABLE)'),
      },
    },
  },
  '/v1/passcodes/redeem': {
    post: {
      summary: 'Redeem a passcode (test taker): the attempt credential',
      description: 'Single-use. Wrong passcodes are throttled per client address and per exam (docs/INTEGRATION.md); a wrong passcode never tells whether the exam exists.',
      security: [],
      requestBody: { required: true, content: json({ type: 'object', required: ['passcode'], additionalProperties: false, properties: { passcode: { type: 'string', maxLength: 64, description: 'As typed: case, hyphens and spaces do not matter' } } }) },
      responses: {
        '200': { description: 'The attempt credential', content: json({ $ref: '#/components/schemas/RedeemedPasscode' }) },
        '400': err('Not a passcode, or a typing mistake (EV_ERR_PASSCODE_INVALID_REQUEST, EV_ERR_PASSCODE_MALFORMED, EV_ERR_PASSCODE_TYPO)'),
        '401': err('No such passcode (EV_ERR_PASSCODE_INVALID)'),
        '410': err('Already used or expired (EV_ERR_PASSCODE_USED, EV_ERR_PASSCODE_EXPIRED)'),
        '429': { ...err('Too many wrong passcodes (EV_ERR_PASSCODE_THROTTLED)'), headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds' } } },
      },
    },
  },
} as const;
