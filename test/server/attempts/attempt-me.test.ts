/**
 * GET /v1/attempts/me: an attempt credential learns its own context (what its recorder must seal
 * into each header), and nothing without a valid one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS } from '../../../src/protocol/exams.js';
import { registerTestPlatform } from '../platforms/support.js';
import { bearer, startTestServer } from '../support/test-server.js';

describe('GET /v1/attempts/me', () => {
  it('answers the credential\'s own attempt, and 401 without a valid one', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const a = await s.attempt(inst, 'exam-a', 600);
    const b = await s.attempt(inst, 'exam-b');
    const me = await s.app.inject({ method: 'GET', url: '/v1/attempts/me', headers: bearer(a.token) });
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), { institution: inst.id, region: 'eu', exam: 'exam-a', attempt: a.attempt, expiresAt: s.now + 600_000, snapshotIntervalSeconds: DEFAULT_SNAPSHOT_INTERVAL_SECONDS });
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/attempts/me', headers: bearer(b.token) })).json().attempt, b.attempt);

    const none = await s.app.inject({ method: 'GET', url: '/v1/attempts/me' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'EV_ERR_AUTH_MISSING_CREDENTIAL');
    const forged = await s.app.inject({ method: 'GET', url: '/v1/attempts/me', headers: bearer(`ev1.eu.${'A'.repeat(43)}`) });
    assert.equal(forged.json().error.code, 'EV_ERR_AUTH_INVALID_CREDENTIAL');
    s.now += 601_000;
    const expired = await s.app.inject({ method: 'GET', url: '/v1/attempts/me', headers: bearer(a.token) });
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().error.code, 'EV_ERR_AUTH_EXPIRED_CREDENTIAL');
  });

  it("tells the recorder its exam's snapshot interval, as a platform set it", async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    const create = (payload: object) => s.app.inject({ method: 'POST', url: '/v1/platform/exams', headers: platform.key, payload });
    for (const snapshotIntervalSeconds of [9, 3601, 12.5, '30', null, true]) {
      const refused = await create({ exam: 'bad', title: 't', snapshotIntervalSeconds });
      assert.deepEqual([refused.statusCode, refused.json().error.code], [400, 'EV_ERR_EXAM_INVALID_REQUEST'], String(snapshotIntervalSeconds));
    }
    assert.equal((await create({ exam: 'every-25', title: 'Every 25 s', snapshotIntervalSeconds: 25 })).json().snapshotIntervalSeconds, 25);
    assert.equal((await create({ exam: 'none', title: 'No snapshots', snapshotIntervalSeconds: 0 })).json().snapshotIntervalSeconds, 0);
    for (const [exam, interval] of [['every-25', 25], ['none', 0], ['never-created', DEFAULT_SNAPSHOT_INTERVAL_SECONDS]] as const) {
      const a = await s.attempt(inst, exam);
      const me = await s.app.inject({ method: 'GET', url: '/v1/attempts/me', headers: bearer(a.token) });
      assert.equal(me.json().snapshotIntervalSeconds, interval, exam);
    }
  });
});
