// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Passcode locator → region, so a redemption goes to one cell. A locator is random: it names no exam
  // or institution, and nothing about the people who type it.
  await db.schema
    .createTable('passcode_locators')
    .addColumn('locator', 'text', (c) => c.primaryKey())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('passcode_locators').execute();
}
