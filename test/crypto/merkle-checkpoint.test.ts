/**
 * Signed checkpoints: the known-answer notes of test/vectors/merkle-checkpoint.json (each valid note
 * opens to its checkpoint under the pinned key, each invalid one fails with the code it names), the
 * round trip with fresh keys, and the verifier key line's rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import {
  checkpointText,
  exportLogPrivateKey,
  fromBase64,
  generateLogKeyPair,
  importLogSigner,
  openCheckpoint,
  parseCheckpointText,
  parseVerifierKey,
  signCheckpoint,
  signerOf,
  toBase64,
} from '../../src/crypto/merkle/index.js';
import { signatureFromDer, signatureToDer } from '../../src/crypto/merkle/encoding.js';
import vectors from '../vectors/merkle-checkpoint.json' with { type: 'json' };
import { auditCode } from './merkle-fixtures.js';

const checkpoint = { origin: 'test.example/log', size: 12345, rootHash: new Uint8Array(32).fill(7), timestamp: 1767225600123 };

describe('checkpoint vectors', () => {
  it('has vectors to check', () => {
    assert.ok(vectors.valid.length >= 3);
    assert.ok(vectors.invalid.length >= 20);
  });

  for (const v of vectors.valid) {
    it(`opens: ${v.name}`, async () => {
      const key = await parseVerifierKey(vectors.verifierKey);
      const c = await openCheckpoint(v.note, key);
      assert.deepEqual({ ...c, rootHash: toHex(c.rootHash) }, v.checkpoint);
      assert.equal(checkpointText(c), vectors.text);
    });
  }

  for (const v of vectors.invalid) {
    it(`fails with ${v.error}: ${v.name}`, async () => {
      const key = await parseVerifierKey(vectors.verifierKey);
      assert.equal(await auditCode(openCheckpoint(v.note, key)), v.error);
    });
  }

  it('the stored private key signs checkpoints the stored verifier key accepts', async () => {
    const signer = await importLogSigner(vectors.origin, fromBase64(vectors.privateKey) as Uint8Array);
    assert.equal(signer.verifierKey, vectors.verifierKey);
    const c = vectors.valid[0]?.checkpoint as (typeof vectors.valid)[0]['checkpoint'];
    const note = await signCheckpoint({ ...c, rootHash: fromHex(c.rootHash) }, signer);
    assert.notEqual(note, vectors.valid[0]?.note, 'ECDSA signatures are randomized');
    assert.equal((await openCheckpoint(note, await parseVerifierKey(vectors.verifierKey))).size, 8);
  });
});

describe('signing and opening checkpoints', () => {
  it('round-trips with a fresh key, and only under that key', async () => {
    const { privateKey, publicKey } = await generateLogKeyPair();
    const signer = await signerOf(checkpoint.origin, privateKey, publicKey);
    const note = await signCheckpoint(checkpoint, signer);
    assert.ok(note.startsWith(`test.example/log\n12345\n${toBase64(checkpoint.rootHash)}\ntime 1767225600123\n\n\u2014 test.example/log `));
    const opened = await openCheckpoint(note, await parseVerifierKey(signer.verifierKey));
    assert.deepEqual(opened, checkpoint);

    const other = await generateLogKeyPair();
    const otherKey = await parseVerifierKey((await signerOf(checkpoint.origin, other.privateKey, other.publicKey)).verifierKey);
    assert.equal(await auditCode(openCheckpoint(note, otherKey)), 'EV_ERR_AUDIT_NOT_SIGNED');
  });

  it('exports and re-imports a signing key (PKCS #8) with the same verifier key', async () => {
    const { privateKey, publicKey } = await generateLogKeyPair();
    const signer = await signerOf('a.example/log', privateKey, publicKey);
    const again = await importLogSigner('a.example/log', await exportLogPrivateKey(privateKey));
    assert.equal(again.verifierKey, signer.verifierKey);
    assert.equal(await auditCode(importLogSigner('a.example/log', new Uint8Array(40))), 'EV_ERR_AUDIT_MALFORMED_KEY');
  });

  it('refuses to sign for another origin or with fields out of range', async () => {
    const { privateKey, publicKey } = await generateLogKeyPair();
    const signer = await signerOf('test.example/log', privateKey, publicKey);
    assert.equal(await auditCode(signCheckpoint({ ...checkpoint, origin: 'test.example/other' }, signer)), 'EV_ERR_AUDIT_MALFORMED_CHECKPOINT');
    for (const bad of [{ size: -1 }, { size: 1.5 }, { size: 2 ** 53 }, { timestamp: -1 }, { rootHash: new Uint8Array(31) }]) {
      assert.equal(await auditCode(signCheckpoint({ ...checkpoint, ...bad }, signer)), 'EV_ERR_AUDIT_MALFORMED_CHECKPOINT', JSON.stringify(bad));
    }
  });

  it('parses the text strictly', async () => {
    const text = checkpointText(checkpoint);
    assert.deepEqual(parseCheckpointText(text), checkpoint);
    for (const bad of [
      text.slice(0, -1),
      `${text}\n`,
      text.replace('12345', '+12345'),
      text.replace('12345', '12345.0'),
      text.replace('12345', '99999999999999999'),
      text.replace('time ', 'time  '),
      text.replace('time ', 'Time '),
      text.replace('test.example/log', 'test example'),
      text.replace('test.example/log', ''),
    ]) {
      assert.equal(await auditCode(() => parseCheckpointText(bad)), 'EV_ERR_AUDIT_MALFORMED_CHECKPOINT', JSON.stringify(bad));
    }
  });
});

describe('verifier keys', () => {
  it('refuses malformed key lines with EV_ERR_AUDIT_MALFORMED_KEY', async () => {
    const line = vectors.verifierKey;
    const [name, id, key] = [line.slice(0, line.indexOf('+')), line.split('+')[1] as string, line.slice(line.indexOf('+', line.indexOf('+') + 1) + 1)];
    const typed = fromBase64(key) as Uint8Array;
    const retyped = typed.slice();
    retyped[0] = 0x01;
    for (const bad of [
      '',
      name,
      `${name}+${id}`,
      `bad name+${id}+${key}`,
      `${name}+${id.toUpperCase()}+${key}`,
      `${name}+00000000+${key}`,
      `${name}+${id}+${key.slice(0, -4)}`,
      `${name}+${id}+${toBase64(retyped)}`,
      `${name}+${id}+${toBase64(typed.subarray(0, 40))}`,
    ]) {
      assert.equal(await auditCode(parseVerifierKey(bad)), 'EV_ERR_AUDIT_MALFORMED_KEY', bad);
    }
    assert.equal((await parseVerifierKey(`  ${line}\n`)).name, name, 'surrounding white space (a file\'s newline) is ignored');
  });
});

describe('DER signatures', () => {
  it('round-trip between r || s and strict DER, and refuse other encodings', () => {
    for (const fill of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const raw = new Uint8Array(64).fill(fill);
      raw[0] = fill === 0 ? 0 : raw[0] as number;
      raw[31] = 1;
      raw[63] = 1;
      const der = signatureToDer(raw);
      assert.deepEqual(signatureFromDer(der), raw);
    }
    const der = signatureToDer(new Uint8Array(64).fill(0x42));
    assert.equal(signatureFromDer(new Uint8Array([...der, 0])), null, 'trailing byte');
    assert.equal(signatureFromDer(der.subarray(0, der.length - 1)), null, 'truncated');
    const negative = der.slice();
    negative[4] = 0x82;
    assert.equal(signatureFromDer(negative), null, 'negative r');
    const lengthened = new Uint8Array([0x30, der[1] as number + 1, 0x02, 0x21, 0x00, ...der.subarray(4)]);
    assert.equal(signatureFromDer(lengthened), null, 'non-minimal r');
  });
});
