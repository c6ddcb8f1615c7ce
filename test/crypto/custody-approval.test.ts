/**
 * The approval flow end to end, in the crypto core: a reviewer registers, the admin compares safety
 * numbers, grants, signs; the reviewer opens the grant and then a recording. Includes the substitution
 * test of issue 4 at this layer: a server swapping the reviewer's keys is caught before any grant.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type KeyRegistrationStatement,
  approveReviewer,
  exportPublicKey,
  memberFingerprint,
  openGrant,
  reviewRegistration,
  safetyNumber,
  signStatement,
  verifyStatement,
} from '../../src/crypto/index.js';
import { equalBytes, openFile, randomData, rejectionCode, sealFile } from './fixtures.js';
import { INSTITUTION, OTHER_INSTITUTION, T0, epochKeys, member, trusting } from './custody-fixtures.js';

async function registration(name: string, keysOf = name): Promise<{ statement: KeyRegistrationStatement; signed: Uint8Array }> {
  const keys = await member(keysOf);
  const statement: KeyRegistrationStatement = { type: 'key-registration', institution: INSTITUTION, timestamp: T0, reviewer: name, hpkePublicKey: keys.hpkePublicKey, signingPublicKey: keys.signingPublicKey };
  return { statement, signed: await signStatement(statement, keys.signing.privateKey) };
}

async function approve(signed: Uint8Array, confirmedSafetyNumber: string, institution = INSTITUTION) {
  const admin = await member('adm-1');
  return approveReviewer({ registration: signed, confirmedSafetyNumber, institution, epoch: 1, epochPrivateKey: (await epochKeys(1)).privateKey, admin: 'adm-1', adminSigningKey: admin.signing.privateKey, timestamp: T0 + 1 });
}

describe('approving a reviewer', () => {
  it('grants, signs the approval, and the reviewer opens a recording with the grant', async () => {
    const { signed } = await registration('rev-1');
    const reviewer = await member('rev-1');
    // The reviewer's own screen shows the number computed from its own keys.
    const onReviewerScreen = await safetyNumber({ institution: INSTITUTION, member: 'rev-1', keys: reviewer });
    const { safetyNumber: onAdminScreen } = await reviewRegistration(signed, INSTITUTION);
    assert.equal(onAdminScreen, onReviewerScreen);

    const result = await approve(signed, onReviewerScreen);
    const check = await verifyStatement(result.approval, trusting({ 'adm-1': (await member('adm-1')).signingPublicKey }), 'approval');
    assert.ok(check.ok);
    assert.deepEqual(check.statement.fingerprint, await memberFingerprint(reviewer));
    assert.equal(check.statement.reviewer, 'rev-1');
    assert.equal(check.statement.timestamp, T0 + 1);

    const epoch = await epochKeys(1);
    const data = randomData(500);
    const { file } = await sealFile(data, { recipient: epoch.publicKey, epoch: 1, maxSegment: 128 });
    const epochPrivateKey = await openGrant(result.grant, { institution: INSTITUTION, epoch: 1, epochPublicKey: await exportPublicKey(epoch.publicKey) }, { kind: 'member', member: 'rev-1', keys: reviewer }, reviewer.hpke.privateKey);
    assert.ok(equalBytes(await openFile(file, epochPrivateKey), data));
  });

  it('catches a server that substitutes the reviewer keys: the safety numbers differ, nothing is granted', async () => {
    const reviewer = await member('rev-1');
    const onReviewerScreen = await safetyNumber({ institution: INSTITUTION, member: 'rev-1', keys: reviewer });
    // The server replaces the registration with one for the same reviewer id but its own keys,
    // self-signed with its own signing key (so it verifies as a registration).
    const { signed: substituted } = await registration('rev-1', 'mallory');
    const { safetyNumber: onAdminScreen } = await reviewRegistration(substituted, INSTITUTION);
    assert.notEqual(onAdminScreen, onReviewerScreen);
    assert.equal(await rejectionCode(approve(substituted, onReviewerScreen)), 'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH');
  });

  it('refuses a registration that does not verify or belongs to another institution', async () => {
    const { statement, signed } = await registration('rev-1');
    const n = (await reviewRegistration(signed, INSTITUTION)).safetyNumber;
    const tampered = signed.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    assert.equal(await rejectionCode(approve(tampered, n)), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    assert.equal(await rejectionCode(approve(signed, n, OTHER_INSTITUTION)), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    const notRegistration = await signStatement({ ...statement, type: 'institution' } as never, (await member('rev-1')).signing.privateKey);
    assert.equal(await rejectionCode(approve(notRegistration, n)), 'EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE');
  });
});
