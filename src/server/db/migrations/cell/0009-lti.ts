// Frozen: a migration never changes once released; later changes are new migrations.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // LTI 1.3 platform registrations of the cell's institutions (docs/LTI.md).
  await db.schema
    .createTable('lti_platforms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('deployment_ids', 'text', (c) => c.notNull())
    .addColumn('auth_endpoint', 'text', (c) => c.notNull())
    .addColumn('token_endpoint', 'text', (c) => c.notNull())
    .addColumn('jwks_url', 'text', (c) => c.notNull())
    .addColumn('frame_origins', 'text', (c) => c.notNull())
    .addColumn('kept_claims', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('lti_platforms_issuer_client', ['issuer', 'client_id'])
    .execute();
  // Pending OIDC logins: state (hashed) → nonce and the browser binding's hash. Deleted when used.
  await db.schema
    .createTable('lti_logins')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('platform_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('binding_hash', 'text', (c) => c.notNull())
    .addColumn('target_link_uri', 'text', (c) => c.notNull())
    .addColumn('storage_target', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // Nonces seen in accepted id_tokens, until the token could no longer be valid: a nonce works once.
  await db.schema
    .createTable('lti_nonces')
    .addColumn('platform_id', 'text', (c) => c.notNull())
    .addColumn('nonce_hash', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('lti_nonces_pk', ['platform_id', 'nonce_hash'])
    .execute();
  // What a launch leaves: opaque ids and roles only (docs/LTI.md "What is kept").
  await db.schema
    .createTable('lti_launches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('platform_id', 'text', (c) => c.notNull())
    .addColumn('message_type', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text')
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('context_id', 'text')
    .addColumn('resource_link_id', 'text')
    .addColumn('exam_id', 'text')
    .addColumn('attempt_id', 'text')
    .addColumn('staff_id', 'text')
    .addColumn('kept_claims', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // An LMS user with a staff role, as the staff member it became.
  await db.schema
    .createTable('lti_staff')
    .addColumn('platform_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('staff_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('lti_staff_pk', ['platform_id', 'sub'])
    .execute();
  // One-time codes: attempt hand-offs, deep-linking and proctoring steps, staff sign-in, and launches
  // waiting for the platform-storage binding. Only SHA-256 of a code is kept.
  await db.schema
    .createTable('lti_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('institution_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['lti_codes', 'lti_staff', 'lti_launches', 'lti_nonces', 'lti_logins', 'lti_platforms']) await db.schema.dropTable(table).execute();
}
