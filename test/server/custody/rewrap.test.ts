/**
 * Re-wrapping older recordings to the current epoch (docs/CUSTODY-SERVER.md, "Re-wrapping"): after a
 * revocation, the admin's client re-wraps an epoch-1 header to epoch 2 with rewrapHeader; the server
 * checks Bound is unchanged and the epoch is current, swaps the header and shreds the old one. A
 * reviewer approved only for epoch 2 then opens the recording byte-identical.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRecordingSealer,
  decodeHeader,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  openGrant,
  openRecording,
  rewrapHeader,
  toBase64Url,
  unwrapPrivateKey,
} from '../../../src/crypto/index.js';
import { sha256Hex } from '../../../src/server/custody/custody.service.js';
import { headerBlobKey } from '../../../src/server/recordings/recording.service.js';
import { type Staff, addStaff, approve, passphraseKey, register, revocationBody, scenario, upload, cellOf } from './support.js';


/** The reviewer's client: fetches its wrapped keys and grant for the epoch, unwraps, opens the epoch key. */
async function reviewerEpochKey(s: Parameters<typeof register>[0], reviewer: Staff, epoch: number, epochPublicKey: Uint8Array): Promise<CryptoKey> {
  const mine = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/keys', headers: reviewer.get })).json();
  const hpke = await unwrapPrivateKey(mine.wrappedKeys['reviewer-hpke'], { purpose: 'reviewer-hpke', institution: reviewer.institution.id, owner: reviewer.id, publicKey: reviewer.keys.hpkePublicKey }, { passphraseKey: await passphraseKey() });
  const res = await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: reviewer.get });
  assert.equal(res.statusCode, 200, res.body);
  const grant = (res.json().grants as { epoch: number; grant: unknown }[]).find((g) => g.epoch === epoch);
  assert.ok(grant, `a grant for epoch ${epoch}`);
  return openGrant(grant.grant, { institution: reviewer.institution.id, epoch, epochPublicKey }, { kind: 'member', member: reviewer.id, keys: reviewer.keys }, hpke.privateKey);
}

/** An institution with its admin and two reviewers approved for epoch 1: one to keep, one to revoke. */
async function twoApproved(t: Parameters<typeof scenario>[0]) {
  const { s, inst, admin } = await scenario(t);
  const kept = await addStaff(s, inst, 'rev-kept', 'reviewer');
  const gone = await addStaff(s, inst, 'rev-gone', 'reviewer');
  for (const r of [kept, gone]) {
    await register(s, r);
    assert.equal((await approve(s, admin, r, 1, inst.keys)).statusCode, 201);
  }
  return { s, inst, admin, cell: cellOf(s), kept, gone };
}

describe('custody: re-wrapping older recordings to the current epoch', () => {
  it('after a revocation, the admin re-wraps an epoch-1 recording to epoch 2; an epoch-2-only reviewer opens it byte-identical', async (t) => {
    const { s, inst, admin, cell, kept, gone } = await twoApproved(t);
    const rec = await upload(s, inst, 'cam-1');
    const before = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    const goneEpoch1 = await reviewerEpochKey(s, gone, 1, await exportPublicKey(inst.keys.publicKey));

    // Revoke: epoch 2.
    const epoch2 = await generateEpochKeyPair();
    const epoch2Public = await exportPublicKey(epoch2.publicKey);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, gone.id, 2, epoch2) })).statusCode, 201);

    // A reviewer approved only for epoch 2 cannot unlock the epoch-1 recording yet.
    const fresh = await addStaff(s, inst, 'rev-new', 'reviewer');
    await register(s, fresh);
    assert.equal((await approve(s, admin, fresh, 2, epoch2)).statusCode, 201);
    const early = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: fresh.send });
    assert.equal(early.statusCode, 403);
    assert.equal(early.json().error.code, 'EV_ERR_CUSTODY_NO_GRANT');

    // The admin's work list.
    const pending = await s.app.inject({ method: 'GET', url: '/v1/custody/rewrap/pending', headers: admin.get });
    assert.equal(pending.statusCode, 200, pending.body);
    const list = pending.json();
    assert.equal(list.currentEpoch, 2);
    assert.equal(list.more, false);
    assert.deepEqual(list.recordings.map((r: { recording: string; epoch: number }) => [r.recording, r.epoch]), [['cam-1', 1]]);
    const storedHeader = fromBase64Url(list.recordings[0].header) as Uint8Array;
    const listed = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', 'recording.rewrap-listed').execute();
    assert.deepEqual(listed.map((e) => JSON.parse(Buffer.from(e.payload).toString('utf8')) as unknown), [{ admin: admin.id, recordings: ['cam-1'] }]);
    assert.equal(sha256Hex(storedHeader), before.header_sha256);

    // The admin's client re-wraps (it holds the epoch-1 private key through its own grant; here, the set-up key).
    const rewrapped = await rewrapHeader(storedHeader, inst.keys.privateKey, epoch2.publicKey, 2);
    assert.deepEqual(rewrapped.bound, decodeHeader(storedHeader).bound);
    const url = `/v1/custody/recordings/${inst.id}/cam-1/header`;

    // Non-admins are refused, and so is an admin of another institution.
    for (const who of [kept, fresh, gone]) {
      const r = await s.app.inject({ method: 'PUT', url, headers: who.send, payload: { header: toBase64Url(rewrapped.bytes) } });
      assert.equal(r.statusCode, 403, `${who.id}: ${r.body}`);
      assert.equal((await s.app.inject({ method: 'GET', url: '/v1/custody/rewrap/pending', headers: who.get })).statusCode, 403);
    }
    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    const foreign = await s.app.inject({ method: 'PUT', url, headers: otherAdmin.send, payload: { header: toBase64Url(rewrapped.bytes) } });
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json().error.code, 'EV_ERR_CUSTODY_WRONG_INSTITUTION');

    // A header with another Bound (same context, new salt and commitment) would orphan the segments: refused.
    const impostor = await createRecordingSealer({ context: decodeHeader(storedHeader).context, recipient: epoch2.publicKey, epoch: 2, maxSegment: 1000 });
    const changed = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(impostor.header.bytes) } });
    assert.equal(changed.statusCode, 409, changed.body);
    assert.equal(changed.json().error.code, 'EV_ERR_CUSTODY_REWRAP_BOUND_MISMATCH');
    // A single flipped Bound byte (inside the salt) likewise.
    const flipped = new Uint8Array(rewrapped.bytes);
    const saltAt = rewrapped.bound.length - rewrapped.commitment.length - 1;
    flipped[saltAt] = (flipped[saltAt] as number) ^ 1;
    const flippedRes = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(flipped) } });
    assert.equal(flippedRes.statusCode, 409, flippedRes.body);
    // Wrapped to an old epoch: refused. Not a header, or trailing bytes: 400.
    const stale = await rewrapHeader(storedHeader, inst.keys.privateKey, (await generateEpochKeyPair()).publicKey, 1);
    const staleRes = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(stale.bytes) } });
    assert.equal(staleRes.statusCode, 409);
    assert.equal(staleRes.json().error.code, 'EV_ERR_CUSTODY_REWRAP_EPOCH');
    for (const payload of [{}, { header: 'not base64!' }, { header: toBase64Url(new Uint8Array(40)) }, { header: toBase64Url(new Uint8Array([...rewrapped.bytes, 0])) }]) {
      const r = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().error.code, 'EV_ERR_CUSTODY_INVALID_REQUEST');
    }
    assert.equal((await s.app.inject({ method: 'PUT', url: `/v1/custody/recordings/${inst.id}/nope/header`, headers: admin.send, payload: { header: toBase64Url(rewrapped.bytes) } })).statusCode, 404);
    const unchanged = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    assert.deepEqual(unchanged, before, 'nothing refused changed the row');
    assert.equal((await cell.db.selectFrom('audit_log').select('seq').where('type', '=', 'recording.rewrapped').execute()).length, 0);

    // The real re-wrap.
    const done = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(rewrapped.bytes) } });
    assert.equal(done.statusCode, 200, done.body);
    const newSha = sha256Hex(rewrapped.bytes);
    const { auditSeq, ...answer } = done.json() as Record<string, unknown>;
    assert.deepEqual(answer, { institution: inst.id, recording: 'cam-1', fromEpoch: 1, epoch: 2, headerSha256: newSha });
    const after = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    assert.equal(Number(after.epoch), 2);
    assert.equal(after.header_sha256, newSha);
    assert.equal(await cell.blobs.get(headerBlobKey(before)), null, 'the epoch-1 header is shredded');
    assert.deepEqual(await cell.blobs.get(headerBlobKey(after)), rewrapped.bytes);
    const events = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', 'recording.rewrapped').execute();
    assert.equal(events.length, 1);
    assert.equal(Number(events[0]?.seq), auditSeq);
    assert.deepEqual(JSON.parse(Buffer.from(events[0]?.payload as Uint8Array).toString('utf8')), {
      admin: admin.id, recording: 'cam-1', fromEpoch: 1, epoch: 2, oldHeaderSha256: before.header_sha256, headerSha256: newSha,
    });
    assert.deepEqual((await s.app.inject({ method: 'GET', url: '/v1/custody/rewrap/pending', headers: admin.get })).json().recordings, []);
    // The same header again is a no-op; another epoch-2 wrap now is refused (already current).
    const again = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(rewrapped.bytes) } });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().auditSeq, 0);
    const twice = await rewrapHeader(storedHeader, inst.keys.privateKey, epoch2.publicKey, 2);
    const twiceRes = await s.app.inject({ method: 'PUT', url, headers: admin.send, payload: { header: toBase64Url(twice.bytes) } });
    assert.equal(twiceRes.statusCode, 409);
    assert.equal(twiceRes.json().error.code, 'EV_ERR_CUSTODY_REWRAP_EPOCH');

    // The epoch-2-only reviewer unlocks and opens every segment byte-identical.
    const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: fresh.send });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    assert.equal(unlocked.json().epoch, 2);
    const served = fromBase64Url(unlocked.json().header) as Uint8Array;
    const opener = await openRecording(served, await reviewerEpochKey(s, fresh, 2, epoch2Public));
    for (const [i, chunk] of rec.chunks.entries()) {
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-1/segments/${i}`, headers: fresh.get });
      assert.equal(seg.statusCode, 200);
      const { plaintext, last } = await opener.openSegment(i, new Uint8Array(seg.rawPayload));
      assert.deepEqual(Buffer.from(plaintext), chunk);
      assert.equal(last, i === rec.chunks.length - 1);
    }
    // The revoked reviewer's epoch-1 key does not open the header the server now holds.
    await assert.rejects(openRecording(served, goneEpoch1));
  });

  it('an unlock racing a re-wrap gets the old or the new header, never a 404', async (t) => {
    const { s, inst, admin, cell, kept, gone } = await twoApproved(t);
    const recordings = await Promise.all(['cam-1', 'cam-2', 'cam-3', 'cam-4', 'cam-5'].map((id) => upload(s, inst, id)));
    const epoch2 = await generateEpochKeyPair();
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, gone.id, 2, epoch2) })).statusCode, 201);
    assert.equal((await approve(s, admin, kept, 2, epoch2)).statusCode, 201);
    const keys = new Map<number, CryptoKey>([[1, await reviewerEpochKey(s, kept, 1, await exportPublicKey(inst.keys.publicKey))], [2, await reviewerEpochKey(s, kept, 2, await exportPublicKey(epoch2.publicKey))]]);
    const rewrap = async (recording: string) => {
      const row = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', recording).executeTakeFirstOrThrow();
      const stored = await cell.blobs.get(headerBlobKey(row));
      assert.ok(stored);
      const rewrapped = await rewrapHeader(stored, inst.keys.privateKey, epoch2.publicKey, 2);
      return s.app.inject({ method: 'PUT', url: `/v1/custody/recordings/${inst.id}/${recording}/header`, headers: admin.send, payload: { header: toBase64Url(rewrapped.bytes) } });
    };
    const unlock = (recording: string) => s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/${recording}/unlock`, headers: kept.send });
    /** What the reviewer's client does with the answer: open segment 0 with the epoch key the header names. */
    const opens = async (answer: { statusCode: number; body: string; json(): { epoch: number; header: string } }, index: number) => {
      assert.equal(answer.statusCode, 200, answer.body);
      const opener = await openRecording(fromBase64Url(answer.json().header) as Uint8Array, keys.get(answer.json().epoch) as CryptoKey);
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-${index + 1}/segments/0`, headers: kept.get });
      assert.deepEqual(Buffer.from((await opener.openSegment(0, new Uint8Array(seg.rawPayload))).plaintext), recordings[index]?.chunks[0]);
    };

    // The window itself, forced: the unlock has read the row (epoch 1) and logged the unlock; before it
    // reads the header, a whole re-wrap runs (row switched, epoch-1 header shredded).
    const oldRow = await cell.db.selectFrom('recordings').selectAll().where('recording_id', '=', 'cam-1').executeTakeFirstOrThrow();
    const realGet = cell.blobs.get.bind(cell.blobs);
    let raced = false;
    cell.blobs.get = async (key: string) => {
      if (key === headerBlobKey(oldRow) && !raced) {
        raced = true;
        assert.equal((await rewrap('cam-1')).statusCode, 200);
      }
      return realGet(key);
    };
    t.after(() => {
      cell.blobs.get = realGet;
    });
    const answer = await unlock('cam-1');
    assert.ok(raced, 'the re-wrap ran inside the unlock');
    assert.equal(answer.json().epoch, 2, 'the unlock followed the row to the new header');
    await opens(answer, 0);
    // Both unlocks are in the log, each before its header was read: epoch 1 (whose header was gone), then 2.
    const unlocks = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', 'recording.unlocked').orderBy('seq').execute();
    assert.deepEqual(unlocks.map((e) => JSON.parse(Buffer.from(e.payload).toString('utf8')) as unknown), [
      { member: kept.id, recording: 'cam-1', epoch: 1 },
      { member: kept.id, recording: 'cam-1', epoch: 2 },
    ]);
    assert.equal(answer.json().auditSeq, Number(unlocks[1]?.seq));
    cell.blobs.get = realGet;

    // And unforced: unlocks and re-wraps of the other recordings at the same time, each unlock served.
    const results = await Promise.all([1, 2, 3, 4].flatMap((i) => [unlock(`cam-${i + 1}`).then((r) => ({ i, r })), rewrap(`cam-${i + 1}`).then((r) => ({ i: -1, r }))]));
    for (const { i, r } of results) {
      if (i >= 0) await opens(r, i);
      else assert.equal(r.statusCode, 200, r.body);
    }
  });
});
