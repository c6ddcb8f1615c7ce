/**
 * The shape of test/vectors/sealed-v1.json and how a valid vector is sealed again from its inputs.
 * Shared by the vector test and by scripts/generate-vectors.ts, which wrote the file once.
 */
import { type CryptoErrorCode, type RecordingContext, createRecordingSealer, fromHex, importPrivateKey, importPublicKey, toHex } from '../../src/crypto/index.js';
import { hpke } from '../../src/crypto/hpke.js';

export interface ValidVector {
  readonly name: string;
  readonly recipientPrivateKey: string;
  readonly recipientPublicKey: string;
  readonly epoch: number;
  readonly dek: string;
  readonly salt: string;
  readonly ephemeralSeed: string;
  readonly maxSegment: number;
  readonly context: RecordingContext;
  /** Plaintext of each segment in order; the last one carries the last flag. */
  readonly segments: readonly string[];
  readonly file: string;
}

export interface InvalidVector {
  readonly name: string;
  readonly recipientPrivateKey: string;
  readonly file: string;
  readonly error: CryptoErrorCode;
}

export interface VectorFile {
  readonly description: string;
  readonly valid: readonly ValidVector[];
  readonly invalid: readonly InvalidVector[];
}

function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Seals a valid vector's inputs deterministically and returns the framed file as hex. */
export async function resealVector(v: Omit<ValidVector, 'file'>): Promise<string> {
  const recipient = await importPublicKey(fromHex(v.recipientPublicKey));
  const ephemeralKeyPair = await hpke.kem.deriveKeyPair(fromHex(v.ephemeralSeed));
  const sealer = await createRecordingSealer(
    { context: v.context, recipient, epoch: v.epoch, maxSegment: v.maxSegment },
    { dek: fromHex(v.dek), salt: fromHex(v.salt), ephemeralKeyPair },
  );
  let out = toHex(sealer.header.bytes);
  for (const [i, s] of v.segments.entries()) {
    const c = await sealer.sealNext(fromHex(s), i === v.segments.length - 1);
    out += toHex(u32(c.length)) + toHex(c);
  }
  return out;
}

export async function privateKeyOf(hex: string): Promise<CryptoKey> {
  return importPrivateKey(fromHex(hex));
}
