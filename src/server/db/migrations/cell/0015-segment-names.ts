// Frozen: a migration never changes once released; later changes are new migrations.
import { type Kysely, sql } from 'kysely';

/**
 * `segments.sha256` becomes `segments.name`: the last part of the segment's blob key, which an upload
 * now draws at random instead of hashing the segment (recordings/recording.service.ts). A row written
 * before keeps the key it has: its name is the first 32 hex digits of its SHA-256, which is what its
 * key was made of. One transaction: a crash halfway leaves the table as it was.
 *
 * Down renames the column back and cannot bring the hashes back: a segment stored before it is still
 * read, but the same bytes uploaded again are then answered as other bytes (409).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.schema.alterTable('segments').renameColumn('sha256', 'name').execute();
    await sql`update segments set name = substr(name, 1, 32) where length(name) > 32`.execute(trx);
  });
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('segments').renameColumn('name', 'sha256').execute();
}
