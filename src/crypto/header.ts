/**
 * Encoding and decoding of the sealed header (docs/SPEC.md §5). Framing only: no keys, no crypto, so
 * the server can validate a header it cannot open.
 */
import { concat, fromUtf8, readU16, readU32, str8, u16, u32 } from './bytes.js';
import { type RecordingContext, contextProblem, trackCode, trackFromCode } from './context.js';
import { ExamVaultCryptoError } from './errors.js';

export const MAGIC = Object.freeze([0x45, 0x56, 0x53, 0x45, 0x41, 0x4c]); // "EVSEAL"
export const FORMAT_VERSION = 1;
export const SUITE_V1 = 0x0001;
export const SALT_LENGTH = 32;
export const COMMITMENT_LENGTH = 32;
export const ENC_LENGTH = 65;
export const WRAPPED_DEK_LENGTH = 48;
export const KEY_SLOT_LENGTH = 4 + ENC_LENGTH + WRAPPED_DEK_LENGTH;
export const MAX_SEGMENT_LIMIT = 16 * 1024 * 1024;
export const MAX_BOUND_LENGTH = 1024;
/** magic, version, suite, bound_len: enough to learn the header's full length. */
export const HEADER_PREFIX_LENGTH = 11;

export interface KeySlot {
  readonly epoch: number;
  readonly enc: Uint8Array;
  readonly wrappedDek: Uint8Array;
}

export interface Header {
  readonly context: RecordingContext;
  readonly maxSegment: number;
  readonly salt: Uint8Array;
  readonly commitment: Uint8Array;
  readonly keySlot: KeySlot;
  /** The exact bytes of Bound: associated data of every segment, and part of the HPKE info. */
  readonly bound: Uint8Array;
  /** The exact bytes of the whole header. */
  readonly bytes: Uint8Array;
}

export function encodeBound(
  context: RecordingContext,
  maxSegment: number,
  salt: Uint8Array,
  commitment: Uint8Array,
): Uint8Array {
  const problem = contextProblem(context);
  if (problem) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_CONTEXT', problem);
  if (!Number.isInteger(maxSegment) || maxSegment < 1 || maxSegment > MAX_SEGMENT_LIMIT) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `maxSegment must be 1..${MAX_SEGMENT_LIMIT}`);
  }
  if (salt.length !== SALT_LENGTH || commitment.length !== COMMITMENT_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'salt and commitment are 32 bytes each');
  }
  const body = concat(
    str8(context.institution),
    str8(context.region),
    str8(context.exam),
    str8(context.attempt),
    str8(context.recording),
    new Uint8Array([trackCode(context.track)]),
    str8(context.mediaType),
    u32(maxSegment),
    salt,
    commitment,
  );
  return concat(new Uint8Array(MAGIC), new Uint8Array([FORMAT_VERSION]), u16(SUITE_V1), u16(HEADER_PREFIX_LENGTH + body.length), body);
}

export function encodeKeySlot(slot: KeySlot): Uint8Array {
  if (!Number.isInteger(slot.epoch) || slot.epoch < 1 || slot.epoch > 0xffffffff) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'epoch must be an integer 1..2^32-1');
  }
  if (slot.enc.length !== ENC_LENGTH || slot.wrappedDek.length !== WRAPPED_DEK_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'key slot has the wrong size');
  }
  return concat(u32(slot.epoch), slot.enc, slot.wrappedDek);
}

function malformed(why: string): ExamVaultCryptoError {
  return new ExamVaultCryptoError('EV_ERR_FORMAT_MALFORMED_HEADER', `malformed header: ${why}`);
}

/**
 * Reads the header's total length from its first 11 bytes, checking magic, version and suite. Lets a
 * streaming reader know how many bytes to wait for.
 */
export function headerLength(prefix: Uint8Array): number {
  if (prefix.length < HEADER_PREFIX_LENGTH) {
    for (let i = 0; i < Math.min(prefix.length, MAGIC.length); i++) {
      if (prefix[i] !== MAGIC[i]) throw new ExamVaultCryptoError('EV_ERR_FORMAT_BAD_MAGIC', 'not an ExamVault sealed recording');
    }
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input ends inside the header');
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (prefix[i] !== MAGIC[i]) throw new ExamVaultCryptoError('EV_ERR_FORMAT_BAD_MAGIC', 'not an ExamVault sealed recording');
  }
  if (prefix[6] !== FORMAT_VERSION) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_UNSUPPORTED_VERSION', `unsupported format version ${prefix[6]}`);
  }
  const suite = readU16(prefix, 7);
  if (suite !== SUITE_V1) {
    throw new ExamVaultCryptoError('EV_ERR_FORMAT_UNSUPPORTED_SUITE', `unsupported cipher suite 0x${suite.toString(16).padStart(4, '0')}`);
  }
  const boundLength = readU16(prefix, 9);
  if (boundLength > MAX_BOUND_LENGTH || boundLength < HEADER_PREFIX_LENGTH) throw malformed('bound length out of range');
  return boundLength + KEY_SLOT_LENGTH;
}

/**
 * Parses a header from the start of `input` (which may hold more bytes after it). Throws a FORMAT
 * error naming the first rule broken; never touches keys.
 */
export function decodeHeader(input: Uint8Array): Header {
  const length = headerLength(input);
  if (input.length < length) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'input ends inside the header');
  const bytes = input.slice(0, length);
  const boundLength = length - KEY_SLOT_LENGTH;
  let offset = HEADER_PREFIX_LENGTH;

  const take = (n: number): Uint8Array => {
    if (offset + n > boundLength) throw malformed('fields overrun the bound length');
    const out = bytes.subarray(offset, offset + n);
    offset += n;
    return out;
  };
  const readStr8 = (): string => {
    const n = take(1)[0] as number;
    const raw = take(n);
    for (const c of raw) if (c < 0x20 || c > 0x7e) throw malformed('non-ASCII text field');
    return fromUtf8(raw);
  };

  const institution = readStr8();
  const region = readStr8();
  const exam = readStr8();
  const attempt = readStr8();
  const recording = readStr8();
  const track = trackFromCode(take(1)[0] as number);
  if (!track) throw malformed('unknown track');
  const mediaType = readStr8();
  const maxSegment = readU32(take(4), 0);
  const salt = take(SALT_LENGTH);
  const commitment = take(COMMITMENT_LENGTH);
  if (offset !== boundLength) throw malformed('bound length does not match its fields');
  if (maxSegment < 1 || maxSegment > MAX_SEGMENT_LIMIT) throw malformed('max segment size out of range');

  const context: RecordingContext = { institution, region, exam, attempt, recording, track, mediaType };
  const problem = contextProblem(context);
  if (problem) throw malformed(problem);

  const epoch = readU32(bytes, boundLength);
  if (epoch < 1) throw malformed('epoch must be at least 1');
  const enc = bytes.subarray(boundLength + 4, boundLength + 4 + ENC_LENGTH);
  if (enc[0] !== 0x04) throw malformed('encapsulated key is not an uncompressed point');
  const wrappedDek = bytes.subarray(boundLength + 4 + ENC_LENGTH, length);

  return {
    context: Object.freeze(context),
    maxSegment,
    salt,
    commitment,
    keySlot: Object.freeze({ epoch, enc, wrappedDek }),
    bound: bytes.subarray(0, boundLength),
    bytes,
  };
}

/** Replaces a header's key slot (re-wrapping to a new epoch); Bound, and so every segment, is unchanged. */
export function withKeySlot(header: Header, slot: KeySlot): Header {
  return decodeHeader(concat(header.bound, encodeKeySlot(slot)));
}
