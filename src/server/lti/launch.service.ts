/**
 * The LTI 1.3 tool's flows (docs/LTI.md): OIDC third-party-initiated login, the launch (id_token
 * validation in id-token.ts), and what each message leads to:
 *
 * - LtiResourceLinkRequest, learner: an attempt of the exam the link opens; the launch page carries a
 *   one-time hand-off code (≤ 2 min) the recorder exchanges for the attempt credential
 *   (POST /v1/attempts/handoff), so the credential never appears in a URL or a page.
 * - LtiResourceLinkRequest, instructor or administrator role: the LMS user becomes (or is again) a
 *   reviewer of the institution; a one-time code opens a staff session in a new window. Custody
 *   approval is as for passkey users: an admin must approve the reviewer's keys; nothing is automatic.
 * - LtiDeepLinkingRequest (staff roles): the institution's exams to pick from; the pick returns a
 *   signed LtiDeepLinkingResponse to the platform.
 * - LtiStartProctoring: as a learner's launch, and once the recorder holds the credential, a signed
 *   LtiStartAssessment echoing session_data and attempt_number; LtiEndAssessment: recorded, and a page.
 *
 * Every rejection is audited in the institution's cell when the registration is known; when it is
 * not (a state of no configured region, a login for an unregistered issuer), in the first configured
 * cell as an event of the whole cell, with the code only.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { ApiError } from '../../protocol/errors.js';
import { EXAM_CUSTOM_PARAMETER, HANDOFF_META, HANDOFF_TTL_MS, type HandoffResponse, type LtiErrorCode, type OptionalPersonClaim } from '../../protocol/lti.js';
import { issueAttemptCredential } from '../attempts/attempt.service.js';
import type { DirectoryDatabase, LtiPlatformTable } from '../db/schema.js';
import { findExam, listExams } from '../exams/exam.repository.js';
import { newId } from '../ids.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { createStaffSession } from '../staff/staff-auth.js';
import { findStaff, insertStaff } from '../staff/staff.repository.js';
import type { StaffSession } from '../staff/staff.types.js';
import { type KeptLaunch, LTI_VERSION, claim, isLearnerLaunch, isStaffLaunch, keepOf } from './claims.js';
import { type CodeProblem, codeUsed, issueCode, random43, sha256Hex, takeCode } from './codes.js';
import { LaunchRejected, validateIdToken } from './id-token.js';
import { deleteExpiredLogins, findCode, findLtiStaff, findPlatform, insertLaunch, insertLogin, insertLtiStaff, lookupPlatforms, takeLogin } from './lti.repository.js';
import { type PageOptions, escapeHtml, hiddenForm } from './pages.js';
import type { PlatformKeySets } from './platform-jwks.js';
import { ltiError } from './platform.service.js';
import type { ToolKeys } from './tool-keys.js';

export const LOGIN_TTL_MS = 10 * 60 * 1000;
/** Deep-linking picks, proctoring steps, staff sign-in and pending launches: a few minutes. */
const STEP_TTL_MS = 10 * 60 * 1000;
const STAFF_CODE_TTL_MS = 2 * 60 * 1000;

const statePattern = /^evl1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

export interface LtiContext {
  readonly cells: Cells;
  readonly directory: Kysely<DirectoryDatabase>;
  readonly publicOrigin: string;
  readonly clock: () => number;
  readonly toolKeys: ToolKeys;
  readonly keySets: PlatformKeySets;
  readonly attemptTtlSeconds: number;
}

export const launchUrl = (publicOrigin: string): string => `${publicOrigin}/v1/lti/launch`;

/** The browser-binding cookie of one login: named after its state, so concurrent launches do not clash. */
export function bindingCookieName(state: string): string {
  return `__Host-ev_lti_${sha256Hex(state).slice(0, 16)}`;
}

/** SameSite=None: the launch is a cross-site form post into an iframe; Partitioned keeps it to the LMS's site. */
export function bindingCookie(state: string, value: string, maxAgeSeconds: number): string {
  return `${bindingCookieName(state)}=${value}; Max-Age=${maxAgeSeconds}; Path=/; Secure; HttpOnly; SameSite=None; Partitioned`;
}

function originOrNull(value: string): string | null {
  try {
    const o = new URL(value).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/** Who may frame the tool's pages for this registration: its issuer's, auth endpoint's and configured origins. */
export function frameOriginsOf(platform: LtiPlatformTable): string[] {
  const configured = JSON.parse(platform.frame_origins) as string[];
  return [...new Set([originOrNull(platform.issuer), originOrNull(platform.auth_endpoint), ...configured].filter((o): o is string => o !== null))];
}

function firstCell(cells: Cells): Cell {
  const cell = cells.values().next().value as Cell | undefined;
  if (!cell) throw new Error('no region cell is configured');
  return cell;
}

/** Records a refusal, then returns the API error to throw. */
async function refuse(cell: Cell, platform: LtiPlatformTable | null, code: LtiErrorCode, message: string): Promise<ApiError> {
  await cell.audit.append({
    institution: platform?.institution_id ?? null,
    type: 'lti.launch.rejected',
    payload: platform ? { code, platform: platform.id } : { code },
  });
  return ltiError(code, message);
}

export interface LoginRequest {
  readonly iss?: string;
  readonly login_hint?: string;
  readonly target_link_uri?: string;
  readonly lti_message_hint?: string;
  readonly client_id?: string;
  readonly lti_deployment_id?: string;
  readonly lti_storage_target?: string;
}

export type LoginOutcome =
  | { readonly kind: 'redirect'; readonly location: string; readonly cookie: string }
  | { readonly kind: 'page'; readonly page: PageOptions; readonly cookie: string };

const text = (v: unknown, max = 2048): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** OIDC third-party-initiated login (LTI Core §5.1.1 / OIDC Core §4): state, nonce, browser binding, redirect. */
export async function startLogin(ctx: LtiContext, params: LoginRequest): Promise<LoginOutcome> {
  const now = ctx.clock();
  if (!text(params.iss, 255) || !text(params.login_hint) || !text(params.target_link_uri)) {
    throw ltiError('EV_ERR_LTI_LOGIN_INVALID', 'login initiation needs iss, login_hint and target_link_uri');
  }
  for (const optional of [params.client_id, params.lti_message_hint, params.lti_deployment_id, params.lti_storage_target]) {
    if (optional !== undefined && !text(optional)) throw ltiError('EV_ERR_LTI_LOGIN_INVALID', 'a login initiation parameter is empty or too long');
  }
  const candidates = (await lookupPlatforms(ctx.directory, params.iss)).filter((p) => params.client_id === undefined || p.client_id === params.client_id);
  const entry = candidates.length === 1 ? candidates[0] : undefined;
  const cell = entry ? ctx.cells.get(entry.region) : undefined;
  const platform = cell && entry ? await findPlatform(cell.db, entry.platform_id) : undefined;
  if (!cell || !platform) {
    throw await refuse(firstCell(ctx.cells), null, 'EV_ERR_LTI_PLATFORM_UNKNOWN', 'no registration for this issuer and client id (with several client ids for an issuer, the platform must send client_id)');
  }
  if (!params.target_link_uri.startsWith(`${ctx.publicOrigin}/`)) throw ltiError('EV_ERR_LTI_LOGIN_INVALID', `target_link_uri must be a URL of ${ctx.publicOrigin}`);
  if (params.lti_deployment_id !== undefined && !(JSON.parse(platform.deployment_ids) as string[]).includes(params.lti_deployment_id)) {
    throw await refuse(cell, platform, 'EV_ERR_LTI_DEPLOYMENT_UNKNOWN', 'the deployment id is not registered');
  }
  await deleteExpiredLogins(cell.db, now);
  const state = `evl1.${cell.region}.${random43()}`;
  const nonce = random43();
  const binding = random43();
  await insertLogin(cell.db, {
    state_hash: sha256Hex(state),
    platform_id: platform.id,
    nonce,
    binding_hash: sha256Hex(binding),
    target_link_uri: params.target_link_uri,
    storage_target: params.lti_storage_target ?? null,
    expires_at: now + LOGIN_TTL_MS,
    created_at: now,
  });
  const auth = new URL(platform.auth_endpoint);
  const query: Record<string, string> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: platform.client_id,
    redirect_uri: launchUrl(ctx.publicOrigin),
    login_hint: params.login_hint,
    state,
    nonce,
  };
  if (params.lti_message_hint !== undefined) query.lti_message_hint = params.lti_message_hint;
  for (const [k, v] of Object.entries(query)) auth.searchParams.set(k, v);
  const cookie = bindingCookie(state, binding, LOGIN_TTL_MS / 1000);
  if (params.lti_storage_target === undefined) return { kind: 'redirect', location: auth.toString(), cookie };
  return {
    kind: 'page',
    cookie,
    page: {
      title: 'Opening ExamVault',
      meta: {
        'ev-lti-next': auth.toString(),
        'ev-lti-storage-target': params.lti_storage_target,
        'ev-lti-storage-origin': auth.origin,
        'ev-lti-storage-key': `ev_lti_${sha256Hex(state).slice(0, 16)}`,
        'ev-lti-storage-value': binding,
      },
      script: '/v1/lti/scripts/login.js',
      body: '<p>Opening ExamVault…</p>',
      frameOrigins: frameOriginsOf(platform),
    },
  };
}

interface PendingLaunch {
  readonly platform: string;
  readonly bindingHash: string;
  readonly launch: KeptLaunch;
}

export interface LaunchRequest {
  readonly idToken: unknown;
  readonly state: unknown;
  /** The binding cookie's value, if the browser sent it. */
  readonly binding: (state: string) => string | null;
}

/** POST /v1/lti/launch: checks the state and its binding, validates the id_token, and answers the message. */
export async function launch(ctx: LtiContext, request: LaunchRequest): Promise<PageOptions> {
  const now = ctx.clock();
  const { idToken, state } = request;
  if (!text(idToken, 64 * 1024) || !text(state, 255)) throw ltiError('EV_ERR_LTI_LAUNCH_INVALID', 'the launch must post id_token and state');
  const region = statePattern.exec(state)?.[1];
  const cell = region ? ctx.cells.get(region) : undefined;
  if (!cell) throw await refuse(firstCell(ctx.cells), null, 'EV_ERR_LTI_STATE_INVALID', 'the state is not one ExamVault issued');
  const login = await takeLogin(cell.db, sha256Hex(state));
  const platform = login ? ((await findPlatform(cell.db, login.platform_id)) ?? null) : null;
  if (!login || !platform || Number(login.expires_at) <= now) {
    throw await refuse(cell, platform, 'EV_ERR_LTI_STATE_INVALID', 'the state is unknown, expired or already used: start the launch again from the LMS');
  }
  const binding = request.binding(state);
  const pending = binding === null && login.storage_target !== null;
  if (!pending && (binding === null || sha256Hex(binding) !== login.binding_hash)) {
    throw await refuse(cell, platform, 'EV_ERR_LTI_STATE_UNBOUND', 'this browser did not start the launch (no matching state cookie)');
  }
  let kept: KeptLaunch;
  try {
    const validated = await validateIdToken(idToken, { cell, platform, login, keySets: ctx.keySets, now });
    kept = keepOf(validated.claims, validated.messageType, JSON.parse(platform.kept_claims) as OptionalPersonClaim[]);
  } catch (e) {
    if (e instanceof LaunchRejected) throw await refuse(cell, platform, e.code, e.message);
    throw e;
  }
  if (pending) {
    const payload: PendingLaunch = { platform: platform.id, bindingHash: login.binding_hash, launch: kept };
    await issueCode(cell, 'pending-launch', platform.institution_id, payload, STEP_TTL_MS, now, `pending:${state}`);
    return {
      title: 'Opening ExamVault',
      meta: {
        'ev-lti-storage-target': login.storage_target as string,
        'ev-lti-storage-origin': new URL(platform.auth_endpoint).origin,
        'ev-lti-storage-key': `ev_lti_${sha256Hex(state).slice(0, 16)}`,
      },
      script: '/v1/lti/scripts/launch.js',
      body: `<form method="post" action="/v1/lti/launch/confirm" data-ev-confirm><input type="hidden" name="state" value="${escapeHtml(state)}"><input type="hidden" name="binding" value=""></form><p>Opening ExamVault…</p>`,
      frameOrigins: frameOriginsOf(platform),
    };
  }
  return answer(ctx, cell, platform, kept);
}

/** POST /v1/lti/launch/confirm: a launch whose binding came back from platform storage. */
export async function confirmLaunch(ctx: LtiContext, state: unknown, binding: unknown): Promise<PageOptions> {
  const now = ctx.clock();
  if (!text(state, 255) || !text(binding, 255)) throw ltiError('EV_ERR_LTI_LAUNCH_INVALID', 'the confirmation must post state and binding');
  const taken = await takeCode<PendingLaunch>(ctx.cells, state, 'pending-launch', now);
  if (typeof taken === 'string') throw ltiError('EV_ERR_LTI_STATE_INVALID', 'no launch is waiting for this state');
  const platform = (await findPlatform(taken.cell.db, taken.payload.platform)) ?? null;
  if (!platform) throw await refuse(taken.cell, null, 'EV_ERR_LTI_STATE_INVALID', 'the registration was removed');
  if (sha256Hex(binding) !== taken.payload.bindingHash) throw await refuse(taken.cell, platform, 'EV_ERR_LTI_STATE_UNBOUND', 'this browser did not start the launch');
  return answer(ctx, taken.cell, platform, taken.payload.launch);
}

/** The attempt of a learner at a link: stable across relaunches, opaque (a hash, not the LMS ids). */
function attemptIdOf(platform: LtiPlatformTable, launch: KeptLaunch, attemptNumber: number): string {
  const h = createHash('sha256').update(JSON.stringify([platform.id, launch.sub, launch.resourceLinkId, attemptNumber])).digest('hex');
  return `att-${h.slice(0, 32)}`;
}

async function record(cell: Cell, platform: LtiPlatformTable, launch: KeptLaunch, now: number, outcome: { exam?: string; attempt?: string; staff?: string }): Promise<void> {
  await insertLaunch(cell.db, {
    id: newId('ltl'),
    institution_id: platform.institution_id,
    platform_id: platform.id,
    message_type: launch.messageType,
    deployment_id: launch.deploymentId,
    sub: launch.sub,
    roles: JSON.stringify(launch.roles),
    context_id: launch.contextId,
    resource_link_id: launch.resourceLinkId,
    exam_id: outcome.exam ?? null,
    attempt_id: outcome.attempt ?? null,
    staff_id: outcome.staff ?? null,
    kept_claims: launch.kept ? JSON.stringify(launch.kept) : null,
    created_at: now,
  });
  await cell.audit.append({ institution: platform.institution_id, type: 'lti.launch.accepted', payload: { platform: platform.id, messageType: launch.messageType, ...outcome } });
}

async function answer(ctx: LtiContext, cell: Cell, platform: LtiPlatformTable, launch: KeptLaunch): Promise<PageOptions> {
  const frameOrigins = frameOriginsOf(platform);
  const now = ctx.clock();
  const staff = isStaffLaunch(launch.roles);
  switch (launch.messageType) {
    case 'LtiResourceLinkRequest':
      if (staff) return staffLaunch(ctx, cell, platform, launch, frameOrigins);
      if (!isLearnerLaunch(launch.roles)) throw await refuse(cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'ExamVault opens for learners and for instructors or administrators');
      return learnerLaunch(ctx, cell, platform, launch, 1, frameOrigins);
    case 'LtiStartProctoring':
      return learnerLaunch(ctx, cell, platform, launch, launch.proctoring?.attemptNumber ?? 1, frameOrigins);
    case 'LtiDeepLinkingRequest':
      if (!staff) throw await refuse(cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'only instructors and administrators place exams');
      return deepLinkingPicker(cell, platform, launch, frameOrigins, now);
    case 'LtiEndAssessment': {
      const attempt = attemptIdOf(platform, launch, launch.proctoring?.attemptNumber ?? 1);
      await record(cell, platform, launch, now, { attempt });
      await cell.audit.append({ institution: platform.institution_id, type: 'lti.assessment.ended', payload: { platform: platform.id, attempt } });
      return { title: 'Exam finished', body: '<p>Your exam is over and its recording is complete. You may close this page.</p>', frameOrigins };
    }
  }
}

async function learnerLaunch(ctx: LtiContext, cell: Cell, platform: LtiPlatformTable, launch: KeptLaunch, attemptNumber: number, frameOrigins: string[]): Promise<PageOptions> {
  const now = ctx.clock();
  const exam = launch.exam ? await findExam(cell.db, platform.institution_id, launch.exam) : undefined;
  if (!exam) throw await refuse(cell, platform, 'EV_ERR_LTI_EXAM_UNKNOWN', `the link names no exam of the institution (custom parameter ${EXAM_CUSTOM_PARAMETER}): place it again with deep linking`);
  const attempt = attemptIdOf(platform, launch, attemptNumber);
  const handoff = await issueCode(cell, 'handoff', platform.institution_id, { exam: exam.exam_id, attempt }, HANDOFF_TTL_MS, now);
  await record(cell, platform, launch, now, { exam: exam.exam_id, attempt });
  const meta: Record<string, string> = { [HANDOFF_META]: handoff, 'ev-exam': exam.exam_id };
  let body = `<p>${escapeHtml(exam.title)}: the recorder is starting.</p>`;
  let formOrigins: string[] = [];
  if (launch.messageType === 'LtiStartProctoring' && launch.proctoring?.startAssessmentUrl) {
    const step = await issueCode(cell, 'proctoring', platform.institution_id, {
      platform: platform.id,
      deploymentId: launch.deploymentId,
      resourceLinkId: launch.resourceLinkId,
      attemptNumber,
      sessionData: launch.proctoring.sessionData,
      startAssessmentUrl: launch.proctoring.startAssessmentUrl,
      handoffHash: sha256Hex(handoff),
    }, STEP_TTL_MS, now);
    meta['ev-lti-proctoring'] = step;
    body += hiddenForm('/v1/lti/proctoring/start', { code: step }, 'Start the exam');
    formOrigins = [new URL(launch.proctoring.startAssessmentUrl).origin];
  }
  return { title: 'ExamVault recorder', meta, body, frameOrigins, formOrigins };
}

async function staffLaunch(ctx: LtiContext, cell: Cell, platform: LtiPlatformTable, launch: KeptLaunch, frameOrigins: string[]): Promise<PageOptions> {
  const now = ctx.clock();
  const sub = launch.sub as string;
  let staffId = await findLtiStaff(cell.db, platform.id, sub);
  if (staffId === undefined) {
    staffId = newId('stf');
    const id = staffId;
    // A reviewer like any invited one: their custody keys still need an admin's approval.
    await cell.db.transaction().execute(async (trx) => {
      await insertStaff(trx, { id, institution_id: platform.institution_id, role: 'reviewer', label: null, created_at: now, disabled_at: null });
      await insertLtiStaff(trx, platform.id, sub, id, now);
    });
    await cell.audit.append({ institution: platform.institution_id, type: 'lti.staff.created', payload: { platform: platform.id, staff: id, role: 'reviewer' } });
  }
  const member = await findStaff(cell.db, staffId);
  if (!member || member.disabled_at !== null) throw await refuse(cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'this staff member is disabled');
  const code = await issueCode(cell, 'staff', platform.institution_id, { staff: staffId }, STAFF_CODE_TTL_MS, now);
  await record(cell, platform, launch, now, { staff: staffId });
  return {
    title: 'ExamVault for staff',
    body: `<p>Review recordings in ExamVault (opens in a new window).</p>${hiddenForm('/v1/lti/staff/session', { code }, 'Open ExamVault', { target: '_blank' })}`,
    frameOrigins,
  };
}

interface DeepLinkStep {
  readonly platform: string;
  readonly deploymentId: string;
  readonly returnUrl: string;
  readonly data: string | null;
}

async function deepLinkingPicker(cell: Cell, platform: LtiPlatformTable, launch: KeptLaunch, frameOrigins: string[], now: number): Promise<PageOptions> {
  const settings = launch.deepLinking as NonNullable<KeptLaunch['deepLinking']>;
  const step: DeepLinkStep = { platform: platform.id, deploymentId: launch.deploymentId, returnUrl: settings.returnUrl, data: settings.data };
  const code = await issueCode(cell, 'deep-link', platform.institution_id, step, STEP_TTL_MS, now);
  await record(cell, platform, launch, now, {});
  const exams = await listExams(cell.db, platform.institution_id);
  const choices = exams
    .map((e, i) => `<p><label><input type="radio" name="exam" value="${escapeHtml(e.exam_id)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(e.title)}</label></p>`)
    .join('');
  const body = exams.length === 0
    ? '<p>Your institution has no exams in ExamVault yet: an ExamVault admin creates them first.</p>'
    : `<form method="post" action="/v1/lti/deep-linking/response"><input type="hidden" name="code" value="${escapeHtml(code)}">${choices}<button type="submit">Place this exam</button></form>`;
  return { title: 'Place an ExamVault exam', body, frameOrigins };
}

function codeError(problem: CodeProblem): ApiError {
  return ltiError('EV_ERR_LTI_CODE_INVALID', `the one-time code is ${problem === 'invalid' ? 'not valid' : problem === 'used' ? 'already used' : 'expired'}: start again from the LMS`);
}

async function signForPlatform(ctx: LtiContext, platform: LtiPlatformTable, claims: Record<string, unknown>, now: number): Promise<string> {
  const signer = await ctx.toolKeys.current();
  const nowS = Math.floor(now / 1000);
  return new SignJWT({ ...claims, nonce: random43(), [claim.version]: LTI_VERSION })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT' })
    .setIssuer(platform.client_id)
    .setAudience(platform.issuer)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + 300)
    .sign(signer.key);
}

/** POST /v1/lti/deep-linking/response: the picked exam, as a signed LtiDeepLinkingResponse to post back. */
export async function deepLinkingResponse(ctx: LtiContext, code: unknown, exam: unknown): Promise<PageOptions> {
  const now = ctx.clock();
  const taken = await takeCode<DeepLinkStep>(ctx.cells, code, 'deep-link', now);
  if (typeof taken === 'string') throw codeError(taken);
  const { cell, payload } = taken;
  const platform = await findPlatform(cell.db, payload.platform);
  if (!platform) throw codeError('invalid');
  const row = typeof exam === 'string' ? await findExam(cell.db, platform.institution_id, exam) : undefined;
  if (!row) throw ltiError('EV_ERR_LTI_EXAM_UNKNOWN', 'pick one of the listed exams');
  const jwt = await signForPlatform(ctx, platform, {
    [claim.messageType]: 'LtiDeepLinkingResponse',
    [claim.deploymentId]: payload.deploymentId,
    [claim.contentItems]: [{ type: 'ltiResourceLink', title: row.title, url: launchUrl(ctx.publicOrigin), custom: { [EXAM_CUSTOM_PARAMETER]: row.exam_id } }],
    ...(payload.data !== null ? { [claim.deepLinkingData]: payload.data } : {}),
  }, now);
  await cell.audit.append({ institution: platform.institution_id, type: 'lti.exam.placed', payload: { platform: platform.id, exam: row.exam_id } });
  return {
    title: 'Placing the exam',
    body: hiddenForm(payload.returnUrl, { JWT: jwt }, 'Continue', { autopost: true }),
    script: '/v1/lti/scripts/autopost.js',
    formOrigins: [new URL(payload.returnUrl).origin],
    frameOrigins: frameOriginsOf(platform),
  };
}

interface ProctoringStep {
  readonly platform: string;
  readonly deploymentId: string;
  readonly resourceLinkId: string;
  readonly attemptNumber: number;
  readonly sessionData: string;
  readonly startAssessmentUrl: string;
  readonly handoffHash: string;
}

/**
 * POST /v1/lti/proctoring/start: our checks (the recorder took the attempt credential: the hand-off
 * code was exchanged), then a signed LtiStartAssessment echoing session_data and attempt_number.
 */
export async function startAssessment(ctx: LtiContext, code: unknown): Promise<PageOptions> {
  const now = ctx.clock();
  const region = typeof code === 'string' ? /^evk1\.([a-z][a-z0-9-]{1,15})\./.exec(code)?.[1] : undefined;
  const cell = region ? ctx.cells.get(region) : undefined;
  // Checked before the code is used up, so the learner can press the button again once the recorder runs.
  const peek = cell && typeof code === 'string' ? await findCode(cell.db, sha256Hex(code)) : undefined;
  if (cell && peek?.kind === 'proctoring' && !(await codeUsed(cell, (JSON.parse(peek.payload) as ProctoringStep).handoffHash))) {
    throw ltiError('EV_ERR_LTI_PROCTORING_NOT_READY', 'the recorder has not started yet: allow the camera and screen, then try again');
  }
  const taken = await takeCode<ProctoringStep>(ctx.cells, code, 'proctoring', now);
  if (typeof taken === 'string') throw codeError(taken);
  const { payload } = taken;
  const platform = await findPlatform(taken.cell.db, payload.platform);
  if (!platform) throw codeError('invalid');
  const jwt = await signForPlatform(ctx, platform, {
    [claim.messageType]: 'LtiStartAssessment',
    [claim.deploymentId]: payload.deploymentId,
    [claim.resourceLink]: { id: payload.resourceLinkId },
    [claim.attemptNumber]: payload.attemptNumber,
    [claim.sessionData]: payload.sessionData,
    [claim.endAssessmentReturn]: true,
  }, now);
  await taken.cell.audit.append({ institution: platform.institution_id, type: 'lti.assessment.started', payload: { platform: platform.id, attemptNumber: payload.attemptNumber } });
  return {
    title: 'Starting the exam',
    body: hiddenForm(payload.startAssessmentUrl, { JWT: jwt }, 'Continue', { autopost: true }),
    script: '/v1/lti/scripts/autopost.js',
    formOrigins: [new URL(payload.startAssessmentUrl).origin],
    frameOrigins: frameOriginsOf(platform),
  };
}

/** POST /v1/attempts/handoff: the one-time code from the launch page, for the attempt credential. */
export async function exchangeHandoff(ctx: LtiContext, code: unknown): Promise<HandoffResponse> {
  const now = ctx.clock();
  const taken = await takeCode<{ exam: string; attempt: string }>(ctx.cells, code, 'handoff', now);
  if (taken === 'invalid') throw ltiError('EV_ERR_HANDOFF_INVALID', 'the hand-off code is not valid');
  if (taken === 'used') throw ltiError('EV_ERR_HANDOFF_USED', 'the hand-off code was already used: relaunch from the LMS');
  if (taken === 'expired') throw ltiError('EV_ERR_HANDOFF_EXPIRED', 'the hand-off code has expired: relaunch from the LMS');
  const issued = await issueAttemptCredential(ctx.cells, ctx.directory, { institution: taken.row.institution_id, exam: taken.payload.exam, attempt: taken.payload.attempt, ttlSeconds: ctx.attemptTtlSeconds }, now);
  await taken.cell.audit.append({ institution: issued.institution, type: 'lti.handoff.exchanged', payload: { exam: issued.exam, attempt: issued.attempt } });
  return { token: issued.token, institution: issued.institution, region: issued.region, exam: issued.exam, attempt: issued.attempt, expiresAt: issued.expiresAt };
}

/** POST /v1/lti/staff/session: the staff launch's one-time code, for a staff session. */
export async function staffSessionFromCode(ctx: LtiContext, code: unknown): Promise<StaffSession> {
  const now = ctx.clock();
  const taken = await takeCode<{ staff: string }>(ctx.cells, code, 'staff', now);
  if (typeof taken === 'string') throw codeError(taken);
  const member = await findStaff(taken.cell.db, taken.payload.staff);
  if (!member || member.disabled_at !== null) throw codeError('invalid');
  await taken.cell.audit.append({ institution: member.institution_id, type: 'lti.staff.signed-in', payload: { staff: member.id } });
  return createStaffSession(taken.cell, member.id, now);
}
