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
import { MIN_RELEASED_BYTES, releaseBuffer } from '../../../src/server/storage/release-buffer.js';
import { logFor } from './support.js';

function ciphertext(size: number): Buffer {
  return createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12)).update(randomBytes(size));
}

describe('releaseBuffer', () => {
  it("frees a cipher's output: the buffer is empty afterwards", () => {
    const out = ciphertext(250_000);
    assert.equal(out.buffer.byteLength, 250_000);
    assert.equal(releaseBuffer(out), true);
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
      assert.equal(releaseBuffer(view), false, what);
      assert.deepEqual(Buffer.from(view), before, what);
    }
    assert.equal(big.byteLength, MIN_RELEASED_BYTES * 4);
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
    const ciphertextOf = (parts: Uint8Array[] | undefined) => parts?.find((p) => p.byteLength >= MIN_RELEASED_BYTES || p.buffer.byteLength === 0);

    const first = randomBytes(250_000);
    await store.putNewWith('seg/1', first, []);
    assert.equal(handed.length, 1);
    assert.equal(ciphertextOf(handed[0])?.byteLength, 0, 'the first put freed its ciphertext');

    const second = randomBytes(125_000);
    await store.putWith('seg/1', second, []);
    assert.equal(ciphertextOf(handed[1])?.byteLength, 0, 'the checked put freed its ciphertext');

    // A first put onto a key that holds an object is refused; its ciphertext is freed all the same.
    await assert.rejects(store.putNewWith('seg/1', randomBytes(125_000), []));
    assert.equal(ciphertextOf(handed[2])?.byteLength, 0, 'the refused put freed its ciphertext');

    assert.deepEqual(Buffer.from((await store.get('seg/1')) as Uint8Array), second);
    await store.putNewWith('seg/2', first, []);
    assert.deepEqual(Buffer.from((await store.get('seg/2')) as Uint8Array), first);
  });
});
