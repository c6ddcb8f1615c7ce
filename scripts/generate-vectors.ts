/**
 * Writes test/vectors/sealed-v1.json. Run once when the format is defined; the file is checked in and
 * the tests only read it, so a change in the implementation that alters the bytes is caught.
 *
 *   node --import tsx scripts/generate-vectors.ts > test/vectors/sealed-v1.json
 *
 * Invalid vectors that a conforming writer cannot produce (an empty non-final segment) are built here
 * with WebCrypto directly, following docs/SPEC.md, as an independent check of the reader.
 */
import { exportPrivateKey, exportPublicKey, fromHex, locateRecords, decodeHeader, toHex } from '../src/crypto/index.js';
import { concat } from '../src/crypto/bytes.js';
import { hpke } from '../src/crypto/hpke.js';
import { type InvalidVector, type ValidVector, resealVector } from '../test/crypto/vector-format.js';

const seed = (label: string, n = 32) => {
  // Deterministic but arbitrary bytes: SHA-256 chains of a label.
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(label)).then((d) => toHex(new Uint8Array(d).subarray(0, n)));
};
const pattern = (n: number, start: number) => toHex(Uint8Array.from({ length: n }, (_, i) => (start + i * 7) & 0xff));

const recipient = await hpke.kem.deriveKeyPair(fromHex(await seed('examvault vectors recipient')));
const recipientPrivateKey = toHex(await exportPrivateKey(recipient.privateKey));
const recipientPublicKey = toHex(await exportPublicKey(recipient.publicKey));

const context = {
  institution: 'inst-vectors',
  region: 'eu',
  exam: 'exam-1',
  attempt: 'attempt-1',
  recording: 'rec-1',
  track: 'camera' as const,
  mediaType: 'video/webm;codecs=vp9',
};

async function valid(name: string, segments: string[], overrides: Partial<ValidVector> = {}): Promise<ValidVector> {
  const v = {
    name,
    recipientPrivateKey,
    recipientPublicKey,
    epoch: 1,
    dek: await seed(`${name} dek`),
    salt: await seed(`${name} salt`),
    ephemeralSeed: await seed(`${name} ephemeral`),
    maxSegment: 64,
    context,
    segments,
    ...overrides,
  };
  return { ...v, file: await resealVector(v) };
}

const validVectors = [
  await valid('empty recording: one empty final segment', ['']),
  await valid('one short final segment', [pattern(5, 1)]),
  await valid('three segments, last one partial', [pattern(64, 2), pattern(64, 3), pattern(10, 4)]),
  await valid('exactly one maximum-size segment', [pattern(64, 5)]),
  await valid('recorder style: variable chunks closed by an empty final segment', [pattern(17, 6), pattern(64, 7), pattern(1, 8), '']),
  await valid('microphone track at epoch 7, no media type', [pattern(30, 9), pattern(3, 10)], {
    epoch: 7,
    context: { ...context, track: 'microphone', mediaType: '', recording: 'rec-2' },
  }),
];

const base = fromHex((validVectors[2] as ValidVector).file);
const { header, records } = locateRecords(base);
const [r0, r1, r2] = records;
if (!r0 || !r1 || !r2) throw new Error('expected three records');
const hlen = header.bytes.length;
const boundLen = header.bound.length;
const edit = (f: (b: Uint8Array) => void) => {
  const b = base.slice();
  f(b);
  return b;
};
const record = (r: { offset: number; length: number }) => base.subarray(r.offset - 4, r.offset + r.length);
const cat = concat;

// An empty, non-final segment built straight from the spec with WebCrypto.
async function emptyNonFinal(): Promise<Uint8Array> {
  const v = validVectors[1] as ValidVector;
  const file = fromHex(v.file);
  const h = decodeHeader(file);
  const ab = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;
  const ikm = await crypto.subtle.importKey('raw', ab(fromHex(v.dek)), 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: ab(fromHex(v.salt)), info: new TextEncoder().encode('examvault/v1/stream') }, ikm, 71 * 8));
  const key = await crypto.subtle.importKey('raw', ab(okm.subarray(0, 32)), 'AES-GCM', false, ['encrypt']);
  const nonce = new Uint8Array(12);
  nonce.set(okm.subarray(64, 71));
  const c0 = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: ab(h.bound) }, key, new Uint8Array(0)));
  nonce[10] = 1; // index 1
  nonce[11] = 1; // last
  const c1 = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: ab(h.bound) }, key, ab(fromHex(pattern(5, 1)))));
  return cat(h.bytes, new Uint8Array([0, 0, 0, c0.length]), c0, new Uint8Array([0, 0, 0, c1.length]), c1);
}

const invalid = (name: string, file: Uint8Array, error: InvalidVector['error']): InvalidVector => ({ name, recipientPrivateKey, file: toHex(file), error });
const otherKey = toHex(await exportPrivateKey((await hpke.kem.deriveKeyPair(fromHex(await seed('another institution')))).privateKey));

const invalidVectors: InvalidVector[] = [
  invalid('empty input', new Uint8Array(0), 'EV_ERR_FORMAT_TRUNCATED'),
  invalid('wrong magic', edit((b) => (b[0] = 0x46)), 'EV_ERR_FORMAT_BAD_MAGIC'),
  invalid('version 2', edit((b) => (b[6] = 2)), 'EV_ERR_FORMAT_UNSUPPORTED_VERSION'),
  invalid('unknown suite', edit((b) => (b[8] = 2)), 'EV_ERR_FORMAT_UNSUPPORTED_SUITE'),
  invalid('header cut short', base.subarray(0, hlen - 1), 'EV_ERR_FORMAT_TRUNCATED'),
  invalid('unknown track code', edit((b) => (b[11 + 1 + 12 + 1 + 2 + 1 + 6 + 1 + 9 + 1 + 5] = 9)), 'EV_ERR_FORMAT_MALFORMED_HEADER'),
  invalid('bound length disagrees with fields', edit((b) => (b[10] = (b[10] as number) + 1)), 'EV_ERR_FORMAT_MALFORMED_HEADER'),
  invalid('epoch zero', edit((b) => b.fill(0, boundLen, boundLen + 4)), 'EV_ERR_FORMAT_MALFORMED_HEADER'),
  invalid('epoch changed in the key slot', edit((b) => (b[boundLen + 3] = 2)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('one context byte changed (exam id)', edit((b) => (b[11 + 1 + 12 + 1 + 2 + 1 + 5] = 0x32)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('commitment changed', edit((b) => (b[boundLen - 1] = (b[boundLen - 1] as number) ^ 1)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('wrapped data key changed', edit((b) => (b[hlen - 1] = (b[hlen - 1] as number) ^ 0x80)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('one ciphertext bit flipped in segment 1', edit((b) => (b[r1.offset + 3] = (b[r1.offset + 3] as number) ^ 4)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('tag bit flipped in the final segment', edit((b) => (b[r2.offset + r2.length - 1] = (b[r2.offset + r2.length - 1] as number) ^ 1)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('segments 0 and 1 swapped', cat(header.bytes, record(r1), record(r0), record(r2)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('segment 1 dropped', cat(header.bytes, record(r0), record(r2)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('segment 0 duplicated', cat(header.bytes, record(r0), record(r0), record(r1), record(r2)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  invalid('final segment removed', cat(header.bytes, record(r0), record(r1)), 'EV_ERR_FORMAT_NO_FINAL_SEGMENT'),
  invalid('no segments at all', header.bytes, 'EV_ERR_FORMAT_NO_FINAL_SEGMENT'),
  invalid('cut inside the final segment', base.subarray(0, base.length - 1), 'EV_ERR_FORMAT_TRUNCATED'),
  invalid('cut inside a record length', base.subarray(0, r1.offset - 2), 'EV_ERR_FORMAT_TRUNCATED'),
  invalid('bytes after the final segment', cat(base, new Uint8Array([0])), 'EV_ERR_FORMAT_TRAILING_DATA'),
  invalid('a whole record after the final segment', cat(base, record(r2)), 'EV_ERR_FORMAT_TRAILING_DATA'),
  invalid('record length over the maximum', edit((b) => (b[r0.offset - 1] = 64 + 16 + 1)), 'EV_ERR_FORMAT_SEGMENT_SIZE'),
  invalid('record length under one tag', edit((b) => (b[r0.offset - 1] = 15)), 'EV_ERR_FORMAT_SEGMENT_SIZE'),
  invalid('empty segment that is not final', await emptyNonFinal(), 'EV_ERR_FORMAT_EMPTY_SEGMENT'),
  invalid('segment spliced from another recording with the same key', cat(header.bytes, record(r0), fromHex((validVectors[4] as ValidVector).file).subarray(...(() => {
    const other = locateRecords(fromHex((validVectors[4] as ValidVector).file)).records[1] as { offset: number; length: number };
    return [other.offset - 4, other.offset + other.length] as const;
  })()), record(r2)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED'),
  { ...invalid('opened with another institution\'s key', base, 'EV_ERR_CRYPTO_DECRYPTION_FAILED'), recipientPrivateKey: otherKey },
];

process.stdout.write(JSON.stringify({
  description: 'ExamVault sealed recording format v1 known-answer vectors (docs/SPEC.md §10). Hex strings throughout.',
  valid: validVectors,
  invalid: invalidVectors,
}, null, 1) + '\n');
