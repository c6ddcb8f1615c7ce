/**
 * The LTI 1.3 flows end to end over real HTTPS against the LMS emulator: a learner's resource-link
 * launch and the attempt hand-off, an instructor's launch into the staff side (no approval with it),
 * deep linking, proctoring (start, LtiStartAssessment, end), the platform-storage fallback, and the
 * LTI Advantage token request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS } from '../../../src/protocol/exams.js';
import { findPlatform } from '../../../src/server/lti/lti.repository.js';
import { platformAccessToken } from '../../../src/server/lti/token-client.js';
import { ToolKeys } from '../../../src/server/lti/tool-keys.js';
import { join } from 'node:path';
import { roles } from '../../support/lms/emulator.js';
import { EXAM, auditEvents, learnerLaunch, ltiScenario } from './support.js';

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
const AP = 'https://purl.imsglobal.org/spec/lti-ap/claim/';
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/';

describe('LTI 1.3 flows against the LMS emulator', () => {
  it('launches a learner into an attempt and hands the credential to the recorder once, never in a URL', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const page = await browser.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-1')));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.url, `${s.origin}/v1/lti/launch`);
    const code = page.meta('ev-handoff');
    assert.match(code ?? '', /^evk1\.eu\.[A-Za-z0-9_-]{43}$/);
    assert.equal(page.meta('ev-exam'), EXAM);
    // Strict CSP: scripts from our origin only, framed by the LMS only, and no inline script at all.
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.match(csp, new RegExp(`frame-ancestors ${s.lms.origin}`));
    assert.equal(page.headers['x-frame-options'], undefined);
    assert.ok(![...page.body.matchAll(/<script\b[^>]*>/g)].some((m) => !m[0].includes(' src=')), 'no inline script');
    // The state cookie was SameSite=None, Secure, HttpOnly, and is cleared by the launch.
    assert.equal([...(browser.cookies.get(s.origin)?.keys() ?? [])].filter((k) => k.startsWith('__Host-ev_lti_')).length, 0);

    const exchanged = await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code } }, { origin: s.origin });
    assert.equal(exchanged.status, 200, exchanged.body);
    const credential = exchanged.json<{ token: string; exam: string; attempt: string; institution: string; snapshotIntervalSeconds: number }>();
    assert.equal(credential.exam, EXAM);
    assert.equal(credential.snapshotIntervalSeconds, DEFAULT_SNAPSHOT_INTERVAL_SECONDS, "the exam's (created without one)");
    assert.equal(credential.institution, s.institution);
    assert.match(credential.token, /^ev1\.eu\./);
    const epoch = await browser.fetch('GET', `${s.origin}/v1/custody/epoch`, undefined, { authorization: `Bearer ${credential.token}` });
    assert.equal(epoch.status, 200, 'the handed-off credential is a working attempt credential');
    const again = await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code } }, { origin: s.origin });
    assert.equal(again.status, 409);
    assert.equal(again.errorCode(), 'EV_ERR_HANDOFF_USED');
    for (const url of browser.visited) {
      assert.ok(!url.includes(credential.token) && !url.includes(code as string), `a secret in a URL: ${url}`);
      for (const token of s.lms.issued) assert.ok(!url.includes(token), 'an id_token in a URL');
    }
    // A relaunch resumes the same attempt.
    const relaunch = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-1')));
    const second = await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: relaunch.meta('ev-handoff') } });
    assert.equal(second.json<{ attempt: string }>().attempt, credential.attempt);
    const events = await auditEvents(s.cell);
    assert.ok(events.some((e) => e.type === 'lti.launch.accepted' && e.payload.attempt === credential.attempt && e.institution === s.institution));
  });

  it('starts the login from a form post as well as from a GET', async (t) => {
    const s = await ltiScenario(t);
    const url = new URL(s.lms.loginUrl(learnerLaunch('opaque-learner-post')));
    const page = await s.browser().navigate('POST', `${url.origin}${url.pathname}`, Object.fromEntries(url.searchParams));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.url, `${s.origin}/v1/lti/launch`);
    assert.match(page.meta('ev-handoff') ?? '', /^evk1\.eu\./);
  });

  it('tolerates 60 s of clock difference with the platform, and no more', async (t) => {
    const s = await ltiScenario(t);
    // ExamVault's clock behind the platform's: the token's iat is in ExamVault's future.
    s.skew = -50_000;
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-skew1')))).status, 200);
    s.skew = -75_000;
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-skew2')))).errorCode(), 'EV_ERR_LTI_TOKEN_IAT');
    // Ahead of it: the token (valid 300 s) is still good 50 s past its expiry, not 75 s.
    s.skew = 350_000;
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-skew3')))).status, 200);
    s.skew = 375_000;
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-skew4')))).errorCode(), 'EV_ERR_LTI_TOKEN_EXPIRED');
  });

  it('expires a hand-off code after two minutes, and refuses an unknown one', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const page = await browser.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-2')));
    s.skew = 2 * 60 * 1000 + 1;
    const late = await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: page.meta('ev-handoff') } });
    assert.equal(late.errorCode(), 'EV_ERR_HANDOFF_EXPIRED');
    const unknown = await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: 'evk1.eu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.errorCode(), 'EV_ERR_HANDOFF_INVALID');
  });

  it('opens the staff side for an instructor as a reviewer who still needs approval', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const page = await browser.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-teacher-1', { roles: [roles.instructor] })));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.meta('ev-handoff'), null, 'staff get no attempt');
    const form = page.forms().find((f) => f.action === `${s.origin}/v1/lti/staff/session`);
    assert.ok(form, page.body);
    assert.equal(form.target, '_blank');
    const opened = await browser.fetch('POST', form.action, { form: form.fields }, { origin: s.origin });
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.location, `${s.origin}/app/reviewer/`);
    const me = await browser.fetch('GET', `${s.origin}/v1/staff/me`);
    assert.equal(me.status, 200, me.body);
    const who = me.json<{ staffId: string; role: string; institution: string }>();
    assert.equal(who.role, 'reviewer');
    assert.equal(who.institution, s.institution);
    // Not approved by launching: reading exams needs an admin's approval of the reviewer's keys.
    const exams = await browser.fetch('GET', `${s.origin}/v1/exams`);
    assert.equal(exams.status, 403);
    // The code worked once; the next launch is the same staff member.
    assert.equal((await browser.fetch('POST', form.action, { form: form.fields })).status, 400);
    const again = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-teacher-1', { roles: [roles.administrator] })));
    const next = s.browser();
    const reopened = again.forms()[0];
    assert.ok(reopened);
    await next.fetch('POST', reopened.action, { form: reopened.fields });
    assert.equal((await next.fetch('GET', `${s.origin}/v1/staff/me`)).json<{ staffId: string }>().staffId, who.staffId);
  });

  it('places an exam with deep linking: a signed LtiDeepLinkingResponse echoing data, posted by an external script', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const picker = await browser.navigate('GET', s.lms.loginUrl({ messageType: 'LtiDeepLinkingRequest', sub: 'opaque-teacher-2', roles: [roles.instructor], deepLinkingData: 'opaque-dl-data-7' }));
    assert.equal(picker.status, 200, picker.body);
    const form = picker.forms()[0];
    assert.ok(form);
    assert.deepEqual(form.choices.exam, [EXAM]);
    const answered = await browser.submit(form);
    assert.equal(answered.status, 200, answered.body);
    assert.equal(answered.url, `${s.lms.origin}/deep-link-return`);
    const response = s.lms.deepLinkResponses[0];
    assert.ok(response, 'the emulator verified the response against the tool JWKS');
    assert.equal(response[`${LTI}message_type`], 'LtiDeepLinkingResponse');
    assert.equal(response[`${LTI}version`], '1.3.0');
    assert.equal(response[`${DL}data`], 'opaque-dl-data-7');
    const items = response[`${DL}content_items`] as { type: string; url: string; custom: Record<string, string> }[];
    assert.deepEqual(items.map((i) => [i.type, i.url, i.custom.examvault_exam]), [['ltiResourceLink', `${s.origin}/v1/lti/launch`, EXAM]]);
    // The response page auto-posts through /v1/lti/scripts/autopost.js, with the platform as the only form target.
    const page = await browser.fetch('POST', `${s.origin}/v1/lti/deep-linking/response`, { form: form.fields });
    assert.equal(page.errorCode(), 'EV_ERR_LTI_CODE_INVALID', 'the picker code works once');
    const script = await browser.fetch('GET', `${s.origin}/v1/lti/scripts/autopost.js`);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    // A learner cannot place exams.
    const learner = await s.browser().navigate('GET', s.lms.loginUrl({ messageType: 'LtiDeepLinkingRequest', sub: 'opaque-learner-3', roles: [roles.learner] }));
    assert.equal(learner.errorCode(), 'EV_ERR_LTI_ROLE_UNSUPPORTED');
  });

  it('runs Proctoring Services: LtiStartProctoring, our checks, a signed LtiStartAssessment, then LtiEndAssessment', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const spec = learnerLaunch('opaque-learner-4', { messageType: 'LtiStartProctoring', attemptNumber: 2, sessionData: 'platform-session-abc' });
    const page = await browser.navigate('GET', s.lms.loginUrl(spec));
    assert.equal(page.status, 200, page.body);
    const handoff = page.meta('ev-handoff');
    const start = page.forms().find((f) => f.action === `${s.origin}/v1/lti/proctoring/start`);
    assert.ok(handoff && start);
    assert.match(String(page.headers['content-security-policy']), new RegExp(`form-action 'self' ${s.lms.origin}`));
    // Our check: the recorder must hold the credential before the assessment starts.
    const early = await browser.submit(start);
    assert.equal(early.status, 409);
    assert.equal(early.errorCode(), 'EV_ERR_LTI_PROCTORING_NOT_READY');
    assert.equal((await browser.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: handoff } })).status, 200);
    const started = await browser.submit(start);
    assert.equal(started.url, `${s.lms.origin}/start-assessment`, started.body);
    const message = s.lms.startAssessments[0];
    assert.ok(message);
    assert.equal(message[`${AP}session_data`], 'platform-session-abc');
    assert.equal(message[`${AP}attempt_number`], 2);
    assert.deepEqual(message[`${LTI}resource_link`], { id: 'link-1' });
    const ended = await s.browser().navigate('GET', s.lms.loginUrl({ ...spec, messageType: 'LtiEndAssessment' }));
    assert.equal(ended.status, 200, ended.body);
    assert.match(ended.body, /Exam finished/);
    const types = (await auditEvents(s.cell)).map((e) => e.type);
    for (const type of ['lti.assessment.started', 'lti.assessment.ended', 'lti.handoff.exchanged']) assert.ok(types.includes(type), type);
  });

  it('falls back to platform storage when the browser drops the state cookie, and refuses a browser with neither', async (t) => {
    const s = await ltiScenario(t);
    const blocked = s.browser();
    blocked.blockThirdPartyCookies = true;
    const refused = await blocked.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-5')));
    assert.equal(refused.status, 403);
    assert.equal(refused.errorCode(), 'EV_ERR_LTI_STATE_UNBOUND');

    // With lti_storage_target, login answers a page whose external script stores the binding with the platform.
    const login = await blocked.fetch('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-5'), { lti_storage_target: '_parent' }));
    assert.equal(login.status, 200);
    assert.match(login.body, /<script src="\/v1\/lti\/scripts\/login\.js" defer><\/script>/);
    const stored = login.meta('ev-lti-storage-value') as string;
    assert.equal(login.meta('ev-lti-storage-origin'), s.lms.origin);
    const launchPage = await blocked.navigate('GET', login.meta('ev-lti-next') as string);
    assert.equal(launchPage.status, 200, launchPage.body);
    assert.equal(launchPage.meta('ev-lti-storage-key'), login.meta('ev-lti-storage-key'));
    const confirm = launchPage.forms()[0];
    assert.ok(confirm);
    // What lti.get_data answers (launch.js fills it in): a wrong value is refused, the stored one accepted.
    const wrong = await blocked.submit(confirm, { binding: 'not-the-stored-value' });
    assert.equal(wrong.errorCode(), 'EV_ERR_LTI_STATE_UNBOUND');
    // The refused confirmation used the pending launch up: a new one is needed.
    const login2 = await blocked.fetch('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-5'), { lti_storage_target: '_parent' }));
    const launch2 = await blocked.navigate('GET', login2.meta('ev-lti-next') as string);
    const done = await blocked.submit(launch2.forms()[0] as never, { binding: login2.meta('ev-lti-storage-value') as string });
    assert.equal(done.status, 200, done.body);
    assert.match(done.meta('ev-handoff') ?? '', /^evk1\./);
    assert.notEqual(stored, login2.meta('ev-lti-storage-value'));
  });

  it('refuses a replayed launch post (the state works once)', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const login = await browser.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-6')));
    assert.equal(login.status, 200);
    const token = s.lms.issued.at(-1) as string;
    const state = browser.visited.map((u) => new URL(u)).find((u) => u.pathname === '/auth')?.searchParams.get('state') as string;
    const replay = await browser.fetch('POST', `${s.origin}/v1/lti/launch`, { form: { id_token: token, state } });
    assert.equal(replay.errorCode(), 'EV_ERR_LTI_STATE_INVALID');
  });

  it('gets an LTI Advantage access token with a client assertion the platform checks against the tool JWKS', async (t) => {
    const s = await ltiScenario(t);
    const entry = await s.services.directory.selectFrom('lti_platforms').selectAll().executeTakeFirstOrThrow();
    const platform = await findPlatform(s.cell.db, entry.platform_id);
    assert.ok(platform);
    const keys = await ToolKeys.open(join(s.dataDir, 'lti'));
    const token = await platformAccessToken(platform, keys, ['https://purl.imsglobal.org/spec/lti-ap/scope/control.all']);
    assert.match(token.accessToken, /^[0-9a-f]{32}$/);
    assert.deepEqual(s.lms.tokenRequests, [{ scope: 'https://purl.imsglobal.org/spec/lti-ap/scope/control.all' }]);
  });
});
