// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // An institution's exams (docs/EXAMS.md): what attempts, LTI resource links and passcodes point at.
  // No personal data: an id, a title staff chose, and recording settings.
  await db.schema
    .createTable('exams')
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('exam_id', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('snapshot_interval_seconds', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('exams_pk', ['institution_id', 'exam_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('exams').execute();
}
