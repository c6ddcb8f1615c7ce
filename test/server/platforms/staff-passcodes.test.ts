/**
 * Passcodes an institution's admin issues (POST /v1/exams/:exam/passcodes) against the real app and
 * real SQLite cells: the platform's passcodes exactly (format, keyed hashes, single use, expiry), issued
 * by no platform (no webhooks), audited with the admin as issuer, and refused to everyone else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuedPasscodes } from '../../../src/protocol/passcodes.js';
import { addStaff } from '../custody/support.js';
import { filesContaining, readAllFiles } from '../support/data-files.js';
import { bearer, startTestServer } from '../support/test-server.js';
import { redeem, registerTestPlatform } from './support.js';

const url = (exam: string): string => `/v1/exams/${exam}/passcodes`;

describe('passcodes issued by an admin', () => {
  it('are single-use passcodes of the exam, stored as keyed hashes, audited with the admin and sending no webhook', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-passcodes', 'admin');
    const exam = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'chem-101', title: 'Chemistry 101' } });
    assert.equal(exam.statusCode, 201, exam.body);

    const res = await s.app.inject({ method: 'POST', url: url('chem-101'), headers: admin.send, payload: { count: 4, ttlSeconds: 3600 } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const { passcodes } = res.json<IssuedPasscodes>();
    assert.equal(passcodes.length, 4);
    assert.equal(new Set(passcodes.map((p) => p.attempt)).size, 4);
    assert.equal(new Set(passcodes.map((p) => p.passcode.slice(0, 5))).size, 1, 'one exam, one locator');
    for (const p of passcodes) {
      assert.match(p.passcode, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
      assert.deepEqual([p.institution, p.exam, p.expiresAt], [inst.id, 'chem-101', new Date(s.now + 3_600_000).toISOString()]);
    }

    for (const p of passcodes) {
      const first = await redeem(s, p.passcode);
      assert.equal(first.statusCode, 200, JSON.stringify(first.body));
      assert.deepEqual([first.body.exam, first.body.attempt, first.body.title], ['chem-101', p.attempt, 'Chemistry 101']);
      const probe = await s.app.inject({ method: 'GET', url: '/v1/recordings/rec-none', headers: bearer(first.body.token) });
      assert.equal(probe.statusCode, 404, probe.body);
      const second = await redeem(s, p.passcode);
      assert.deepEqual([second.statusCode, second.code], [410, 'EV_ERR_PASSCODE_USED']);
    }

    const late = (await s.app.inject({ method: 'POST', url: url('chem-101'), headers: admin.send, payload: { count: 1, ttlSeconds: 300 } })).json<IssuedPasscodes>();
    s.now += 300_000;
    assert.equal((await redeem(s, late.passcodes[0]!.passcode)).code, 'EV_ERR_PASSCODE_EXPIRED');

    const cell = s.services.cells.get('eu')!;
    const events = await cell.db.selectFrom('audit_log').select(['type', 'institution_id', 'payload']).where('type', '=', 'passcodes.issued').execute();
    assert.equal(events.length, 2);
    const payloads = events.map((e) => JSON.parse(new TextDecoder().decode(e.payload)) as Record<string, unknown>);
    assert.deepEqual(payloads.map((p) => [p.exam, p.count, p.by]), [['chem-101', 4, 'adm-passcodes'], ['chem-101', 1, 'adm-passcodes']]);
    assert.ok(events.every((e) => e.institution_id === inst.id));
    assert.deepEqual(await cell.db.selectFrom('webhook_outbox').selectAll().execute(), []);

    await cell.audit.idle();
    const files = await readAllFiles(s.dataDir);
    for (const p of passcodes) assert.deepEqual(filesContaining(files, p.passcode.replace(/-/g, '')), []);
  });

  it('are refused to reviewers, other institutions, platform keys, missing sessions and CSRF tokens, and to bad counts', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const other = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-a', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-a', 'reviewer');
    const otherAdmin = await addStaff(s, other, 'adm-b', 'admin');
    const platform = await registerTestPlatform(s, inst);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'chem-101', title: 'Chemistry 101' } })).statusCode, 201);
    const code = (body: string): string | undefined => (JSON.parse(body) as { error?: { code: string } }).error?.code;

    const refusals: Array<[string, Record<string, string>, number]> = [
      ['reviewer', reviewer.send, 403],
      ['platform key', platform.key, 401],
      ['no session', {}, 401],
      ['no CSRF token', { cookie: admin.send.cookie!, origin: admin.send.origin! }, 403],
      // The exam is looked up in the caller's own institution: another's is not found.
      ['another institution', otherAdmin.send, 404],
    ];
    for (const [who, headers, status] of refusals) {
      const res = await s.app.inject({ method: 'POST', url: url('chem-101'), headers, payload: { count: 1 } });
      assert.equal(res.statusCode, status, `${who}: ${res.body}`);
    }
    for (const payload of [{}, { count: 0 }, { count: 501 }, { count: 2.5 }, { count: '3' }, { count: 1, ttlSeconds: 10 }, { count: 1, attempt: 'a' }, [1]]) {
      const res = await s.app.inject({ method: 'POST', url: url('chem-101'), headers: admin.send, payload });
      assert.deepEqual([res.statusCode, code(res.body)], [400, 'EV_ERR_PASSCODE_ISSUE_INVALID_REQUEST'], JSON.stringify(payload));
    }
    const missing = await s.app.inject({ method: 'POST', url: url('no-such-exam'), headers: admin.send, payload: { count: 1 } });
    assert.deepEqual([missing.statusCode, code(missing.body)], [404, 'EV_ERR_EXAM_NOT_FOUND']);
    assert.deepEqual(await s.services.cells.get('eu')!.db.selectFrom('passcodes').select('id').execute(), []);
  });
});
