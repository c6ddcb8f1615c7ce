/**
 * Random bytes for the keys and nonces the at-rest layer makes for every object it writes: a data
 * key, its nonce and the nonce that wraps it. Each `randomBytes` call crosses into OpenSSL's random
 * generator, which for a few bytes costs far more than the bytes do (three calls were ~3 % of the
 * server's CPU at a thousand test takers), so the bytes are drawn from node:crypto's CSPRNG a few
 * kilobytes at a time and handed out in order. Every byte is handed out once: it is copied out and
 * zeroed in the pool as it goes.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;

export class RandomPool {
  private readonly pool: Buffer;
  /** Bytes before this offset were handed out and zeroed. */
  private used: number;

  constructor(size = POOL_BYTES) {
    this.pool = Buffer.alloc(size);
    this.used = size;
  }

  /** `n` fresh random bytes, in a buffer of their own. */
  take(n: number): Buffer {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('a byte count is a non-negative integer');
    if (n > this.pool.length) return randomFillSync(Buffer.alloc(n));
    if (this.used + n > this.pool.length) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    const out = Buffer.from(this.pool.subarray(this.used, this.used + n));
    this.pool.fill(0, this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/** The process's pool: synchronous, so one is enough for every caller on the thread. */
export const randomPool = new RandomPool();
