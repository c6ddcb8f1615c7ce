/**
 * Sealing and opening whole recordings: the header with its wrapped data key, and per-segment access.
 *
 * A sealer hands out segment indexes in call order and refuses anything after the final segment, so a
 * writer cannot reuse a nonce. An opener gives random access: any segment opens on its own (SPEC §6.1).
 */
import { concat, constantTimeEqual, randomBytes } from './bytes.js';
import type { RecordingContext } from './context.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';
import {
  type Header,
  SALT_LENGTH,
  decodeHeader,
  encodeBound,
  encodeKeySlot,
  withKeySlot,
} from './header.js';
import { type WrapOptions, unwrapDataKey, wrapDataKey } from './key-wrap.js';
import { type OpenedSegment, openSegment, sealSegment } from './segment.js';
import { DEK_LENGTH, type StreamKeys, deriveStreamKeys } from './stream-keys.js';

export const DEFAULT_MAX_SEGMENT = 4 * 1024 * 1024;

export interface SealParams {
  readonly context: RecordingContext;
  /** The institution's current epoch public key. */
  readonly recipient: CryptoKey;
  readonly epoch: number;
  /** Largest plaintext per segment; defaults to 4 MiB, at most 16 MiB. */
  readonly maxSegment?: number;
}

/** Fixed randomness, for known-answer vectors only. */
export interface DeterministicSealOptions extends WrapOptions {
  readonly dek?: Uint8Array;
  readonly salt?: Uint8Array;
}

export interface RecordingSealer {
  readonly header: Header;
  /** The index the next call to sealNext will use. */
  readonly nextIndex: number;
  readonly finished: boolean;
  /** Seals the next segment; `last` closes the recording. */
  sealNext(plaintext: Uint8Array, last: boolean): Promise<Uint8Array>;
}

export async function createRecordingSealer(params: SealParams, options: DeterministicSealOptions = {}): Promise<RecordingSealer> {
  const dek = options.dek ?? randomBytes(DEK_LENGTH);
  const salt = options.salt ?? randomBytes(SALT_LENGTH);
  const maxSegment = params.maxSegment ?? DEFAULT_MAX_SEGMENT;
  const keys = await deriveStreamKeys(dek, salt);
  const bound = encodeBound(params.context, maxSegment, salt, keys.commitment);
  const slot = await wrapDataKey(dek, params.recipient, params.epoch, bound, options);
  if (!options.dek) dek.fill(0);
  const header = decodeHeader(concat(bound, encodeKeySlot(slot)));

  let nextIndex = 0;
  let finished = false;
  return {
    header,
    get nextIndex() {
      return nextIndex;
    },
    get finished() {
      return finished;
    },
    sealNext(plaintext, last) {
      if (finished) {
        return Promise.reject(new ExamVaultCryptoError('EV_ERR_CRYPTO_SEGMENT_LIMIT', 'the recording is already finished'));
      }
      // Claim the index before awaiting, so concurrent calls still get distinct nonces.
      const index = nextIndex;
      if (plaintext.length === 0 && !last) {
        return Promise.reject(new ExamVaultCryptoError('EV_ERR_FORMAT_EMPTY_SEGMENT', 'only the final segment may be empty'));
      }
      nextIndex++;
      if (last) finished = true;
      return sealSegment(keys, header.bound, header.maxSegment, index, last, plaintext);
    },
  };
}

export interface RecordingOpener {
  readonly header: Header;
  openSegment(index: number, ciphertext: Uint8Array, last?: boolean): Promise<OpenedSegment>;
}

function opener(header: Header, keys: StreamKeys): RecordingOpener {
  return {
    header,
    openSegment: (index, ciphertext, last) => openSegment(keys, header.bound, header.maxSegment, index, ciphertext, last),
  };
}

function asHeader(header: Header | Uint8Array): Header {
  return header instanceof Uint8Array ? decodeHeader(header) : header;
}

/**
 * Opens a recording given its data key (already unwrapped), checking the key commitment first.
 * A wrong key is the opaque DecryptionFailedError.
 */
export async function openRecordingWithDataKey(header: Header | Uint8Array, dek: Uint8Array): Promise<RecordingOpener> {
  const h = asHeader(header);
  const keys = await deriveStreamKeys(dek, h.salt);
  if (!constantTimeEqual(keys.commitment, h.commitment)) throw new DecryptionFailedError();
  return opener(h, keys);
}

/** Unwraps the data key of a recording with the epoch private key. */
export async function unwrapRecordingKey(header: Header | Uint8Array, privateKey: CryptoKey): Promise<Uint8Array> {
  const h = asHeader(header);
  return unwrapDataKey(h.keySlot, privateKey, h.bound);
}

export async function openRecording(header: Header | Uint8Array, privateKey: CryptoKey): Promise<RecordingOpener> {
  const h = asHeader(header);
  const dek = await unwrapRecordingKey(h, privateKey);
  try {
    return await openRecordingWithDataKey(h, dek);
  } finally {
    dek.fill(0);
  }
}

/**
 * Moves a recording to a new epoch: unwraps its data key with the old epoch private key and wraps it
 * to the new epoch public key. Bound, and so every segment, stays byte-identical (SPEC §5.1).
 */
export async function rewrapHeader(
  header: Header | Uint8Array,
  oldPrivateKey: CryptoKey,
  newRecipient: CryptoKey,
  newEpoch: number,
): Promise<Header> {
  const h = asHeader(header);
  const dek = await unwrapRecordingKey(h, oldPrivateKey);
  try {
    await openRecordingWithDataKey(h, dek);
    return withKeySlot(h, await wrapDataKey(dek, newRecipient, newEpoch, h.bound));
  } finally {
    dek.fill(0);
  }
}
