/**
 * One-time codes of the LTI flows: `evk1.<region>.<43 chars base64url of 32 random bytes>`. The region
 * names the cell holding the row; only SHA-256 of a code is stored; a code is used once (an
 * UPDATE … WHERE used_at IS NULL decides a race) and expires. Kinds: `handoff` (an attempt credential
 * for the recorder, POST /v1/attempts/handoff), `staff` (a staff session), `deep-link` (the exam
 * picker's answer), `proctoring` (LtiStartAssessment), `pending-launch` (a launch waiting for its
 * platform-storage binding, keyed by its state rather than a code).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { LtiCodeTable } from '../db/schema.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { findCode, insertCode, useCode } from './lti.repository.js';

export type CodeKind = 'handoff' | 'staff' | 'deep-link' | 'proctoring' | 'pending-launch';

const codePattern = /^evk1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

export function random43(): string {
  return randomBytes(32).toString('base64url');
}

/** Creates a code of `kind` for `institution` in `cell`; returns it (shown once). */
export async function issueCode(cell: Cell, kind: CodeKind, institution: string, payload: object, ttlMs: number, now: number, code = `evk1.${cell.region}.${random43()}`): Promise<string> {
  await insertCode(cell.db, { code_hash: sha256Hex(code), kind, institution_id: institution, payload: JSON.stringify(payload), expires_at: now + ttlMs, used_at: null, created_at: now });
  return code;
}

export type CodeProblem = 'invalid' | 'used' | 'expired';

export interface TakenCode<P> {
  readonly cell: Cell;
  readonly row: LtiCodeTable;
  readonly payload: P;
}

/**
 * Uses up a code of `kind`, or says why not. `cellOf` picks the cell for codes that do not name one
 * (a pending launch is keyed by its state, which names its region the same way).
 */
export async function takeCode<P>(cells: Cells, code: unknown, kind: CodeKind, now: number): Promise<TakenCode<P> | CodeProblem> {
  const region = typeof code === 'string' ? (codePattern.exec(code)?.[1] ?? /^evl1\.([a-z][a-z0-9-]{1,15})\./.exec(code)?.[1]) : undefined;
  const cell = region ? cells.get(region) : undefined;
  if (!cell) return 'invalid';
  const hash = sha256Hex(kind === 'pending-launch' ? `pending:${code as string}` : (code as string));
  const row = await findCode(cell.db, hash);
  if (!row || row.kind !== kind) return 'invalid';
  if (row.used_at !== null) return 'used';
  if (Number(row.expires_at) <= now) return 'expired';
  if (!(await useCode(cell.db, hash, now))) return 'used';
  return { cell, row, payload: JSON.parse(row.payload) as P };
}

/** Whether a code was used (the recorder took its hand-off), without using it. */
export async function codeUsed(cell: Cell, codeHash: string): Promise<boolean> {
  return (await findCode(cell.db, codeHash))?.used_at != null;
}
