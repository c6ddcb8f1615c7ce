/**
 * Review records on the real test server (docs/CUSTODY-SERVER.md, "Review records"): approved
 * members write revisions sealed and signed by their own clients (src/crypto/review.ts); the server
 * stores them in the institution's cell, in order, audits each by ids and hashes, and refuses what is
 * not the next revision, not the writer's own, not for this attempt, or sealed to an old epoch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  type DecodedReview,
  type EpochKeyPair,
  type ReviewContent,
  decodeReview,
  fromBase64Url,
  generateEpochKeyPair,
  openReviewHistory,
  sealReview,
  toBase64Url,
} from '../../../src/crypto/index.js';
import type { ReviewListResponse } from '../../../src/protocol/review.js';
import { type Staff, addStaff, approve, cellOf, register, revocationBody, scenario } from './support.js';

const T0 = Date.UTC(2026, 10, 26, 9);

function sealBy(author: Staff, attempt: string, after: Pick<DecodedReview, 'revision' | 'id'> | null, content: ReviewContent, epoch = 1, keys: EpochKeyPair = author.institution.keys): Promise<Uint8Array> {
  return sealReview({ institution: author.institution.id, attempt, author: author.id, after, epoch, epochPublicKey: keys.publicKey, signingKey: author.keys.signing.privateKey, content });
}

async function setting(t: Parameters<typeof scenario>[0]) {
  const { s, inst, admin } = await scenario(t);
  const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
  await register(s, rev);
  assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
  const att = await s.attempt(inst, 'exam-9');
  const put = (who: Staff, record: Uint8Array | object, attempt = att.attempt) => s.app.inject({
    method: 'PUT', url: `/v1/custody/attempts/${attempt}/review`, headers: who.send,
    payload: record instanceof Uint8Array ? { record: toBase64Url(record) } : record,
  });
  const get = async (who: Staff, query = ''): Promise<ReviewListResponse> => {
    const r = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${att.attempt}/review${query}`, headers: who.get });
    assert.equal(r.statusCode, 200, r.body);
    return r.json<ReviewListResponse>();
  };
  return { s, inst, admin, rev, att, put, get };
}

describe('custody: review records', () => {
  it('stores revisions in order, serves them all or the newest, and they open as one chain by their authors', async (t) => {
    const { s, inst, admin, rev, att, put, get } = await setting(t);
    assert.deepEqual(await get(rev), { institution: inst.id, attempt: att.attempt, records: [] });

    const notes = 'Looked at a second screen at 14:02; asked the invigilator.';
    const r1 = await sealBy(rev, att.attempt, null, { verdict: 'concern', notes, time: T0 });
    const w1 = await put(rev, r1);
    assert.equal(w1.statusCode, 201, w1.body);
    const d1 = await decodeReview(r1);
    assert.deepEqual({ ...w1.json<object>(), auditSeq: 0 }, { attempt: att.attempt, revision: 1, id: toBase64Url(d1.id), auditSeq: 0 });
    // A retry of the same record (its answer was lost) stores nothing and answers the same.
    const again = await put(rev, r1);
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json(), w1.json());

    s.now += 5000;
    const r2 = await sealBy(admin, att.attempt, d1, { verdict: 'no-concern', notes: 'Checked: the second screen was off.', time: T0 + 5000 });
    assert.equal((await put(admin, r2)).statusCode, 201);

    const all = await get(rev);
    assert.deepEqual(all.records.map((r) => [r.revision, r.author, r.epoch]), [[1, 'rev-1', 1], [2, 'adm-1', 1]]);
    assert.equal(all.records[1]?.storedAt, s.now);
    const latest = await get(admin, '?latest=true');
    assert.deepEqual(latest.records.map((r) => r.revision), [2]);

    // The reviewer's client: authors' keys from their verified registrations, its epoch key from its grant.
    const signing: Record<string, Uint8Array> = { 'rev-1': rev.keys.signingPublicKey, 'adm-1': admin.keys.signingPublicKey };
    const opened = await openReviewHistory(all.records.map((r) => fromBase64Url(r.record) as Uint8Array), {
      institution: inst.id, attempt: att.attempt, authorKey: (a) => signing[a] ?? null, epochKey: (e) => (e === 1 ? inst.keys.privateKey : null),
    });
    assert.deepEqual(opened.map((o) => o.content.verdict), ['concern', 'no-concern']);
    assert.equal(opened[0]?.content.notes, notes);

    // Audited first, by ids and hashes: never the verdict or the notes.
    const cell = cellOf(s);
    const events = await cell.db.selectFrom('audit_log').selectAll().where('type', '=', 'review.stored').orderBy('seq').execute();
    assert.equal(events.length, 2);
    const payload = JSON.parse(Buffer.from(events[0]?.payload as Uint8Array).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload).sort(), ['attempt', 'epoch', 'member', 'recordId', 'revision', 'sha256']);
    assert.equal(payload.member, 'rev-1');
    assert.equal(payload.recordId, Buffer.from(d1.id).toString('hex'));
    assert.equal(Number(events[0]?.seq), w1.json().auditSeq);
    const stored = await cell.db.selectFrom('review_records').selectAll().execute();
    assert.ok(!JSON.stringify(stored).includes('second screen') && !JSON.stringify(events.map((e) => Buffer.from(e.payload).toString())).includes('concern'));
  });

  it('answers 409 to a writer who lost a race or skips a revision, and to a record sealed to an old epoch', async (t) => {
    const { s, inst, admin, rev, att, put } = await setting(t);
    const r1 = await sealBy(rev, att.attempt, null, { verdict: 'undecided', notes: '', time: T0 });
    assert.equal((await put(rev, r1)).statusCode, 201);
    const d1 = await decodeReview(r1);
    // Two clients both write revision 2 on top of revision 1: the first one stored wins.
    const mine = await sealBy(rev, att.attempt, d1, { verdict: 'concern', notes: 'a', time: T0 });
    const theirs = await sealBy(admin, att.attempt, d1, { verdict: 'violation', notes: 'b', time: T0 });
    assert.equal((await put(admin, theirs)).statusCode, 201);
    const lost = await put(rev, mine);
    assert.equal(lost.statusCode, 409, lost.body);
    assert.equal(lost.json().error.code, 'EV_ERR_REVIEW_CONFLICT');
    // A second revision 1, and a revision 3 that names revision 1 rather than the stored 2.
    for (const record of [await sealBy(rev, att.attempt, null, { verdict: 'concern', notes: '', time: T0 }), await sealBy(rev, att.attempt, { revision: 2, id: d1.id }, { verdict: 'concern', notes: '', time: T0 })]) {
      const r = await put(rev, record);
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.json().error.code, 'EV_ERR_REVIEW_CONFLICT');
    }
    // The loser writes on top of the winner.
    const d2 = await decodeReview(theirs);
    assert.equal((await put(rev, await sealBy(rev, att.attempt, d2, { verdict: 'concern', notes: 'a', time: T0 }))).statusCode, 201);

    // A revocation starts epoch 2: a record still sealed to epoch 1 is refused.
    const other = await addStaff(s, inst, 'rev-2', 'reviewer');
    await register(s, other);
    const epoch2 = await generateEpochKeyPair();
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, other.id, 2, epoch2) })).statusCode, 201);
    const d3 = (await decodeReview(fromBase64Url((await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${att.attempt}/review?latest=true`, headers: rev.get })).json<ReviewListResponse>().records[0]?.record as string) as Uint8Array));
    const stale = await put(admin, await sealBy(admin, att.attempt, d3, { verdict: 'concern', notes: '', time: T0 }));
    assert.equal(stale.statusCode, 409, stale.body);
    assert.equal(stale.json().error.code, 'EV_ERR_REVIEW_STALE_EPOCH');
    assert.equal((await put(admin, await sealBy(admin, att.attempt, d3, { verdict: 'concern', notes: '', time: T0 }, 2, epoch2))).statusCode, 201);
  });

  it("refuses a record of another attempt, another author, another's signature, garbage, and unknown attempts", async (t) => {
    const { s, inst, admin, rev, att, put, get } = await setting(t);
    const elsewhere = await s.attempt(inst, 'exam-9');
    const code = async (r: Awaited<ReturnType<typeof put>>) => [r.statusCode, r.json<{ error: { code: string } }>().error.code];
    // Sealed for another attempt, sent to this one.
    assert.deepEqual(await code(await put(rev, await sealBy(rev, elsewhere.attempt, null, { verdict: 'concern', notes: '', time: T0 }))), [422, 'EV_ERR_REVIEW_REJECTED']);
    // The admin's own record, sent by the reviewer's session: the author is not the one signed in.
    assert.deepEqual(await code(await put(rev, await sealBy(admin, att.attempt, null, { verdict: 'concern', notes: '', time: T0 }))), [422, 'EV_ERR_REVIEW_REJECTED']);
    // Naming the reviewer but signed with another key than the reviewer's registered one.
    const forged = await sealReview({ institution: inst.id, attempt: att.attempt, author: rev.id, after: null, epoch: 1, epochPublicKey: inst.keys.publicKey, signingKey: admin.keys.signing.privateKey, content: { verdict: 'violation', notes: '', time: T0 } });
    assert.deepEqual(await code(await put(rev, forged)), [422, 'EV_ERR_REVIEW_REJECTED']);
    const good = await sealBy(rev, att.attempt, null, { verdict: 'concern', notes: '', time: T0 });
    const flipped = good.slice();
    flipped[flipped.length - 100] = (flipped[flipped.length - 100] as number) ^ 1;
    assert.deepEqual(await code(await put(rev, flipped)), [422, 'EV_ERR_REVIEW_REJECTED']);
    assert.deepEqual(await code(await put(rev, new Uint8Array(300))), [422, 'EV_ERR_REVIEW_REJECTED']);
    for (const body of [{}, { record: 'not base64!' }, { record: toBase64Url(good), extra: 1 }, { record: 'A'.repeat(100_000) }]) {
      assert.deepEqual(await code(await put(rev, body)), [400, 'EV_ERR_CUSTODY_INVALID_REQUEST']);
    }
    assert.deepEqual(await code(await put(rev, good, 'no-such-attempt')), [404, 'EV_ERR_REVIEW_ATTEMPT_NOT_FOUND']);
    assert.equal((await get(rev)).records.length, 0);
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${att.attempt}/review?latest=yes`, headers: rev.get })).statusCode, 400);

    // A pending reviewer can neither write nor read; the audit log is needed first.
    const pending = await addStaff(s, inst, 'rev-pending', 'reviewer');
    await register(s, pending);
    assert.equal((await put(pending, await sealBy(pending, att.attempt, null, { verdict: 'concern', notes: '', time: T0 }))).statusCode, 403);
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${att.attempt}/review`, headers: pending.get })).statusCode, 403);
    const cell = cellOf(s);
    await sql`ALTER TABLE audit_log RENAME TO audit_log_away`.execute(cell.db);
    const unlogged = await put(rev, good);
    await sql`ALTER TABLE audit_log_away RENAME TO audit_log`.execute(cell.db);
    assert.deepEqual(await code(unlogged), [503, 'EV_ERR_CUSTODY_AUDIT_UNAVAILABLE']);
    assert.equal((await get(rev)).records.length, 0, 'nothing stored without its audit entry');
    assert.equal((await put(rev, good)).statusCode, 201);
  });
});
