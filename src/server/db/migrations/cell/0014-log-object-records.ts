// Frozen: a migration never changes once released; later changes are new migrations.
import { type Kysely, sql } from 'kysely';

/**
 * `log_objects.record`: the log store keeps each object's at-rest key record in the object's own row
 * (storage/blob-store.log.ts), where it had been a row of `small_objects` under the same key. The
 * records of objects the log holds move into their rows; a record whose object the log does not
 * hold (what a crash in a put or a shred can leave) stays where it is, and still reads, is reused
 * and is swept as before. One transaction of its own: a crash halfway leaves the tables as they were,
 * and the migration runs again at the next start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.schema.alterTable('log_objects').addColumn('record', 'blob').execute();
    await sql`update log_objects set record = (select data from small_objects where small_objects.key = log_objects.key)
      where exists (select 1 from small_objects where small_objects.key = log_objects.key)`.execute(trx);
    await sql`delete from small_objects where key in (select key from log_objects where record is not null)`.execute(trx);
  });
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`insert into small_objects (key, data) select key, record from log_objects where record is not null
      on conflict (key) do update set data = excluded.data`.execute(trx);
    await trx.schema.alterTable('log_objects').dropColumn('record').execute();
  });
}
