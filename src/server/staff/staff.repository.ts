/**
 * Staff tables of a cell (migration 0004): staff, invites, passkeys, sessions, pending challenges.
 * Takes the database handle explicitly; no logic beyond the query.
 */
import type { Kysely, Transaction } from 'kysely';
import type { CellDatabase, PasskeyTable, StaffInviteTable, StaffSessionTable, StaffTable, WebauthnChallengeTable } from '../db/schema.js';

type Db = Kysely<CellDatabase> | Transaction<CellDatabase>;

export async function insertInvite(db: Db, row: StaffInviteTable): Promise<void> {
  await db.insertInto('staff_invites').values(row).execute();
}

export async function findInvite(db: Db, tokenHash: string): Promise<StaffInviteTable | undefined> {
  return db.selectFrom('staff_invites').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Marks an unused invite used; false when it was already used (the caller lost a race). */
export async function consumeInvite(db: Db, tokenHash: string, now: number): Promise<boolean> {
  const r = await db.updateTable('staff_invites').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export async function insertStaff(db: Db, row: StaffTable): Promise<void> {
  await db.insertInto('staff').values(row).execute();
}

export async function findStaff(db: Db, id: string): Promise<StaffTable | undefined> {
  return db.selectFrom('staff').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertPasskey(db: Db, row: PasskeyTable): Promise<void> {
  await db.insertInto('passkeys').values(row).execute();
}

export async function findPasskey(db: Db, credentialId: string): Promise<PasskeyTable | undefined> {
  return db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
}

export async function updatePasskeyCounter(db: Db, credentialId: string, counter: number): Promise<void> {
  await db.updateTable('passkeys').set({ counter }).where('credential_id', '=', credentialId).execute();
}

export async function insertSession(db: Db, row: StaffSessionTable): Promise<void> {
  await db.insertInto('staff_sessions').values(row).execute();
}

export async function findSessionWithStaff(db: Db, tokenHash: string) {
  return db
    .selectFrom('staff_sessions')
    .innerJoin('staff', 'staff.id', 'staff_sessions.staff_id')
    .select(['staff_sessions.staff_id', 'staff_sessions.csrf_hash', 'staff_sessions.expires_at', 'staff.institution_id', 'staff.role', 'staff.disabled_at'])
    .where('staff_sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom('staff_sessions').where('token_hash', '=', tokenHash).execute();
}

export async function insertChallenge(db: Db, row: WebauthnChallengeTable): Promise<void> {
  await db.insertInto('webauthn_challenges').values(row).execute();
}

/** Deletes and returns a pending challenge: whoever deletes it is the only one to use it. */
export async function takeChallenge(db: Db, idHash: string): Promise<WebauthnChallengeTable | undefined> {
  const row = await db.selectFrom('webauthn_challenges').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  if (!row) return undefined;
  const r = await db.deleteFrom('webauthn_challenges').where('id_hash', '=', idHash).executeTakeFirst();
  return r.numDeletedRows === 1n ? row : undefined;
}

export async function deleteExpiredChallenges(db: Db, now: number): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).execute();
}
