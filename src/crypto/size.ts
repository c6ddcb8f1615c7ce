/**
 * Size math of the sealed file (docs/SPEC.md §7), for a plaintext cut into full segments of
 * `maxSegment` bytes as the sealing stream does. A segment costs a 4-byte length and a 16-byte tag.
 */
import { ExamVaultCryptoError } from './errors.js';
import { TAG_LENGTH } from './segment.js';

export const RECORD_OVERHEAD = 4 + TAG_LENGTH;

function checkSizes(...values: number[]): void {
  for (const v of values) {
    if (!Number.isSafeInteger(v) || v < 0) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'sizes are non-negative integers');
  }
}

export function segmentCount(plaintextLength: number, maxSegment: number): number {
  checkSizes(plaintextLength, maxSegment);
  return Math.max(1, Math.ceil(plaintextLength / maxSegment));
}

/** Bytes of the sealed file for `plaintextLength` bytes of plaintext. */
export function sealedSize(plaintextLength: number, maxSegment: number, headerLength: number): number {
  checkSizes(headerLength);
  return headerLength + segmentCount(plaintextLength, maxSegment) * RECORD_OVERHEAD + plaintextLength;
}

/**
 * Plaintext bytes inside a sealed file of `sealedLength` bytes written in full segments, or null when
 * no plaintext length seals to exactly that size.
 */
export function plaintextSize(sealedLength: number, maxSegment: number, headerLength: number): number | null {
  checkSizes(sealedLength, maxSegment, headerLength);
  const body = sealedLength - headerLength;
  if (body < RECORD_OVERHEAD) return null;
  const n = Math.ceil(body / (maxSegment + RECORD_OVERHEAD));
  const plaintext = body - n * RECORD_OVERHEAD;
  return plaintext >= 0 && sealedSize(plaintext, maxSegment, headerLength) === sealedLength ? plaintext : null;
}
