/**
 * One test per way a platform can get an id_token wrong (the emulator's misbehaviour modes): each is
 * refused with its own stable code and leaves an audit event with that code in the institution's
 * cell. Then the platform's key rotation (the unknown kid is refetched once) and the personal-data
 * test: name, email and picture claims leave no trace in any file of the data directory or log line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from '../../../src/server/lti/refusal-audit.js';
import { readAllFiles, filesContaining } from '../support/data-files.js';
import { type Misbehaviour, misbehaviours, roles } from '../../support/lms/emulator.js';
import { auditEvents, learnerLaunch, ltiScenario } from './support.js';

const expected: Record<Misbehaviour, string> = {
  'wrong-audience': 'EV_ERR_LTI_TOKEN_AUDIENCE',
  'extra-audience-no-azp': 'EV_ERR_LTI_TOKEN_AZP',
  expired: 'EV_ERR_LTI_TOKEN_EXPIRED',
  'replayed-nonce': 'EV_ERR_LTI_NONCE_REPLAYED',
  'alg-none': 'EV_ERR_LTI_TOKEN_UNSIGNED',
  'hs256-public-key': 'EV_ERR_LTI_TOKEN_ALG',
  'unknown-kid': 'EV_ERR_LTI_TOKEN_KID',
  'missing-deployment': 'EV_ERR_LTI_DEPLOYMENT_MISSING',
  'unregistered-deployment': 'EV_ERR_LTI_DEPLOYMENT_UNKNOWN',
  'wrong-iss': 'EV_ERR_LTI_TOKEN_ISSUER',
  'wrong-message-type': 'EV_ERR_LTI_MESSAGE_TYPE',
  'wrong-version': 'EV_ERR_LTI_VERSION',
  'mismatched-target-link-uri': 'EV_ERR_LTI_TARGET_LINK_URI',
  'not-a-jws': 'EV_ERR_LTI_TOKEN_MALFORMED',
  'bad-signature': 'EV_ERR_LTI_TOKEN_SIGNATURE',
  'iat-in-future': 'EV_ERR_LTI_TOKEN_IAT',
  'nonce-mismatch': 'EV_ERR_LTI_NONCE_MISMATCH',
  'missing-resource-link': 'EV_ERR_LTI_RESOURCE_LINK',
  'roles-not-array': 'EV_ERR_LTI_ROLES',
};

describe('LTI launches from a misbehaving platform', () => {
  it('refuses each misbehaviour with its own code and an audit event', async (t) => {
    const s = await ltiScenario(t);
    // A good launch first: the platform's key set is cached, and the emulator has a used nonce to replay.
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-ok')))).status, 200);
    assert.equal(s.lms.jwksFetches, 1);
    // All within one minute of one registration: each must be appended, not merely counted (refusal-audit.ts).
    assert.ok(misbehaviours.length <= REFUSALS_PER_WINDOW, 'more modes than the refusal budget of a minute: split this test');
    for (const mode of misbehaviours) {
      await t.test(mode, async () => {
        const before = (await auditEvents(s.cell)).length;
        s.lms.misbehave = mode;
        const page = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch(`opaque-learner-${mode}`)));
        assert.ok(page.status >= 400 && page.status < 500, `${mode}: ${page.status} ${page.body}`);
        assert.equal(page.errorCode(), expected[mode]);
        // A browser gets a page the LMS frame can show: the code, no script, no form.
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.match(String(page.headers['content-security-policy']), /script-src 'self'.*frame-ancestors \*/);
        assert.ok(!page.body.includes('<script') && !page.body.includes('<form'));
        const events = (await auditEvents(s.cell)).slice(before);
        assert.deepEqual(events.map((e) => [e.type, e.institution, e.payload.code]), [['lti.launch.rejected', s.institution, expected[mode]]]);
        assert.equal(page.meta('ev-handoff'), null);
      });
    }
    // The unknown kid made exactly one refetch.
    assert.equal(s.lms.jwksFetches, 2);
    // Each misbehaviour has a code of its own.
    assert.equal(new Set(Object.values(expected)).size, misbehaviours.length);
  });

  it('follows a platform key rotation by refetching its JWKS once', async (t) => {
    const s = await ltiScenario(t);
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-r1')))).status, 200);
    await s.lms.rotateKey();
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-r2')))).status, 200);
    assert.equal(s.lms.jwksFetches, 2);
    // A kid unknown even after that refetch: refused, without another fetch inside the cool-down.
    s.lms.misbehave = 'unknown-kid';
    const page = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-r3')));
    assert.equal(page.errorCode(), 'EV_ERR_LTI_TOKEN_KID');
    assert.equal(s.lms.jwksFetches, 2);
  });

  it('refuses logins for unregistered platforms, audited as an event of the whole cell', async (t) => {
    const s = await ltiScenario(t);
    const url = new URL(s.lms.loginUrl(learnerLaunch('opaque-learner-u')));
    url.searchParams.set('iss', 'https://unregistered.example');
    const page = await s.browser().navigate('GET', url.toString());
    assert.equal(page.errorCode(), 'EV_ERR_LTI_PLATFORM_UNKNOWN');
    // The registration is unknown, so the cell is too: the event goes to the first configured cell.
    const first = s.services.cells.values().next().value as typeof s.cell;
    const last = (await auditEvents(first)).at(-1);
    assert.deepEqual(last, { type: 'lti.launch.rejected', institution: null, payload: { code: 'EV_ERR_LTI_PLATFORM_UNKNOWN' } });
  });
});

describe('refusals in the audit log', () => {
  it('appends at most the per-window budget of refusals per stream, and counts the rest', async (t) => {
    const s = await ltiScenario(t);
    const first = s.services.cells.values().next().value as typeof s.cell;
    const junk = () => s.browser().fetch('POST', `${s.origin}/v1/lti/launch`, { form: { id_token: 'x.y.z', state: `evl1.${first.region}.${randomBytes(32).toString('base64url')}` } });
    const rejected = async () => (await auditEvents(first)).filter((e) => e.type.startsWith('lti.launch.rejected') && e.institution === null);
    const flood = REFUSALS_PER_WINDOW + 15;
    for (let i = 0; i < flood; i++) assert.equal((await junk()).errorCode(), 'EV_ERR_LTI_STATE_INVALID');
    const during = await rejected();
    assert.equal(during.length, REFUSALS_PER_WINDOW, 'the flood stops at the budget');
    assert.ok(during.every((e) => e.type === 'lti.launch.rejected' && e.institution === null));

    // The registered platform's refusals are a stream of their own: still appended during the flood.
    s.lms.misbehave = 'expired';
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-flood')))).errorCode(), 'EV_ERR_LTI_TOKEN_EXPIRED');
    assert.deepEqual((await auditEvents(s.cell)).filter((e) => e.type.startsWith('lti.launch.rejected')).at(-1)?.payload.code, 'EV_ERR_LTI_TOKEN_EXPIRED');

    // Once the window is over, the next refusal first appends the counts of what was left out.
    const windowStart = Date.now();
    s.skew += REFUSAL_WINDOW_MS;
    const unknown = new URL(s.lms.loginUrl(learnerLaunch('opaque-learner-flood2')));
    unknown.searchParams.set('iss', 'https://unregistered.example');
    assert.equal((await s.browser().navigate('GET', unknown.toString())).errorCode(), 'EV_ERR_LTI_PLATFORM_UNKNOWN');
    const after = (await rejected()).slice(REFUSALS_PER_WINDOW);
    assert.deepEqual(after.map((e) => [e.type, e.institution]), [['lti.launch.rejected.suppressed', null], ['lti.launch.rejected', null]]);
    assert.deepEqual(after[0]?.payload.counts, { EV_ERR_LTI_STATE_INVALID: 15 });
    assert.ok(Number(after[0]?.payload.from) <= windowStart && Number(after[0]?.payload.to) > Number(after[0]?.payload.from));
    assert.equal(after[1]?.payload.code, 'EV_ERR_LTI_PLATFORM_UNKNOWN');

    // Counts of a window still open are appended when the server stops.
    for (let i = 0; i < REFUSALS_PER_WINDOW + 3; i++) await junk();
    await s.app.close();
    const last = (await rejected()).at(-1);
    assert.deepEqual([last?.type, last?.payload.counts], ['lti.launch.rejected.suppressed', { EV_ERR_LTI_STATE_INVALID: 4 }]);
  });
});

describe('personal data', () => {
  const person = {
    name: 'Zebulon Quixotic-Marchbanks',
    given_name: 'Zebulon',
    family_name: 'Quixotic-Marchbanks',
    middle_name: 'Xavierette',
    email: 'zebulon.qm@university.example',
    picture: 'https://pictures.university.example/zqm-portrait.png',
    locale: 'en-ZQ',
    'https://purl.imsglobal.org/spec/lti/claim/lis': { person_sourcedid: 'SIS-PERSON-778812', course_section_sourcedid: 'SIS-SECTION-5521' },
  };
  const traces = ['Zebulon', 'Quixotic', 'Marchbanks', 'Xavierette', 'zebulon.qm', 'university.example', 'zqm-portrait', 'en-ZQ', 'SIS-PERSON-778812', 'SIS-SECTION-5521'];

  it('keeps no name, email, picture or lis claim anywhere: databases, blobs, keys or logs (every message type)', async (t) => {
    const s = await ltiScenario(t);
    const learner = s.browser();
    const page = await learner.navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-pd', { person })));
    assert.equal(page.status, 200, page.body);
    assert.equal((await learner.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: page.meta('ev-handoff') } })).status, 200);
    const teacher = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-teacher-pd', { roles: [roles.instructor], person })));
    assert.equal(teacher.status, 200);
    const dl = await s.browser().navigate('GET', s.lms.loginUrl({ messageType: 'LtiDeepLinkingRequest', sub: 'opaque-teacher-pd', roles: [roles.instructor], person }));
    assert.equal(dl.status, 200);
    // Proctoring Services carry the same person claims, through to the signed LtiStartAssessment and the end.
    const proctoring = learnerLaunch('opaque-learner-pd3', { messageType: 'LtiStartProctoring', person });
    const proctored = s.browser();
    const start = await proctored.navigate('GET', s.lms.loginUrl(proctoring));
    assert.equal(start.status, 200, start.body);
    assert.equal((await proctored.fetch('POST', `${s.origin}/v1/attempts/handoff`, { json: { code: start.meta('ev-handoff') } })).status, 200);
    const form = start.forms().find((f) => f.action === `${s.origin}/v1/lti/proctoring/start`);
    assert.ok(form);
    assert.equal((await proctored.submit(form)).url, `${s.lms.origin}/start-assessment`);
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl({ ...proctoring, messageType: 'LtiEndAssessment' }))).status, 200);
    s.lms.misbehave = 'expired';
    assert.equal((await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-pd2', { person })))).status, 401);
    for (const cell of s.services.cells.values()) await cell.audit.idle();

    const files = await readAllFiles(s.dataDir);
    assert.ok(files.some((f) => f.path.endsWith('metadata.db')));
    // The control: what is kept (the opaque sub) is found by the same search.
    assert.ok(filesContaining(files, 'opaque-learner-pd').length > 0, 'the search finds what is stored');
    const logs = s.logs.join('');
    assert.ok(logs.includes('/v1/lti/launch'), 'the log was captured');
    for (const trace of traces) {
      assert.deepEqual(filesContaining(files, trace), [], `${trace} is stored`);
      assert.ok(!logs.includes(trace), `${trace} is in a log line`);
    }
  });

  it('keeps a person claim only where the registration turns it on', async (t) => {
    const s = await ltiScenario(t, { registration: { keptClaims: ['email'] } });
    const page = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-kc', { person })));
    assert.equal(page.status, 200);
    const row = await s.cell.db.selectFrom('lti_launches').select('kept_claims').where('sub', '=', 'opaque-learner-kc').executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(row.kept_claims as string), { email: person.email });
    const files = await readAllFiles(s.dataDir);
    assert.deepEqual(filesContaining(files, 'Quixotic'), []);
  });
});
