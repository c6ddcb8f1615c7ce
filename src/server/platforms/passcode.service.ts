/**
 * Per-attempt passcodes (docs/INTEGRATION.md, Part 2): issued by an assessment platform or by an
 * institution's admin, redeemed by a test taker for the attempt credential the upload API takes.
 *
 * - Issue: the exam gets a random locator on its first passcode (reserved in the directory, so a
 *   redemption goes to one cell); each passcode is the locator, 85 random bits and a check character
 *   (src/protocol/passcode-format.ts), stored only as a keyed hash (passcode-key.ts).
 * - List and withdraw: an admin sees where each of an exam's passcodes stands (never the passcode),
 *   and withdraws an unused one by deleting its row, after writing the withdrawal to the audit log.
 * - Redeem: locks are checked first (throttle.ts, and lockout-store.ts for those kept across restarts); the typed text is read (a malformed text or a
 *   failed check character is refused without spending the guessing budget: anyone can compute check
 *   characters offline, so they tell a guesser nothing); the keyed hash is looked up in the locator's
 *   cell (or, for an unknown locator, in a cell all the same, so both cost the same) and compared in
 *   constant time. Then one transaction consumes the passcode (only if unused and unexpired: the
 *   single-use guarantee), stores the attempt credential and writes the `attempt.started` webhook.
 *   Every other outcome is a wrong guess: it spends the exam's and the address's budgets, and a
 *   lockout it causes is written to the exam's audit log.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { idPattern } from '../../crypto/context.js';
import { ApiError } from '../../protocol/errors.js';
import { LOCATOR_LENGTH, SECRET_LENGTH, composePasscode, formatPasscode, readPasscode, symbolsFrom } from '../../protocol/passcode-format.js';
import {
  CREDENTIAL_TTL_DEFAULT_SECONDS,
  CREDENTIAL_TTL_MAX_SECONDS,
  CREDENTIAL_TTL_MIN_SECONDS,
  type IssuedPasscode,
  type IssuedPasscodes,
  PASSCODE_BATCH_MAX,
  PASSCODE_LIST_MAX,
  PASSCODE_TTL_DEFAULT_SECONDS,
  PASSCODE_TTL_MAX_SECONDS,
  PASSCODE_TTL_MIN_SECONDS,
  type PasscodeErrorCode,
  type PasscodeList,
  type PasscodeSummary,
  type RedeemedPasscode,
  passcodeErrors,
} from '../../protocol/passcodes.js';
import type { RecordingStatus } from '../../protocol/upload.js';
import type { AttemptScope } from '../attempts/credential.js';
import { insertCredential, newAttemptToken, tokenHash } from '../attempts/credential.js';
import type { DirectoryDatabase, PasscodeTable } from '../db/schema.js';
import { findExam } from '../exams/exam.repository.js';
import { examOf, snapshotIntervalOf } from '../exams/exam.service.js';
import { newId } from '../ids.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { auditStaffEvent } from '../staff/staff-auth.js';
import type { PasscodeKeys } from './passcode-key.js';
import { type AuthenticatedPlatform, platformError } from './platform.service.js';
import {
  consumePasscode,
  deleteUnusedPasscode,
  findExamByLocator,
  findExamPasscode,
  findExamLocator,
  findPasscode,
  insertExamLocator,
  insertPasscode,
  type PasscodeListing,
  listPasscodes,
  platformOfAttempt,
  regionOfLocator,
  reserveLocator,
} from './platform.repository.js';
import { LockoutStore } from './lockout-store.js';
import { ADDRESS_RULE, EXAM_RULE, FailureLimiter, addressKey } from './throttle.js';
import { enqueueWebhook } from './webhook-outbox.js';

export function passcodeError(code: PasscodeErrorCode, message: string): ApiError {
  return new ApiError(code, message, passcodeErrors[code]);
}

/** A 429 that tells the client when to come back. */
export class ThrottledError extends ApiError {
  constructor(readonly retryAfterSeconds: number) {
    super('EV_ERR_PASSCODE_THROTTLED', `too many wrong passcodes: try again in ${retryAfterSeconds} s`, passcodeErrors.EV_ERR_PASSCODE_THROTTLED);
  }
}

export interface PasscodeContext {
  readonly cells: Cells;
  readonly directory: Kysely<DirectoryDatabase>;
  readonly keys: PasscodeKeys;
  readonly clock: () => number;
  /** Wakes webhook delivery after an event is written. */
  readonly onEvent: () => void;
  /** Where lockouts of exams that do not exist are reported (no cell holds them). */
  readonly warn: (message: string) => void;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function seconds(value: unknown, field: string, min: number, max: number, fallback: number, invalid: (message: string) => ApiError): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${field} must be an integer ${min}-${max}`);
  return value;
}

/** The exam's locator, made on its first passcode. */
async function locatorOf(cell: Cell, directory: Kysely<DirectoryDatabase>, institution: string, exam: string, now: number): Promise<string> {
  for (let tries = 0; tries < 8; tries++) {
    const existing = await findExamLocator(cell.db, institution, exam);
    if (existing) return existing;
    const locator = symbolsFrom(randomBytes(LOCATOR_LENGTH));
    // Directory first: a crash between the two leaves a reserved locator that points at no exam, never an exam whose locator leads nowhere.
    if (!(await reserveLocator(directory, locator, cell.region, now))) continue;
    if (await insertExamLocator(cell.db, institution, exam, locator, now)) return locator;
  }
  throw new Error('could not assign a passcode locator');
}

/** Who issues: a platform, or an institution's admin (`platform` is then null: no platform, so no webhooks). */
interface PasscodeIssuer {
  readonly cell: Cell;
  readonly institution: string;
  readonly platform: string | null;
}

interface Lifetimes {
  readonly ttl: number;
  readonly credentialTtl: number;
}

function lifetimesOf(input: Record<string, unknown>, invalid: (message: string) => ApiError): Lifetimes {
  return {
    ttl: seconds(input.ttlSeconds, 'ttlSeconds', PASSCODE_TTL_MIN_SECONDS, PASSCODE_TTL_MAX_SECONDS, PASSCODE_TTL_DEFAULT_SECONDS, invalid),
    credentialTtl: seconds(input.credentialTtlSeconds, 'credentialTtlSeconds', CREDENTIAL_TTL_MIN_SECONDS, CREDENTIAL_TTL_MAX_SECONDS, CREDENTIAL_TTL_DEFAULT_SECONDS, invalid),
  };
}

/** Makes and stores (as keyed hashes, in one transaction) one passcode per attempt of an existing exam. */
async function issueFor(context: PasscodeContext, issuer: PasscodeIssuer, exam: string, attempts: readonly string[], lifetimes: Lifetimes, now: number): Promise<IssuedPasscode[]> {
  const { cell, institution } = issuer;
  const key = context.keys.get(cell.region);
  if (!key) throw new Error(`no passcode key for region ${cell.region}`);
  const locator = await locatorOf(cell, context.directory, institution, exam, now);
  const expiresAt = now + lifetimes.ttl * 1000;
  const minted = attempts.map((attempt) => ({ attempt, passcode: composePasscode(locator, randomBytes(SECRET_LENGTH)) }));
  await cell.db.transaction().execute(async (trx) => {
    for (const { attempt, passcode } of minted) {
      await insertPasscode(trx, {
        id: newId('pc'),
        code_hash: key.passcodeHash(passcode),
        institution_id: institution,
        exam_id: exam,
        attempt_id: attempt,
        platform_id: issuer.platform,
        credential_ttl_seconds: lifetimes.credentialTtl,
        expires_at: expiresAt,
        used_at: null,
        created_at: now,
      });
    }
  });
  return minted.map(({ attempt, passcode }) => ({ passcode: formatPasscode(passcode), institution, exam, attempt, expiresAt: new Date(expiresAt).toISOString() }));
}

/** Issues a passcode for one attempt of an exam of the platform's institution. */
export async function issuePasscode(context: PasscodeContext, platform: AuthenticatedPlatform, examId: string, body: unknown): Promise<IssuedPasscode> {
  const now = context.clock();
  const exam = await examOf(platform.cell, platform.institution, examId);
  const input = body === undefined || body === null ? {} : body;
  const invalid = (message: string): ApiError => platformError('EV_ERR_PLATFORM_INVALID_REQUEST', message);
  if (!isPlainObject(input)) throw invalid('the body must be a JSON object');
  const unknown = Object.keys(input).filter((k) => !['attempt', 'ttlSeconds', 'credentialTtlSeconds'].includes(k));
  if (unknown.length > 0) throw invalid(`unknown field ${JSON.stringify(unknown[0])}`);
  const attempt = input.attempt ?? newId('att');
  if (typeof attempt !== 'string' || !idPattern.test(attempt)) throw invalid('attempt must be 1-64 characters of [A-Za-z0-9._:-]');
  const [issued] = await issueFor(context, platform, exam.exam, [attempt], lifetimesOf(input, invalid), now);
  return issued as IssuedPasscode;
}

/** The admin acting, from the staff session: their institution's cell, their institution, their id. */
export interface StaffScope {
  readonly cell: Cell;
  readonly institution: string;
  readonly staffId: string;
}

/**
 * Issues `count` passcodes, each for a new attempt, at an admin's request: the same passcodes as a
 * platform's, issued by no platform (so their attempts send no webhooks). The issue is written to the
 * audit log, with the admin as `by`, before any passcode exists; if the log cannot take it, none is issued.
 */
export async function issuePasscodesByStaff(context: PasscodeContext, staff: StaffScope, examId: string, body: unknown): Promise<IssuedPasscodes> {
  const now = context.clock();
  const exam = await examOf(staff.cell, staff.institution, examId);
  const invalid = (message: string): ApiError => passcodeError('EV_ERR_PASSCODE_ISSUE_INVALID_REQUEST', message);
  if (!isPlainObject(body)) throw invalid('send { "count": 1-500 }');
  const unknown = Object.keys(body).filter((k) => !['count', 'ttlSeconds', 'credentialTtlSeconds'].includes(k));
  if (unknown.length > 0) throw invalid(`unknown field ${JSON.stringify(unknown[0])}`);
  const { count } = body;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > PASSCODE_BATCH_MAX) throw invalid(`count must be an integer 1-${PASSCODE_BATCH_MAX}`);
  const lifetimes = lifetimesOf(body, invalid);
  await auditStaffEvent(staff.cell, staff.institution, 'passcodes.issued', { exam: exam.exam, count, by: staff.staffId, expiresAt: now + lifetimes.ttl * 1000 });
  const attempts = Array.from({ length: count }, () => newId('att'));
  return { passcodes: await issueFor(context, { cell: staff.cell, institution: staff.institution, platform: null }, exam.exam, attempts, lifetimes, now) };
}

function summaryOf(row: PasscodeTable, now: number): PasscodeSummary {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const used = row.used_at === null ? null : Number(row.used_at);
  return {
    id: row.id,
    attempt: row.attempt_id,
    issuedBy: row.platform_id === null ? 'admin' : 'platform',
    platform: row.platform_id,
    createdAt: iso(Number(row.created_at)),
    expiresAt: iso(Number(row.expires_at)),
    usedAt: used === null ? null : iso(used),
    state: used !== null ? 'used' : Number(row.expires_at) <= now ? 'expired' : 'unused',
  };
}

/**
 * The query of a passcode listing: `limit` (1 to PASSCODE_LIST_MAX), `before` (a page's `next`) and
 * `attempt` (only that attempt's passcodes).
 */
export interface PasscodeListQuery {
  readonly limit?: unknown;
  readonly before?: unknown;
  readonly attempt?: unknown;
}

// A page's `next`: where its last passcode stands in the order, `<created_at in ms>.<id>`.
const cursorPattern = /^([0-9]{1,15})\.([A-Za-z0-9_:-]{1,128})$/;

function listQueryOf(query: PasscodeListQuery): PasscodeListing {
  const bad = (message: string): ApiError => new ApiError('EV_ERR_API_BAD_REQUEST', message);
  let limit = PASSCODE_LIST_MAX;
  if (query.limit !== undefined) {
    limit = typeof query.limit === 'string' && /^[0-9]{1,4}$/.test(query.limit) ? Number(query.limit) : 0;
    if (limit < 1 || limit > PASSCODE_LIST_MAX) throw bad(`limit must be a whole number from 1 to ${PASSCODE_LIST_MAX}`);
  }
  let attempt: string | undefined;
  if (query.attempt !== undefined) {
    if (typeof query.attempt !== 'string' || !idPattern.test(query.attempt)) throw bad('attempt must be an attempt id: 1-64 characters of [A-Za-z0-9._:-]');
    attempt = query.attempt;
  }
  if (query.before === undefined) return { limit, attempt };
  const m = typeof query.before === 'string' ? cursorPattern.exec(query.before) : null;
  if (!m) throw bad('before must be the next of an earlier page of this listing');
  return { limit, attempt, before: { createdAt: Number(m[1]), id: m[2] as string } };
}

/**
 * A page of an exam's passcodes (or of one attempt's), newest first: where each stands, never the
 * passcode or its hash.
 * Pages follow one another by position, not by offset: a passcode issued or withdrawn meanwhile
 * neither shifts a later page nor shows twice.
 */
export async function passcodesOfExam(context: PasscodeContext, staff: StaffScope, examId: string, query: PasscodeListQuery = {}): Promise<PasscodeList> {
  const listing = listQueryOf(query);
  const { limit } = listing;
  const exam = await examOf(staff.cell, staff.institution, examId);
  const now = context.clock();
  const rows = await listPasscodes(staff.cell.db, staff.institution, exam.exam, { ...listing, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { passcodes: page.map((row) => summaryOf(row, now)), next: rows.length > limit && last ? `${Number(last.created_at)}.${last.id}` : null };
}

/**
 * Withdraws an unused passcode of an exam (an admin's or a platform's): its row is deleted, so a
 * redemption finds no such passcode and answers as for one never issued. The withdrawal is written to
 * the audit log (`passcodes.withdrawn`, with the admin as `by`) first: if the log cannot take it, the
 * passcode stays. If a redemption wins the race between the two, the passcode stays used and the
 * answer is EV_ERR_PASSCODE_ALREADY_USED, after the log has recorded the attempt to withdraw it.
 */
export async function withdrawPasscodeByStaff(staff: StaffScope, examId: string, passcodeId: string): Promise<void> {
  const exam = await examOf(staff.cell, staff.institution, examId);
  const notFound = (): ApiError => passcodeError('EV_ERR_PASSCODE_NOT_FOUND', `exam ${exam.exam} has no passcode ${JSON.stringify(passcodeId)}`);
  const alreadyUsed = (): ApiError => passcodeError('EV_ERR_PASSCODE_ALREADY_USED', 'the passcode was already redeemed: its attempt has started');
  const row = idPattern.test(passcodeId) ? await findExamPasscode(staff.cell.db, staff.institution, exam.exam, passcodeId) : undefined;
  if (!row) throw notFound();
  if (row.used_at !== null) throw alreadyUsed();
  await auditStaffEvent(staff.cell, staff.institution, 'passcodes.withdrawn', { exam: exam.exam, passcode: row.id, attempt: row.attempt_id, by: staff.staffId });
  if (await deleteUnusedPasscode(staff.cell.db, staff.institution, exam.exam, row.id)) return;
  // Redeemed, or withdrawn by another request, since it was read.
  throw (await findExamPasscode(staff.cell.db, staff.institution, exam.exam, row.id)) ? alreadyUsed() : notFound();
}

/** Redeems passcodes, with the guessing limits of one server process and the lockouts kept in the cells. */
export class PasscodeRedeemer {
  readonly byAddress = new FailureLimiter(ADDRESS_RULE);
  readonly byExam = new FailureLimiter(EXAM_RULE);
  private readonly lockouts: LockoutStore;

  constructor(private readonly context: PasscodeContext) {
    this.lockouts = new LockoutStore(context.cells, context.keys);
  }

  async redeem(body: unknown, clientIp: string): Promise<RedeemedPasscode> {
    const typed = isPlainObject(body) && Object.keys(body).length === 1 ? body.passcode : undefined;
    if (typeof typed !== 'string' || typed.length > 64) throw passcodeError('EV_ERR_PASSCODE_INVALID_REQUEST', 'send { "passcode": "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX" }');
    const reading = readPasscode(typed);
    if (!reading.ok) {
      throw reading.reason === 'typo'
        ? passcodeError('EV_ERR_PASSCODE_TYPO', 'the passcode has a typing mistake (its check character does not match): check each character')
        : passcodeError('EV_ERR_PASSCODE_MALFORMED', 'a passcode is 25 letters and digits, in five groups of five');
    }
    const now = this.context.clock();
    const examKey = reading.locator;
    const addrKey = addressKey(clientIp);
    const wait = Math.max(
      this.byExam.lockedFor(examKey, now),
      this.byAddress.lockedFor(addrKey, now),
      await this.lockouts.lockedFor(`exam ${examKey}`, now),
      await this.lockouts.lockedFor(`address ${addrKey}`, now),
    );
    if (wait > 0) throw new ThrottledError(Math.ceil(wait / 1000));

    const region = await regionOfLocator(this.context.directory, reading.locator);
    const known = region ? this.context.cells.get(region) : undefined;
    // An unknown locator is looked up all the same, in some cell: the same work, the same answer.
    const cell = known ?? (this.context.cells.values().next().value as Cell);
    const key = this.context.keys.get(cell.region);
    if (!key) throw new Error(`no passcode key for region ${cell.region}`);
    const hash = key.passcodeHash(reading.passcode);
    const row = await findPasscode(cell.db, hash);
    const matches = row !== undefined && known !== undefined && timingSafeEqual(Buffer.from(row.code_hash, 'hex'), Buffer.from(hash, 'hex'));
    if (!row || !matches || row.revoked_at !== null) return this.wrong(cell, known !== undefined, examKey, addrKey, now, 'EV_ERR_PASSCODE_INVALID');
    if (row.used_at !== null) return this.wrong(cell, true, examKey, addrKey, now, 'EV_ERR_PASSCODE_USED');
    if (Number(row.expires_at) <= now) return this.wrong(cell, true, examKey, addrKey, now, 'EV_ERR_PASSCODE_EXPIRED');

    const expiresAt = now + Number(row.credential_ttl_seconds) * 1000;
    const token = await cell.db.transaction().execute(async (trx) => {
      if (!(await consumePasscode(trx, row.id, now))) return null;
      const issued = newAttemptToken(cell.region);
      await insertCredential(trx, { token_hash: tokenHash(issued), institution_id: row.institution_id, exam_id: row.exam_id, attempt_id: row.attempt_id, expires_at: expiresAt, created_at: now });
      // An admin's passcode (platform_id NULL) has no platform to tell.
      if (row.platform_id !== null) {
        await enqueueWebhook(trx, {
          institution: row.institution_id,
          platform: row.platform_id,
          type: 'attempt.started',
          dedupeKey: `attempt.started:${row.id}`,
          data: { institution: row.institution_id, exam: row.exam_id, attempt: row.attempt_id },
        }, now);
      }
      return issued;
    });
    // Another request consumed it first, or an admin withdrew it meanwhile: then it is as if it never existed.
    if (token === null) return this.wrong(cell, true, examKey, addrKey, now, (await findPasscode(cell.db, hash)) ? 'EV_ERR_PASSCODE_USED' : 'EV_ERR_PASSCODE_INVALID');
    this.byAddress.forgive(addrKey, now);
    this.context.onEvent();
    const exam = await findExam(cell.db, row.institution_id, row.exam_id);
    const snapshotIntervalSeconds = await snapshotIntervalOf(cell, row.institution_id, row.exam_id);
    return {
      token,
      institution: row.institution_id,
      region: cell.region,
      exam: row.exam_id,
      attempt: row.attempt_id,
      expiresAt,
      title: exam?.title ?? row.exam_id,
      snapshotIntervalSeconds,
    };
  }

  /** Spends both budgets, audits a lockout it causes, and refuses with `code`. */
  private async wrong(cell: Cell, examExists: boolean, examKey: string, addrKey: string, now: number, code: PasscodeErrorCode): Promise<never> {
    const locks = [['exam', this.byExam.fail(examKey, now)], ['address', this.byAddress.fail(addrKey, now)]] as const;
    for (const [scope, lock] of locks) {
      if (!lock) continue;
      // Kept in the cell so a restart does not lift it; failing to keep it does not change the answer.
      await this.lockouts
        .save(cell, `${scope} ${scope === 'exam' ? examKey : addrKey}`, lock.lockedUntil, now)
        .catch((e: unknown) => this.context.warn(`passcode lockout not kept: ${e instanceof Error ? e.message : String(e)}`));
      const exam = examExists ? await findExamByLocator(cell.db, examKey) : undefined;
      if (!exam) {
        this.context.warn(`passcode guessing: ${scope} lockout on an unknown exam locator until ${new Date(lock.lockedUntil).toISOString()}`);
        continue;
      }
      // No address in the log (it is personal data): the exam, which budget ran out, and until when.
      await cell.audit
        .append({ institution: exam.institution_id, type: 'passcode.lockout', payload: { exam: exam.exam_id, scope, failures: lock.failures, lockedUntil: lock.lockedUntil } })
        .catch((e: unknown) => this.context.warn(`passcode lockout not audited: ${e instanceof Error ? e.message : String(e)}`));
    }
    const messages: Record<string, string> = {
      EV_ERR_PASSCODE_INVALID: 'the passcode is not valid',
      EV_ERR_PASSCODE_USED: 'the passcode was already used: ask your assessment platform for a new one',
      EV_ERR_PASSCODE_EXPIRED: 'the passcode has expired: ask your assessment platform for a new one',
    };
    throw passcodeError(code, messages[code] ?? 'the passcode is not valid');
  }
}

/**
 * After a recording of a passcode attempt completes: the `recording.completed` webhook to the
 * platform that issued the passcode. Idempotent (one event per recording), and done before the
 * completion is acknowledged: an upload client repeats an unacknowledged completion, and the
 * repetition writes the event a crash may have kept from being written.
 */
export async function recordingCompleted(cell: Cell, scope: AttemptScope, status: RecordingStatus, now: number, onEvent: () => void): Promise<void> {
  const platform = await platformOfAttempt(cell.db, scope.institution, scope.exam, scope.attempt);
  if (!platform) return;
  await enqueueWebhook(cell.db, {
    institution: scope.institution,
    platform,
    type: 'recording.completed',
    dedupeKey: `recording.completed:${scope.institution}:${status.recording}`,
    data: { institution: scope.institution, exam: scope.exam, attempt: scope.attempt, recording: status.recording, track: status.track, segmentCount: Number(status.segmentCount) },
  }, now);
  onEvent();
}
