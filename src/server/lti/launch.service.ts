/**
 * The launch (docs/LTI.md "The launch" and "Messages"): checks the state and the browser's binding,
 * validates the id_token (id-token.ts), keeps what claims.ts keeps, and answers the message:
 *
 * - LtiResourceLinkRequest, learner: an attempt of the exam the link opens; the launch page carries a
 *   one-time hand-off code (≤ 2 min) the recorder exchanges for the attempt credential
 *   (POST /v1/attempts/handoff), so the credential never appears in a URL or a page.
 * - LtiResourceLinkRequest, instructor or administrator role: the LMS user becomes (or is again) a
 *   reviewer of the institution; a one-time code opens a staff session in a new window. Custody
 *   approval is as for passkey users: an admin must approve the reviewer's keys; nothing is automatic.
 * - LtiDeepLinkingRequest (staff roles): the institution's exams to pick from (steps.service.ts signs
 *   the LtiDeepLinkingResponse).
 * - LtiStartProctoring: as a learner's launch, plus the step to LtiStartAssessment (steps.service.ts);
 *   LtiEndAssessment: recorded, and a page.
 */
import { createHash } from 'node:crypto';
import { EXAM_CUSTOM_PARAMETER, HANDOFF_META, HANDOFF_TTL_MS, type OptionalPersonClaim } from '../../protocol/lti.js';
import type { LtiPlatformTable } from '../db/schema.js';
import { findExam, listExams } from '../exams/exam.repository.js';
import { newId } from '../ids.js';
import type { Cell } from '../regions/cell.types.js';
import { findStaff, insertStaff } from '../staff/staff.repository.js';
import { type KeptLaunch, isLearnerLaunch, isStaffLaunch, keepOf } from './claims.js';
import { issueCode, sha256Hex, takeCode } from './codes.js';
import { LaunchRejected, validateIdToken } from './id-token.js';
import { storageKey } from './login.service.js';
import { findLtiStaff, findPlatform, insertLaunch, insertLtiStaff, takeLogin } from './lti.repository.js';
import { type LtiContext, STEP_TTL_MS, firstCell, frameOriginsOf, refuse, text } from './lti-context.js';
import { type PageOptions, escapeHtml, hiddenForm } from './pages.js';
import { ltiError } from './platform.service.js';
import type { DeepLinkStep, ProctoringStep } from './steps.service.js';

const STAFF_CODE_TTL_MS = 2 * 60 * 1000;
const statePattern = /^evl1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

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
  if (!cell) throw await refuse(ctx, firstCell(ctx.cells), null, 'EV_ERR_LTI_STATE_INVALID', 'the state is not one ExamVault issued');
  const login = await takeLogin(cell.db, sha256Hex(state));
  const platform = login ? ((await findPlatform(cell.db, login.platform_id)) ?? null) : null;
  if (!login || !platform || Number(login.expires_at) <= now) {
    throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_STATE_INVALID', 'the state is unknown, expired or already used: start the launch again from the LMS');
  }
  const binding = request.binding(state);
  const pending = binding === null && login.storage_target !== null;
  if (!pending && (binding === null || sha256Hex(binding) !== login.binding_hash)) {
    throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_STATE_UNBOUND', 'this browser did not start the launch (no matching state cookie)');
  }
  let kept: KeptLaunch;
  try {
    const validated = await validateIdToken(idToken, { cell, platform, login, keySets: ctx.keySets, now });
    kept = keepOf(validated.claims, validated.messageType, JSON.parse(platform.kept_claims) as OptionalPersonClaim[]);
  } catch (e) {
    if (e instanceof LaunchRejected) throw await refuse(ctx, cell, platform, e.code, e.message);
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
        'ev-lti-storage-key': storageKey(state),
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
  if (!platform) throw await refuse(ctx, taken.cell, null, 'EV_ERR_LTI_STATE_INVALID', 'the registration was removed');
  if (sha256Hex(binding) !== taken.payload.bindingHash) throw await refuse(ctx, taken.cell, platform, 'EV_ERR_LTI_STATE_UNBOUND', 'this browser did not start the launch');
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
      if (!isLearnerLaunch(launch.roles)) throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'ExamVault opens for learners and for instructors or administrators');
      return learnerLaunch(ctx, cell, platform, launch, 1, frameOrigins);
    case 'LtiStartProctoring':
      return learnerLaunch(ctx, cell, platform, launch, launch.proctoring?.attemptNumber ?? 1, frameOrigins);
    case 'LtiDeepLinkingRequest':
      if (!staff) throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'only instructors and administrators place exams');
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
  if (!exam) throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_EXAM_UNKNOWN', `the link names no exam of the institution (custom parameter ${EXAM_CUSTOM_PARAMETER}): place it again with deep linking`);
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
      resourceLinkId: launch.resourceLinkId as string,
      attemptNumber,
      sessionData: launch.proctoring.sessionData,
      startAssessmentUrl: launch.proctoring.startAssessmentUrl,
      handoffHash: sha256Hex(handoff),
    } satisfies ProctoringStep, STEP_TTL_MS, now);
    meta['ev-lti-proctoring'] = step;
    body += hiddenForm('/v1/lti/proctoring/start', { code: step }, 'Start the exam');
    formOrigins = [new URL(launch.proctoring.startAssessmentUrl).origin];
  }
  // A plain learner launch goes straight on to the recorder; a proctoring launch keeps its page for the "Start the exam" step.
  // Framed by the LMS, the page stays (the recorder refuses frames, and a frame's storage is the LMS
  // site's): its button posts the code into a new window (POST /v1/lti/recorder), never in a URL.
  if (formOrigins.length === 0) {
    body += `<p>If this page is shown inside your course page, the recorder needs a window of its own.</p>${hiddenForm('/v1/lti/recorder', { code: handoff }, 'Open the recorder in a new window', { target: '_blank' })}`;
  }
  const script = formOrigins.length === 0 ? { script: '/v1/lti/scripts/recorder.js' } : {};
  return { title: 'ExamVault recorder', meta, body, frameOrigins, formOrigins, ...script };
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
  if (!member || member.disabled_at !== null) throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_ROLE_UNSUPPORTED', 'this staff member is disabled');
  const code = await issueCode(cell, 'staff', platform.institution_id, { staff: staffId }, STAFF_CODE_TTL_MS, now);
  await record(cell, platform, launch, now, { staff: staffId });
  return {
    title: 'ExamVault for staff',
    body: `<p>Review recordings in ExamVault (opens in a new window).</p>${hiddenForm('/v1/lti/staff/session', { code }, 'Open ExamVault', { target: '_blank' })}`,
    frameOrigins,
  };
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
