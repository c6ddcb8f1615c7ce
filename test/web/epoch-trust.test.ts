/**
 * The recorder seals only to an epoch key a trusted admin announced (src/web/recorder/epoch-trust.ts):
 * real key pairs and statements from src/crypto/custody, and every way a server could substitute
 * the key it serves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type EpochStatement,
  type RevocationStatement,
  exportPublicKey,
  generateEpochKeyPair,
  generateSigningKeyPair,
  exportSigningPublicKey,
  signStatement,
  toBase64Url,
} from '../../src/crypto/index.js';
import type { EpochResponse } from '../../src/protocol/custody.js';
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
});
