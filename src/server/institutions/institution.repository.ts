/** Institutions and their epoch public keys, in the institution's own cell. */
import type { Kysely } from 'kysely';
import type { CellDatabase, InstitutionTable } from '../db/schema.js';

export async function insertInstitution(
  db: Kysely<CellDatabase>,
  institution: InstitutionTable,
  /** null: no epoch key yet, until the first admin's set-up registers one. */
  epochPublicKey: string | null,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('institutions').values(institution).execute();
    if (epochPublicKey === null) return;
    await trx
      .insertInto('epoch_keys')
      .values({ institution_id: institution.id, epoch: institution.current_epoch, public_key: epochPublicKey, created_at: institution.created_at })
      .execute();
  });
}

export async function findInstitution(db: Kysely<CellDatabase>, id: string): Promise<InstitutionTable | undefined> {
  return db.selectFrom('institutions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findEpochKey(db: Kysely<CellDatabase>, institutionId: string, epoch: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('epoch_keys')
    .select('public_key')
    .where('institution_id', '=', institutionId)
    .where('epoch', '=', epoch)
    .executeTakeFirst();
  return row?.public_key;
}
