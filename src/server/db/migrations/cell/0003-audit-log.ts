// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The audit log of the cell (docs/AUDIT-LOG.md): append-only, seq = the RFC 6962 leaf index.
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('institution_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'blob', (c) => c.notNull())
    .addColumn('leaf_hash', 'blob', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_by_institution').on('audit_log').columns(['institution_id', 'seq']).execute();
  // The checkpoints the log signed, one per tree size.
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('tree_size', 'bigint', (c) => c.primaryKey())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_checkpoints').execute();
  await db.schema.dropTable('audit_log').execute();
}
