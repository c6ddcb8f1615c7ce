/**
 * Creating an institution: pinned to one region for life, registered in the global directory, with
 * its first epoch public key or none yet. The epoch private key never reaches this code: either the
 * operator's CLI generated the pair and hands over the public half, or the institution is created
 * awaiting set-up, and its first admin's browser generates the pair and registers the public key with
 * the set-up (PUT /v1/custody/recovery), so no one at the vendor ever holds it.
 */
import type { Kysely } from 'kysely';
import { importPublicKeyText } from '../../crypto/index.js';
import { ApiError } from '../../protocol/errors.js';
import type { DirectoryDatabase } from '../db/schema.js';
import { registerInstitution } from '../directory/directory.repository.js';
import { newId } from '../ids.js';
import type { Cells } from '../regions/cell.types.js';
import { insertInstitution } from './institution.repository.js';

export interface NewInstitution {
  readonly name: string;
  readonly region: string;
  /** base64url of the 65-byte epoch-1 public key; absent: awaiting set-up, the first admin's browser makes it. */
  readonly epochPublicKey?: string;
}

export interface CreatedInstitution {
  readonly id: string;
  readonly region: string;
  readonly epoch: number;
}

export async function createInstitution(cells: Cells, directory: Kysely<DirectoryDatabase>, input: NewInstitution, now: number): Promise<CreatedInstitution> {
  const name = input.name.trim();
  const printable = [...name].every((c) => c >= ' ' && c !== '\x7f');
  if (name.length < 1 || name.length > 200 || !printable) {
    throw new ApiError('EV_ERR_API_BAD_REQUEST', 'an institution name is 1-200 printable characters');
  }
  const cell = cells.get(input.region);
  if (!cell) throw new ApiError('EV_ERR_API_BAD_REQUEST', `region ${JSON.stringify(input.region)} is not served here (regions: ${[...cells.keys()].join(', ')})`);
  if (input.epochPublicKey !== undefined) await importPublicKeyText(input.epochPublicKey);
  const id = newId('inst');
  // Directory first: an institution the directory does not know can never be reached, so a crash in
  // between leaves an unreachable row at worst, never an institution in two regions.
  await registerInstitution(directory, id, input.region, now);
  await insertInstitution(cell.db, { id, name, region: input.region, current_epoch: 1, created_at: now }, input.epochPublicKey ?? null);
  return { id, region: input.region, epoch: 1 };
}
