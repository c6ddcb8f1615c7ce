/**
 * An institution created without an epoch key (`examvault institutions create --no-epoch-key`) awaits
 * its first admin's set-up (docs/CUSTODY-SERVER.md "Admins: set-up and enrolment"): nothing can be
 * sealed to it, and the set-up's epoch statement, signed by the admin the recovery key enrols, names
 * the epoch-1 public key the admin's client generated, which the server stores with the rest. Once
 * stored, that key is never replaced.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveRecoveryKeys,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  generateRecoverySecret,
  keyPairMatches,
  openGrant,
  signStatement,
  toBase64Url,
} from '../../../src/crypto/index.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import { type TestInstitution, type TestServer, octets, startTestServer } from '../support/test-server.js';
import { type Staff, addStaff, cellOf, registerKeys, setUpBody, upload } from './support.js';

function code(res: { statusCode: number; json(): { error: { code: string } } }): string {
  return `${res.statusCode} ${res.json().error.code}`;
}

/** A key-less institution in eu; `keys` is the pair its first admin's client will generate. */
async function awaiting(s: TestServer): Promise<TestInstitution> {
  const created = await createInstitution(s.services.cells, s.services.directory, { name: 'Keyless U', region: 'eu' }, s.now);
  return { id: created.id, region: 'eu', keys: await generateEpochKeyPair() };
}

async function storedKeys(s: TestServer, institution: string): Promise<string[]> {
  return (await cellOf(s).db.selectFrom('epoch_keys').select('public_key').where('institution_id', '=', institution).execute()).map((r) => r.public_key);
}

const put = (s: TestServer, who: Staff, payload: unknown) => s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: who.send, payload: payload as object });

describe('custody: an institution awaiting set-up', () => {
  it('seals nothing until set-up; set-up with a fresh key stores it, serves it and grants it to the recovery key; recordings then work', async (t) => {
    const s = await startTestServer(t);
    const inst = await awaiting(s);
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    await registerKeys(s, admin);
    assert.deepEqual(await storedKeys(s, inst.id), []);

    // A recorder with a valid credential learns the institution is not set up; a header is refused.
    const att = await s.attempt(inst);
    assert.equal(code(await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: { authorization: `Bearer ${att.token}` } })), '409 EV_ERR_CUSTODY_NOT_SET_UP');
    assert.equal(code(await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: admin.get })), '409 EV_ERR_CUSTODY_NOT_SET_UP');
    const sealer = await s.sealer(att, 'cam-early');
    const early = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
    assert.equal(code(early), '409 EV_ERR_UPLOAD_NOT_SET_UP');
    assert.equal((await cellOf(s).db.selectFrom('recordings').select('recording_id').execute()).length, 0, 'no recording row');

    const recovery = await deriveRecoveryKeys(generateRecoverySecret());
    const body = await setUpBody(admin, recovery, inst.keys);
    const ok = await put(s, admin, body);
    assert.equal(ok.statusCode, 201, ok.body);
    const publicKey = toBase64Url(await exportPublicKey(inst.keys.publicKey));
    assert.deepEqual(await storedKeys(s, inst.id), [publicKey]);

    // Served with the set-up's chain, and logged with the set-up in one entry naming the new key.
    const epoch = (await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: { authorization: `Bearer ${att.token}` } })).json();
    assert.equal(epoch.epoch, 1);
    assert.equal(epoch.publicKey, publicKey);
    assert.deepEqual(epoch.statements, [body.institution, body.enrolment, body.epoch]);
    const logged = await cellOf(s).db.selectFrom('audit_log').select(['seq', 'payload']).where('type', '=', 'custody.recovery-set').execute();
    assert.equal(logged.length, 1);
    const seq = Number(logged[0]?.seq);
    assert.deepEqual(epoch.auditSeqs, [seq, seq, seq]);
    assert.equal(JSON.parse(Buffer.from(logged[0]?.payload ?? []).toString('utf8')).epochPublicKey, publicKey);

    // The recovery key's grant opens to the key now served.
    const grants = (await s.app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: admin.get })).json() as { grants: { epoch: number; grant: unknown }[] };
    const served = fromBase64Url(epoch.publicKey) as Uint8Array;
    const opened = await openGrant(grants.grants[0]?.grant, { institution: inst.id, epoch: 1, epochPublicKey: served }, { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    assert.ok(await keyPairMatches(opened, served));

    const uploaded = await upload(s, inst, 'cam-after');
    assert.equal(uploaded.recording, 'cam-after');
    assert.equal((await cellOf(s).db.selectFrom('recordings').select('epoch').where('recording_id', '=', 'cam-after').executeTakeFirst())?.epoch, 1);
  });

  it('a second set-up cannot replace the key set up first', async (t) => {
    const s = await startTestServer(t);
    const inst = await awaiting(s);
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    await registerKeys(s, admin);
    const recovery = await deriveRecoveryKeys(generateRecoverySecret());
    assert.equal((await put(s, admin, await setUpBody(admin, recovery, inst.keys))).statusCode, 201);
    const first = await storedKeys(s, inst.id);

    // Another key, by the same admin with the same or a new recovery key: the institution is set up.
    const other = await generateEpochKeyPair();
    assert.equal(code(await put(s, admin, await setUpBody(admin, recovery, other))), '409 EV_ERR_CUSTODY_RECOVERY_ALREADY_SET');
    assert.equal(code(await put(s, admin, await setUpBody(admin, await deriveRecoveryKeys(generateRecoverySecret()), other))), '409 EV_ERR_CUSTODY_RECOVERY_ALREADY_SET');
    // A second admin of the institution, registered but not enrolled, cannot either.
    const second = await addStaff(s, inst, 'adm-2', 'admin');
    await registerKeys(s, second);
    assert.equal(code(await put(s, second, await setUpBody(second, recovery, other))), '409 EV_ERR_CUSTODY_RECOVERY_ALREADY_SET');
    assert.deepEqual(await storedKeys(s, inst.id), first);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: admin.get })).json().publicKey, first[0]);

    // An institution created with its key (the operator's) keeps refusing a set-up naming another.
    const keyed = await s.institution('eu');
    const keyedAdmin = await addStaff(s, keyed, 'adm-k', 'admin');
    await registerKeys(s, keyedAdmin);
    assert.equal(code(await put(s, keyedAdmin, await setUpBody(keyedAdmin, recovery, other))), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.deepEqual(await storedKeys(s, keyed.id), [toBase64Url(await exportPublicKey(keyed.keys.publicKey))]);
  });

  it('refuses an epoch statement the enrolled admin did not sign, for another epoch or of no curve point, or grants of another key, and stores nothing', async (t) => {
    const s = await startTestServer(t);
    const inst = await awaiting(s);
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    const second = await addStaff(s, inst, 'adm-2', 'admin');
    for (const m of [admin, second]) await registerKeys(s, m);
    const recovery = await deriveRecoveryKeys(generateRecoverySecret());
    const body = await setUpBody(admin, recovery, inst.keys);

    // adm-2's signature on an epoch statement naming a key of its choosing, in adm-1's set-up.
    const bySecond = await setUpBody(second, recovery, inst.keys);
    assert.equal(code(await put(s, admin, { ...body, epoch: bySecond.epoch })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // A key-less institution's first key is epoch 1's.
    const epoch2 = await setUpBody(admin, recovery, inst.keys, 2);
    assert.equal(code(await put(s, admin, { ...body, epoch: epoch2.epoch })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    // A statement naming 65 bytes that are no point of the curve.
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    const notAPoint = await signStatement({ type: 'epoch', institution: inst.id, timestamp: Date.now(), admin: admin.id, epoch: 1, epochPublicKey: offCurve }, admin.keys.signing.privateKey);
    const refused = await put(s, admin, { ...body, epoch: toBase64Url(notAPoint) });
    assert.equal(code(refused), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.match(refused.body, /not a valid P-256 point/);
    // Grants of another key than the statement names.
    const other = await setUpBody(admin, recovery, await generateEpochKeyPair());
    assert.equal(code(await put(s, admin, { ...body, recoveryGrant: other.recoveryGrant })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');
    assert.equal(code(await put(s, admin, { ...body, grant: other.grant })), '422 EV_ERR_CUSTODY_STATEMENT_REJECTED');

    assert.deepEqual(await storedKeys(s, inst.id), []);
    assert.equal((await cellOf(s).db.selectFrom('audit_log').select('seq').where('type', '=', 'custody.recovery-set').execute()).length, 0);
    assert.equal(code(await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: admin.get })), '409 EV_ERR_CUSTODY_NOT_SET_UP');
    // The refusals left the institution as it was: the right set-up still works.
    assert.equal((await put(s, admin, body)).statusCode, 201);
  });
});
