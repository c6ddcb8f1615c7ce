/**
 * The authorization matrix of the custody routes, generated from the app's route table: every route
 * under /v1/custody × every kind of caller, in a full custody scenario (approved and revoked
 * reviewers, a real recording). The expectations, and what `allow`, `own`, `hidden` and `deny` mean,
 * are in test/server/authorization.ts, shared with the whole-app matrix
 * (test/server/authorization-matrix.test.ts) and docs/AUTHORIZATION.md. A route without an entry
 * there fails the test, so a new route cannot ship without deciding who may call it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { type Staff, addStaff, approve, register, registrationBody, scenario, upload } from './support.js';
import { generateEpochKeyPair, exportPublicKey, signStatement, toBase64Url } from '../../../src/crypto/index.js';
import { type Caller, callers, expectations, judge, routeKey, rowOf } from '../authorization.js';

describe('custody authorization matrix', () => {
  it('allows or denies every custody route for every caller exactly as documented', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const noGrant = await addStaff(s, inst, 'rev-pending', 'reviewer');
    const approved = await addStaff(s, inst, 'rev-approved', 'reviewer');
    const revoked = await addStaff(s, inst, 'rev-revoked', 'reviewer');
    for (const r of [noGrant, approved, revoked]) await register(s, r);
    for (const r of [approved, revoked]) assert.equal((await approve(s, admin, r, 1, inst.keys)).statusCode, 201);
    await upload(s, inst, 'cam-1');
    const cam1 = await s.services.cells.get(inst.region)?.db.selectFrom('recordings').select(['exam_id', 'attempt_id']).where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    assert.ok(cam1);
    const epoch2 = await generateEpochKeyPair();
    const revocation = await signStatement({ type: 'revocation', institution: inst.id, timestamp: Date.now(), admin: admin.id, reviewer: revoked.id, epoch: 2, epochPublicKey: await exportPublicKey(epoch2.publicKey) }, admin.keys.signing.privateKey);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: { revocation: toBase64Url(revocation) } })).statusCode, 201);
    // The approved reviewer's grant is for epoch 1, the recording's epoch: still valid after the revocation.

    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    await register(s, otherAdmin);
    const takerA = await s.attempt(inst);
    const takerB = await s.attempt(inst);

    const staffOf: Partial<Record<Caller, Staff>> = { reviewerNoGrant: noGrant, approvedReviewer: approved, revokedReviewer: revoked, admin, otherInstitution: otherAdmin };
    const bodies = new Map<Staff, unknown>();
    for (const m of Object.values(staffOf)) bodies.set(m, await registrationBody(m));

    await s.app.ready();
    const routes = s.app.routeTable.filter((r) => r.url.startsWith('/v1/custody'));
    assert.ok(routes.length >= 13);
    const keys = routes.map(routeKey);
    const missing = keys.filter((k) => !(k in expectations));
    assert.deepEqual(missing, [], `custody routes without an authorization entry: ${missing.join(', ')}`);
    assert.deepEqual(Object.keys(expectations).filter((k) => / \/v1\/custody\//.test(k)).filter((k) => !keys.includes(k)), [], 'entries for custody routes that do not exist');

    // Deleting goes last: the other rows read the recording first.
    const ordered = [...routes].sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    const failures: string[] = [];
    for (const route of ordered) {
      const key = routeKey(route);
      const url = route.url.replace(':institution', inst.id).replace(':recording', 'cam-1').replace(':n', '0').replace(':exam', cam1.exam_id).replace(':attempt', cam1.attempt_id);
      // The admin deletes last of all callers, so every caller meets the recording.
      for (const caller of [...callers].sort((a, b) => Number(a === 'admin') - Number(b === 'admin'))) {
        const rule = rowOf(key)[caller];
        const staff = staffOf[caller];
        const sending = route.method !== 'GET';
        const headers: Record<string, string> =
          caller === 'takerA' ? { authorization: `Bearer ${takerA.token}` }
          : caller === 'takerB' ? { authorization: `Bearer ${takerB.token}` }
          : staff ? { ...(sending ? staff.send : staff.get) }
          : {};
        const options: InjectOptions = { method: route.method as InjectOptions['method'], url, headers };
        if (sending && route.method !== 'DELETE') options.payload = key === 'PUT /v1/custody/me/keys' && staff ? (bodies.get(staff) as object) : {};
        const res = await s.app.inject(options);
        if (!judge(rule, res, [inst.id])) failures.push(`${key} as ${caller}: expected ${rule}, got ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
