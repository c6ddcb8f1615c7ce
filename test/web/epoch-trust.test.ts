/**
 * The recorder seals only to an epoch key a trusted admin announced (src/web/recorder/epoch-trust.ts):
 * real key pairs and statements from src/crypto/custody, and every way a server could substitute
 * the key it serves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type EpochStatement,
  type RecoveryKeys,
  deriveRecoveryKeys,
  generateRecoverySecret,
  memberFingerprint,
  type RevocationStatement,
  exportPublicKey,
  generateEpochKeyPair,
  generateSigningKeyPair,
  exportSigningPublicKey,
  signStatement,
  toBase64Url,
} from '../../src/crypto/index.js';
import type { EpochResponse as Served } from '../../src/protocol/custody.js';

/** What checkEpochKey reads of the answer (where each statement is in the log is log-proof.ts's part). */
type EpochResponse = Omit<Served, 'auditSeqs'>;
import { type TrustAnchors, checkEpochKey } from '../../src/web/recorder/epoch-trust.js';

const institution = 'inst-1';

async function setting() {
  const admin = await generateSigningKeyPair();
  const adminPublic = await exportSigningPublicKey(admin.publicKey);
  const e1 = await exportPublicKey((await generateEpochKeyPair()).publicKey);
  const e2 = await exportPublicKey((await generateEpochKeyPair()).publicKey);
  const epoch1: EpochStatement = { type: 'epoch', institution, timestamp: 1, admin: 'adm-1', epoch: 1, epochPublicKey: e1 };
  const revocation: RevocationStatement = { type: 'revocation', institution, timestamp: 2, admin: 'adm-1', reviewer: 'rev-1', epoch: 2, epochPublicKey: e2 };
  const statements = [toBase64Url(await signStatement(epoch1, admin.privateKey)), toBase64Url(await signStatement(revocation, admin.privateKey))];
  const anchors: TrustAnchors = { admins: new Map([['adm-1', adminPublic]]) };
  const served: EpochResponse = { institution, epoch: 2, publicKey: toBase64Url(e2), statements };
  return { admin, anchors, served, e1, e2, epoch1, revocation };
}

describe('which epoch key the recorder seals to', () => {
  it('accepts the newest key a trusted admin announced', async () => {
    const { anchors, served, e2 } = await setting();
    const check = await checkEpochKey(served, institution, anchors);
    assert.ok(check.ok, check.ok ? '' : check.reason);
    assert.equal(check.epoch, 2);
    assert.deepEqual(check.publicKeyBytes, e2);
    assert.equal(check.announcedBy, 'adm-1');
  });

  it('refuses a substituted key, an old epoch, an unknown signer, a forged signature and another institution', async () => {
    const { anchors, served, e1 } = await setting();
    const mallory = await generateSigningKeyPair();
    const fake = await exportPublicKey((await generateEpochKeyPair()).publicKey);
    const forged = toBase64Url(await signStatement({ type: 'epoch', institution, timestamp: 3, admin: 'adm-1', epoch: 3, epochPublicKey: fake }, mallory.privateKey));
    const cases: [string, EpochResponse, string, TrustAnchors][] = [
      ['a key no statement announces', { ...served, publicKey: toBase64Url(fake) }, institution, anchors],
      ['the previous epoch served as current', { ...served, epoch: 1, publicKey: toBase64Url(e1) }, institution, anchors],
      ['no statements at all', { ...served, statements: [] }, institution, anchors],
      ['statements of an admin the recorder does not trust', served, institution, { admins: new Map() }],
      ['a statement whose signature does not verify', { ...served, statements: [...served.statements, forged] }, institution, anchors],
      ['another institution', { ...served, institution: 'inst-2' }, institution, anchors],
      ['a key for a newer epoch than any announced', { ...served, epoch: 3 }, institution, anchors],
    ];
    for (const [what, response, inst, trust] of cases) {
      const check = await checkEpochKey(response, inst, trust);
      assert.equal(check.ok, false, what);
    }
    // A statement by someone the recorder does not know proves nothing, but is not an attack by itself.
    const stranger = toBase64Url(await signStatement({ type: 'epoch', institution, timestamp: 3, admin: 'adm-9', epoch: 1, epochPublicKey: e1 }, mallory.privateKey));
    assert.ok((await checkEpochKey({ ...served, statements: [stranger, ...served.statements] }, institution, anchors)).ok);
  });

  it('trusts admins enrolled by the pinned recovery key', async () => {
    const { admin, served } = await setting();
    const recovery = await generateSigningKeyPair();
    const enrolment = await signStatement({
      type: 'admin-enrolment', institution, timestamp: 0, admin: 'adm-1',
      hpkePublicKey: await exportPublicKey((await generateEpochKeyPair()).publicKey),
      signingPublicKey: await exportSigningPublicKey(admin.publicKey),
      enrolledBy: { kind: 'recovery' },
    }, recovery.privateKey);
    const chained = { ...served, statements: [toBase64Url(enrolment), ...served.statements] };
    assert.ok((await checkEpochKey(chained, institution, { admins: new Map(), root: await exportSigningPublicKey(recovery.publicKey) })).ok);
    const otherRoot = await exportSigningPublicKey((await generateSigningKeyPair()).publicKey);
    assert.equal((await checkEpochKey(chained, institution, { admins: new Map(), root: otherRoot })).ok, false);
  });

  describe('from the recovery key, along the chain GET /v1/custody/epoch serves', () => {
    /** What set-up (PUT /v1/custody/recovery) stores: institution statement, first admin's enrolment, epoch 1. */
    async function chain(recovery: RecoveryKeys, admin: CryptoKeyPair, e1: Uint8Array, inst = institution): Promise<string[]> {
      const sign = async (s: Parameters<typeof signStatement>[0], key: CryptoKey) => toBase64Url(await signStatement(s, key));
      return [
        await sign({ type: 'institution', institution: inst, timestamp: 0, hpkePublicKey: recovery.hpkePublicKey, signingPublicKey: recovery.signingPublicKey }, recovery.signing.privateKey),
        await sign({ type: 'admin-enrolment', institution: inst, timestamp: 0, admin: 'adm-1', hpkePublicKey: await exportPublicKey((await generateEpochKeyPair()).publicKey), signingPublicKey: await exportSigningPublicKey(admin.publicKey), enrolledBy: { kind: 'recovery' } }, recovery.signing.privateKey),
        await sign({ type: 'epoch', institution: inst, timestamp: 1, admin: 'adm-1', epoch: 1, epochPublicKey: e1 }, admin.privateKey),
      ];
    }

    async function rooted() {
      const recovery = await deriveRecoveryKeys(generateRecoverySecret());
      const fingerprint = toBase64Url(await memberFingerprint(recovery));
      const { admin, e1, e2, served } = await setting();
      const setUp = await chain(recovery, admin, e1);
      const afterSetUp: EpochResponse = { institution, epoch: 1, publicKey: toBase64Url(e1), statements: setUp };
      const afterRevocation: EpochResponse = { ...served, statements: [...setUp, served.statements[1] as string] };
      return { recovery, fingerprint, admin, e1, e2, afterSetUp, afterRevocation };
    }

    const none: TrustAnchors = { admins: new Map() };

    it('trusts epoch 1 right after set-up and epoch 2 after a revocation, from the recovery-key fingerprint alone', async () => {
      const { fingerprint, afterSetUp, afterRevocation } = await rooted();
      const anchors: TrustAnchors = { admins: new Map(), rootFingerprint: fingerprint };
      const first = await checkEpochKey(afterSetUp, institution, anchors);
      assert.ok(first.ok && first.epoch === 1 && first.rootFingerprint === fingerprint, first.ok ? '' : first.reason);
      const second = await checkEpochKey(afterRevocation, institution, anchors);
      assert.ok(second.ok && second.epoch === 2, second.ok ? '' : second.reason);
    });

    it('takes the served root only on first use, and names it for pinning', async () => {
      const { fingerprint, afterRevocation } = await rooted();
      assert.equal((await checkEpochKey(afterRevocation, institution, none)).ok, false, 'no root, no first use: nothing is trusted');
      const tofu = await checkEpochKey(afterRevocation, institution, none, { firstUse: true });
      assert.ok(tofu.ok && tofu.rootFingerprint === fingerprint);
    });

    it('refuses a substituted chain, a forged enrolment, a stale epoch, a revoked admin and another institution', async () => {
      const { recovery, fingerprint, admin, e1, e2, afterSetUp, afterRevocation } = await rooted();
      const pinned: TrustAnchors = { admins: new Map(), rootFingerprint: fingerprint };
      // A server that replaces the whole chain with its own recovery key, admin and epoch key.
      const mallory = await deriveRecoveryKeys(generateRecoverySecret());
      const malloryAdmin = await generateSigningKeyPair();
      const fake = await exportPublicKey((await generateEpochKeyPair()).publicKey);
      const substituted: EpochResponse = { institution, epoch: 1, publicKey: toBase64Url(fake), statements: await chain(mallory, malloryAdmin, fake) };
      // Mallory's enrolment slipped into the real chain, claiming to be by the recovery key.
      const [, forgedEnrolment] = await chain(mallory, malloryAdmin, fake);
      const forgedEpoch = toBase64Url(await signStatement({ type: 'epoch', institution, timestamp: 5, admin: 'adm-1', epoch: 3, epochPublicKey: fake }, malloryAdmin.privateKey));
      // After adm-1 is revoked, a statement adm-1 signs announces nothing.
      const selfRevoked = toBase64Url(await signStatement({ type: 'revocation', institution, timestamp: 3, admin: 'adm-1', reviewer: 'adm-1', epoch: 2, epochPublicKey: e2 }, admin.privateKey));
      const afterSelfRevoked = toBase64Url(await signStatement({ type: 'epoch', institution, timestamp: 4, admin: 'adm-1', epoch: 3, epochPublicKey: fake }, admin.privateKey));
      const cases: [string, EpochResponse, string, TrustAnchors, boolean][] = [
        ['a chain from another recovery key, with a root pinned', substituted, institution, pinned, true],
        ['a chain from another recovery key, with the real one as anchor', substituted, institution, { admins: new Map(), root: recovery.signingPublicKey }, true],
        ['a second institution statement with another key after the real one', { ...afterSetUp, statements: [...afterSetUp.statements, (substituted.statements[0] as string)] }, institution, pinned, true],
        ['an enrolment not signed by the pinned recovery key, then its admin\'s epoch', { ...afterSetUp, epoch: 3, publicKey: toBase64Url(fake), statements: [...afterSetUp.statements, forgedEnrolment as string, forgedEpoch] }, institution, pinned, false],
        ['a stale epoch served as current', { ...afterRevocation, epoch: 1, publicKey: toBase64Url(e1) }, institution, pinned, false],
        ['a key substituted for the current epoch', { ...afterRevocation, publicKey: toBase64Url(fake) }, institution, pinned, false],
        ['an epoch announced by a revoked admin', { ...afterSetUp, epoch: 3, publicKey: toBase64Url(fake), statements: [...afterSetUp.statements, selfRevoked, afterSelfRevoked] }, institution, pinned, false],
        ['another institution\'s chain', { ...afterSetUp, institution: 'inst-2', statements: await chain(recovery, admin, e1, 'inst-2') }, institution, pinned, false],
        ['another institution\'s chain under this institution\'s name', { ...afterSetUp, statements: await chain(recovery, admin, e1, 'inst-2') }, institution, pinned, true],
      ];
      for (const [what, response, inst, trust, firstUse] of cases) {
        const check = await checkEpochKey(response, inst, trust, { firstUse });
        assert.equal(check.ok, false, what);
      }
    });
  });
});
