/**
 * Known-answer vectors of key custody (test/vectors/custody-v1.json, docs/KEY-CUSTODY.md §11):
 * encodings byte for byte, derivations and safety numbers exactly, and for each invalid input the code
 * a client must raise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type GrantRecipient,
  createGrant,
  decodeStatement,
  deriveRecoveryKeys,
  encodeStatement,
  exportPrivateKey,
  fromBase64Url,
  fromHex,
  importPrivateKey,
  importSigningKeyPair,
  memberFingerprint,
  openGrant,
  parseRecoveryKey,
  safetyNumber,
  toHex,
  unwrapPrivateKey,
  verifyStatement,
} from '../../src/crypto/index.js';
import { concat, str8 } from '../../src/crypto/bytes.js';
import { hpke } from '../../src/crypto/hpke.js';
import { sign, verifySignature } from '../../src/crypto/custody/signing-key.js';
import vectorsJson from '../vectors/custody-v1.json' with { type: 'json' };
import { rejectionCode } from './fixtures.js';
import { type CustodyVectors, resolverOf, statementFromJson } from './custody-vector-format.js';

const vectors = vectorsJson as unknown as CustodyVectors;
const trust = resolverOf(vectors.trust);

describe('custody vectors: fingerprints and safety numbers', () => {
  it('member fingerprints', async () => {
    assert.ok(vectors.memberFingerprints.length >= 3);
    for (const v of vectors.memberFingerprints) {
      assert.equal(toHex(await memberFingerprint({ hpkePublicKey: fromHex(v.hpkePublicKey), signingPublicKey: fromHex(v.signingPublicKey) })), v.fingerprint);
    }
  });

  it('safety numbers', async () => {
    assert.ok(vectors.safetyNumbers.length >= 4);
    for (const v of vectors.safetyNumbers) {
      const keys = { hpkePublicKey: fromHex(v.hpkePublicKey), signingPublicKey: fromHex(v.signingPublicKey) };
      assert.equal(await safetyNumber({ institution: v.institution, member: v.member, keys }), v.safetyNumber);
    }
  });
});

describe('custody vectors: statements', () => {
  for (const v of vectors.statements) {
    it(`encodes, decodes and verifies: ${v.name}`, async () => {
      const statement = statementFromJson(v.statement);
      const encoded = encodeStatement(statement);
      assert.equal(toHex(encoded), v.encoded);
      assert.deepEqual(decodeStatement(encoded), statement);
      assert.equal(toHex(concat(str8(`examvault/v1/statement/${statement.type}`), encoded)), v.toBeSigned);
      assert.ok(v.signed.startsWith(v.encoded) && v.signed.length === v.encoded.length + 128);
      const result = await verifyStatement(fromHex(v.signed), trust, statement.type);
      assert.ok(result.ok, result.ok ? '' : result.message);
      assert.deepEqual(result.statement, statement);
    });
  }

  for (const v of vectors.invalidStatements) {
    it(`fails with ${v.error}: ${v.name}`, async () => {
      const result = await verifyStatement(fromHex(v.signed), trust);
      assert.equal(result.ok ? 'verified' : result.code, v.error);
    });
  }
});

describe('custody vectors: recovery keys', () => {
  for (const v of vectors.recoveryKeys) {
    it(`derives the keys of ${v.text.slice(0, 9)}…`, async () => {
      const secret = await parseRecoveryKey(v.text);
      assert.equal(toHex(secret), v.secret);
      const keys = await deriveRecoveryKeys(secret);
      assert.equal(toHex(keys.hpkePublicKey), v.hpkePublicKey);
      assert.equal(toHex(keys.signingPublicKey), v.signingPublicKey);
    });
  }

  it('refuses the invalid ones', async () => {
    for (const v of vectors.invalidRecoveryKeys) assert.equal(await rejectionCode(parseRecoveryKey(v.text)), v.error, v.text);
  });
});

describe('custody vectors: grants', () => {
  for (const v of vectors.grants) {
    it(`seals to the same bytes and opens: ${v.name}`, async () => {
      const recipientKey = await importPrivateKey(fromHex(v.recipientPrivateKey));
      const recipient: GrantRecipient = {
        ...v.recipient,
        keys: { hpkePublicKey: fromHex(v.recipientHpkePublicKey), signingPublicKey: fromHex(v.recipientSigningPublicKey) },
      } as GrantRecipient;
      const epochKey = await importPrivateKey(fromHex(v.epochPrivateKey));
      const again = await createGrant(epochKey, { institution: v.institution, epoch: v.epoch }, recipient, { ephemeralKeyPair: await hpke.kem.deriveKeyPair(fromHex(v.ephemeralSeed)) });
      assert.deepEqual(again, v.grant);
      const epochPublicKey = fromBase64Url(v.grant.epochPublicKey) as Uint8Array;
      // The grant opens with the documented info, straight through HPKE.
      const scalar = await hpke.open({ recipientKey, enc: fromBase64Url(v.grant.enc) as Uint8Array<ArrayBuffer>, info: fromHex(v.info) as Uint8Array<ArrayBuffer> }, fromBase64Url(v.grant.ciphertext) as Uint8Array<ArrayBuffer>);
      assert.equal(toHex(new Uint8Array(scalar)), v.epochPrivateKey);
      const opened = await openGrant(v.grant, { institution: v.institution, epoch: v.epoch, epochPublicKey }, recipient, recipientKey);
      assert.equal(toHex(await exportPrivateKey(opened)), v.epochPrivateKey);
    });
  }
});

describe('custody vectors: wrapped keys', () => {
  for (const v of vectors.wrappedKeys) {
    it(`unwraps: ${v.name}`, async () => {
      const unlock = 'passphrase' in v.unlock ? v.unlock : { prf: { credentialId: fromBase64Url(v.unlock.prf.credentialId) as Uint8Array, output: fromHex(v.unlock.prf.output) } };
      const { privateKey } = await unwrapPrivateKey(v.wrapped, v.binding, unlock);
      if (privateKey.algorithm.name === 'ECDH') {
        assert.equal(toHex(await exportPrivateKey(privateKey)), v.privateKey);
      } else {
        // Signing keys come back non-extractable: check that they sign for the expected scalar's key.
        const expected = await importSigningKeyPair(fromHex(v.privateKey));
        const message = Uint8Array.of(1, 2, 3);
        assert.ok(await verifySignature(expected.publicKey, await sign(privateKey, message), message));
      }
    });
  }
});
