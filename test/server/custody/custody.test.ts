/**
 * The server side of key custody, end to end through the real app: real staff sessions, real member
 * keys, signed statements and grants (src/crypto/custody), real uploads and real cells. The server
 * stores and relays; these tests show it approves nothing itself, catches a substituted key, audits
 * every unlock before serving it, locks a revoked reviewer out of later recordings, and shreds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  approveReviewer,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  generateMemberKeys,
  isCryptoError,
  memberFingerprint,
  openGrant,
  openRecording,
  reviewRegistration,
  signStatement,
  toBase64Url,
  createGrant,
  unwrapPrivateKey,
  verifyStatement,
} from '../../../src/crypto/index.js';
import { headerBlobKey, segmentBlobKey } from '../../../src/server/recordings/recording.service.js';
import { openCellObjects } from '../../../src/server/regions/cell-storage.fs.js';
import { cellDir } from '../../../src/server/regions/cells.js';
import type { Cell } from '../../../src/server/regions/cell.types.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { bearer } from '../support/test-server.js';
import { type Staff, addStaff, approve, ownSafetyNumber, passphraseKey, register, registrationBody, revocationBody, scenario, upload, cellOf } from './support.js';


async function auditEvents(cell: Cell, type: string): Promise<{ seq: number; payload: Record<string, unknown> }[]> {
  const rows = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', type).orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), payload: JSON.parse(Buffer.from(r.payload).toString('utf8')) as Record<string, unknown> }));
}

/** Grants to reviewers (set-up already granted epoch 1 to the first admin and to the recovery key). */
async function grantCount(cell: Cell): Promise<number> {
  return (await cell.db.selectFrom('custody_grants').select('member_id').where('member_id', 'like', 'rev-%').execute()).length;
}

/** The reviewer's client: fetches its wrapped keys and grant, unwraps, opens the epoch key. */
async function reviewerEpochKey(s: Parameters<typeof register>[0], reviewer: Staff, epoch: number, epochPublicKey: Uint8Array): Promise<CryptoKey> {
  const mine = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/keys', headers: reviewer.get })).json();
  const hpke = await unwrapPrivateKey(mine.wrappedKeys['reviewer-hpke'], { purpose: 'reviewer-hpke', institution: reviewer.institution.id, owner: reviewer.id, publicKey: reviewer.keys.hpkePublicKey }, { passphraseKey: await passphraseKey() });
  const res = await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: reviewer.get });
  assert.equal(res.statusCode, 200, res.body);
  const grant = (res.json().grants as { epoch: number; grant: unknown }[]).find((g) => g.epoch === epoch);
  assert.ok(grant, `a grant for epoch ${epoch}`);
  return openGrant(grant.grant, { institution: reviewer.institution.id, epoch, epochPublicKey }, { kind: 'member', member: reviewer.id, keys: reviewer.keys }, hpke.privateKey);
}

describe('custody: approval and unlock', () => {
  it('a reviewer registers, the admin approves, the reviewer unlocks and opens every segment byte-identical', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    const epochPublic = await exportPublicKey(inst.keys.publicKey);

    const pending = (await s.app.inject({ method: 'GET', url: '/v1/custody/reviewers', headers: admin.get })).json();
    assert.equal(pending.reviewers[0].status, 'pending');
    const rec = await upload(s, inst, 'cam-1');
    // Not yet approved: no unlock.
    const early = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send });
    assert.equal(early.statusCode, 403);
    assert.equal(early.json().error.code, 'EV_ERR_CUSTODY_NO_GRANT');

    const approved = await approve(s, admin, rev, 1, inst.keys);
    assert.equal(approved.statusCode, 201, approved.body);
    const listed = (await s.app.inject({ method: 'GET', url: '/v1/custody/reviewers', headers: admin.get })).json();
    assert.equal(listed.reviewers[0].status, 'approved');
    assert.equal(listed.reviewers[0].approvals.length, 1);

    const epochKey = await reviewerEpochKey(s, rev, 1, epochPublic);
    const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    const body = unlocked.json();
    assert.equal(body.segmentCount, 3);
    assert.deepEqual(body.segments.map((x: { index: number }) => x.index), [0, 1, 2]);
    const opener = await openRecording(fromBase64Url(body.header) as Uint8Array, epochKey);
    for (const [i, chunk] of rec.chunks.entries()) {
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-1/segments/${i}`, headers: rev.get });
      assert.equal(seg.statusCode, 200);
      const { plaintext, last } = await opener.openSegment(i, new Uint8Array(seg.rawPayload));
      assert.deepEqual(Buffer.from(plaintext), chunk);
      assert.equal(last, i === 2);
    }
    // The registrations, the approval and the unlock are in the audit log.
    const cell = cellOf(s);
    assert.equal((await auditEvents(cell, 'custody.key-registered')).length, 2);
    assert.equal((await auditEvents(cell, 'custody.approved')).length, 1);
    const unlocks = await auditEvents(cell, 'recording.unlocked');
    assert.deepEqual(unlocks.map((u) => u.payload), [{ member: 'rev-1', recording: 'cam-1', epoch: 1 }]);
    assert.equal(unlocks[0]?.seq, body.auditSeq);
  });

  it('refuses a registration signed for someone else, and wrapped keys of another owner', async (t) => {
    const { s, inst } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    const other = await addStaff(s, inst, 'rev-2', 'reviewer');
    const forOther = await registrationBody(other);
    const r1 = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: rev.send, payload: { ...forOther, wrappedKeys: (await registrationBody(rev)).wrappedKeys } });
    assert.equal(r1.statusCode, 422);
    assert.equal(r1.json().error.code, 'EV_ERR_CUSTODY_STATEMENT_REJECTED');
    const r2 = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: rev.send, payload: { ...(await registrationBody(rev)), wrappedKeys: forOther.wrappedKeys } });
    assert.equal(r2.statusCode, 400);
    assert.equal(r2.json().error.code, 'EV_ERR_CUSTODY_INVALID_REQUEST');
    const noCsrf = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: { cookie: rev.get.cookie as string, origin: s.config.publicOrigin }, payload: await registrationBody(rev) });
    assert.equal(noCsrf.statusCode, 403);
  });
});

describe('custody: key substitution', () => {
  it('a server that swaps the reviewer\'s keys shows the admin another safety number; nothing is granted', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    const cell = cellOf(s);

    // The malicious server replaces rev-1's keys (and forges the self-signature: it can) before the admin looks.
    const evil = await generateMemberKeys();
    const forged = await signStatement({ type: 'key-registration', institution: inst.id, timestamp: Date.now(), reviewer: rev.id, hpkePublicKey: evil.hpkePublicKey, signingPublicKey: evil.signingPublicKey }, evil.signing.privateKey);
    await cell.db
      .updateTable('custody_members')
      .set({ hpke_public_key: toBase64Url(evil.hpkePublicKey), signing_public_key: toBase64Url(evil.signingPublicKey), fingerprint: toBase64Url(await memberFingerprint(evil)), registration: toBase64Url(forged) })
      .where('member_id', '=', rev.id)
      .execute();

    const served = (await s.app.inject({ method: 'GET', url: '/v1/custody/reviewers', headers: admin.get })).json().reviewers[0];
    const onAdminScreen = (await reviewRegistration(fromBase64Url(served.registration) as Uint8Array, inst.id)).safetyNumber;
    const onReviewerScreen = await ownSafetyNumber(rev);
    assert.notEqual(onAdminScreen, onReviewerScreen);
    await assert.rejects(
      approveReviewer({ registration: fromBase64Url(served.registration) as Uint8Array, confirmedSafetyNumber: onReviewerScreen, institution: inst.id, epoch: 1, epochPrivateKey: inst.keys.privateKey, admin: admin.id, adminSigningKey: admin.keys.signing.privateKey }),
      (e) => isCryptoError(e) && e.code === 'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH',
    );
    assert.equal(await grantCount(cell), 0);
    assert.equal((await auditEvents(cell, 'custody.approved')).length, 0);
  });

  it('refuses a grant whose approval names another key fingerprint, or is not signed by the admin', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    const cell = cellOf(s);
    const other = await generateMemberKeys();
    const base = { type: 'approval' as const, institution: inst.id, timestamp: Date.now(), admin: admin.id, reviewer: rev.id, epoch: 1 };

    // Approval and grant both for other keys than the registered ones.
    const wrongKeys = await signStatement({ ...base, fingerprint: await memberFingerprint(other) }, admin.keys.signing.privateKey);
    const wrongGrant = await createGrant(inst.keys.privateKey, { institution: inst.id, epoch: 1 }, { kind: 'member', member: rev.id, keys: other });
    const r1 = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: wrongGrant, approval: toBase64Url(wrongKeys) } });
    assert.equal(r1.statusCode, 422, r1.body);
    assert.equal(r1.json().error.code, 'EV_ERR_CUSTODY_STATEMENT_REJECTED');

    // The right fingerprint, signed by a key that is not the admin's registered one.
    const good = await createGrant(inst.keys.privateKey, { institution: inst.id, epoch: 1 }, { kind: 'member', member: rev.id, keys: rev.keys });
    const forged = await signStatement({ ...base, fingerprint: await memberFingerprint(rev.keys) }, other.signing.privateKey);
    const r2 = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: good, approval: toBase64Url(forged) } });
    assert.equal(r2.statusCode, 422);

    // A grant without an approval is not a request the server takes.
    const r3 = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: good } });
    assert.equal(r3.statusCode, 400);
    // A grant for other keys under a valid approval of the registered keys.
    const rightApproval = await signStatement({ ...base, fingerprint: await memberFingerprint(rev.keys) }, admin.keys.signing.privateKey);
    const r4 = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: wrongGrant, approval: toBase64Url(rightApproval) } });
    assert.equal(r4.statusCode, 422);

    assert.equal(await grantCount(cell), 0);
    const r5 = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant: good, approval: toBase64Url(rightApproval) } });
    assert.equal(r5.statusCode, 201, r5.body);
    assert.equal(await grantCount(cell), 1);
  });
});

describe('custody: unlock is audited first', () => {
  it('records the unlock before reading the header; refuses with 503 and serves nothing when the log cannot', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
    await upload(s, inst, 'cam-1');
    const cell = cellOf(s);
    const headerKey = headerBlobKey((await cell.db.selectFrom('recordings').selectAll().executeTakeFirstOrThrow()));

    // Watch the real store: at the moment the header is read, is the unlock already in the log?
    const reads: { key: string; unlocksLogged: number }[] = [];
    const realGet = cell.blobs.get.bind(cell.blobs);
    cell.blobs.get = async (key: string) => {
      reads.push({ key, unlocksLogged: (await auditEvents(cell, 'recording.unlocked')).length });
      return realGet(key);
    };
    t.after(() => {
      cell.blobs.get = realGet;
    });

    const ok = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(reads, [{ key: headerKey, unlocksLogged: 1 }]);

    reads.length = 0;
    await sql`ALTER TABLE audit_log RENAME TO audit_log_away`.execute(cell.db);
    const refused = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send });
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.json().error.code, 'EV_ERR_CUSTODY_AUDIT_UNAVAILABLE');
    assert.equal(refused.json().header, undefined);
    assert.deepEqual(reads, [], 'the header was not even read');
    await sql`ALTER TABLE audit_log_away RENAME TO audit_log`.execute(cell.db);

    const again = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send });
    assert.equal(again.statusCode, 200);
    assert.equal((await auditEvents(cell, 'recording.unlocked')).length, 2);
  });
});

describe('custody: revocation', () => {
  it('after revoking B, new recordings use epoch 2 and B cannot open them with anything it held', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const a = await addStaff(s, inst, 'rev-a', 'reviewer');
    const b = await addStaff(s, inst, 'rev-b', 'reviewer');
    for (const r of [a, b]) {
      await register(s, r);
      assert.equal((await approve(s, admin, r, 1, inst.keys)).statusCode, 201);
    }
    const epoch1Public = await exportPublicKey(inst.keys.publicKey);
    // Everything B held before: its keys, its grant, the epoch 1 key it opened.
    const bGrants = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: b.get })).json().grants;
    const bEpoch1 = await reviewerEpochKey(s, b, 1, epoch1Public);

    const epoch2 = await generateEpochKeyPair();
    const epoch2Public = await exportPublicKey(epoch2.publicKey);
    const body = await revocationBody(admin, b.id, 2, epoch2);
    // Without the new epoch granted to the recovery key, the recovery key would lose epoch 2: refused.
    const noRecovery = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: { revocation: body.revocation } });
    assert.equal(noRecovery.statusCode, 422, noRecovery.body);
    assert.equal(noRecovery.json().error.code, 'EV_ERR_CUSTODY_RECOVERY_GRANT_REQUIRED');
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: body });
    assert.equal(revoked.statusCode, 201, revoked.body);
    assert.equal(revoked.json().epoch, 2);
    const replay = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: body });
    assert.equal(replay.statusCode, 422);

    // Recorders learn epoch 2 with the statement that justifies it.
    const att = await s.attempt(inst);
    const epoch = (await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: bearer(att.token) })).json();
    assert.equal(epoch.epoch, 2);
    assert.equal(epoch.publicKey, toBase64Url(epoch2Public));
    // The set-up's chain (institution statement, the first admin's enrolment, the epoch statement of
    // epoch 1 signed by that admin), then the revocation.
    assert.equal(epoch.statements.length, 4);
    assert.equal(epoch.statements[3], body.revocation);
    const first = await verifyStatement(fromBase64Url(epoch.statements[2]) as Uint8Array, () => admin.keys.signingPublicKey, 'epoch');
    assert.ok(first.ok && first.statement.epoch === 1 && Buffer.from(first.statement.epochPublicKey).equals(Buffer.from(epoch1Public)));
    // Epoch 1 is refused for new recordings; epoch 2 is taken.
    await assert.rejects(upload(s, inst, 'cam-old-epoch'), /EV_ERR_UPLOAD_EPOCH_NOT_CURRENT/);
    const rec = await upload(s, inst, 'cam-2', 2, epoch2.publicKey);

    // B: no grant, no unlock.
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: b.get })).statusCode, 403);
    const bUnlock = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-2/unlock`, headers: b.send });
    assert.equal(bUnlock.statusCode, 403);
    assert.equal(bUnlock.json().error.code, 'EV_ERR_CUSTODY_REVOKED');
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-2/segments/0`, headers: b.get })).statusCode, 403);

    // A is granted epoch 2 (the admin re-approves the same fingerprint) and opens it.
    assert.equal((await approve(s, admin, a, 2, epoch2)).statusCode, 201);
    const aUnlock = (await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-2/unlock`, headers: a.send })).json();
    const header = fromBase64Url(aUnlock.header) as Uint8Array;
    const aOpener = await openRecording(header, await reviewerEpochKey(s, a, 2, epoch2Public));
    const seg0 = new Uint8Array((await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-2/segments/0`, headers: a.get })).rawPayload);
    assert.deepEqual(Buffer.from((await aOpener.openSegment(0, seg0)).plaintext), rec.chunks[0]);

    // B with copies of everything, even given the new header and segment: its epoch 1 key does not open
    // it, and its old grant does not open as an epoch 2 grant.
    await assert.rejects(openRecording(header, bEpoch1));
    const bHpke = b.keys.hpke.privateKey;
    await assert.rejects(openGrant(bGrants[0].grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public }, { kind: 'member', member: b.id, keys: b.keys }, bHpke));
    // And it cannot re-register itself back in.
    const back = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: b.send, payload: await registrationBody(b) });
    assert.equal(back.statusCode, 403);
    assert.equal((await auditEvents(cellOf(s), 'custody.revoked')).length, 1);
  });
});

describe('custody: deletion by crypto-shredding and retention', () => {
  it('shreds header and segments: gone, unrecoverable from a copy of the objects even with the keyring; receipt logged', async (t) => {
    const { s, inst, admin } = await scenario(t);
    await upload(s, inst, 'cam-1');
    const cell = cellOf(s);
    const row = await cell.db.selectFrom('recordings').selectAll().executeTakeFirstOrThrow();
    const segs = await cell.db.selectFrom('segments').selectAll().execute();
    const keys = [headerBlobKey(row), ...segs.map((x) => segmentBlobKey(inst.id, 'cam-1', Number(x.idx), x.name))];
    // A "backup" of the sealed objects as they sit on disk.
    const objects = await openCellObjects(cellDir(s.dataDir, 'eu'), cell.db, { reclaimDelayMs: null });
    const backup = new Map<string, Uint8Array>();
    for (const k of keys) backup.set(k, (await objects.get(k)) as Uint8Array);
    assert.ok([...backup.values()].every((v) => v instanceof Uint8Array && v.length > 0));
    for (const k of keys) assert.ok((await objects.record(k))?.length, `${k} has its at-rest key record in its row`);

    const del = await s.app.inject({ method: 'DELETE', url: `/v1/custody/recordings/${inst.id}/cam-1`, headers: admin.send });
    assert.equal(del.statusCode, 200, del.body);
    assert.equal(del.json().segments, 3);
    for (const k of keys) {
      assert.equal(await cell.blobs.get(k), null);
      assert.equal(await objects.get(k), null);
      assert.equal(await new SqlBlobStore(cell.db).get(k), null, 'no at-rest key record is kept apart');
      assert.equal(await cell.db.selectFrom('log_objects').select('record').where('key', '=', k).executeTakeFirst(), undefined, 'the object\'s row, with its at-rest key record, is gone');
    }
    // Restore the objects from the backup: with the cell's keyring still there, they do not open.
    for (const [k, v] of backup) await objects.put(k, v);
    for (const k of keys) assert.equal(await cell.blobs.get(k), null);
    assert.equal((await cell.db.selectFrom('recordings').selectAll().execute()).length, 0);
    assert.equal((await cell.db.selectFrom('segments').selectAll().execute()).length, 0);
    const receipts = await auditEvents(cell, 'recording.deleted');
    assert.equal(receipts.length, 1);
    assert.deepEqual(receipts[0]?.payload, { recording: 'cam-1', epoch: 1, headerSha256: row.header_sha256, segments: 3, reason: 'admin', admin: admin.id });
    const gone = await s.app.inject({ method: 'DELETE', url: `/v1/custody/recordings/${inst.id}/cam-1`, headers: admin.send });
    assert.equal(gone.statusCode, 404);
  });

  it('retention deletes expired recordings the same way, with receipts', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const read = async () => (await s.app.inject({ method: 'GET', url: '/v1/custody/retention', headers: admin.get })).json() as unknown;
    assert.deepEqual(await read(), { days: null }, 'kept until deleted before any period is set');
    const set = await s.app.inject({ method: 'PUT', url: '/v1/custody/retention', headers: admin.send, payload: { days: 3 } });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal((await s.app.inject({ method: 'PUT', url: '/v1/custody/retention', headers: admin.send, payload: { days: 0 } })).statusCode, 400);
    assert.deepEqual(await read(), { days: 3 }, 'a refused change changes nothing');
    await upload(s, inst, 'old');
    s.now += 5 * 86_400_000;
    await upload(s, inst, 'new');
    const { sweepExpired } = await import('../../../src/server/custody/retention.js');
    const cell = cellOf(s);
    const receipts = await sweepExpired(cell, s.now);
    assert.deepEqual(receipts.map((r) => [r.recording, r.reason]), [['old', 'retention']]);
    assert.deepEqual((await cell.db.selectFrom('recordings').select('recording_id').execute()).map((r) => r.recording_id), ['new']);
    assert.equal((await auditEvents(cell, 'recording.deleted'))[0]?.payload.reason, 'retention');
    assert.deepEqual(await sweepExpired(cell, s.now), []);
  });
});
