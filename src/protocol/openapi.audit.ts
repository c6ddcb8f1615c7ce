/**
 * OpenAPI description of the audit log's read API (docs/AUDIT-LOG.md, "Reading the log"), merged
 * into openapi.ts's document. Every route takes a staff session or an attempt credential.
 */

const json = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const reader = [{ staffSession: [] }, { attemptCredential: [] }];
const count = (name: string, description: string, required = false) => ({ name, in: 'query', required, schema: { type: 'integer', minimum: 0 }, description });
const hashes = { type: 'array', items: { type: 'string', description: 'standard base64 of a 32-byte hash' } };
const refused = {
  '400': err('A query parameter is not a whole number in its range (EV_ERR_AUDIT_BAD_QUERY)'),
  '401': err('No valid staff session or attempt credential (EV_ERR_SESSION_*, EV_ERR_UPLOAD_*)'),
};

export const auditPaths = {
  '/v1/audit/checkpoint': {
    get: {
      summary: "The log's latest state: a checkpoint signed by the cell's log key (signed now if the log grew)",
      security: reader,
      responses: {
        '200': { description: '{ origin, logKey, size, checkpoint }: `checkpoint` is the signed note; check it with the key you pinned, not `logKey`', content: json({ type: 'object', required: ['origin', 'logKey', 'size', 'checkpoint'] }) },
        ...refused,
      },
    },
  },
  '/v1/audit/entries': {
    get: {
      summary: "Entries of the caller's institution with their inclusion proofs against one signed checkpoint: all of them for admins, the key-custody ones (custody.*) for other staff and recorders",
      security: reader,
      parameters: [
        count('from', 'first seq to consider (default 0)'),
        count('limit', 'entries at most, 1-500 (default 100)'),
        count('size', 'prove against the checkpoint the log signed at this size (default: its latest, signed now)'),
      ],
      responses: {
        '200': {
          description: '{ institution, scope, size, checkpoint, entries: [{ seq, createdAt, institution, type, payload, leafHash, inclusion }], next }',
          content: json({ type: 'object', required: ['institution', 'scope', 'size', 'checkpoint', 'entries', 'next'], properties: { entries: { type: 'array', items: { type: 'object', properties: { inclusion: hashes } } } } }),
        },
        ...refused,
        '404': err('No checkpoint of that size (EV_ERR_AUDIT_CHECKPOINT_NOT_FOUND)'),
      },
    },
  },
  '/v1/audit/consistency': {
    get: {
      summary: 'The RFC 6962 consistency proof from the tree of `from` entries to the tree of `to` entries',
      security: reader,
      parameters: [count('from', 'the earlier tree size', true), count('to', 'the later tree size, at most the log\'s', true)],
      responses: { '200': { description: '{ from, to, proof }', content: json({ type: 'object', required: ['from', 'to', 'proof'], properties: { proof: hashes } }) }, ...refused },
    },
  },
} as const;
