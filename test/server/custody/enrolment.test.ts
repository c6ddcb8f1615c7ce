/**
 * Admin enrolment (docs/CUSTODY-SERVER.md, "Admins: set-up and enrolment"): an admin's keys count only
 * once an `admin-enrolment` names them, signed by the recovery key at set-up (the first admin), by an
 * enrolled admin (POST /v1/custody/admins), or by the recovery key again when every admin is lost.
 * An admin's session alone signs nothing the server accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createGrant,
  deriveRecoveryKeys,
  memberFingerprint,
  generateMemberKeys,
  generateRecoverySecret,
  fromBase64Url,
  signStatement,
  toBase64Url,
  verifyStatement,
} from '../../../src/crypto/index.js';
import { startTestServer } from '../support/test-server.js';
import { type Staff, addStaff, approve, cellOf, enrolBody, register, registerKeys, setUpBody } from './support.js';

async function enrolled(s: Parameters<typeof cellOf>[0]): Promise<number> {
  return (await cellOf(s).db.selectFrom('audit_log').select('seq').where('type', '=', 'custody.admin-enrolled').execute()).length;
}

function code(res: { statusCode: number; json(): { error: { code: string } } }): string {
  return `${res.statusCode} ${res.json().error.code}`;
}

describe('custody: admin enrolment', () => {
  it('the first admin is enrolled by the recovery key at set-up; a set-up naming another admin or not signed by the recovery key is refused', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const first = await addStaff(s, inst, 'adm-1', 'admin');
    const second = await addStaff(s, inst, 'adm-2', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    for (const m of [first, second, reviewer]) await registerKeys(s, m);

    // Before set-up nothing vouches for adm-1's keys: it cannot approve anyone.
    const unenrolled = await approve(s, first, reviewer, 1, inst.keys);
    assert.equal(unenrolled.statusCode, 403, unenrolled.body);
    assert.match(unenrolled.body, /EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED/);

    const recovery = await deriveRecoveryKeys(generateRecoverySecret());
    const body = await setUpBody(first, recovery);
    const put = (payload: unknown, who: Staff = first) => s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: who.send, payload: payload as object });
    // adm-2 sending adm-1's set-up: the enrolment names someone else than the admin setting up.
    assert.equal(code(await put(body, second)), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // An enrolment signed by another key than the recovery key the institution statement carries.
    const impostor = await generateMemberKeys();
    const forged = await signStatement({ type: 'admin-enrolment', institution: inst.id, timestamp: Date.now(), admin: first.id, hpkePublicKey: first.keys.hpkePublicKey, signingPublicKey: first.keys.signingPublicKey, enrolledBy: { kind: 'recovery' } }, impostor.signing.privateKey);
    assert.equal(code(await put({ ...body, enrolment: toBase64Url(forged) })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // No enrolment at all.
    assert.equal(code(await put({ ...body, enrolment: undefined })), '400 EV_ERR_CUSTODY_INVALID_REQUEST');
    // An epoch statement not signed by the admin setting up.
    const epochBy2 = await setUpBody(second, recovery);
    assert.equal(code(await put({ ...body, epoch: epochBy2.epoch })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.equal((await cellOf(s).db.selectFrom('audit_log').select('seq').where('type', '=', 'custody.recovery-set').execute()).length, 0);

    const ok = await put(body);
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal((await approve(s, first, reviewer, 1, inst.keys)).statusCode, 201);
    // adm-2 registered too, but only adm-1 was enrolled: adm-2 still signs nothing.
    assert.equal(code(await s.app.inject({ method: 'POST', url: '/v1/custody/admins', headers: second.send, payload: await enrolBody(second, first) })), '403 EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED');
    // The set-up's chain is what recorders now check epoch 1 against: recovery key → first admin → epoch 1.
    const epoch = (await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: reviewer.get })).json();
    assert.deepEqual(epoch.statements, [body.institution, body.enrolment, body.epoch]);
  });

  it('an enrolled admin enrols another; absent, forged, other-institution and stale enrolments are refused with stable codes', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const other = await s.institution('eu');
    const first = await addStaff(s, inst, 'adm-1', 'admin');
    await register(s, first); // the first admin: registers and sets up, so it is enrolled
    const second = await addStaff(s, inst, 'adm-2', 'admin');
    await register(s, second); // pending: set-up is done
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, reviewer);
    const url = '/v1/custody/admins';
    const enrol = (who: Staff, payload: unknown) => s.app.inject({ method: 'POST', url, headers: who.send, payload: payload as object });

    // Absent: adm-2 has only its session; it cannot approve, and cannot enrol anyone.
    const pending = await approve(s, second, reviewer, 1, inst.keys);
    assert.equal(code({ statusCode: pending.statusCode, json: () => JSON.parse(pending.body) }), '403 EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED');
    assert.equal(code(await enrol(first, {})), '400 EV_ERR_CUSTODY_INVALID_REQUEST');
    // A reviewer's approval does not enrol an admin either.
    const approval = await signStatement({ type: 'approval', institution: inst.id, timestamp: Date.now(), admin: first.id, reviewer: second.id, epoch: 1, fingerprint: await memberFingerprint(second.keys) }, first.keys.signing.privateKey);
    const grant = await createGrant(inst.keys.privateKey, { institution: inst.id, epoch: 1 }, { kind: 'member', member: second.id, keys: second.keys });
    assert.equal(code(await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: first.send, payload: { grant, approval: toBase64Url(approval) } })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');

    const good = await enrolBody(first, second);
    // Forged: the enrolment's last signature byte flipped; and one signed by a key that is not adm-1's.
    const flipped = fromBase64Url(good.enrolment) as Uint8Array;
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    assert.equal(code(await enrol(first, { ...good, enrolment: toBase64Url(flipped) })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    const impostor = await generateMemberKeys();
    assert.equal(code(await enrol(first, await enrolBody({ ...first, keys: impostor }, second))), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // Signed by adm-1 but sent by adm-2: only the requesting admin's own signature counts.
    assert.equal(code(await enrol(second, good)), '403 EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED');
    // Other institution: adm-1 signs an enrolment of adm-2 for another institution.
    const foreign = await signStatement({ type: 'admin-enrolment', institution: other.id, timestamp: Date.now(), admin: second.id, hpkePublicKey: second.keys.hpkePublicKey, signingPublicKey: second.keys.signingPublicKey, enrolledBy: { kind: 'admin', admin: first.id } }, first.keys.signing.privateKey);
    assert.equal(code(await enrol(first, { ...good, enrolment: toBase64Url(foreign) })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // Stale: adm-2 registers new keys; the enrolment adm-1 signed names the old ones.
    const renewed: Staff = { ...second, keys: await generateMemberKeys() };
    await registerKeys(s, renewed);
    assert.equal(code(await enrol(first, good)), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.equal(await enrolled(s), 0);

    // The enrolment of adm-2's current keys, with epoch 1 granted to them.
    const ok = await enrol(first, await enrolBody(first, renewed));
    assert.equal(ok.statusCode, 201, ok.body);
    assert.deepEqual(ok.json().epochs, [1]);
    assert.equal(await enrolled(s), 1);
    assert.equal((await approve(s, renewed, reviewer, 1, inst.keys)).statusCode, 201);

    // Stale signer: adm-1 replaces its keys, so it is pending again and its old signatures count for nothing.
    const firstRenewed: Staff = { ...first, keys: await generateMemberKeys() };
    await registerKeys(s, firstRenewed);
    const third = await addStaff(s, inst, 'adm-3', 'admin');
    await register(s, third);
    assert.equal(code(await enrol(firstRenewed, await enrolBody(first, third))), '403 EV_ERR_CUSTODY_ADMIN_NOT_ENROLLED');
    assert.equal((await enrol(renewed, await enrolBody(renewed, firstRenewed))).statusCode, 201);
    assert.equal(code(await enrol(firstRenewed, await enrolBody(first, third))), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.equal((await enrol(firstRenewed, await enrolBody(firstRenewed, third))).statusCode, 201);

    // The admin console's view: every admin with the enrolments that vouch for it, which verify
    // under the enrolling admin's key (the client checks them; the server's word counts for nothing).
    const admins = (await s.app.inject({ method: 'GET', url, headers: first.get })).json().admins as { member: string; status: string; approvals: string[] }[];
    assert.deepEqual(admins.map((a) => [a.member, a.status]), [['adm-1', 'approved'], ['adm-2', 'approved'], ['adm-3', 'approved']]);
    const ofThird = admins.find((a) => a.member === 'adm-3');
    assert.equal(ofThird?.approvals.length, 1);
    const checked = await verifyStatement(fromBase64Url(ofThird?.approvals[0] as string) as Uint8Array, (signer) => (signer.kind === 'admin' && signer.admin === 'adm-1' ? firstRenewed.keys.signingPublicKey : null), 'admin-enrolment');
    assert.ok(checked.ok);
    assert.equal((await s.app.inject({ method: 'GET', url, headers: reviewer.get })).statusCode, 403);
  });
});
