// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Reviewers' verdicts and notes on an attempt (docs/SPEC.md §13, docs/CUSTODY-SERVER.md): each
  // revision a whole record sealed to an epoch key and signed by its author, opaque to the server.
  // The primary key is what makes a revision final: two writers of the same revision, one wins.
  await db.schema
    .createTable('review_records')
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('attempt_id', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('author_id', 'text', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('record', 'text', (c) => c.notNull())
    .addColumn('audit_seq', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('review_records_pk', ['institution_id', 'attempt_id', 'revision'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('review_records').execute();
}
