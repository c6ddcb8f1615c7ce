// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('small_objects')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('data', 'blob', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('small_objects').execute();
}
