/**
 * Exams (docs/EXAMS.md): what admins create and staff read, what bad input gets, and that exams
 * stay inside their institution. Who else is refused is in the authorization matrix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, type Exam } from '../../../src/protocol/exams.js';
import { addStaff, approve, register, scenario } from '../custody/support.js';

describe('exams', () => {
  it('admins create exams; admins and approved reviewers list and read them; ids are never reused', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const created = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'chem-101', title: 'Chemistry 101 final', snapshotIntervalSeconds: 30 } });
    assert.equal(created.statusCode, 201, created.body);
    const chem = created.json<Exam>();
    assert.deepEqual({ ...chem, createdAt: undefined }, { exam: 'chem-101', institution: inst.id, title: 'Chemistry 101 final', snapshotIntervalSeconds: 30, createdAt: undefined });
    assert.equal(chem.createdAt, new Date(s.now).toISOString());

    s.now += 1000;
    const generated = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { title: '  Physics  ' } });
    assert.equal(generated.statusCode, 201, generated.body);
    const physics = generated.json<Exam>();
    assert.match(physics.exam, /^exam-[a-z0-9]{20}$/);
    assert.equal(physics.title, 'Physics');
    assert.equal(physics.snapshotIntervalSeconds, DEFAULT_SNAPSHOT_INTERVAL_SECONDS);
    assert.equal(DEFAULT_SNAPSHOT_INTERVAL_SECONDS, 10, 'the interval recorders used before exams set one');

    const again = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'chem-101', title: 'Something else' } });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'EV_ERR_EXAM_EXISTS');

    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/exams', headers: rev.get })).statusCode, 403, 'a pending reviewer reads no exams');
    assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
    for (const who of [admin, rev]) {
      const list = await s.app.inject({ method: 'GET', url: '/v1/exams', headers: who.get });
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(list.json(), { exams: [chem, physics] });
      const one = await s.app.inject({ method: 'GET', url: '/v1/exams/chem-101', headers: who.get });
      assert.deepEqual(one.json(), chem);
      const none = await s.app.inject({ method: 'GET', url: '/v1/exams/chem-102', headers: who.get });
      assert.equal(none.statusCode, 404);
      assert.equal(none.json().error.code, 'EV_ERR_EXAM_NOT_FOUND');
    }
    const byReviewer = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: rev.send, payload: { title: 'Not mine to make' } });
    assert.equal(byReviewer.statusCode, 403);
  });

  it("keeps each institution's exams to itself", async (t) => {
    const { s, admin } = await scenario(t);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'shared-id', title: 'Ours' } })).statusCode, 201);
    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    await register(s, otherAdmin);
    assert.deepEqual((await s.app.inject({ method: 'GET', url: '/v1/exams', headers: otherAdmin.get })).json(), { exams: [] });
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/exams/shared-id', headers: otherAdmin.get })).statusCode, 404);
    // The same id is free in another institution: exam ids are per institution.
    const theirs = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: otherAdmin.send, payload: { exam: 'shared-id', title: 'Theirs' } });
    assert.equal(theirs.statusCode, 201, theirs.body);
    assert.equal(theirs.json<Exam>().institution, other.id);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/exams/shared-id', headers: admin.get })).json<Exam>().title, 'Ours');
  });

  it('answers bad input with 400 EV_ERR_EXAM_INVALID_REQUEST', async (t) => {
    const { s, admin } = await scenario(t);
    const bad: [string, unknown][] = [
      ['not an object', ['title']],
      ['no title', {}],
      ['empty title', { title: '   ' }],
      ['title too long', { title: 'x'.repeat(201) }],
      ['control character in title', { title: 'a\u0007b' }],
      ['title not a string', { title: 42 }],
      ['exam id with a slash', { exam: 'a/b', title: 't' }],
      ['exam id too long', { exam: 'x'.repeat(65), title: 't' }],
      ['snapshot interval below 10', { title: 't', snapshotIntervalSeconds: 5 }],
      ['snapshot interval above an hour', { title: 't', snapshotIntervalSeconds: 3601 }],
      ['snapshot interval not an integer', { title: 't', snapshotIntervalSeconds: 12.5 }],
      ['snapshot interval negative', { title: 't', snapshotIntervalSeconds: -10 }],
      ['snapshot interval a string', { title: 't', snapshotIntervalSeconds: '30' }],
      ['snapshot interval null', { title: 't', snapshotIntervalSeconds: null }],
      ['unknown field', { title: 't', owner: 'someone' }],
    ];
    for (const [what, payload] of bad) {
      const r = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: payload as object });
      assert.equal(r.statusCode, 400, `${what}: ${r.body}`);
      assert.equal(r.json().error.code, 'EV_ERR_EXAM_INVALID_REQUEST', what);
    }
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { title: 'none', snapshotIntervalSeconds: 0 } })).statusCode, 201);
  });
});
