/**
 * Issuing attempt credentials (for now by the operator CLI; the sign-in flows will issue them after an
 * LTI launch or a passcode). The token is returned once and stored only as its hash.
 */
import type { Kysely } from 'kysely';
import { idPattern } from '../../crypto/context.js';
import { ApiError } from '../../protocol/errors.js';
import type { DirectoryDatabase } from '../db/schema.js';
import { regionOf } from '../directory/directory.repository.js';
import { newId } from '../ids.js';
import { findInstitution } from '../institutions/institution.repository.js';
import type { Cells } from '../regions/cell.types.js';
import { type AttemptScope, insertCredential, newAttemptToken, tokenHash } from './credential.js';

export interface IssueAttempt {
  readonly institution: string;
  readonly exam: string;
  /** Defaults to a new random attempt id. */
  readonly attempt?: string;
  readonly ttlSeconds: number;
}

export interface IssuedAttempt extends AttemptScope {
  /** The bearer credential. Shown once; only its hash is kept. */
  readonly token: string;
}

export async function issueAttemptCredential(cells: Cells, directory: Kysely<DirectoryDatabase>, input: IssueAttempt, now: number): Promise<IssuedAttempt> {
  const attempt = input.attempt ?? newId('att');
  for (const [field, value] of [['exam', input.exam], ['attempt', attempt]] as const) {
    if (!idPattern.test(value)) throw new ApiError('EV_ERR_API_BAD_REQUEST', `${field} must be 1-64 characters of [A-Za-z0-9._:-]`);
  }
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 60 || input.ttlSeconds > 7 * 24 * 3600) {
    throw new ApiError('EV_ERR_API_BAD_REQUEST', 'the credential lifetime is 60 s to 7 days');
  }
  const region = await regionOf(directory, input.institution);
  const cell = region ? cells.get(region) : undefined;
  if (!region || !cell || !(await findInstitution(cell.db, input.institution))) {
    throw new ApiError('EV_ERR_API_NOT_FOUND', `no institution ${JSON.stringify(input.institution)}`);
  }
  const token = newAttemptToken(region);
  const expiresAt = now + input.ttlSeconds * 1000;
  await insertCredential(cell.db, {
    token_hash: tokenHash(token),
    institution_id: input.institution,
    exam_id: input.exam,
    attempt_id: attempt,
    expires_at: expiresAt,
    created_at: now,
  });
  return { token, institution: input.institution, region, exam: input.exam, attempt, expiresAt };
}
