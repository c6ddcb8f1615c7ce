/**
 * The steps after a launch, each taken with a one-time code the launch page carried
 * (codes.ts): the picked exam as a signed LtiDeepLinkingResponse, LtiStartAssessment once the
 * recorder runs, the attempt credential for the recorder (POST /v1/attempts/handoff), the recorder
 * in a window of its own when the LMS frames the launch (POST /v1/lti/recorder), and a staff
 * session for a staff launch. Messages to the platform are signed with the tool key (tool-keys.ts).
 */
import { SignJWT } from 'jose';
import type { ApiError } from '../../protocol/errors.js';
import { EXAM_CUSTOM_PARAMETER, HANDOFF_META, type HandoffResponse } from '../../protocol/lti.js';
import { issueAttemptCredential } from '../attempts/attempt.service.js';
import type { LtiPlatformTable } from '../db/schema.js';
import { findExam } from '../exams/exam.repository.js';
import { snapshotIntervalOf } from '../exams/exam.service.js';
import { createStaffSession } from '../staff/staff-auth.js';
import { findStaff } from '../staff/staff.repository.js';
import type { StaffSession } from '../staff/staff.types.js';
import { LTI_VERSION, claim } from './claims.js';
import { type CodeProblem, codeUsed, random43, sha256Hex, takeCode } from './codes.js';
import { findCode, findPlatform } from './lti.repository.js';
import { type LtiContext, frameOriginsOf, launchUrl } from './lti-context.js';
import { type PageOptions, hiddenForm } from './pages.js';
import { ltiError } from './platform.service.js';

export interface DeepLinkStep {
  readonly platform: string;
  readonly deploymentId: string;
  readonly returnUrl: string;
  readonly data: string | null;
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

/** A page that form-posts a signed message (field `JWT`) to the platform, through autopost.js; the button is for browsers without script. */
function postToPlatform(title: string, url: string, jwt: string, platform: LtiPlatformTable): PageOptions {
  return {
    title,
    body: hiddenForm(url, { JWT: jwt }, 'Continue', { autopost: true }),
    script: '/v1/lti/scripts/autopost.js',
    formOrigins: [new URL(url).origin],
    frameOrigins: frameOriginsOf(platform),
  };
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
  return postToPlatform('Placing the exam', payload.returnUrl, jwt, platform);
}

export interface ProctoringStep {
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
  return postToPlatform('Starting the exam', payload.startAssessmentUrl, jwt, platform);
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
  const snapshotIntervalSeconds = await snapshotIntervalOf(taken.cell, issued.institution, issued.exam);
  return { token: issued.token, institution: issued.institution, region: issued.region, exam: issued.exam, attempt: issued.attempt, expiresAt: issued.expiresAt, snapshotIntervalSeconds };
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

/**
 * POST /v1/lti/recorder: a launch framed by the LMS posts its hand-off code here into a new window
 * (a form with target=_blank: the code travels in the body, never in a URL). The answer is the
 * launch page's hand-off again, now top-level and first-party, where recorder.js can put the code in
 * this tab's sessionStorage and open /app/recorder/. The code is not used here (the recorder
 * exchanges it); it must be a hand-off code still unused and unexpired, so a stale button says so.
 *
 * Only a form of our own pages may post it: Sec-Fetch-Site must be same-origin, or, from a browser
 * that does not send it, the Origin must be ours. (Our pages' no-referrer policy makes browsers send
 * `Origin: null` with their forms, so Origin alone would refuse them.) Another site posting a code of
 * its own attempt would otherwise open a recorder that records the victim into the attacker's attempt.
 */
export async function recorderWindow(ctx: LtiContext, code: unknown, origin: unknown, fetchSite: unknown): Promise<PageOptions> {
  if (fetchSite === undefined ? origin !== ctx.publicOrigin : fetchSite !== 'same-origin') {
    throw ltiError('EV_ERR_LTI_FOREIGN_ORIGIN', 'the recorder opens in a new window only from an ExamVault launch page');
  }
  const region = typeof code === 'string' ? /^evk1\.([a-z][a-z0-9-]{1,15})\.[A-Za-z0-9_-]{43}$/.exec(code)?.[1] : undefined;
  const cell = region ? ctx.cells.get(region) : undefined;
  const row = cell ? await findCode(cell.db, sha256Hex(code as string)) : undefined;
  if (!row || row.kind !== 'handoff') throw codeError('invalid');
  if (row.used_at !== null) throw codeError('used');
  if (Number(row.expires_at) <= ctx.clock()) throw codeError('expired');
  return {
    title: 'ExamVault recorder',
    meta: { [HANDOFF_META]: code as string },
    body: '<p>Opening the recorder…</p>',
    script: '/v1/lti/scripts/recorder.js',
    frameOrigins: [],
  };
}
