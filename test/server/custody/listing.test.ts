/**
 * The reviewer-facing lists (docs/CUSTODY-SERVER.md): an exam's attempts and an attempt's recordings,
 * for admins and approved members of the institution, metadata only. Who else is refused is also in
 * the authorization matrix; here, what the lists say and that they stay inside the institution.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordingListResponse, AttemptListResponse } from '../../../src/protocol/custody.js';
import { octets } from '../support/test-server.js';
import { addStaff, approve, register, scenario } from './support.js';

describe('custody: attempts and recordings lists', () => {
  it("lists an exam's attempts and an attempt's recordings with tracks, epochs, segment counts and the complete flag", async (t) => {
    const { s, inst, admin } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);

    // Attempt A: a complete camera recording (2 segments) and a screen recording still in progress (1 of ?).
    const a = await s.attempt(inst, 'exam-42');
    const cam = await s.sealer(a, 'a-cam', { track: 'camera', maxSegment: 100 });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.from(cam.header.bytes) })).statusCode, 201);
    for (const [i, last] of [false, true].entries()) {
      const r = await s.app.inject({ method: 'PUT', url: `/v1/recordings/a-cam/segments/${i}`, headers: octets(a.token), payload: Buffer.from(await cam.sealNext(new Uint8Array(50), last)) });
      assert.equal(r.statusCode, 201, r.body);
    }
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings/a-cam/complete', headers: { authorization: `Bearer ${a.token}` }, payload: { segmentCount: 2 } })).statusCode, 200);
    s.now += 1000;
    const screen = await s.sealer(a, 'a-screen', { track: 'screen', maxSegment: 100 });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.from(screen.header.bytes) })).statusCode, 201);
    assert.equal((await s.app.inject({ method: 'PUT', url: '/v1/recordings/a-screen/segments/0', headers: octets(a.token), payload: Buffer.from(await screen.sealNext(new Uint8Array(10), false)) })).statusCode, 201);
    // Attempt B of the same exam: a credential, nothing recorded yet. Attempt C: another exam.
    const b = await s.attempt(inst, 'exam-42');
    const c = await s.attempt(inst, 'exam-7');

    for (const who of [admin, rev]) {
      const attempts = await s.app.inject({ method: 'GET', url: '/v1/custody/exams/exam-42/attempts', headers: who.get });
      assert.equal(attempts.statusCode, 200, attempts.body);
      const expected: AttemptListResponse = {
        institution: inst.id,
        exam: 'exam-42',
        attempts: [{ attempt: a.attempt, recordings: 2 }, { attempt: b.attempt, recordings: 0 }].sort((x, y) => (x.attempt < y.attempt ? -1 : 1)),
      };
      assert.deepEqual(attempts.json(), expected);
      assert.ok(!attempts.body.includes(c.attempt));

      const recordings = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${a.attempt}/recordings`, headers: who.get });
      assert.equal(recordings.statusCode, 200, recordings.body);
      const body = recordings.json<RecordingListResponse>();
      assert.equal(body.institution, inst.id);
      assert.equal(body.exam, 'exam-42');
      assert.deepEqual(body.recordings.map(({ createdAt: _c, completedAt, ...r }) => ({ ...r, completed: completedAt !== null })), [
        { recording: 'a-cam', track: 'camera', epoch: 1, segments: 2, segmentCount: 2, complete: true, completed: true },
        { recording: 'a-screen', track: 'screen', epoch: 1, segments: 1, segmentCount: null, complete: false, completed: false },
      ]);
      // Metadata only: no header, no wrapped key.
      assert.ok(!('header' in (body.recordings[0] as object)));

      const none = (await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${b.attempt}/recordings`, headers: who.get })).json<RecordingListResponse>();
      assert.deepEqual(none, { institution: inst.id, attempt: b.attempt, exam: 'exam-42', recordings: [] });
      const unknown = (await s.app.inject({ method: 'GET', url: '/v1/custody/attempts/no-such-attempt/recordings', headers: who.get })).json<RecordingListResponse>();
      assert.deepEqual(unknown, { institution: inst.id, attempt: 'no-such-attempt', exam: null, recordings: [] });
    }
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/custody/exams/exam-404/attempts', headers: admin.get })).json<AttemptListResponse>().attempts.length, 0);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/custody/exams/..%2Fx/attempts', headers: admin.get })).statusCode, 400);
  });

  it('refuses reviewers without a grant, test takers and anonymous callers, and never shows another institution', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const pending = await addStaff(s, inst, 'rev-pending', 'reviewer');
    await register(s, pending);
    const unregistered = await addStaff(s, inst, 'rev-new', 'reviewer');
    const a = await s.attempt(inst, 'exam-1');
    const sealer = await s.sealer(a, 'rec-1');
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(a.token), payload: Buffer.from(sealer.header.bytes) })).statusCode, 201);

    for (const url of ['/v1/custody/exams/exam-1/attempts', `/v1/custody/attempts/${a.attempt}/recordings`]) {
      for (const who of [pending, unregistered]) {
        const r = await s.app.inject({ method: 'GET', url, headers: who.get });
        assert.equal(r.statusCode, 403, `${who.id} ${url}: ${r.body}`);
        assert.equal(r.json().error.code, 'EV_ERR_CUSTODY_NO_GRANT');
      }
      assert.equal((await s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${a.token}` } })).statusCode, 401);
      assert.equal((await s.app.inject({ method: 'GET', url })).statusCode, 401);
      assert.equal((await s.app.inject({ method: 'GET', url, headers: admin.get })).statusCode, 200);
    }

    // An admin of another institution asks for our exam and attempt ids: it gets its own, empty, lists.
    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    const attempts = await s.app.inject({ method: 'GET', url: '/v1/custody/exams/exam-1/attempts', headers: otherAdmin.get });
    assert.deepEqual(attempts.json(), { institution: other.id, exam: 'exam-1', attempts: [] });
    const recordings = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${a.attempt}/recordings`, headers: otherAdmin.get });
    assert.deepEqual(recordings.json(), { institution: other.id, attempt: a.attempt, exam: null, recordings: [] });
  });
});
