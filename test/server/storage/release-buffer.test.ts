/**
 * Ciphertexts freed as soon as the log store has them in its batch (release-buffer.ts): the memory goes
 * back at once, the object still reads back whole, and buffers that are not wholly ours are left alone.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { FileKeyring } from '../../../src/server/storage/keyring.js';
import { MIN_RELEASED_BYTES, releaseBuffers } from '../../../src/server/storage/release-buffer.js';
import { logFor } from './support.js';

function ciphertext(size: number): Buffer {
  return createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12)).update(randomBytes(size));
}

describe('releaseBuffers of one buffer', () => {
  it("frees a cipher's output: the buffer is empty afterwards", () => {
    const out = ciphertext(250_000);
    assert.equal(out.buffer.byteLength, 250_000);
    assert.equal(releaseBuffers([out]), 1);
    assert.equal(out.byteLength, 0);
    assert.equal(out.buffer.byteLength, 0);
  });

  it('leaves alone what is not all of a buffer of its own, or too small to be worth it', () => {
    const big = Buffer.allocUnsafeSlow(MIN_RELEASED_BYTES * 4).fill(7);
    const cases: Array<[string, Uint8Array]> = [
      ['a view into a larger buffer', big.subarray(0, MIN_RELEASED_BYTES * 2)],
      ["a small buffer from Node's shared pool", Buffer.from('tag bytes')],
      ['a buffer below the size', new Uint8Array(MIN_RELEASED_BYTES - 1).fill(7)],
      ['shared memory', new Uint8Array(new SharedArrayBuffer(MIN_RELEASED_BYTES * 2)).fill(7)],
    ];
    for (const [what, view] of cases) {
      const before = Buffer.from(view);
      assert.equal(releaseBuffers([view]), 0, what);
      assert.deepEqual(Buffer.from(view), before, what);
    }
    assert.equal(big.byteLength, MIN_RELEASED_BYTES * 4);
  });
});

describe('releaseBuffers', () => {
  it('frees every buffer of its own in one go, once each, and leaves the rest alone', () => {
    const outs = [ciphertext(20_000), ciphertext(30_000), ciphertext(40_000)];
    const small = Buffer.from('tag bytes');
    const view = Buffer.allocUnsafeSlow(MIN_RELEASED_BYTES * 4).subarray(0, MIN_RELEASED_BYTES * 2);
    assert.equal(releaseBuffers([outs[0] as Buffer, small, outs[1] as Buffer, outs[0] as Buffer, view, outs[2] as Buffer]), 3);
    for (const out of outs) assert.equal(out.buffer.byteLength, 0);
    assert.equal(small.toString(), 'tag bytes');
    assert.equal(view.byteLength, MIN_RELEASED_BYTES * 2);
    assert.equal(releaseBuffers([]), 0);
  });
});

describe('EncryptedBlobStore over a log store frees each ciphertext once the log has written it', () => {
  it('on first puts, checked puts and refused puts, and every object reads back whole', async (t) => {
    const log = await logFor(t, 'release');
    const keyring = await FileKeyring.open({ dir: join(log.dir, 'keyring'), keyId: 'eu-kek' });
    const store = new EncryptedBlobStore({ objects: log.store, keyRecords: new SqlBlobStore(log.db), keyring });
    const handed: Uint8Array[][] = [];
    const put = log.store.putPartsWith.bind(log.store);
    log.store.putPartsWith = (key, parts, alongside, options) => {
      handed.push([...parts]);
      return put(key, parts, alongside, options);
    };
    // Every part of a ciphertext big enough to be freed was freed: none holds its memory any more.
    const ciphertextFreed = (parts: Uint8Array[] | undefined, pieces: number) => {
      assert.ok(parts);
      assert.deepEqual(parts.filter((p) => p.byteLength >= MIN_RELEASED_BYTES), [], 'no part left holding its memory');
      assert.equal(parts.filter((p) => p.buffer.byteLength === 0).length, pieces, 'the ciphertext parts, freed');
    };

    const first = randomBytes(250_000);
    await store.putNewWith('seg/1', first, []);
    assert.equal(handed.length, 1);
    ciphertextFreed(handed[0], 1);

    const second = randomBytes(125_000);
    await store.putWith('seg/1', second, []);
    ciphertextFreed(handed[1], 1);

    // A first put onto a key that holds an object is refused; its ciphertext is freed all the same.
    await assert.rejects(store.putNewWith('seg/1', randomBytes(125_000), []));
    ciphertextFreed(handed[2], 1);

    assert.deepEqual(Buffer.from((await store.get('seg/1')) as Uint8Array), second);
    await store.putNewWith('seg/2', first, []);
    assert.deepEqual(Buffer.from((await store.get('seg/2')) as Uint8Array), first);

    // A body in chunks, as a request brings it: a ciphertext part for each chunk, all freed in one go.
    const chunks = [randomBytes(9_000), randomBytes(16_384), randomBytes(16_384), randomBytes(16_384), randomBytes(2_000)];
    await store.putNewWith('seg/3', chunks, []);
    ciphertextFreed(handed[4], 4);
    assert.deepEqual(Buffer.from((await store.get('seg/3')) as Uint8Array), Buffer.concat(chunks));
  });
});
