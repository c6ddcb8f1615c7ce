// Frozen: a migration never changes once released; later changes are new migrations.
import { type Kysely, sql } from 'kysely';

/**
 * `passcodes.platform_id` becomes nullable: NULL is a passcode an admin issued (it was '' until now,
 * an empty string standing for "no platform"). SQLite cannot change a column's constraint, so the
 * table is rebuilt: a new table, the rows copied with '' turned into NULL, the old one dropped, the
 * new one renamed, and its index made again as it was. No other table refers to `passcodes`.
 * Kysely runs no SQLite migration in a transaction, so the rebuild takes one of its own: a crash
 * halfway leaves the old table as it was, and the migration runs again at the next start.
 */
async function rebuild(db: Kysely<unknown>, platform: 'nullable' | 'not-null', copy: ReturnType<typeof sql>): Promise<void> {
  await db.schema
    .createTable('passcodes_rebuilt')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('exam_id', 'text', (c) => c.notNull())
    .addColumn('attempt_id', 'text', (c) => c.notNull())
    .addColumn('platform_id', 'text', (c) => (platform === 'not-null' ? c.notNull() : c))
    .addColumn('credential_ttl_seconds', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into passcodes_rebuilt (id, code_hash, institution_id, exam_id, attempt_id, platform_id, credential_ttl_seconds, expires_at, used_at, created_at)
    select id, code_hash, institution_id, exam_id, attempt_id, ${copy}, credential_ttl_seconds, expires_at, used_at, created_at from passcodes`.execute(db);
  await db.schema.dropTable('passcodes').execute();
  await db.schema.alterTable('passcodes_rebuilt').renameTo('passcodes').execute();
  await db.schema.createIndex('passcodes_attempt').on('passcodes').columns(['institution_id', 'exam_id', 'attempt_id']).execute();
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await rebuild(trx, 'nullable', sql`nullif(platform_id, '')`);
    // An admin lists an exam's passcodes newest first (GET /v1/exams/{exam}/passcodes).
    await trx.schema.createIndex('passcodes_exam_created').on('passcodes').columns(['institution_id', 'exam_id', 'created_at']).execute();
  });
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.schema.dropIndex('passcodes_exam_created').execute();
    await rebuild(trx, 'not-null', sql`coalesce(platform_id, '')`);
  });
}
