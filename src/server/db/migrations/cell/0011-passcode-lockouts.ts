// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Passcode guessing lockouts (src/server/platforms/lockout-store.ts), kept so a restart does not
  // lift them. The key is a keyed hash of the budget (an exam locator, or a client address, which is
  // personal data): never the address itself.
  await db.schema
    .createTable('passcode_lockouts')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('locked_until', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('passcode_lockouts_until').on('passcode_lockouts').column('locked_until').execute();
}
