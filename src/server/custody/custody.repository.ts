/** Custody rows of the institution's cell: members' keys, grants, accepted statements, retention. */
import type { Kysely, Transaction } from 'kysely';
import type { CellDatabase, CustodyGrantTable, CustodyMemberTable, CustodyStatementTable } from '../db/schema.js';

type Db = Kysely<CellDatabase> | Transaction<CellDatabase>;

export async function findMember(db: Db, institution: string, member: string): Promise<CustodyMemberTable | undefined> {
  return db.selectFrom('custody_members').selectAll().where('institution_id', '=', institution).where('member_id', '=', member).executeTakeFirst();
}

export async function listMembers(db: Db, institution: string, role?: 'admin' | 'reviewer'): Promise<CustodyMemberTable[]> {
  let q = db.selectFrom('custody_members').selectAll().where('institution_id', '=', institution);
  if (role) q = q.where('role', '=', role);
  return q.orderBy('created_at').orderBy('member_id').execute();
}

export async function upsertMember(db: Db, row: CustodyMemberTable): Promise<void> {
  await db
    .insertInto('custody_members')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['institution_id', 'member_id']).doUpdateSet({
        role: row.role,
        hpke_public_key: row.hpke_public_key,
        signing_public_key: row.signing_public_key,
        fingerprint: row.fingerprint,
        registration: row.registration,
        wrapped_keys: row.wrapped_keys,
        status: row.status,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function setMemberStatus(db: Db, institution: string, member: string, status: CustodyMemberTable['status'], now: number): Promise<void> {
  await db.updateTable('custody_members').set({ status, updated_at: now }).where('institution_id', '=', institution).where('member_id', '=', member).execute();
}

export async function upsertGrant(db: Db, row: CustodyGrantTable): Promise<void> {
  await db
    .insertInto('custody_grants')
    .values(row)
    .onConflict((oc) => oc.columns(['institution_id', 'member_id', 'epoch']).doUpdateSet({ grant_json: row.grant_json, approval: row.approval, created_at: row.created_at }))
    .execute();
}

export async function findGrants(db: Db, institution: string, member: string): Promise<CustodyGrantTable[]> {
  return db.selectFrom('custody_grants').selectAll().where('institution_id', '=', institution).where('member_id', '=', member).orderBy('epoch').execute();
}

export async function findGrant(db: Db, institution: string, member: string, epoch: number): Promise<CustodyGrantTable | undefined> {
  return db
    .selectFrom('custody_grants')
    .selectAll()
    .where('institution_id', '=', institution)
    .where('member_id', '=', member)
    .where('epoch', '=', epoch)
    .executeTakeFirst();
}

export async function deleteGrants(db: Db, institution: string, member: string): Promise<void> {
  await db.deleteFrom('custody_grants').where('institution_id', '=', institution).where('member_id', '=', member).execute();
}

export async function insertStatement(db: Db, row: CustodyStatementTable): Promise<void> {
  await db.insertInto('custody_statements').values(row).onConflict((oc) => oc.doNothing()).execute();
}

export async function hasStatement(db: Db, institution: string, statementId: string): Promise<boolean> {
  const row = await db.selectFrom('custody_statements').select('statement_id').where('institution_id', '=', institution).where('statement_id', '=', statementId).executeTakeFirst();
  return !!row;
}

export async function listStatements(db: Db, institution: string, types: readonly string[], subject?: string): Promise<CustodyStatementTable[]> {
  let q = db.selectFrom('custody_statements').selectAll().where('institution_id', '=', institution).where('type', 'in', [...types]);
  if (subject !== undefined) q = q.where('subject', '=', subject);
  return q.orderBy('audit_seq').execute();
}

export async function setRetention(db: Db, institution: string, days: number | null, now: number): Promise<void> {
  if (days === null) {
    await db.deleteFrom('custody_retention').where('institution_id', '=', institution).execute();
    return;
  }
  await db
    .insertInto('custody_retention')
    .values({ institution_id: institution, days, updated_at: now })
    .onConflict((oc) => oc.column('institution_id').doUpdateSet({ days, updated_at: now }))
    .execute();
}

export async function findRetention(db: Db, institution: string): Promise<number | null> {
  const row = await db.selectFrom('custody_retention').select('days').where('institution_id', '=', institution).executeTakeFirst();
  return row ? Number(row.days) : null;
}

/** Recordings older than their institution's retention period, oldest first. */
export async function expiredRecordings(db: Db, now: number, limit: number): Promise<{ institution_id: string; recording_id: string }[]> {
  const rows = await db
    .selectFrom('recordings')
    .innerJoin('custody_retention', 'custody_retention.institution_id', 'recordings.institution_id')
    .select(['recordings.institution_id as institution_id', 'recordings.recording_id as recording_id', 'recordings.created_at as created_at', 'custody_retention.days as days'])
    .orderBy('recordings.created_at')
    .execute();
  return rows.filter((r) => Number(r.created_at) + Number(r.days) * 86_400_000 <= now).slice(0, limit);
}
