/**
 * The at-rest layer's random bytes (random-pool.ts): drawn from the CSPRNG in blocks, every byte handed
 * out once, each take a buffer of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RandomPool } from '../../../src/server/storage/random-pool.js';

describe('RandomPool', () => {
  it('never hands out the same bytes twice, across refills of the pool', () => {
    const pool = new RandomPool(100);
    const seen = new Set<string>();
    // 12 and 32 bytes, as nonces and data keys are taken: 100 bytes hold three of them, then a refill.
    for (let i = 0; i < 5000; i++) {
      const bytes = pool.take(i % 2 === 0 ? 12 : 32);
      assert.equal(bytes.length, i % 2 === 0 ? 12 : 32);
      const hex = bytes.toString('hex');
      assert.ok(!seen.has(hex), `take ${i} repeated earlier bytes`);
      seen.add(hex);
    }
  });

  it('gives each take its own bytes: wiping one changes no other', () => {
    const pool = new RandomPool(64);
    const a = pool.take(16);
    const b = pool.take(16);
    const bCopy = Buffer.from(b);
    a.fill(0);
    assert.deepEqual(b, bCopy);
    assert.notDeepEqual(pool.take(16), Buffer.alloc(16));
  });

  it('looks random: byte values spread evenly over many takes', () => {
    const pool = new RandomPool();
    const counts = new Array<number>(256).fill(0);
    const n = 256 * 400;
    for (let taken = 0; taken < n; taken += 32) for (const v of pool.take(32)) counts[v] = (counts[v] ?? 0) + 1;
    // Each value is expected 400 times; a chi-squared over 255 degrees of freedom beyond 400 is p < 1e-7.
    const chi = counts.reduce((sum, c) => sum + (c - 400) ** 2 / 400, 0);
    assert.ok(chi < 400, `chi-squared ${chi.toFixed(1)}`);
  });

  it('takes more than the pool holds, and nothing, and refuses a bad count', () => {
    const pool = new RandomPool(32);
    const big = pool.take(1000);
    assert.equal(big.length, 1000);
    assert.notDeepEqual(big.subarray(0, 32), Buffer.alloc(32));
    assert.equal(pool.take(0).length, 0);
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => pool.take(bad), RangeError);
  });
});
