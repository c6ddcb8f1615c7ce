/** Platforms, passcodes and passcode locators, in the institution's cell; locator → region in the directory. */
import type { Kysely } from 'kysely';
import type { CellDatabase, DirectoryDatabase, PasscodeTable, PlatformTable } from '../db/schema.js';

export async function insertPlatform(db: Kysely<CellDatabase>, row: PlatformTable): Promise<void> {
  await db.insertInto('platforms').values(row).execute();
}

export async function findPlatformByKey(db: Kysely<CellDatabase>, keyHash: string): Promise<PlatformTable | undefined> {
  return db.selectFrom('platforms').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

export async function findPlatform(db: Kysely<CellDatabase>, institutionId: string, platformId: string): Promise<PlatformTable | undefined> {
  return db.selectFrom('platforms').selectAll().where('institution_id', '=', institutionId).where('id', '=', platformId).executeTakeFirst();
}

export async function listPlatforms(db: Kysely<CellDatabase>, institutionId: string): Promise<PlatformTable[]> {
  return db.selectFrom('platforms').selectAll().where('institution_id', '=', institutionId).orderBy('created_at').orderBy('id').execute();
}

/** Revokes a platform; false when it was already revoked. */
export async function revokePlatform(db: Kysely<CellDatabase>, institutionId: string, platformId: string, now: number): Promise<boolean> {
  const result = await db.updateTable('platforms').set({ revoked_at: now }).where('institution_id', '=', institutionId).where('id', '=', platformId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findExamLocator(db: Kysely<CellDatabase>, institutionId: string, examId: string): Promise<string | undefined> {
  const row = await db.selectFrom('passcode_exams').select('locator').where('institution_id', '=', institutionId).where('exam_id', '=', examId).executeTakeFirst();
  return row?.locator;
}

/** Records the exam's locator; false when the exam has one already or the locator is taken. */
export async function insertExamLocator(db: Kysely<CellDatabase>, institutionId: string, examId: string, locator: string, now: number): Promise<boolean> {
  const result = await db.insertInto('passcode_exams').values({ institution_id: institutionId, exam_id: examId, locator, created_at: now }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Reserves a locator for a region; false when it is taken (locators are random: pick another). */
export async function reserveLocator(db: Kysely<DirectoryDatabase>, locator: string, region: string, now: number): Promise<boolean> {
  const result = await db.insertInto('passcode_locators').values({ locator, region, created_at: now }).onConflict((oc) => oc.column('locator').doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function regionOfLocator(db: Kysely<DirectoryDatabase>, locator: string): Promise<string | null> {
  const row = await db.selectFrom('passcode_locators').select('region').where('locator', '=', locator).executeTakeFirst();
  return row?.region ?? null;
}

export async function insertPasscode(db: Kysely<CellDatabase>, row: PasscodeTable): Promise<void> {
  await db.insertInto('passcodes').values(row).execute();
}

export async function findPasscode(db: Kysely<CellDatabase>, codeHash: string): Promise<(PasscodeTable & { revoked_at: number | null }) | undefined> {
  return db
    .selectFrom('passcodes')
    // Left: an admin's passcodes name no platform (platform_id NULL), so only expiry, use and withdrawal end them.
    .leftJoin('platforms', 'platforms.id', 'passcodes.platform_id')
    .selectAll('passcodes')
    .select('platforms.revoked_at')
    .where('passcodes.code_hash', '=', codeHash)
    .executeTakeFirst();
}

/** Marks a passcode used if it is unused and unexpired: the single-use guarantee is this one statement. */
export async function consumePasscode(db: Kysely<CellDatabase>, id: string, now: number): Promise<boolean> {
  const result = await db.updateTable('passcodes').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Where a page of an exam's passcodes starts: after the passcode made at `createdAt` with `id`. */
export interface PasscodePosition {
  readonly createdAt: number;
  readonly id: string;
}

/** Which of an exam's passcodes to list: at most `limit`, only `attempt`'s if set, older than `before` if set. */
export interface PasscodeListing {
  readonly limit: number;
  readonly attempt?: string | undefined;
  readonly before?: PasscodePosition | undefined;
}

/** An exam's passcodes, newest first (then by id), as `listing` says. */
export async function listPasscodes(db: Kysely<CellDatabase>, institutionId: string, examId: string, { limit, attempt, before }: PasscodeListing): Promise<PasscodeTable[]> {
  let query = db.selectFrom('passcodes').selectAll().where('institution_id', '=', institutionId).where('exam_id', '=', examId);
  if (attempt !== undefined) query = query.where('attempt_id', '=', attempt);
  if (before) {
    query = query.where((eb) => eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function findExamPasscode(db: Kysely<CellDatabase>, institutionId: string, examId: string, id: string): Promise<PasscodeTable | undefined> {
  return db.selectFrom('passcodes').selectAll().where('institution_id', '=', institutionId).where('exam_id', '=', examId).where('id', '=', id).executeTakeFirst();
}

/**
 * Deletes a passcode if it is unused: one statement, like consumePasscode's, so of a withdrawal and a
 * redemption racing exactly one changes the row. False when it was used or is gone.
 */
export async function deleteUnusedPasscode(db: Kysely<CellDatabase>, institutionId: string, examId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('passcodes').where('institution_id', '=', institutionId).where('exam_id', '=', examId).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** The platform whose passcode started an attempt (the latest redeemed one), if any: none for an admin's passcode. */
export async function platformOfAttempt(db: Kysely<CellDatabase>, institutionId: string, examId: string, attemptId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('passcodes')
    .select('platform_id')
    .where('institution_id', '=', institutionId)
    .where('exam_id', '=', examId)
    .where('attempt_id', '=', attemptId)
    .where('used_at', 'is not', null)
    .orderBy('used_at', 'desc')
    .executeTakeFirst();
  return row?.platform_id ?? undefined;
}

export async function findExamByLocator(db: Kysely<CellDatabase>, locator: string): Promise<{ institution_id: string; exam_id: string } | undefined> {
  return db.selectFrom('passcode_exams').select(['institution_id', 'exam_id']).where('locator', '=', locator).executeTakeFirst();
}
