import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type KeyBinding,
  type PassphraseKey,
  type WrappedPrivateKey,
  addWrapping,
  derivePassphraseKey,
  exportPrivateKey,
  generateEpochKeyPair,
  passphraseParameters,
  prfCredentials,
  removeWrapping,
  toBase64Url,
  unwrapPrivateKey,
  wrapPrivateKey,
} from '../../src/crypto/index.js';
import { sign, verifySignature } from '../../src/crypto/custody/signing-key.js';
import { rejectionCode } from './fixtures.js';
import { INSTITUTION, member, withField } from './custody-fixtures.js';

const PASSPHRASE = 'correct horse battery staple';
const signingBinding: KeyBinding = { purpose: 'reviewer-signing', institution: INSTITUTION, owner: 'rev-1' };
const hpkeBinding: KeyBinding = { purpose: 'reviewer-hpke', institution: INSTITUTION, owner: 'rev-1' };
const credentialId = Uint8Array.of(9, 8, 7, 6, 5);
const prfInput = new Uint8Array(32).fill(0x11);
const prfOutput = new Uint8Array(32).fill(0x42);
const prf = { credentialId, prfInput, output: prfOutput };

describe('wrapped private keys', () => {
  let pk: PassphraseKey;
  let signing: WrappedPrivateKey;
  let hpke: WrappedPrivateKey;

  before(async () => {
    const keys = await member('rev-1');
    // One PBKDF2 run for both keys: they share the passphrase key (and so its salt).
    pk = await derivePassphraseKey(PASSPHRASE);
    signing = await wrapPrivateKey(keys.signing.privateKey, signingBinding, [{ passphraseKey: pk }, { prf }]);
    hpke = await wrapPrivateKey(keys.hpke.privateKey, hpkeBinding, [{ passphraseKey: pk }]);
  });

  it('is JSON with the documented shape and PBKDF2 ≥ 600,000', () => {
    const doc = JSON.parse(JSON.stringify(signing)) as WrappedPrivateKey;
    assert.equal(doc.format, 'examvault-wrapped-key');
    assert.equal(doc.version, 1);
    assert.equal(doc.epoch, 0);
    assert.deepEqual(doc.wrappings.map((w) => w.method), ['passphrase', 'webauthn-prf']);
    const w = doc.wrappings[0];
    assert.ok(w?.method === 'passphrase' && w.kdf.iterations >= 600_000 && w.kdf.name === 'PBKDF2-HMAC-SHA256');
    assert.deepEqual(passphraseParameters(doc), { iterations: pk.iterations, salt: pk.salt });
    assert.deepEqual(prfCredentials(doc), [{ credentialId, prfInput }]);
  });

  it('unwraps with the passphrase itself, to a key that signs for the public key', async () => {
    const keys = await member('rev-1');
    const { privateKey, publicKey } = await unwrapPrivateKey(signing, { ...signingBinding, publicKey: keys.signingPublicKey }, { passphrase: PASSPHRASE });
    assert.deepEqual(publicKey, keys.signingPublicKey);
    const message = Uint8Array.of(1, 2, 3);
    assert.ok(await verifySignature(keys.signing.publicKey, await sign(privateKey, message), message));
  });

  it('unwraps with a derived passphrase key and with the passkey PRF output', async () => {
    const keys = await member('rev-1');
    const h = await unwrapPrivateKey(hpke, hpkeBinding, { passphraseKey: pk });
    assert.equal(h.privateKey.algorithm.name, 'ECDH');
    assert.deepEqual(await exportPrivateKey(h.privateKey), await exportPrivateKey(keys.hpke.privateKey));
    const s = await unwrapPrivateKey(signing, signingBinding, { prf: { credentialId, output: prfOutput } });
    assert.deepEqual(s.publicKey, keys.signingPublicKey);
  });

  it('refuses a wrong passphrase or PRF output with the opaque error', async () => {
    assert.equal(await rejectionCode(unwrapPrivateKey(signing, signingBinding, { passphrase: 'Correct horse battery staple' })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    assert.equal(await rejectionCode(unwrapPrivateKey(signing, signingBinding, { prf: { credentialId, output: prfInput } })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses a key served for another purpose, institution, owner or public key', async () => {
    // The server answers a request for rev-1's signing key with its HPKE key, another owner's key...
    assert.equal(await rejectionCode(unwrapPrivateKey(hpke, signingBinding, { passphraseKey: pk })), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    for (const change of [{ owner: 'rev-2' }, { institution: 'inst-other' }, { purpose: 'admin-signing' as const }]) {
      assert.equal(await rejectionCode(unwrapPrivateKey(signing, { ...signingBinding, ...change }, { passphraseKey: pk })), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    }
    const other = await member('rev-2');
    assert.equal(await rejectionCode(unwrapPrivateKey(signing, { ...signingBinding, publicKey: other.signingPublicKey }, { passphraseKey: pk })), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
  });

  it('does not open when the document is relabelled: the binding is in the associated data', async () => {
    // ...or relabels the document to claim what the client asked for: then it does not decrypt.
    for (const [field, value, binding] of [
      ['owner', 'rev-2', { ...signingBinding, owner: 'rev-2' }],
      ['institution', 'inst-other', { ...signingBinding, institution: 'inst-other' }],
      ['purpose', 'admin-signing', { ...signingBinding, purpose: 'admin-signing' }],
    ] as const) {
      const relabelled = withField(signing, [field], value);
      assert.equal(await rejectionCode(unwrapPrivateKey(relabelled, binding, { passphraseKey: pk })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED', field);
    }
    const swappedPublicKey = withField(signing, ['publicKey'], toBase64Url((await member('rev-2')).signingPublicKey));
    assert.equal(await rejectionCode(unwrapPrivateKey(swappedPublicKey, signingBinding, { passphraseKey: pk })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses PBKDF2 parameters outside its own bounds, whatever the server serves', async () => {
    for (const [iterations, salt] of [[599_999, pk.salt], [1000, pk.salt], [10_000_001, pk.salt], [2 ** 31, pk.salt], [600_000, new Uint8Array(15)], [600_000, new Uint8Array(65)]] as const) {
      const weak = withField(signing, ['wrappings', '0', 'kdf'], { name: 'PBKDF2-HMAC-SHA256', iterations, salt: toBase64Url(salt) });
      assert.equal(await rejectionCode(unwrapPrivateKey(weak, signingBinding, { prf: { credentialId, output: prfOutput } })), 'EV_ERR_CUSTODY_WEAK_KDF', String(iterations));
    }
    assert.equal(await rejectionCode(derivePassphraseKey(PASSPHRASE, { iterations: 100_000 })), 'EV_ERR_CUSTODY_WEAK_KDF');
    assert.equal(await rejectionCode(derivePassphraseKey(PASSPHRASE, { salt: new Uint8Array(8) })), 'EV_ERR_CUSTODY_WEAK_KDF');
    const keys = await member('rev-1');
    assert.equal(await rejectionCode(wrapPrivateKey(keys.signing.privateKey, signingBinding, [{ passphrase: PASSPHRASE, iterations: 1000 }])), 'EV_ERR_CUSTODY_WEAK_KDF');
  });

  it('says when no wrapping fits the unlock asked for', async () => {
    assert.equal(await rejectionCode(unwrapPrivateKey(hpke, hpkeBinding, { prf: { credentialId, output: prfOutput } })), 'EV_ERR_CUSTODY_NO_WRAPPING');
    const otherSalt = await derivePassphraseKey(PASSPHRASE, { salt: new Uint8Array(16).fill(3) });
    assert.equal(await rejectionCode(unwrapPrivateKey(hpke, hpkeBinding, { passphraseKey: otherSalt })), 'EV_ERR_CUSTODY_NO_WRAPPING');
    const prfOnly = removeWrapping(signing, { passphrase: true });
    assert.equal(await rejectionCode(unwrapPrivateKey(prfOnly, signingBinding, { passphraseKey: pk })), 'EV_ERR_CUSTODY_NO_WRAPPING');
  });

  it('adds a passkey, changes the passphrase, and keeps at least one wrapping', async () => {
    const newPrf = { credentialId: Uint8Array.of(1), prfInput: new Uint8Array(32).fill(5), output: new Uint8Array(32).fill(6) };
    const added = await addWrapping(hpke, hpkeBinding, { passphraseKey: pk }, { prf: newPrf });
    assert.deepEqual(added.wrappings.map((w) => w.method), ['passphrase', 'webauthn-prf']);
    const otherPk = await derivePassphraseKey('a new passphrase', { salt: new Uint8Array(16).fill(9) });
    const changed = await addWrapping(added, hpkeBinding, { prf: { credentialId: newPrf.credentialId, output: newPrf.output } }, { passphraseKey: otherPk });
    assert.deepEqual(changed.wrappings.map((w) => w.method), ['webauthn-prf', 'passphrase']);
    assert.equal(await rejectionCode(unwrapPrivateKey(changed, hpkeBinding, { passphraseKey: pk })), 'EV_ERR_CUSTODY_NO_WRAPPING');
    assert.deepEqual((await unwrapPrivateKey(changed, hpkeBinding, { passphraseKey: otherPk })).publicKey, (await member('rev-1')).hpkePublicKey);
    assert.throws(() => removeWrapping(hpke, { passphrase: true }), { code: 'EV_ERR_CRYPTO_INVALID_ARGUMENT' });
    assert.throws(() => removeWrapping(hpke, { credentialId }), { code: 'EV_ERR_CUSTODY_NO_WRAPPING' });
  });

  it('binds an epoch key to its epoch', async () => {
    const epochKeys = await generateEpochKeyPair();
    const binding: KeyBinding = { purpose: 'epoch', institution: INSTITUTION, owner: 'adm-1', epoch: 3 };
    const wrapped = await wrapPrivateKey(epochKeys.privateKey, binding, [{ prf }]);
    assert.equal(wrapped.epoch, 3);
    const unlock = { prf: { credentialId, output: prfOutput } };
    await unwrapPrivateKey(wrapped, binding, unlock);
    assert.equal(await rejectionCode(unwrapPrivateKey(wrapped, { ...binding, epoch: 4 }, unlock)), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    assert.equal(await rejectionCode(unwrapPrivateKey(withField(wrapped, ['epoch'], 4), { ...binding, epoch: 4 }, unlock)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    assert.equal(await rejectionCode(wrapPrivateKey(epochKeys.privateKey, { ...binding, epoch: undefined }, [{ prf }])), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await rejectionCode(wrapPrivateKey(epochKeys.privateKey, { ...signingBinding, epoch: 3 }, [{ prf }])), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
  });

  it('refuses to wrap a key under a purpose of another algorithm', async () => {
    const keys = await member('rev-1');
    assert.equal(await rejectionCode(wrapPrivateKey(keys.hpke.privateKey, signingBinding, [{ prf }])), 'EV_ERR_CRYPTO_INVALID_KEY');
    assert.equal(await rejectionCode(wrapPrivateKey(keys.signing.privateKey, hpkeBinding, [{ prf }])), 'EV_ERR_CRYPTO_INVALID_KEY');
    assert.equal(await rejectionCode(wrapPrivateKey(keys.signing.privateKey, signingBinding, [])), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await rejectionCode(wrapPrivateKey(keys.signing.privateKey, signingBinding, [{ prf }, { prf }])), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
  });

  it('refuses malformed documents with a code', async () => {
    const bad: unknown[] = [
      null,
      [],
      withField(signing, ['format'], 'examvault-private-key'),
      withField(signing, ['version'], 2),
      withField(signing, ['wrappings'], []),
      withField(signing, ['wrappings', '1', 'method'], 'password'),
      withField(signing, ['wrappings', '1', 'iv'], 'AAAA'),
      withField(signing, ['wrappings', '1', 'ciphertext'], '***'),
      withField(signing, ['wrappings', '1', 'cipher'], 'AES-128-GCM'),
      withField(signing, ['publicKey'], toBase64Url(new Uint8Array(33))),
      withField(signing, ['owner'], 'not an id!'),
      withField(signing, ['extra'], 1),
      withField(signing, ['wrappings', '1', 'credentialId'], ''),
      withField(signing, ['wrappings'], [signing.wrappings[0], signing.wrappings[0]]),
    ];
    for (const doc of bad) {
      assert.equal(await rejectionCode(unwrapPrivateKey(doc, signingBinding, { prf: { credentialId, output: prfOutput } })), 'EV_ERR_CUSTODY_MALFORMED', JSON.stringify(doc)?.slice(0, 80));
    }
  });
});
