/**
 * Member key files (src/crypto/custody/member-key-file.ts): what `custody keygen` writes and the web
 * apps keep in IndexedDB. Made, unlocked with one passphrase, refused when short, wrong, or moved to
 * another member or purpose.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MIN_MEMBER_PASSPHRASE_LENGTH,
  createMemberKeyFile,
  exportSigningPublicKey,
  importSigningPublicKey,
  passphraseLength,
  publicKeyOf,
  unlockMemberKeyFile,
} from '../../src/crypto/index.js';

const passphrase = 'correct horse battery staple';
const expected = { institution: 'inst-1', member: 'stf-1', role: 'admin' } as const;

describe('member key files', () => {
  it('unlock with the passphrase to the keys the registration names, wrapped at 600,000 iterations', async () => {
    const made = await createMemberKeyFile({ ...expected, passphrase });
    assert.deepEqual(Object.keys(made.wrappedKeys).sort(), ['admin-hpke', 'admin-signing']);
    for (const doc of Object.values(made.wrappedKeys)) {
      const w = doc.wrappings[0];
      assert.equal(w?.method, 'passphrase');
      assert.equal(w.method === 'passphrase' && w.kdf.iterations, 600_000);
    }
    const unlocked = await unlockMemberKeyFile(made, expected, passphrase);
    assert.equal(unlocked.registration.reviewer, 'stf-1');
    assert.deepEqual(await publicKeyOf(unlocked.hpkePrivateKey), made.keys.hpkePublicKey);
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, unlocked.signingPrivateKey, new Uint8Array([1])));
    const verifyKey = await importSigningPublicKey(made.keys.signingPublicKey);
    assert.ok(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, signature, new Uint8Array([1])));
    assert.deepEqual(await exportSigningPublicKey(made.keys.signing.publicKey), made.keys.signingPublicKey);
  });

  it('refuses a short passphrase, a wrong one, another member and another role', async () => {
    assert.equal(MIN_MEMBER_PASSPHRASE_LENGTH, 15);
    assert.equal(passphraseLength('e\u0301'.repeat(14)), 14, 'counted after NFC');
    await assert.rejects(createMemberKeyFile({ ...expected, passphrase: 'e\u0301'.repeat(14) }), { code: 'EV_ERR_CRYPTO_INVALID_ARGUMENT' });
    const made = await createMemberKeyFile({ ...expected, passphrase });
    await assert.rejects(unlockMemberKeyFile(made, expected, `${passphrase}!`), { code: 'EV_ERR_CRYPTO_DECRYPTION_FAILED' });
    await assert.rejects(unlockMemberKeyFile(made, { ...expected, member: 'stf-2' }, passphrase), { code: 'EV_ERR_CUSTODY_BINDING_MISMATCH' });
    await assert.rejects(unlockMemberKeyFile(made, { ...expected, role: 'reviewer' }, passphrase), { code: 'EV_ERR_CUSTODY_MALFORMED' });
    // The two wrapped keys swapped: each is bound to its purpose.
    const swapped = { registration: made.registration, wrappedKeys: { 'admin-hpke': made.wrappedKeys['admin-signing'], 'admin-signing': made.wrappedKeys['admin-hpke'] } };
    await assert.rejects(unlockMemberKeyFile(swapped, expected, passphrase), { code: 'EV_ERR_CUSTODY_BINDING_MISMATCH' });
  });
});

