/**
 * The LTI tables of a cell (migration 0009) and the directory's registration index (directory
 * migration 0003). Takes the database handle explicitly; no logic beyond the query.
 */
import type { Kysely, Transaction } from 'kysely';
import type {
  CellDatabase,
  DirectoryDatabase,
  LtiCodeTable,
  LtiLaunchTable,
  LtiLoginTable,
  LtiPlatformDirectoryTable,
  LtiPlatformTable,
} from '../db/schema.js';

type Db = Kysely<CellDatabase> | Transaction<CellDatabase>;

export async function insertPlatform(db: Db, row: LtiPlatformTable): Promise<void> {
  await db.insertInto('lti_platforms').values(row).execute();
}

export async function findPlatform(db: Db, id: string): Promise<LtiPlatformTable | undefined> {
  return db.selectFrom('lti_platforms').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listPlatforms(db: Db, institutionId: string): Promise<LtiPlatformTable[]> {
  return db.selectFrom('lti_platforms').selectAll().where('institution_id', '=', institutionId).orderBy('created_at').orderBy('id').execute();
}

export async function deletePlatform(db: Db, institutionId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom('lti_platforms').where('institution_id', '=', institutionId).where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows === 1n;
}

/** Claims (issuer, client id) for a platform; false when another registration has them. */
export async function indexPlatform(db: Kysely<DirectoryDatabase>, row: LtiPlatformDirectoryTable): Promise<boolean> {
  const r = await db.insertInto('lti_platforms').values(row).onConflict((oc) => oc.columns(['issuer', 'client_id']).doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function unindexPlatform(db: Kysely<DirectoryDatabase>, platformId: string): Promise<void> {
  await db.deleteFrom('lti_platforms').where('platform_id', '=', platformId).execute();
}

/** The registrations of an issuer (one per client id), for login initiation. */
export async function lookupPlatforms(db: Kysely<DirectoryDatabase>, issuer: string): Promise<LtiPlatformDirectoryTable[]> {
  return db.selectFrom('lti_platforms').selectAll().where('issuer', '=', issuer).execute();
}

export async function insertLogin(db: Db, row: LtiLoginTable): Promise<void> {
  await db.insertInto('lti_logins').values(row).execute();
}

/** Deletes and returns a pending login: whoever deletes it is the only one to use its state. */
export async function takeLogin(db: Db, stateHash: string): Promise<LtiLoginTable | undefined> {
  const row = await db.selectFrom('lti_logins').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
  if (!row) return undefined;
  const r = await db.deleteFrom('lti_logins').where('state_hash', '=', stateHash).executeTakeFirst();
  return r.numDeletedRows === 1n ? row : undefined;
}

export async function deleteExpiredLogins(db: Db, now: number): Promise<void> {
  await db.deleteFrom('lti_logins').where('expires_at', '<=', now).execute();
  await db.deleteFrom('lti_nonces').where('expires_at', '<=', now).execute();
  // Expired codes stay a day, so a late exchange hears "expired" rather than "unknown".
  await db.deleteFrom('lti_codes').where('expires_at', '<=', now - 24 * 3600 * 1000).execute();
}

export async function nonceSeen(db: Db, platformId: string, nonceHash: string): Promise<boolean> {
  return (await db.selectFrom('lti_nonces').select('nonce_hash').where('platform_id', '=', platformId).where('nonce_hash', '=', nonceHash).executeTakeFirst()) !== undefined;
}

/** Records a nonce as used; false when it already was (a replay). */
export async function useNonce(db: Db, platformId: string, nonceHash: string, expiresAt: number): Promise<boolean> {
  const r = await db
    .insertInto('lti_nonces')
    .values({ platform_id: platformId, nonce_hash: nonceHash, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['platform_id', 'nonce_hash']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function insertLaunch(db: Db, row: LtiLaunchTable): Promise<void> {
  await db.insertInto('lti_launches').values(row).execute();
}

export async function findLtiStaff(db: Db, platformId: string, sub: string): Promise<string | undefined> {
  const row = await db.selectFrom('lti_staff').select('staff_id').where('platform_id', '=', platformId).where('sub', '=', sub).executeTakeFirst();
  return row?.staff_id;
}

export async function insertLtiStaff(db: Db, platformId: string, sub: string, staffId: string, now: number): Promise<void> {
  await db.insertInto('lti_staff').values({ platform_id: platformId, sub, staff_id: staffId, created_at: now }).execute();
}

export async function insertCode(db: Db, row: LtiCodeTable): Promise<void> {
  await db.insertInto('lti_codes').values(row).execute();
}

export async function findCode(db: Db, codeHash: string): Promise<LtiCodeTable | undefined> {
  return db.selectFrom('lti_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
}

/** Marks an unused code used; false when it already was (the caller lost a race, or it is a replay). */
export async function useCode(db: Db, codeHash: string, now: number): Promise<boolean> {
  const r = await db.updateTable('lti_codes').set({ used_at: now }).where('code_hash', '=', codeHash).where('used_at', 'is', null).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}
