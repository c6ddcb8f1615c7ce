/**
 * Sealing and opening whole recordings: the header with its wrapped data key, and per-segment access.
 *
 * A sealer hands out segment indexes in call order and refuses anything after the final segment, so a
 * writer cannot reuse a nonce. An opener gives random access: any segment opens on its own (SPEC §6.1).
 *
 * A sealer can be resumed in another page after the first one is gone (a reload): `state` holds what
 * sealing needs (the header, the payload key as a non-extractable encrypt-only CryptoKey, the nonce
 * prefix), never the data key, and `resumeRecordingSealer` goes on from a given index. Whoever keeps
 * the state must also keep, durably and together with each sealed segment it lets out, the index that
 * comes next: resuming below an index whose segment left the page would reuse a nonce.
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
import { MAX_SEGMENT_INDEX, type OpenedSegment, openSegment, sealSegment } from './segment.js';
import { DEK_LENGTH, NONCE_PREFIX_LENGTH, type StreamKeys, deriveStreamKeys } from './stream-keys.js';

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
  /** What resumeRecordingSealer needs to go on sealing in another page; it holds no data key. */
  readonly state: SealerState;
  /** Seals the next segment; `last` closes the recording. */
  sealNext(plaintext: Uint8Array, last: boolean): Promise<Uint8Array>;
}

/**
 * A sealer's state, structured-cloneable (IndexedDB keeps it as is). The payload key is the AES-GCM
 * key derived from the data key, non-extractable and usable only to encrypt: script cannot read it
 * or open segments with it. (A browser still writes its bytes to the profile on disk: whoever can read
 * the disk can open the segments sealed under it, as they could watch the camera of that computer.)
 */
export interface SealerState {
  readonly header: Uint8Array;
  readonly payloadKey: CryptoKey;
  readonly noncePrefix: Uint8Array;
}

export async function createRecordingSealer(params: SealParams, options: DeterministicSealOptions = {}): Promise<RecordingSealer> {
  const dek = options.dek ?? randomBytes(DEK_LENGTH);
  const salt = options.salt ?? randomBytes(SALT_LENGTH);
  const maxSegment = params.maxSegment ?? DEFAULT_MAX_SEGMENT;
  const keys = await deriveStreamKeys(dek, salt, ['encrypt']);
  const bound = encodeBound(params.context, maxSegment, salt, keys.commitment);
  const slot = await wrapDataKey(dek, params.recipient, params.epoch, bound, options);
  if (!options.dek) dek.fill(0);
  const header = decodeHeader(concat(bound, encodeKeySlot(slot)));
  return sealerFrom(header, keys, 0);
}

function sealerFrom(header: Header, keys: Pick<StreamKeys, 'payloadKey' | 'noncePrefix'>, firstIndex: number): RecordingSealer {
  let nextIndex = firstIndex;
  let finished = false;
  const state: SealerState = { header: header.bytes, payloadKey: keys.payloadKey, noncePrefix: keys.noncePrefix };
  return {
    header,
    state,
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

/**
 * Goes on sealing a recording from `nextIndex`, with the state a sealer of it gave (`sealer.state`),
 * after the page that made it is gone. Segments continue the same stream: the normal opener opens
 * them, and a recording resumed at the index after its last stored segment has no gap. The state must
 * be a sealer's: a payload key that is extractable or can decrypt is refused (the recorder never
 * keeps one), as is a nonce prefix of the wrong length or an index out of range.
 */
export function resumeRecordingSealer(state: SealerState, nextIndex: number): RecordingSealer {
  const key = state.payloadKey;
  const algorithm = key.algorithm as AesKeyAlgorithm;
  if (key.type !== 'secret' || algorithm.name !== 'AES-GCM' || algorithm.length !== 256 || key.extractable || key.usages.join() !== 'encrypt') {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a sealer state holds a non-extractable AES-256-GCM key for encryption only');
  }
  if (!(state.noncePrefix instanceof Uint8Array) || state.noncePrefix.length !== NONCE_PREFIX_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', `a sealer state's nonce prefix is ${NONCE_PREFIX_LENGTH} bytes`);
  }
  if (!Number.isInteger(nextIndex) || nextIndex < 0 || nextIndex > MAX_SEGMENT_INDEX) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_SEGMENT_LIMIT', `segment index must be an integer 0..${MAX_SEGMENT_INDEX}`);
  }
  return sealerFrom(decodeHeader(state.header), { payloadKey: key, noncePrefix: state.noncePrefix.slice() }, nextIndex);
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
