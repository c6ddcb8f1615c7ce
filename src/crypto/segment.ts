/**
 * The STREAM construction of docs/SPEC.md §6: AES-256-GCM per segment, nonce = prefix ‖ u32 index ‖
 * last flag, Bound as associated data. The index and flag in the nonce are what make a dropped,
 * reordered, duplicated or truncated segment fail to authenticate.
 */
import { bs } from './bytes.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';
import type { StreamKeys } from './stream-keys.js';

export const TAG_LENGTH = 16;
export const MAX_SEGMENT_INDEX = 0xffffffff;

export function segmentNonce(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_SEGMENT_INDEX) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_SEGMENT_LIMIT', `segment index must be an integer 0..${MAX_SEGMENT_INDEX}`);
  }
}

export async function sealSegment(
  keys: Pick<StreamKeys, 'payloadKey' | 'noncePrefix'>,
  bound: Uint8Array,
  maxSegment: number,
  index: number,
  last: boolean,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  checkIndex(index);
  if (plaintext.length > maxSegment) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_SEGMENT_SIZE', `a segment holds at most ${maxSegment} bytes of plaintext`);
  }
  if (plaintext.length === 0 && !last) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_EMPTY_SEGMENT', 'only the final segment may be empty');
  }
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: bs(segmentNonce(keys.noncePrefix, index, last)), additionalData: bs(bound) },
    keys.payloadKey,
    bs(plaintext),
  );
  return new Uint8Array(ciphertext);
}

export interface OpenedSegment {
  readonly plaintext: Uint8Array;
  /** True when this segment carries the last flag: the recording ends here. */
  readonly last: boolean;
}

async function tryOpen(keys: StreamKeys, bound: Uint8Array, index: number, last: boolean, ciphertext: Uint8Array): Promise<Uint8Array | null> {
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bs(segmentNonce(keys.noncePrefix, index, last)), additionalData: bs(bound) },
      keys.payloadKey,
      bs(ciphertext),
    );
    return new Uint8Array(plaintext);
  } catch {
    return null;
  }
}

/**
 * Opens segment `index`. With `last` given, only that flag is tried; without it, 0 then 1 (SPEC §6.1).
 */
export async function openSegment(
  keys: StreamKeys,
  bound: Uint8Array,
  maxSegment: number,
  index: number,
  ciphertext: Uint8Array,
  last?: boolean,
): Promise<OpenedSegment> {
  checkIndex(index);
  if (ciphertext.length < TAG_LENGTH || ciphertext.length > maxSegment + TAG_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_SEGMENT_SIZE', `a sealed segment is ${TAG_LENGTH}..${maxSegment + TAG_LENGTH} bytes`);
  }
  const flags = last === undefined ? [false, true] : [last];
  for (const flag of flags) {
    const plaintext = await tryOpen(keys, bound, index, flag, ciphertext);
    if (plaintext) {
      if (plaintext.length === 0 && !flag) {
        throw new ExamVaultCryptoError('EV_ERR_FORMAT_EMPTY_SEGMENT', 'only the final segment may be empty');
      }
      return { plaintext, last: flag };
    }
  }
  throw new DecryptionFailedError();
}
