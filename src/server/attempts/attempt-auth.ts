/**
 * Authenticates an attempt credential from `Authorization: Bearer …`, finding the cell it belongs to.
 * Unknown and expired tokens are distinct codes: neither reveals anything about other attempts.
 */
import type { FastifyRequest } from 'fastify';
import type { Cell, Cells } from '../regions/cell.types.js';
import { uploadError } from '../recordings/recording.service.js';
import { type AttemptScope, findCredential, tokenHash, tokenRegion } from './credential.js';

export interface AttemptAuth {
  readonly scope: AttemptScope;
  readonly cell: Cell;
}

export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([\x21-\x7e]{1,200})$/.exec(h);
  return m?.[1] ?? null;
}

export async function authenticateAttempt(request: FastifyRequest, cells: Cells, now: number): Promise<AttemptAuth> {
  const token = bearerToken(request);
  if (!token) throw uploadError('EV_ERR_AUTH_MISSING_CREDENTIAL', 'send the attempt credential as Authorization: Bearer <token>');
  const region = tokenRegion(token);
  const cell = region ? cells.get(region) : undefined;
  const row = cell ? await findCredential(cell.db, tokenHash(token)) : undefined;
  if (!cell || !row) throw uploadError('EV_ERR_AUTH_INVALID_CREDENTIAL', 'the attempt credential is not valid');
  if (Number(row.expires_at) <= now) throw uploadError('EV_ERR_AUTH_EXPIRED_CREDENTIAL', 'the attempt credential has expired');
  return {
    cell,
    scope: {
      institution: row.institution_id,
      region: cell.region,
      exam: row.exam_id,
      attempt: row.attempt_id,
      expiresAt: Number(row.expires_at),
    },
  };
}
