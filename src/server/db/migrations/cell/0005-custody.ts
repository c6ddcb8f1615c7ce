// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Each staff member's registered public keys, wrapped private keys and signed key registration
  // (docs/CUSTODY-SERVER.md). The server stores them; it can unwrap none.
  await db.schema
    .createTable('custody_members')
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('hpke_public_key', 'text', (c) => c.notNull())
    .addColumn('signing_public_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('registration', 'text', (c) => c.notNull())
    .addColumn('wrapped_keys', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('custody_members_pk', ['institution_id', 'member_id'])
    .execute();
  // Grants: an epoch private key sealed (HPKE) to one member, with the admin's signed approval.
  await db.schema
    .createTable('custody_grants')
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('grant_json', 'text', (c) => c.notNull())
    .addColumn('approval', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('custody_grants_pk', ['institution_id', 'member_id', 'epoch'])
    .execute();
  // Every signed statement the server accepted, in the order of the audit log that holds it.
  await db.schema
    .createTable('custody_statements')
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('statement_id', 'text', (c) => c.notNull())
    .addColumn('audit_seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('epoch', 'integer')
    .addColumn('signed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('custody_statements_pk', ['institution_id', 'statement_id'])
    .execute();
  await db.schema.createIndex('custody_statements_by_seq').on('custody_statements').columns(['institution_id', 'audit_seq']).execute();
  // Retention: recordings older than this many days are crypto-shredded by the sweep.
  await db.schema
    .createTable('custody_retention')
    .addColumn('institution_id', 'text', (c) => c.primaryKey())
    .addColumn('days', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('custody_retention').execute();
  await db.schema.dropTable('custody_statements').execute();
  await db.schema.dropTable('custody_grants').execute();
  await db.schema.dropTable('custody_members').execute();
}
