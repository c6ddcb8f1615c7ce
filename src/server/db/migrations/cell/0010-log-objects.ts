// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

/** Where each object of the cell's log-structured blob store is (storage/blob-store.log.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('log_objects')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('file', 'integer', (c) => c.notNull())
    .addColumn('offset', 'integer', (c) => c.notNull())
    .addColumn('length', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('log_objects_by_file').on('log_objects').column('file').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('log_objects').execute();
}
