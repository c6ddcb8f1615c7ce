/**
 * Known-answer vectors (test/vectors/sealed-v1.json, docs/SPEC.md §10): every valid vector opens to its
 * segments and seals again to the exact same bytes; every invalid one fails with the code it names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, locateRecords, openRecording, toHex } from '../../src/crypto/index.js';
import vectorsJson from '../vectors/sealed-v1.json' with { type: 'json' };
import { openFile, rejectionCode } from './fixtures.js';
import { type VectorFile, privateKeyOf, resealVector } from './vector-format.js';

const vectors = vectorsJson as unknown as VectorFile;

describe('known-answer vectors: valid', () => {
  it('has vectors to check', () => {
    assert.ok(vectors.valid.length >= 5);
    assert.ok(vectors.invalid.length >= 20);
  });

  for (const v of vectors.valid) {
    it(`opens: ${v.name}`, async () => {
      const key = await privateKeyOf(v.recipientPrivateKey);
      const file = fromHex(v.file);
      assert.equal(toHex(await openFile(file, key)), v.segments.join(''));
      const { header, records } = locateRecords(file);
      assert.deepEqual(header.context, v.context);
      assert.equal(header.keySlot.epoch, v.epoch);
      const opener = await openRecording(header, key);
      for (const r of records) {
        const { plaintext, last } = await opener.openSegment(r.index, file.subarray(r.offset, r.offset + r.length));
        assert.equal(toHex(plaintext), v.segments[r.index]);
        assert.equal(last, r.index === v.segments.length - 1);
      }
    });

    it(`seals to the same bytes: ${v.name}`, async () => {
      assert.equal(await resealVector(v), v.file);
    });
  }
});

describe('known-answer vectors: invalid', () => {
  for (const v of vectors.invalid) {
    it(`fails with ${v.error}: ${v.name}`, async () => {
      const key = await privateKeyOf(v.recipientPrivateKey);
      assert.equal(await rejectionCode(openFile(fromHex(v.file), key)), v.error);
    });
  }
});
