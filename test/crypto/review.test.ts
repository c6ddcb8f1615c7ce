/**
 * Review records (docs/SPEC.md §13), in Node and in Chromium: a reviewer's verdict and notes open for
 * holders of the epoch key, verified as the author's; a history is one chain; and whatever a server
 * changes (the attempt, the revision, the author, the order, any bit) is refused with its code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bs, concat, str8, u32, utf8 } from '../../src/crypto/bytes.js';
import { sign } from '../../src/crypto/custody/signing-key.js';
import { hpke } from '../../src/crypto/hpke.js';
import {
  type ReviewContent,
  type ReviewExpectation,
  type SealReviewInput,
  MAX_REVIEW_NOTES,
  decodeReview,
  openReview,
  openReviewHistory,
  sealReview,
  verifyReviewSignature,
} from '../../src/crypto/index.js';
import { INSTITUTION, T0, epochKeys, member } from './custody-fixtures.js';
import { rejectionCode } from './fixtures.js';

const ATTEMPT = 'att-0001';

async function setting() {
  const [rev1, rev2, stranger, epoch1, epoch2] = await Promise.all([member('rev-1'), member('rev-2'), member('stranger'), epochKeys(1), epochKeys(2)]);
  const known: Record<string, Uint8Array> = { 'rev-1': rev1.signingPublicKey, 'rev-2': rev2.signingPublicKey };
  const expect: ReviewExpectation = {
    institution: INSTITUTION,
    attempt: ATTEMPT,
    authorKey: (author) => known[author] ?? null,
    epochKey: (epoch) => (epoch === 1 ? epoch1.privateKey : epoch === 2 ? epoch2.privateKey : null),
  };
  const seal = (over: Partial<SealReviewInput> & { content: ReviewContent }) => sealReview({
    institution: INSTITUTION,
    attempt: ATTEMPT,
    author: 'rev-1',
    after: null,
    epoch: 1,
    epochPublicKey: epoch1.publicKey,
    signingKey: rev1.signing.privateKey,
    ...over,
  });
  return { rev1, rev2, stranger, epoch1, epoch2, expect, seal };
}

const first: ReviewContent = { verdict: 'undecided', notes: 'Looked away from the screen at 12:04 and 12:09.', time: T0 };
const second: ReviewContent = { verdict: 'concern', notes: 'A second voice at 31:40 — «Ü» and emoji 🙂 survive.', time: T0 + 60_000 };
const third: ReviewContent = { verdict: 'no-concern', notes: '', time: T0 + 120_000 };

async function history() {
  const s = await setting();
  const r1 = await s.seal({ content: first });
  const r2 = await s.seal({ content: second, author: 'rev-2', signingKey: s.rev2.signing.privateKey, after: await decodeReview(r1) });
  const r3 = await s.seal({ content: third, epoch: 2, epochPublicKey: s.epoch2.publicKey, after: await decodeReview(r2) });
  return { ...s, r1, r2, r3 };
}

function flip(bytes: Uint8Array, at: number, mask = 1): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] as number) ^ mask;
  return out;
}

describe('review records', () => {
  it('open for an epoch key holder as the author wrote them, and a history opens as one chain', async () => {
    const { r1, r2, r3, expect } = await history();
    const opened = await openReviewHistory([r1, r2, r3], expect);
    assert.deepEqual(opened.map((r) => [r.revision, r.author, r.epoch, r.content]), [[1, 'rev-1', 1, first], [2, 'rev-2', 1, second], [3, 'rev-1', 2, third]]);
    assert.deepEqual(opened[1]?.previous, opened[0]?.id);
    assert.deepEqual(opened[2]?.previous, opened[1]?.id);
    assert.deepEqual(opened[0]?.previous, new Uint8Array(32));
    // The newest alone, knowing the one before it, or only the last revision seen.
    const latest = await openReview(r3, { ...expect, after: opened[1] ?? null, notBefore: 3 });
    assert.deepEqual(latest.content, third);
    // What the server reads without a key: the head, and whether the author's registered key signed it.
    const head = await decodeReview(r2);
    assert.deepEqual([head.institution, head.attempt, head.revision, head.author, head.epoch], [INSTITUTION, ATTEMPT, 2, 'rev-2', 1]);
    assert.ok(await verifyReviewSignature(r2, expect.authorKey('rev-2') as Uint8Array));
    assert.ok(!(await verifyReviewSignature(r2, expect.authorKey('rev-1') as Uint8Array)));
  });

  it('match the exact bytes of SPEC §13, built here independently', async () => {
    const { rev1, epoch1, expect } = await setting();
    const head = concat(utf8('EVNOTE'), Uint8Array.of(1), str8(INSTITUTION), str8(ATTEMPT), u32(1), str8('rev-1'), u32(1), new Uint8Array(32));
    const body = utf8(JSON.stringify({ verdict: 'violation', notes: 'phone on the desk', time: T0 }));
    const { enc, ct } = await hpke.seal({ recipientPublicKey: epoch1.publicKey, info: bs(concat(utf8('examvault/v1/review'), head)) }, bs(body));
    const unsigned = concat(head, new Uint8Array(enc), u32(ct.byteLength), new Uint8Array(ct));
    const record = concat(unsigned, await sign(rev1.signing.privateKey, concat(utf8('examvault/v1/review-record'), unsigned)));
    const opened = await openReview(record, { ...expect, after: null });
    assert.deepEqual(opened.content, { verdict: 'violation', notes: 'phone on the desk', time: T0 });
    assert.deepEqual(opened.id, new Uint8Array(await crypto.subtle.digest('SHA-256', bs(unsigned))));
    assert.equal(record.length, head.length + 65 + 4 + body.length + 16 + 64);

    // A body of another shape, properly sealed and signed by its author, is still refused.
    for (const bad of [{ verdict: 'guilty', notes: '', time: T0 }, { verdict: 'concern', notes: '', time: T0, name: 'Ada' }, { verdict: 'concern', notes: 'x'.repeat(MAX_REVIEW_NOTES + 1), time: T0 }]) {
      const sealed = await hpke.seal({ recipientPublicKey: epoch1.publicKey, info: bs(concat(utf8('examvault/v1/review'), head)) }, bs(utf8(JSON.stringify(bad))));
      const u = concat(head, new Uint8Array(sealed.enc), u32(sealed.ct.byteLength), new Uint8Array(sealed.ct));
      const r = concat(u, await sign(rev1.signing.privateKey, concat(utf8('examvault/v1/review-record'), u)));
      assert.equal(await rejectionCode(openReview(r, expect)), 'EV_ERR_REVIEW_MALFORMED');
    }
  });

  it('refuse a record moved to another attempt or institution', async () => {
    const { seal, expect } = await setting();
    const elsewhere = await seal({ content: first, attempt: 'att-0002' });
    assert.equal(await rejectionCode(openReview(elsewhere, expect)), 'EV_ERR_REVIEW_BINDING_MISMATCH');
    assert.equal(await rejectionCode(openReview(await seal({ content: first, institution: 'inst-9c21' }), expect)), 'EV_ERR_REVIEW_BINDING_MISMATCH');
    // Relabelled in place to name this attempt (same length): the signature no longer verifies.
    const relabelled = elsewhere.slice();
    relabelled.set(utf8(ATTEMPT), 7 + 1 + INSTITUTION.length + 1);
    assert.equal((await decodeReview(relabelled)).attempt, ATTEMPT);
    assert.equal(await rejectionCode(openReview(relabelled, expect)), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
  });

  it('refuse an older revision served as the newest, and a history dropped, reordered or spliced', async () => {
    const { r1, r2, r3, expect, seal } = await history();
    const [d1, d2] = [await decodeReview(r1), await decodeReview(r2)];
    const code = (p: Promise<unknown>) => rejectionCode(p);
    assert.equal(await code(openReview(r2, { ...expect, notBefore: 3 })), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    assert.equal(await code(openReview(r1, { ...expect, after: d2 })), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    assert.equal(await code(openReviewHistory([r1, r2], { ...expect, notBefore: 3 })), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    assert.equal(await code(openReviewHistory([r1, r3], expect)), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    assert.equal(await code(openReviewHistory([r2, r3], expect)), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    assert.equal(await code(openReviewHistory([r1, r2, r1], expect)), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    // A fork: another revision 2 after the same revision 1 (an author's lost update) does not splice into the chain.
    const fork = await seal({ content: third, after: d1 });
    assert.equal(await code(openReviewHistory([r1, fork, r3], expect)), 'EV_ERR_REVIEW_OUT_OF_ORDER');
    // The revision number relabelled in the head: the signature covers it.
    const at = 7 + 1 + INSTITUTION.length + 1 + ATTEMPT.length + 3;
    assert.equal(await code(openReview(flip(r1, at, 0x02), expect)), 'EV_ERR_REVIEW_MALFORMED'); // revision 3 naming no previous
    const renumbered = flip(r2, at, 0x01);
    assert.equal((await decodeReview(renumbered)).revision, 3);
    assert.equal(await code(openReview(renumbered, { ...expect, notBefore: 3 })), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
  });

  it("refuse another author's name, another's signature, and an author the reader does not know", async () => {
    const { seal, expect, rev2, stranger } = await setting();
    const r = await seal({ content: first });
    // Signed by rev-2 while naming rev-1: checked under rev-1's key.
    assert.equal(await rejectionCode(openReview(await seal({ content: first, signingKey: rev2.signing.privateKey }), expect)), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    // rev-1's record relabelled as rev-2's ("rev-1" → "rev-2", same length): checked under rev-2's key.
    const at = 7 + 1 + INSTITUTION.length + 1 + ATTEMPT.length + 4 + 1 + 4;
    const relabelled = flip(r, at, '1'.charCodeAt(0) ^ '2'.charCodeAt(0));
    assert.equal((await decodeReview(relabelled)).author, 'rev-2');
    assert.equal(await rejectionCode(openReview(relabelled, expect)), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    const unknown = await seal({ content: first, author: 'stranger', signingKey: stranger.signing.privateKey });
    assert.equal(await rejectionCode(openReview(unknown, expect)), 'EV_ERR_CUSTODY_UNKNOWN_SIGNER');
  });

  it('refuse every single-bit change, a cut and an added byte, and open only with the right epoch key', async () => {
    const { seal, expect, epoch2 } = await setting();
    const r = await seal({ content: second });
    const allowed = new Set(['EV_ERR_REVIEW_MALFORMED', 'EV_ERR_FORMAT_UNSUPPORTED_VERSION', 'EV_ERR_REVIEW_BINDING_MISMATCH', 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 'EV_ERR_CUSTODY_UNKNOWN_SIGNER']);
    const seen = new Set<string>();
    for (let at = 0; at < r.length; at++) {
      const code = await rejectionCode(openReview(flip(r, at, 1 << (at % 8)), expect));
      assert.ok(allowed.has(code), `byte ${at}: ${code}`);
      seen.add(code);
    }
    assert.ok(seen.has('EV_ERR_CUSTODY_SIGNATURE_INVALID') && seen.has('EV_ERR_REVIEW_MALFORMED'));
    assert.equal(await rejectionCode(openReview(r.subarray(0, r.length - 1), expect)), 'EV_ERR_REVIEW_MALFORMED');
    assert.equal(await rejectionCode(openReview(concat(r, Uint8Array.of(0)), expect)), 'EV_ERR_REVIEW_MALFORMED');
    assert.equal(await rejectionCode(openReview(r, { ...expect, epochKey: () => null })), 'EV_ERR_REVIEW_NO_EPOCH_KEY');
    assert.equal(await rejectionCode(openReview(r, { ...expect, epochKey: () => epoch2.privateKey })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('seal only what a reader accepts', async () => {
    const { seal } = await setting();
    const code = (content: ReviewContent) => rejectionCode(seal({ content }));
    assert.equal(await code({ ...first, verdict: 'guilty' as ReviewContent['verdict'] }), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await code({ ...first, notes: 'x'.repeat(MAX_REVIEW_NOTES + 1) }), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await code({ ...first, time: -1 }), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await rejectionCode(seal({ content: first, attempt: '../x' })), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    // The longest notes in the worst JSON escaping still fit the body limit.
    const worst = await seal({ content: { ...first, notes: '\u0001'.repeat(MAX_REVIEW_NOTES) } });
    assert.equal((await decodeReview(worst)).revision, 1);
  });
});
