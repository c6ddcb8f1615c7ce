/** OpenAPI description of the exams routes (docs/EXAMS.md), merged into openapi.ts's document. */
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, EXAM_TITLE_MAX_LENGTH, SNAPSHOT_INTERVAL_MAX_SECONDS, SNAPSHOT_INTERVAL_MIN_SECONDS } from './exams.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const session = [{ staffSession: [] }];
const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' };
const denied = {
  '401': err('No, unknown or expired staff session (EV_ERR_SESSION_*)'),
  '403': err('Not an admin or approved reviewer of the institution, or bad Origin / CSRF token'),
};
const exam = { $ref: '#/components/schemas/Exam' };

export const examSchemas = {
  Exam: {
    type: 'object',
    required: ['exam', 'institution', 'title', 'snapshotIntervalSeconds', 'createdAt'],
    properties: {
      exam: id,
      institution: id,
      title: { type: 'string', minLength: 1, maxLength: EXAM_TITLE_MAX_LENGTH },
      snapshotIntervalSeconds: { type: 'integer', minimum: 0, maximum: SNAPSHOT_INTERVAL_MAX_SECONDS, description: `Seconds between the recorder's still snapshots; 0: none, else ${SNAPSHOT_INTERVAL_MIN_SECONDS} to ${SNAPSHOT_INTERVAL_MAX_SECONDS}` },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
} as const;

export const examPaths = {
  '/v1/exams': {
    post: {
      summary: 'Create an exam of my institution (admin)',
      security: session,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['title'],
          additionalProperties: false,
          properties: {
            exam: { ...id, description: 'Default: a new random id' },
            title: { type: 'string', minLength: 1, maxLength: EXAM_TITLE_MAX_LENGTH },
            snapshotIntervalSeconds: { type: 'integer', minimum: 0, maximum: SNAPSHOT_INTERVAL_MAX_SECONDS, description: `0: none; else ${SNAPSHOT_INTERVAL_MIN_SECONDS} to ${SNAPSHOT_INTERVAL_MAX_SECONDS}. Default ${DEFAULT_SNAPSHOT_INTERVAL_SECONDS}. Other values: 400 EV_ERR_EXAM_INVALID_REQUEST` },
          },
        }),
      },
      responses: {
        '201': { description: 'The exam', content: json(exam) },
        '400': err('Not the documented shape (EV_ERR_EXAM_INVALID_REQUEST)'),
        ...denied,
        '409': err('The institution already has this exam id (EV_ERR_EXAM_EXISTS)'),
      },
    },
    get: {
      summary: "My institution's exams, oldest first",
      security: session,
      responses: { '200': { description: 'The exams', content: json({ type: 'object', required: ['exams'], properties: { exams: { type: 'array', items: exam } } }) }, ...denied },
    },
  },
  '/v1/exams/{exam}': {
    get: {
      summary: 'One exam of my institution',
      security: session,
      parameters: [{ name: 'exam', in: 'path', required: true, schema: id }],
      responses: { '200': { description: 'The exam', content: json(exam) }, ...denied, '404': err('No such exam in my institution (EV_ERR_EXAM_NOT_FOUND)') },
    },
  },
} as const;
