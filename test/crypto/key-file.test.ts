import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  MIN_PBKDF2_ITERATIONS,
  type PrivateKeyFile,
  exportPublicKey,
  fingerprint,
  generateEpochKeyPair,
  importPublicKeyText,
  protectPrivateKey,
  publicKeyFile,
  readPublicKeyFile,
  toBase64Url,
  unlockPrivateKey,
} from '../../src/crypto/index.js';
import { epochKeys, equalBytes, openFile, rejectionCode, randomData, sealFile } from './fixtures.js';

describe('passphrase-protected private key files', () => {
  let file: PrivateKeyFile;
  before(async () => {
    const { privateKey, publicKey } = await epochKeys();
    file = await protectPrivateKey(privateKey, publicKey, 'correct horse battery staple');
  });

  it('uses PBKDF2-HMAC-SHA256 with at least 600,000 iterations', () => {
    assert.equal(file.kdf.name, 'PBKDF2-HMAC-SHA256');
    assert.ok(file.kdf.iterations >= 600_000);
    assert.equal(MIN_PBKDF2_ITERATIONS, 600_000);
  });

  it('unlocks with the passphrase to a key that opens recordings', async () => {
    const data = randomData(300);
    const { file: sealed } = await sealFile(data);
    const unlocked = await unlockPrivateKey(JSON.parse(JSON.stringify(file)), 'correct horse battery staple');
    assert.ok(equalBytes(unlocked.publicKey, await exportPublicKey((await epochKeys()).publicKey)));
    assert.ok(equalBytes(await openFile(sealed, unlocked.privateKey), data));
  });

  it('refuses a wrong passphrase with the opaque error', async () => {
    assert.equal(await rejectionCode(unlockPrivateKey(file, 'Correct horse battery staple')), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses weaker parameters than its own minimum, whatever the file says', async () => {
    const weak = { ...file, kdf: { ...file.kdf, iterations: 1000 } };
    assert.equal(await rejectionCode(unlockPrivateKey(weak, 'correct horse battery staple')), 'EV_ERR_KEYFILE_WEAK_KDF');
    const costly = { ...file, kdf: { ...file.kdf, iterations: 50_000_000 } };
    assert.equal(await rejectionCode(unlockPrivateKey(costly, 'x')), 'EV_ERR_KEYFILE_WEAK_KDF');
    const shortSalt = { ...file, kdf: { ...file.kdf, salt: toBase64Url(new Uint8Array(8)) } };
    assert.equal(await rejectionCode(unlockPrivateKey(shortSalt, 'x')), 'EV_ERR_KEYFILE_WEAK_KDF');
    const { privateKey, publicKey } = await epochKeys();
    assert.equal(await rejectionCode(protectPrivateKey(privateKey, publicKey, 'x', 100_000)), 'EV_ERR_KEYFILE_WEAK_KDF');
  });

  it('refuses a file whose public key was swapped', async () => {
    const other = await publicKeyFile((await generateEpochKeyPair()).publicKey);
    const swapped = { ...file, publicKey: other.publicKey };
    assert.equal(await rejectionCode(unlockPrivateKey(swapped, 'correct horse battery staple')), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses malformed files with a code', async () => {
    for (const bad of [null, [], { ...file, format: 'x' }, { ...file, version: 2 }, { ...file, iv: '***' }, { ...file, cipher: 'AES-128-GCM' }, { ...file, kdf: 'pbkdf2' }]) {
      assert.equal(await rejectionCode(unlockPrivateKey(bad, 'x')), 'EV_ERR_KEYFILE_MALFORMED');
    }
  });
});

describe('public keys', () => {
  it('round-trips through the public key file and its text form', async () => {
    const { publicKey } = await epochKeys();
    const f = await publicKeyFile(publicKey);
    const { raw } = await readPublicKeyFile(JSON.parse(JSON.stringify(f)));
    assert.ok(equalBytes(raw, await exportPublicKey(await importPublicKeyText(f.publicKey))));
    assert.match(await fingerprint(raw), /^[0-9a-f]{64}$/);
  });

  it('refuses points that are not on the curve', async () => {
    const raw = new Uint8Array(65);
    raw[0] = 4;
    raw[64] = 1;
    assert.equal(await rejectionCode(importPublicKeyText(toBase64Url(raw))), 'EV_ERR_CRYPTO_INVALID_KEY');
    assert.equal(await rejectionCode(importPublicKeyText('not base64!')), 'EV_ERR_CRYPTO_INVALID_KEY');
  });
});
