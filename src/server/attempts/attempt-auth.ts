/**
 * Authenticates an attempt credential from `Authorization: Bearer …`, finding the cell it belongs to.
 * Unknown and expired tokens are distinct codes: neither reveals anything about other attempts.
 *
 * A test taker's recorder sends a request every few hundred milliseconds with the same credential, so
 * the credential's row is kept in memory for a minute (`CREDENTIAL_CACHE_MS`) after it was read,
 * keyed by the token's hash like the table. A read is not cheap here: the group commit's worker
 * commits about a hundred times a second, and each commit makes this connection drop its page cache
 * and read the pages again. Expiry is still checked on every request against the row's own
 * `expires_at`; credentials are never changed after they are issued, and once one can be withdrawn
 * the withdrawal takes effect within that time.
 */
import type { FastifyRequest } from 'fastify';
import type { AttemptCredentialTable } from '../db/schema.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { uploadError } from '../recordings/recording.service.js';
import { type AttemptScope, findCredential, tokenHash, tokenRegion } from './credential.js';

export interface AttemptAuth {
  readonly scope: AttemptScope;
  readonly cell: Cell;
}

/** How long a credential row read from the database is used without reading it again. */
export const CREDENTIAL_CACHE_MS = 60_000;
/** Rows kept at most (per set of cells); the oldest go first. */
const CREDENTIAL_CACHE_SIZE = 20_000;

interface Cached {
  readonly row: AttemptCredentialTable;
  readonly until: number;
}

const caches = new WeakMap<Cells, Map<string, Cached>>();

export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([\x21-\x7e]{1,200})$/.exec(h);
  return m?.[1] ?? null;
}

async function credentialRow(cells: Cells, cell: Cell, hash: string): Promise<AttemptCredentialTable | undefined> {
  let cache = caches.get(cells);
  if (!cache) {
    cache = new Map();
    caches.set(cells, cache);
  }
  const now = Date.now();
  const hit = cache.get(hash);
  if (hit && hit.until > now) return hit.row;
  const row = await findCredential(cell.db, hash);
  cache.delete(hash);
  if (row) {
    cache.set(hash, { row, until: now + CREDENTIAL_CACHE_MS });
    if (cache.size > CREDENTIAL_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return row;
}

export async function authenticateAttempt(request: FastifyRequest, cells: Cells, now: number): Promise<AttemptAuth> {
  const token = bearerToken(request);
  if (!token) throw uploadError('EV_ERR_AUTH_MISSING_CREDENTIAL', 'send the attempt credential as Authorization: Bearer <token>');
  const region = tokenRegion(token);
  const cell = region ? cells.get(region) : undefined;
  const row = cell ? await credentialRow(cells, cell, tokenHash(token)) : undefined;
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
