import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CryptoErrorCode, decodeHeader, headerLength, isCryptoError } from '../../src/crypto/index.js';
import { encodeBound, encodeKeySlot } from '../../src/crypto/header.js';
import { baseContext } from './fixtures.js';

const slot = { epoch: 3, enc: Uint8Array.of(4, ...new Uint8Array(64).fill(9)), wrappedDek: new Uint8Array(48).fill(7) };

function header(): Uint8Array {
  const bound = encodeBound(baseContext, 4096, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
  const s = encodeKeySlot(slot);
  const out = new Uint8Array(bound.length + s.length);
  out.set(bound);
  out.set(s, bound.length);
  return out;
}

function codeOf(f: () => unknown): CryptoErrorCode | undefined {
  try {
    f();
  } catch (e) {
    if (isCryptoError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('header framing (no keys)', () => {
  it('decodes every field it encoded', () => {
    const h = decodeHeader(header());
    assert.deepEqual(h.context, baseContext);
    assert.equal(h.maxSegment, 4096);
    assert.equal(h.keySlot.epoch, 3);
    assert.equal(headerLength(header().subarray(0, 11)), h.bytes.length);
    assert.equal(h.bytes.length, h.bound.length + 117);
  });

  it('ignores bytes after the header', () => {
    const b = header();
    const longer = new Uint8Array(b.length + 10);
    longer.set(b);
    assert.equal(decodeHeader(longer).bytes.length, b.length);
  });

  const cases: Array<[string, (b: Uint8Array) => Uint8Array, CryptoErrorCode]> = [
    ['shorter than the prefix', (b) => b.subarray(0, 5), 'EV_ERR_FORMAT_TRUNCATED'],
    ['a wrong first byte, even when short', (b) => Uint8Array.of(0x00, ...b.subarray(1, 4)), 'EV_ERR_FORMAT_BAD_MAGIC'],
    ['cut inside the key slot', (b) => b.subarray(0, b.length - 1), 'EV_ERR_FORMAT_TRUNCATED'],
    ['version 0', (b) => ((b[6] = 0), b), 'EV_ERR_FORMAT_UNSUPPORTED_VERSION'],
    ['suite 0x0100', (b) => ((b[7] = 1), b), 'EV_ERR_FORMAT_UNSUPPORTED_SUITE'],
    ['bound length below the prefix', (b) => ((b[9] = 0), (b[10] = 5), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
    ['bound length over 1024', (b) => ((b[9] = 4), (b[10] = 1), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
    ['an empty institution id', (b) => ((b[11] = 0), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
    ['a control character in an id', (b) => ((b[12] = 0x0a), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
    ['an upper-case region', (b) => ((b[11 + 1 + 9 + 1] = 0x45), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
    ['a compressed encapsulated key', (b) => ((b[b.length - 113] = 2), b), 'EV_ERR_FORMAT_MALFORMED_HEADER'],
  ];
  for (const [name, damage, code] of cases) {
    it(`refuses ${name} with ${code}`, () => {
      assert.equal(codeOf(() => decodeHeader(damage(header()))), code);
    });
  }

  it('refuses a max segment size of 0 or above 16 MiB when encoding and decoding', () => {
    assert.equal(codeOf(() => encodeBound(baseContext, 0, new Uint8Array(32), new Uint8Array(32))), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(codeOf(() => encodeBound(baseContext, (1 << 24) + 1, new Uint8Array(32), new Uint8Array(32))), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    const b = header();
    const at = b.length - 117 - 64 - 4;
    b.set([0, 0, 0, 0], at);
    assert.equal(codeOf(() => decodeHeader(b)), 'EV_ERR_FORMAT_MALFORMED_HEADER');
  });

  it('refuses epoch 0 when encoding a key slot', () => {
    assert.equal(codeOf(() => encodeKeySlot({ ...slot, epoch: 0 })), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
  });
});
