import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type EpochGrant,
  type GrantRecipient,
  createGrant,
  deriveRecoveryKeys,
  exportPrivateKey,
  exportPublicKey,
  openGrant,
  toBase64Url,
} from '../../src/crypto/index.js';
import { rejectionCode } from './fixtures.js';
import { INSTITUTION, OTHER_INSTITUTION, epochKeys, member, withField } from './custody-fixtures.js';

describe('grants of the epoch key', () => {
  let grant: EpochGrant;
  let epochPublicKey: Uint8Array;
  let recipientA: GrantRecipient;
  let recipientB: GrantRecipient;
  const scope = { institution: INSTITUTION, epoch: 1 };

  before(async () => {
    const a = await member('rev-a');
    const b = await member('rev-b');
    recipientA = { kind: 'member', member: 'rev-a', keys: a };
    recipientB = { kind: 'member', member: 'rev-b', keys: b };
    const epoch = await epochKeys(1);
    epochPublicKey = await exportPublicKey(epoch.publicKey);
    grant = await createGrant(epoch.privateKey, scope, recipientA);
  });

  it('opens for its reviewer to the epoch private key', async () => {
    const a = await member('rev-a');
    const key = await openGrant(JSON.parse(JSON.stringify(grant)), { ...scope, epochPublicKey }, recipientA, a.hpke.privateKey);
    assert.deepEqual(await exportPrivateKey(key), await exportPrivateKey((await epochKeys(1)).privateKey));
    assert.equal(grant.recipient.kind, 'member');
  });

  it('does not open for reviewer B, even with the grant relabelled for B', async () => {
    const b = await member('rev-b');
    assert.equal(await rejectionCode(openGrant(grant, { ...scope, epochPublicKey }, recipientB, b.hpke.privateKey)), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    const relabelled = withField(withField(grant, ['recipient', 'member'], 'rev-b'), ['recipient', 'fingerprint'], (await createGrant((await epochKeys(1)).privateKey, scope, recipientB)).recipient.fingerprint);
    assert.equal(await rejectionCode(openGrant(relabelled, { ...scope, epochPublicKey }, recipientB, b.hpke.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('does not open under another epoch, institution or epoch key', async () => {
    const a = await member('rev-a');
    const other = await exportPublicKey((await epochKeys(2)).publicKey);
    const cases: [EpochGrant, Parameters<typeof openGrant>[1]][] = [
      [withField(grant, ['epoch'], 2), { ...scope, epoch: 2, epochPublicKey }],
      [withField(grant, ['institution'], OTHER_INSTITUTION), { institution: OTHER_INSTITUTION, epoch: 1, epochPublicKey }],
      [withField(grant, ['epochPublicKey'], toBase64Url(other)), { ...scope, epochPublicKey: other }],
    ];
    for (const [g, s] of cases) {
      assert.equal(await rejectionCode(openGrant(grant, s, recipientA, a.hpke.privateKey)), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
      assert.equal(await rejectionCode(openGrant(g, s, recipientA, a.hpke.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    }
  });

  it('does not open when the reviewer holds other keys than the ones granted to', async () => {
    // Same id, same HPKE key, but the signing key differs: the fingerprint in the info differs.
    const a = await member('rev-a');
    const b = await member('rev-b');
    const mixed: GrantRecipient = { kind: 'member', member: 'rev-a', keys: { hpkePublicKey: a.hpkePublicKey, signingPublicKey: b.signingPublicKey } };
    const g = withField(grant, ['recipient', 'fingerprint'], (await createGrant((await epochKeys(1)).privateKey, scope, mixed)).recipient.fingerprint);
    assert.equal(await rejectionCode(openGrant(g, { ...scope, epochPublicKey }, mixed, a.hpke.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses a grant that opens to some other key than the epoch key the log names', async () => {
    const a = await member('rev-a');
    const wrongKey = await createGrant((await epochKeys(2)).privateKey, scope, recipientA);
    const relabelled = withField(wrongKey, ['epochPublicKey'], grant.epochPublicKey);
    assert.equal(await rejectionCode(openGrant(relabelled, { ...scope, epochPublicKey }, recipientA, a.hpke.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('grants to the recovery key, distinct from any member grant', async () => {
    const recovery = await deriveRecoveryKeys(new Uint8Array(32).fill(7));
    const to: GrantRecipient = { kind: 'recovery', keys: recovery };
    const g = await createGrant((await epochKeys(1)).privateKey, scope, to);
    assert.deepEqual(Object.keys(g.recipient), ['kind', 'fingerprint']);
    await openGrant(g, { ...scope, epochPublicKey }, to, recovery.hpke.privateKey);
    const asMember: GrantRecipient = { kind: 'member', member: 'recovery', keys: recovery };
    const relabelled = withField(g, ['recipient'], { kind: 'member', member: 'recovery', fingerprint: g.recipient.fingerprint });
    assert.equal(await rejectionCode(openGrant(relabelled, { ...scope, epochPublicKey }, asMember, recovery.hpke.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses malformed grants with a code', async () => {
    const a = await member('rev-a');
    for (const bad of [null, withField(grant, ['format'], 'x'), withField(grant, ['enc'], 'AAAA'), withField(grant, ['ciphertext'], '!'), withField(grant, ['recipient', 'kind'], 'admin'), withField(grant, ['epoch'], 0), withField(grant, ['more'], true)]) {
      assert.equal(await rejectionCode(openGrant(bad, { ...scope, epochPublicKey }, recipientA, a.hpke.privateKey)), 'EV_ERR_CUSTODY_MALFORMED');
    }
  });
});
