/**
 * An admin lists an exam's passcodes (GET /v1/exams/:exam/passcodes) and withdraws unused ones
 * (DELETE /v1/exams/:exam/passcodes/:id), against the real app and real SQLite cells: the list says
 * where each passcode stands and never holds one; a withdrawn passcode redeems exactly like one never
 * issued; the withdrawal is audited first; and of a withdrawal and a redemption racing, one wins.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SECRET_LENGTH, composePasscode, formatPasscode, readPasscode } from '../../../src/protocol/passcode-format.js';
import type { IssuedPasscodes, PasscodeList, PasscodeSummary } from '../../../src/protocol/passcodes.js';
import { addStaff } from '../custody/support.js';
import type { TestInstitution, TestServer } from '../support/test-server.js';
import { startTestServer } from '../support/test-server.js';
import { issuePasscode, redeem, registerTestPlatform } from './support.js';

const list = (exam: string): string => `/v1/exams/${exam}/passcodes`;
const one = (exam: string, id: string): string => `/v1/exams/${exam}/passcodes/${id}`;
const readLocator = (passcode: string): string => {
  const reading = readPasscode(passcode);
  assert.ok(reading.ok);
  return reading.locator;
};
const code = (body: string): string | undefined => (JSON.parse(body) as { error?: { code: string } }).error?.code;

async function examWithAdmin(s: TestServer, inst: TestInstitution, name: string, exam: string) {
  const admin = await addStaff(s, inst, name, 'admin');
  const created = await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam, title: `Exam ${exam}` } });
  assert.equal(created.statusCode, 201, created.body);
  return admin;
}

async function listed(s: TestServer, headers: Record<string, string>, exam: string): Promise<readonly PasscodeSummary[]> {
  const res = await s.app.inject({ method: 'GET', url: list(exam), headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  return res.json<PasscodeList>().passcodes;
}

describe('listing and withdrawing an exam\'s passcodes', () => {
  it('lists them newest first without the passcodes, and a withdrawn one redeems like one never issued', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await examWithAdmin(s, inst, 'adm-list', 'chem-101');
    const issued = (await s.app.inject({ method: 'POST', url: list('chem-101'), headers: admin.send, payload: { count: 3, ttlSeconds: 3600 } })).json<IssuedPasscodes>().passcodes;
    s.now += 1000;
    const platform = await registerTestPlatform(s, inst);
    const fromPlatform = await issuePasscode(s, platform, 'chem-101', { attempt: 'att-platform', ttlSeconds: 300 });
    assert.equal((await redeem(s, issued[0]!.passcode)).statusCode, 200);
    s.now += 1000;

    const rows = await listed(s, admin.send, 'chem-101');
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[0], {
      id: rows[0]!.id, attempt: 'att-platform', issuedBy: 'platform', platform: platform.platform,
      createdAt: new Date(s.now - 1000).toISOString(), expiresAt: fromPlatform.expiresAt, usedAt: null, state: 'unused',
    });
    const byAttempt = new Map(rows.map((r) => [r.attempt, r]));
    assert.deepEqual(issued.map((p) => [byAttempt.get(p.attempt)?.issuedBy, byAttempt.get(p.attempt)?.platform, byAttempt.get(p.attempt)?.state]), [['admin', null, 'used'], ['admin', null, 'unused'], ['admin', null, 'unused']]);
    assert.equal(byAttempt.get(issued[0]!.attempt)?.usedAt, new Date(s.now - 1000).toISOString());
    const body = JSON.stringify(rows);
    const hashes = await s.services.cells.get('eu')!.db.selectFrom('passcodes').select('code_hash').execute();
    for (const secret of [...issued.map((p) => p.passcode), fromPlatform.passcode, ...hashes.map((h) => h.code_hash)]) assert.ok(!body.includes(secret) && !body.includes(secret.replace(/-/g, '')));

    // Withdrawn: audited first, gone from the list, and redeeming it is a wrong passcode like any other.
    const target = byAttempt.get(issued[1]!.attempt)!;
    const withdrawn = await s.app.inject({ method: 'DELETE', url: one('chem-101', target.id), headers: admin.send });
    assert.equal(withdrawn.statusCode, 204, withdrawn.body);
    const cell = s.services.cells.get('eu')!;
    const events = await cell.db.selectFrom('audit_log').select(['payload', 'institution_id']).where('type', '=', 'passcodes.withdrawn').execute();
    assert.deepEqual(events.map((e) => [e.institution_id, JSON.parse(new TextDecoder().decode(e.payload)) as unknown]), [[inst.id, { exam: 'chem-101', passcode: target.id, attempt: target.attempt, by: 'adm-list' }]]);
    assert.deepEqual((await listed(s, admin.send, 'chem-101')).map((r) => r.id).sort(), rows.filter((r) => r.id !== target.id).map((r) => r.id).sort());
    const afterWithdrawal = await s.app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode: issued[1]!.passcode }, remoteAddress: '198.51.100.1' });
    // A passcode of the same exam (same locator, valid check character) that was never issued.
    const neverIssued = formatPasscode(composePasscode(readLocator(issued[1]!.passcode), randomBytes(SECRET_LENGTH)));
    const unknown = await s.app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode: neverIssued }, remoteAddress: '198.51.100.2' });
    assert.deepEqual([afterWithdrawal.statusCode, code(afterWithdrawal.body)], [401, 'EV_ERR_PASSCODE_INVALID']);
    assert.deepEqual([afterWithdrawal.statusCode, afterWithdrawal.body, afterWithdrawal.headers['retry-after']], [unknown.statusCode, unknown.body, unknown.headers['retry-after']]);

    // A platform's passcode is withdrawn the same way; a used one, an unknown id, another exam's are refused.
    const platformRow = rows[0]!;
    assert.equal((await s.app.inject({ method: 'DELETE', url: one('chem-101', platformRow.id), headers: admin.send })).statusCode, 204);
    assert.deepEqual([(await redeem(s, fromPlatform.passcode, '198.51.100.3')).code], ['EV_ERR_PASSCODE_INVALID']);
    const used = await s.app.inject({ method: 'DELETE', url: one('chem-101', byAttempt.get(issued[0]!.attempt)!.id), headers: admin.send });
    assert.deepEqual([used.statusCode, code(used.body)], [409, 'EV_ERR_PASSCODE_ALREADY_USED']);
    for (const id of [target.id, 'pc-none', 'not an id']) {
      const res = await s.app.inject({ method: 'DELETE', url: one('chem-101', encodeURIComponent(id)), headers: admin.send });
      assert.deepEqual([res.statusCode, code(res.body)], [404, 'EV_ERR_PASSCODE_NOT_FOUND'], id);
    }
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'bio-201', title: 'Biology' } })).statusCode, 201);
    const otherExam = await s.app.inject({ method: 'DELETE', url: one('bio-201', byAttempt.get(issued[2]!.attempt)!.id), headers: admin.send });
    assert.deepEqual([otherExam.statusCode, code(otherExam.body)], [404, 'EV_ERR_PASSCODE_NOT_FOUND']);
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await s.app.inject({ method, url: method === 'GET' ? list('no-such-exam') : one('no-such-exam', target.id), headers: admin.send });
      assert.deepEqual([res.statusCode, code(res.body)], [404, 'EV_ERR_EXAM_NOT_FOUND'], method);
    }
    // Expired but never used: listed as expired, and still withdrawable.
    s.now += 3600_000;
    const left = await listed(s, admin.send, 'chem-101');
    assert.deepEqual(left.map((r) => r.state).sort(), ['expired', 'used']);
    assert.equal((await s.app.inject({ method: 'DELETE', url: one('chem-101', byAttempt.get(issued[2]!.attempt)!.id), headers: admin.send })).statusCode, 204);
    assert.equal((await s.services.cells.get('eu')!.db.selectFrom('audit_log').select('seq').where('type', '=', 'passcodes.withdrawn').execute()).length, 3);
  });

  it('pages by position: every passcode once, in order, whatever is withdrawn between pages; a bad limit or before is a 400', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await examWithAdmin(s, inst, 'adm-pages', 'bio-7');
    for (const count of [3, 2, 2]) {
      const res = await s.app.inject({ method: 'POST', url: list('bio-7'), headers: admin.send, payload: { count, ttlSeconds: 3600 } });
      assert.equal(res.statusCode, 201, res.body);
      s.now += 1000; // batches apart in time, passcodes of a batch at the same instant
    }
    const all = await listed(s, admin.send, 'bio-7');
    assert.equal(all.length, 7);
    const page = async (query: string): Promise<PasscodeList> => {
      const res = await s.app.inject({ method: 'GET', url: `${list('bio-7')}?${query}`, headers: admin.send });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<PasscodeList>();
    };
    assert.equal((await s.app.inject({ method: 'GET', url: list('bio-7'), headers: admin.send })).json<PasscodeList>().next, null);

    const first = await page('limit=3');
    assert.deepEqual(first.passcodes, all.slice(0, 3));
    assert.ok(first.next);
    // Withdrawn between pages: the next page starts where the first ended, and skips it.
    const gone = all[4]!;
    assert.equal((await s.app.inject({ method: 'DELETE', url: one('bio-7', gone.id), headers: admin.send })).statusCode, 204);
    const second = await page(`limit=2&before=${encodeURIComponent(first.next)}`);
    assert.deepEqual(second.passcodes, [all[3], all[5]]);
    assert.ok(second.next);
    const third = await page(`limit=2&before=${encodeURIComponent(second.next)}`);
    assert.deepEqual(third, { passcodes: [all[6]], next: null });
    // A page that ends exactly at the last passcode says so.
    assert.deepEqual((await page('limit=6')).next, null);
    assert.ok((await page('limit=5')).next);

    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'limit=2.5', 'before=x', 'before=12.', 'before=.pc-1', `before=${'9'.repeat(16)}.pc-1`]) {
      const res = await s.app.inject({ method: 'GET', url: `${list('bio-7')}?${query}`, headers: admin.send });
      assert.deepEqual([res.statusCode, code(res.body)], [400, 'EV_ERR_API_BAD_REQUEST'], query);
    }
  });

  it("finds one attempt's passcodes, paged the same way; a bad attempt is a 400", async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await examWithAdmin(s, inst, 'adm-find', 'bio-8');
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'bio-9', title: 'Exam bio-9' } })).statusCode, 201);
    const issued = (await s.app.inject({ method: 'POST', url: list('bio-8'), headers: admin.send, payload: { count: 4, ttlSeconds: 3600 } })).json<IssuedPasscodes>().passcodes;
    const platform = await registerTestPlatform(s, inst);
    // The platform issues its attempt a passcode three times (each a reissue), in bio-8 and once in bio-9.
    for (const exam of ['bio-8', 'bio-8', 'bio-9', 'bio-8']) {
      s.now += 1000;
      await issuePasscode(s, platform, exam, { attempt: 'att-re', ttlSeconds: 300 });
    }
    const find = async (exam: string, query: string): Promise<PasscodeList> => {
      const res = await s.app.inject({ method: 'GET', url: `${list(exam)}?${query}`, headers: admin.send });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<PasscodeList>();
    };
    const target = issued[2]!.attempt;
    const alone = await find('bio-8', `attempt=${encodeURIComponent(target)}`);
    assert.deepEqual([alone.passcodes.map((p) => p.attempt), alone.next], [[target], null]);
    const all = (await listed(s, admin.send, 'bio-8')).filter((p) => p.attempt === 'att-re');
    assert.equal(all.length, 3);
    const first = await find('bio-8', 'attempt=att-re&limit=2');
    assert.deepEqual(first.passcodes, all.slice(0, 2));
    assert.ok(first.next);
    assert.deepEqual(await find('bio-8', `attempt=att-re&limit=2&before=${encodeURIComponent(first.next)}`), { passcodes: all.slice(2), next: null });
    assert.equal((await find('bio-9', 'attempt=att-re')).passcodes.length, 1);
    assert.deepEqual(await find('bio-9', `attempt=${encodeURIComponent(target)}`), { passcodes: [], next: null });
    assert.deepEqual(await find('bio-8', 'attempt=no-such-attempt'), { passcodes: [], next: null });

    for (const query of ['attempt=', 'attempt=a%20b', `attempt=${'a'.repeat(65)}`, 'attempt=-x', 'attempt=x&attempt=y']) {
      const res = await s.app.inject({ method: 'GET', url: `${list('bio-8')}?${query}`, headers: admin.send });
      assert.deepEqual([res.statusCode, code(res.body)], [400, 'EV_ERR_API_BAD_REQUEST'], query);
    }
  });

  it('are refused to reviewers, other institutions, missing sessions and CSRF tokens', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const other = await s.institution('eu');
    const admin = await examWithAdmin(s, inst, 'adm-a', 'chem-101');
    const reviewer = await addStaff(s, inst, 'rev-a', 'reviewer');
    const otherAdmin = await examWithAdmin(s, other, 'adm-b', 'other-exam');
    const issued = (await s.app.inject({ method: 'POST', url: list('chem-101'), headers: admin.send, payload: { count: 1 } })).json<IssuedPasscodes>().passcodes;
    const [row] = await listed(s, admin.send, 'chem-101');
    const refusals: Array<[string, Record<string, string>, number]> = [
      ['reviewer', reviewer.send, 403],
      ['no session', {}, 401],
      ['another institution', otherAdmin.send, 404],
    ];
    for (const [who, headers, status] of refusals) {
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await s.app.inject({ method, url: method === 'GET' ? list('chem-101') : one('chem-101', row!.id), headers });
        assert.equal(res.statusCode, status, `${who} ${method}: ${res.body}`);
      }
    }
    const noCsrf = await s.app.inject({ method: 'DELETE', url: one('chem-101', row!.id), headers: { cookie: admin.send.cookie!, origin: admin.send.origin! } });
    assert.equal(noCsrf.statusCode, 403, noCsrf.body);
    // Another institution's admin, on its own exam with the same passcode id: not found.
    const crossed = await s.app.inject({ method: 'DELETE', url: one('other-exam', row!.id), headers: otherAdmin.send });
    assert.deepEqual([crossed.statusCode, code(crossed.body)], [404, 'EV_ERR_PASSCODE_NOT_FOUND']);
    assert.equal((await redeem(s, issued[0]!.passcode)).statusCode, 200, 'nothing was withdrawn');
  });

  it('lets exactly one of a withdrawal and a redemption racing for the same passcode win', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await examWithAdmin(s, inst, 'adm-race', 'chem-101');
    const issued = (await s.app.inject({ method: 'POST', url: list('chem-101'), headers: admin.send, payload: { count: 24 } })).json<IssuedPasscodes>().passcodes;
    const ids = new Map((await listed(s, admin.send, 'chem-101')).map((r) => [r.attempt, r.id]));
    const outcomes = { withdrawn: 0, redeemed: 0 };
    for (const [i, p] of issued.entries()) {
      const withdraw = () => s.app.inject({ method: 'DELETE', url: one('chem-101', ids.get(p.attempt)!), headers: admin.send });
      const take = () => redeem(s, p.passcode, `192.0.2.${i + 1}`);
      // The redemption starts 0, 1, 5 or 250 ms after the withdrawal: at once, it overtakes the
      // withdrawal (which writes to the audit log first); later, it meets a withdrawal under way or done.
      const [w, r] = await Promise.all([withdraw(), delay([0, 1, 5, 250][i % 4]).then(take)]);
      const wOk = w.statusCode === 204;
      const rOk = r.statusCode === 200;
      assert.ok(wOk !== rOk, `exactly one wins: withdraw ${w.statusCode} ${w.body}, redeem ${r.statusCode} ${r.code}`);
      if (wOk) assert.deepEqual([r.statusCode, r.code], [401, 'EV_ERR_PASSCODE_INVALID']);
      else assert.deepEqual([w.statusCode, code(w.body)], [409, 'EV_ERR_PASSCODE_ALREADY_USED']);
      const stored = await s.services.cells.get('eu')!.db.selectFrom('passcodes').select('used_at').where('id', '=', ids.get(p.attempt)!).executeTakeFirst();
      assert.equal(stored === undefined, wOk, 'a withdrawn passcode is gone, a redeemed one stays used');
      if (stored) assert.notEqual(stored.used_at, null);
      outcomes[wOk ? 'withdrawn' : 'redeemed'] += 1;
    }
    t.diagnostic(`withdrawn ${outcomes.withdrawn}, redeemed ${outcomes.redeemed}`);
    assert.ok(outcomes.withdrawn > 0 && outcomes.redeemed > 0, 'both sides won some races');
  });
});
