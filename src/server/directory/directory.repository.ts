/**
 * The global directory: institution id → region. The only table shared between cells, so it holds
 * nothing else (no name, nothing about people or recordings).
 */
import type { Kysely } from 'kysely';
import type { DirectoryDatabase } from '../db/schema.js';

export async function registerInstitution(db: Kysely<DirectoryDatabase>, institutionId: string, region: string, now: number): Promise<void> {
  await db.insertInto('directory').values({ institution_id: institutionId, region, created_at: now }).execute();
}

export async function regionOf(db: Kysely<DirectoryDatabase>, institutionId: string): Promise<string | null> {
  const row = await db.selectFrom('directory').select('region').where('institution_id', '=', institutionId).executeTakeFirst();
  return row?.region ?? null;
}
