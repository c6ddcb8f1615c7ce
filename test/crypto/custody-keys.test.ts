import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  exportPublicKey,
  exportSigningPublicKey,
  fingerprint,
  generateSigningKeyPair,
  importSigningPrivateKey,
  importSigningPublicKey,
  importSigningPublicKeyText,
  memberFingerprint,
  toBase64Url,
} from '../../src/crypto/index.js';
import { isP256Scalar, sign, verifySignature } from '../../src/crypto/custody/signing-key.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { rejectionCode } from './fixtures.js';
import { member } from './custody-fixtures.js';

const ORDER = fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

describe('signing keys (ECDSA P-256)', () => {
  it('exports the public key as a 65-byte point and round-trips it as text', async () => {
    const { publicKey } = await generateSigningKeyPair();
    const raw = await exportSigningPublicKey(publicKey);
    assert.equal(raw.length, 65);
    assert.equal(raw[0], 4);
    assert.deepEqual(await exportSigningPublicKey(await importSigningPublicKeyText(toBase64Url(raw))), raw);
    assert.match(await fingerprint(raw), /^[0-9a-f]{64}$/);
  });

  it('signs in IEEE P1363 form (64 bytes) and verifies only the signed message', async () => {
    const { privateKey, publicKey } = await generateSigningKeyPair();
    const message = new TextEncoder().encode('examvault');
    const signature = await sign(privateKey, message);
    assert.equal(signature.length, 64);
    assert.ok(await verifySignature(publicKey, signature, message));
    assert.ok(!(await verifySignature(publicKey, signature, message.subarray(1))));
    assert.ok(!(await verifySignature(publicKey, signature.subarray(1), message)));
  });

  it('imports a private scalar and refuses one outside [1, n-1]', async () => {
    const one = new Uint8Array(32);
    one[31] = 1;
    const nMinus1 = ORDER.slice();
    nMinus1[31] = 0x50;
    assert.ok(isP256Scalar(one) && isP256Scalar(nMinus1));
    assert.ok(!isP256Scalar(new Uint8Array(32)) && !isP256Scalar(ORDER) && !isP256Scalar(new Uint8Array(32).fill(0xff)) && !isP256Scalar(new Uint8Array(31)));
    const key = await importSigningPrivateKey(nMinus1);
    assert.equal(key.algorithm.name, 'ECDSA');
    assert.equal(key.extractable, false);
    for (const bad of [new Uint8Array(32), ORDER, new Uint8Array(33)]) {
      assert.equal(await rejectionCode(importSigningPrivateKey(bad)), 'EV_ERR_CRYPTO_INVALID_KEY');
    }
  });

  it('refuses public keys that are not uncompressed points on the curve', async () => {
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    offCurve[64] = 1;
    for (const bad of [offCurve, new Uint8Array(33), (await member('a')).signingPublicKey.slice(0, 64)]) {
      assert.equal(await rejectionCode(importSigningPublicKey(bad)), 'EV_ERR_CRYPTO_INVALID_KEY');
    }
  });
});

describe('member keys', () => {
  it('are an HPKE key pair and a signing key pair, generated independently', async () => {
    const keys = await member('a');
    assert.deepEqual(await exportPublicKey(keys.hpke.publicKey), keys.hpkePublicKey);
    assert.deepEqual(await exportSigningPublicKey(keys.signing.publicKey), keys.signingPublicKey);
    assert.notDeepEqual(keys.hpkePublicKey, keys.signingPublicKey);
  });

  it('have a 32-byte fingerprint covering both keys, in order', async () => {
    const a = await member('a');
    const b = await member('b');
    const f = await memberFingerprint(a);
    assert.equal(f.length, 32);
    assert.deepEqual(await memberFingerprint({ hpkePublicKey: a.hpkePublicKey, signingPublicKey: a.signingPublicKey }), f);
    for (const other of [
      { hpkePublicKey: b.hpkePublicKey, signingPublicKey: a.signingPublicKey },
      { hpkePublicKey: a.hpkePublicKey, signingPublicKey: b.signingPublicKey },
      { hpkePublicKey: a.signingPublicKey, signingPublicKey: a.hpkePublicKey },
    ]) {
      assert.notDeepEqual(await memberFingerprint(other), f);
    }
    assert.equal(await rejectionCode(memberFingerprint({ hpkePublicKey: a.hpkePublicKey, signingPublicKey: new Uint8Array(65) })), 'EV_ERR_CRYPTO_INVALID_KEY');
  });
});
