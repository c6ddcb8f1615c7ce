/**
 * POST /v1/lti/recorder (src/server/lti/steps.service.ts `recorderWindow`): a launch page framed by
 * the LMS posts its hand-off code into a new window, which answers the hand-off page top-level.
 * Only our own pages' forms may post it, and only a live hand-off code opens it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HANDOFF_TTL_MS } from '../../../src/protocol/lti.js';
import { issueCode } from '../../../src/server/lti/codes.js';
import { EXAM, ltiScenario } from './support.js';

describe('the recorder in a new window, from a framed launch', () => {
  it('answers the hand-off page, top-level only, to a form of our own origin with a live hand-off code', async (t) => {
    const s = await ltiScenario(t);
    const handoff = () => issueCode(s.cell, 'handoff', s.institution, { exam: EXAM, attempt: 'att-window-1' }, HANDOFF_TTL_MS, Date.now());
    const post = (code: string, headers: Record<string, string>) => s.app.inject({
      method: 'POST', url: '/v1/lti/recorder', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams({ code }).toString(),
    });
    const ours = { origin: s.origin, 'sec-fetch-site': 'same-origin' };
    const code = await handoff();

    const opened = await post(code, ours);
    assert.equal(opened.statusCode, 200, opened.body);
    assert.match(opened.body, new RegExp(`<meta name="ev-handoff" content="${code.replace(/\./g, '\\.')}">`));
    assert.match(opened.body, /<script src="\/v1\/lti\/scripts\/recorder\.js" defer><\/script>/);
    assert.match(String(opened.headers['content-security-policy']), /frame-ancestors 'none'/, 'the new window is never framed');
    // The code is not used up: the recorder exchanges it.
    // What Chromium sends from our no-referrer pages: Origin null, Sec-Fetch-Site same-origin; and a browser without fetch metadata.
    assert.equal((await post(await handoff(), { origin: 'null', 'sec-fetch-site': 'same-origin' })).statusCode, 200);
    assert.equal((await post(await handoff(), { origin: s.origin })).statusCode, 200);
    const exchanged = await s.app.inject({ method: 'POST', url: '/v1/attempts/handoff', payload: { code } });
    assert.equal(exchanged.statusCode, 200, exchanged.body);

    const refusals: [string, string, Record<string, string>, string][] = [
      ['another site posting a code', await handoff(), { origin: s.lms.origin, 'sec-fetch-site': 'cross-site' }, 'EV_ERR_LTI_FOREIGN_ORIGIN'],
      ['no Origin and no Sec-Fetch-Site', await handoff(), {}, 'EV_ERR_LTI_FOREIGN_ORIGIN'],
      ['another Origin and no Sec-Fetch-Site', await handoff(), { origin: s.lms.origin }, 'EV_ERR_LTI_FOREIGN_ORIGIN'],
      ['our Origin claimed from another site', await handoff(), { origin: s.origin, 'sec-fetch-site': 'same-site' }, 'EV_ERR_LTI_FOREIGN_ORIGIN'],
      ['a code already exchanged', code, ours, 'EV_ERR_LTI_CODE_INVALID'],
      ['a code that is not one', 'evk1.eu.not-a-code', ours, 'EV_ERR_LTI_CODE_INVALID'],
      ['another kind of code', await issueCode(s.cell, 'staff', s.institution, { staff: 'stf-lti-admin' }, HANDOFF_TTL_MS, Date.now()), ours, 'EV_ERR_LTI_CODE_INVALID'],
    ];
    for (const [what, c, headers, expected] of refusals) {
      const r = await post(c, headers);
      assert.equal(r.statusCode, 400, what);
      assert.match(r.body, new RegExp(expected), what);
    }
    const late = await handoff();
    s.skew = HANDOFF_TTL_MS + 1000;
    const expired = await post(late, ours);
    assert.equal(expired.statusCode, 400);
    assert.match(expired.body, /EV_ERR_LTI_CODE_INVALID/);
  });
});
