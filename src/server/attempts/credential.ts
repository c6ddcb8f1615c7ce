/**
 * Attempt credentials: random bearer capabilities that allow exactly one attempt's uploads.
 *
 * A token is `ev1.<region>.<43 chars base64url of 32 random bytes>`. The region names the cell that
 * holds its record, so a request is checked in one cell without a directory lookup; it reveals
 * nothing the URL of an upload would not. Only SHA-256(token) is stored: a leaked database yields no
 * usable credential, and 256 random bits make a keyed hash unnecessary.
 */
import { hash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AttemptCredentialTable, CellDatabase } from '../db/schema.js';

const tokenPattern = /^ev1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

export interface AttemptScope {
  readonly institution: string;
  readonly region: string;
  readonly exam: string;
  readonly attempt: string;
  readonly expiresAt: number;
}

export function newAttemptToken(region: string): string {
  return `ev1.${region}.${randomBytes(32).toString('base64url')}`;
}

/** One call, no Hash object: every request of a recorder hashes its token. */
export function tokenHash(token: string): string {
  return hash('sha256', token, 'hex');
}

/** The region a well-formed token names, or null for anything else. */
export function tokenRegion(token: string): string | null {
  return tokenPattern.exec(token)?.[1] ?? null;
}

export async function insertCredential(db: Kysely<CellDatabase>, row: AttemptCredentialTable): Promise<void> {
  await db.insertInto('attempt_credentials').values(row).execute();
}

export async function findCredential(db: Kysely<CellDatabase>, hash: string): Promise<AttemptCredentialTable | undefined> {
  return db.selectFrom('attempt_credentials').selectAll().where('token_hash', '=', hash).executeTakeFirst();
}
