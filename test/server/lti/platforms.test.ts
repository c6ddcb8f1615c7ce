/**
 * Platform registrations through the admin API, and the tool JWKS: served with a kid, and after a
 * rotation by another process (the CLI) the running server signs with the new key while the old one
 * stays published.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { ToolKeys } from '../../../src/server/lti/tool-keys.js';
import { roles } from '../../support/lms/emulator.js';
import { learnerLaunch, ltiScenario } from './support.js';


describe('LTI platform registrations and tool keys', () => {
  it('validates, lists and removes registrations; a removed platform cannot launch', async (t) => {
    const s = await ltiScenario(t);
    const bad = await s.api('POST', '/v1/lti/platforms', { ...s.lms.registration(), jwksUrl: 'http://lms.example/jwks', clientId: 'c2' });
    assert.equal(bad.status, 400);
    assert.equal(bad.errorCode(), 'EV_ERR_LTI_INVALID_REQUEST');
    const none = await s.api('POST', '/v1/lti/platforms', { ...s.lms.registration(), deploymentIds: [], clientId: 'c3' });
    assert.equal(none.errorCode(), 'EV_ERR_LTI_INVALID_REQUEST');
    const duplicate = await s.api('POST', '/v1/lti/platforms', s.lms.registration());
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.errorCode(), 'EV_ERR_LTI_PLATFORM_EXISTS');
    const listed = (await s.api('GET', '/v1/lti/platforms')).json<{ platforms: { platform: string; issuer: string; keptClaims: string[] }[] }>();
    assert.equal(listed.platforms.length, 1);
    assert.equal(listed.platforms[0]?.issuer, s.lms.issuer);
    assert.deepEqual(listed.platforms[0]?.keptClaims, []);
    const id = listed.platforms[0]?.platform as string;
    assert.equal((await s.api('DELETE', `/v1/lti/platforms/${id}`)).status, 204);
    assert.equal((await s.api('DELETE', `/v1/lti/platforms/${id}`)).errorCode(), 'EV_ERR_LTI_PLATFORM_NOT_FOUND');
    const page = await s.browser().navigate('GET', s.lms.loginUrl(learnerLaunch('opaque-learner-p')));
    assert.equal(page.errorCode(), 'EV_ERR_LTI_PLATFORM_UNKNOWN');
  });

  it('serves the tool JWKS and signs with the new key after a rotation, the old one still published', async (t) => {
    const s = await ltiScenario(t);
    const browser = s.browser();
    const before = (await browser.fetch('GET', `${s.origin}/v1/lti/jwks`)).json<{ keys: { kid: string; kty: string; alg: string; d?: string }[] }>();
    assert.equal(before.keys.length, 1);
    assert.deepEqual([before.keys[0]?.kty, before.keys[0]?.alg, before.keys[0]?.d], ['RSA', 'RS256', undefined]);
    const rotated = await (await ToolKeys.open(join(s.dataDir, 'lti'))).rotate();
    const signing = rotated.find((k) => k.retiredAt === null)?.kid;
    const after = (await browser.fetch('GET', `${s.origin}/v1/lti/jwks`)).json<{ keys: { kid: string }[] }>();
    assert.deepEqual(after.keys.map((k) => k.kid).sort(), [before.keys[0]?.kid, signing].sort());
    const picker = await browser.navigate('GET', s.lms.loginUrl({ messageType: 'LtiDeepLinkingRequest', sub: 'opaque-teacher-k', roles: [roles.instructor] }));
    const form = picker.forms()[0];
    assert.ok(form);
    const posted = await browser.fetch('POST', form.action, { form: form.fields });
    const jwt = posted.forms()[0]?.fields.JWT as string;
    assert.equal(decodeProtectedHeader(jwt).kid, signing);
  });
});
