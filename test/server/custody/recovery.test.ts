/**
 * The recovery key restores access for a new admin when every admin is lost (docs/CUSTODY-SERVER.md,
 * "The recovery key"), end to end with real keys: at set-up the first admin registers the
 * institution's recovery public keys (a self-signed `institution` statement) and the grant of the
 * epoch key to the recovery key; later a new admin, with only the printed recovery key, opens the
 * recovery grant, signs its own `admin-enrolment` with the recovery key, wraps the epoch key to itself,
 * and unlocks a recording made before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createGrant,
  deriveRecoveryKeys,
  exportPublicKey,
  formatRecoveryKey,
  fromBase64Url,
  generateEpochKeyPair,
  generateMemberKeys,
  generateRecoverySecret,
  openGrant,
  openRecording,
  parseRecoveryKey,
  signStatement,
  toBase64Url,
  unwrapPrivateKey,
  verifyStatement,
} from '../../../src/crypto/index.js';
import { startTestServer } from '../support/test-server.js';
import { addStaff, passphraseKey, register, registerKeys, revocationBody, setUp, setUpBody, upload, cellOf } from './support.js';


describe('custody: the recovery key restores access for a new admin', () => {
  it('set-up registers the recovery key once; a new admin enrolled by it, with the epoch key it recovered, unlocks an older recording', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    await registerKeys(s, admin);
    const cell = cellOf(s);
    const epoch1Public = await exportPublicKey(inst.keys.publicKey);

    // Set-up, on the first admin's client: the recovery key (printed once), its institution statement, its grant.
    const secret = generateRecoverySecret();
    const printed = await formatRecoveryKey(secret);
    const recovery = await deriveRecoveryKeys(secret);
    const body = await setUpBody(admin, recovery);

    const early = await s.app.inject({ method: 'POST', url: '/v1/custody/recovery/admins', headers: admin.send, payload: { enrolment: body.enrolment, grants: [body.grant] } });
    assert.equal(early.statusCode, 409, early.body);
    assert.equal(early.json().error.code, 'EV_ERR_CUSTODY_RECOVERY_NOT_SET');
    // An institution statement whose signature does not verify under the key it carries is refused.
    const impostor = await generateMemberKeys();
    const forgedRoot = fromBase64Url(body.institution as string) as Uint8Array;
    forgedRoot[forgedRoot.length - 1] = (forgedRoot[forgedRoot.length - 1] as number) ^ 1;
    assert.equal((await s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: admin.send, payload: { ...body, institution: toBase64Url(forgedRoot) } })).statusCode, 422);

    await setUp(s, admin, recovery);
    const again = await s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: admin.send, payload: body });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'EV_ERR_CUSTODY_RECOVERY_ALREADY_SET');

    const rec = await upload(s, inst, 'cam-1');

    // A revocation starts epoch 2 and grants it to the recovery key too; a recording is made in epoch 2.
    const gone = await addStaff(s, inst, 'rev-gone', 'reviewer');
    await register(s, gone);
    const epoch2 = await generateEpochKeyPair();
    const epoch2Public = await exportPublicKey(epoch2.publicKey);
    const { revocation, recoveryGrant } = await revocationBody(admin, gone.id, 2, epoch2);
    const badRecovery = await createGrant(epoch2.privateKey, { institution: inst.id, epoch: 2 }, { kind: 'recovery', keys: impostor });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: { revocation, recoveryGrant: badRecovery } })).statusCode, 422);
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: { revocation, recoveryGrant } });
    assert.equal(revoked.statusCode, 201, revoked.body);
    const rec2 = await upload(s, inst, 'cam-2', 2, epoch2.publicKey);

    // Every admin is lost. The operator invites a new admin, who registers keys on its own device.
    const successor = await addStaff(s, inst, 'adm-new', 'admin');
    await register(s, successor);
    const before = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: successor.send });
    assert.equal(before.statusCode, 403);

    // The recovery holder types the printed key; its client fetches the institution statement and recovery grant.
    const typed = await deriveRecoveryKeys(await parseRecoveryKey(printed));
    const info = await s.app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: successor.get });
    assert.equal(info.statusCode, 200, info.body);
    const root = await verifyStatement(fromBase64Url(info.json().statement) as Uint8Array, () => typed.signingPublicKey, 'institution');
    assert.ok(root.ok, 'the served institution statement carries the typed recovery key');
    const served = (info.json().grants as { epoch: number; grant: unknown }[]).find((g) => g.epoch === 1);
    assert.ok(served);
    const epoch1 = await openGrant(served.grant, { institution: inst.id, epoch: 1, epochPublicKey: epoch1Public }, { kind: 'recovery', keys: typed }, typed.hpke.privateKey);
    const served2 = (info.json().grants as { epoch: number; grant: unknown }[]).find((g) => g.epoch === 2);
    assert.ok(served2);
    const recovered2 = await openGrant(served2.grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public }, { kind: 'recovery', keys: typed }, typed.hpke.privateKey);
    const grant2 = await createGrant(recovered2, { institution: inst.id, epoch: 2 }, { kind: 'member', member: successor.id, keys: successor.keys });

    const enrol = (keys: { hpkePublicKey: Uint8Array; signingPublicKey: Uint8Array }, signer: CryptoKey) =>
      signStatement({ type: 'admin-enrolment', institution: inst.id, timestamp: Date.now(), admin: successor.id, hpkePublicKey: keys.hpkePublicKey, signingPublicKey: keys.signingPublicKey, enrolledBy: { kind: 'recovery' } }, signer);
    const grant = await createGrant(epoch1, { institution: inst.id, epoch: 1 }, { kind: 'member', member: successor.id, keys: successor.keys });
    const url = '/v1/custody/recovery/admins';

    // Refused: not signed by the recovery key; naming other keys than the registered ones; from a reviewer.
    const notRecovery = await s.app.inject({ method: 'POST', url, headers: successor.send, payload: { enrolment: toBase64Url(await enrol(successor.keys, impostor.signing.privateKey)), grants: [grant] } });
    assert.equal(notRecovery.statusCode, 422, notRecovery.body);
    assert.equal(notRecovery.json().error.code, 'EV_ERR_CUSTODY_STATEMENT_REJECTED');
    const otherKeys = await s.app.inject({ method: 'POST', url, headers: successor.send, payload: { enrolment: toBase64Url(await enrol(impostor, typed.signing.privateKey)), grants: [grant] } });
    assert.equal(otherKeys.statusCode, 422, otherKeys.body);
    const enrolment = toBase64Url(await enrol(successor.keys, typed.signing.privateKey));
    const wrongGrant = await createGrant(epoch1, { institution: inst.id, epoch: 1 }, { kind: 'member', member: successor.id, keys: impostor });
    assert.equal((await s.app.inject({ method: 'POST', url, headers: successor.send, payload: { enrolment, grants: [wrongGrant] } })).statusCode, 422);
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    assert.equal((await s.app.inject({ method: 'POST', url, headers: reviewer.send, payload: { enrolment, grants: [grant] } })).statusCode, 403);
    assert.equal((await cell.db.selectFrom('audit_log').select('seq').where('type', '=', 'custody.admin-enrolled').execute()).length, 0);

    const enrolled = await s.app.inject({ method: 'POST', url, headers: successor.send, payload: { enrolment, grants: [grant2, grant] } });
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    assert.deepEqual(enrolled.json().epochs, [1, 2]);
    const events = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', 'custody.admin-enrolled').execute();
    assert.equal(events.length, 1);
    assert.equal(Number(events[0]?.seq), enrolled.json().auditSeq);

    // The new admin's own client: its wrapped keys and its grant open the epoch key; it unlocks cam-1.
    const mine = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/keys', headers: successor.get })).json();
    const hpke = await unwrapPrivateKey(mine.wrappedKeys['admin-hpke'], { purpose: 'admin-hpke', institution: inst.id, owner: successor.id, publicKey: successor.keys.hpkePublicKey }, { passphraseKey: await passphraseKey() });
    const grants = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: successor.get })).json();
    assert.equal(grants.status, 'approved');
    assert.deepEqual(grants.grants.map((g: { epoch: number }) => g.epoch), [1, 2]);
    const epochKey = await openGrant(grants.grants[0].grant, { institution: inst.id, epoch: 1, epochPublicKey: epoch1Public }, { kind: 'member', member: successor.id, keys: successor.keys }, hpke.privateKey);
    const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: successor.send });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    const opener = await openRecording(fromBase64Url(unlocked.json().header) as Uint8Array, epochKey);
    for (const [i, chunk] of rec.chunks.entries()) {
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-1/segments/${i}`, headers: successor.get });
      assert.equal(seg.statusCode, 200);
      assert.deepEqual(Buffer.from((await opener.openSegment(i, new Uint8Array(seg.rawPayload))).plaintext), chunk);
    }
    // And the epoch-2 recording, through the epoch-2 key the recovery key was granted at the revocation.
    const epochKey2 = await openGrant(grants.grants[1].grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public }, { kind: 'member', member: successor.id, keys: successor.keys }, hpke.privateKey);
    const unlocked2 = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-2/unlock`, headers: successor.send });
    assert.equal(unlocked2.statusCode, 200, unlocked2.body);
    const opener2 = await openRecording(fromBase64Url(unlocked2.json().header) as Uint8Array, epochKey2);
    const seg0 = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-2/segments/0`, headers: successor.get });
    assert.deepEqual(Buffer.from((await opener2.openSegment(0, new Uint8Array(seg0.rawPayload))).plaintext), rec2.chunks[0]);
  });
});
