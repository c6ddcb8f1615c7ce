/**
 * Property tests (fast-check): every way of damaging a sealed recording must fail to open, and every
 * honest round trip must succeed. The properties together run more than 10,000 cases, counted below.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Header,
  type RecordLocation,
  type RecordingContext,
  decodeHeader,
  generateEpochKeyPair,
  importPrivateKey,
  locateRecords,
  plaintextSize,
  sealedSize,
  tracks,
} from '../../src/crypto/index.js';
import { concat } from '../../src/crypto/bytes.js';
import { encodeBound, encodeKeySlot } from '../../src/crypto/header.js';
import { baseContext, equalBytes, openFile, randomData, sealFile } from './fixtures.js';

const MIN_TOTAL_CASES = 10_000;
let cases = 0;

interface Sealed {
  file: Uint8Array;
  header: Header;
  records: RecordLocation[];
}

let victim: Sealed;
let sameKeyOther: Sealed;
let otherKeyOther: Sealed;

async function sealed(data: Uint8Array, recipient?: CryptoKey, context: RecordingContext = baseContext): Promise<Sealed> {
  const { file } = await sealFile(data, { maxSegment: 64, ...(recipient ? { recipient } : {}), context });
  return { file, ...locateRecords(file) };
}

function recordBytes(s: Sealed, i: number): Uint8Array {
  const r = s.records[i] as RecordLocation;
  return s.file.subarray(r.offset - 4, r.offset + r.length);
}

const join = concat;

/** True when opening fails, with any error: a damaged recording must never open. */
async function failsToOpen(file: Uint8Array, key?: CryptoKey): Promise<boolean> {
  cases++;
  try {
    await openFile(file, key);
    return false;
  } catch {
    return true;
  }
}

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);

describe('tampering properties', () => {
  before(async () => {
    victim = await sealed(randomData(200));
    sameKeyOther = await sealed(randomData(200), undefined, { ...baseContext, recording: 'rec-02' });
    otherKeyOther = await sealed(randomData(200), (await generateEpochKeyPair()).publicKey);
    assert.equal(victim.records.length, 4);
  });

  it('a flip of any bit of header or segments fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: victim.file.length * 8 - 1 }), async (bit) => {
        const f = victim.file.slice();
        f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
        return failsToOpen(f);
      }),
      { numRuns: 2500 },
    );
  });

  it('truncation anywhere fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: victim.file.length - 1 }), async (n) => failsToOpen(victim.file.subarray(0, n))),
      { numRuns: 1000 },
    );
  });

  it('dropping, duplicating or reordering segments, or ending without the last one, fails', async () => {
    const honest = [0, 1, 2, 3];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 3 }), { minLength: 0, maxLength: 7 }).filter((seq) => seq.join() !== honest.join()),
        async (seq) => failsToOpen(join(victim.header.bytes, ...seq.map((i) => recordBytes(victim, i)))),
      ),
      { numRuns: 2000 },
    );
  });

  it('splicing in a segment of another recording, same key or another key, fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.boolean(), async (at, from, sameKey) => {
        const donor = sameKey ? sameKeyOther : otherKeyOther;
        const parts = [0, 1, 2, 3].map((i) => (i === at ? recordBytes(donor, from) : recordBytes(victim, i)));
        return failsToOpen(join(victim.header.bytes, ...parts));
      }),
      { numRuns: 1500 },
    );
  });

  it('changing any context field, the segment size or the salt fails', async () => {
    const h = victim.header;
    const change = fc.oneof(
      fc.record({ field: fc.constantFrom('institution', 'exam', 'attempt', 'recording'), value: idArb }),
      fc.record({ field: fc.constant('region'), value: fc.constantFrom('us', 'ca', 'eu', 'me', 'au', 'eu-2') }),
      fc.record({ field: fc.constant('track'), value: fc.constantFrom(...tracks) }),
      fc.record({ field: fc.constant('mediaType'), value: fc.stringMatching(/^[a-z/;=0-9]{0,30}$/) }),
      fc.record({ field: fc.constant('maxSegment'), value: fc.integer({ min: 1, max: 1 << 24 }) }),
      fc.record({ field: fc.constant('salt'), value: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
    );
    await fc.assert(
      fc.asyncProperty(change, async ({ field, value }) => {
        const context = field in h.context ? { ...h.context, [field]: value } : h.context;
        const maxSegment = field === 'maxSegment' ? (value as number) : h.maxSegment;
        const salt = field === 'salt' ? (value as Uint8Array) : h.salt;
        const bound = encodeBound(context as RecordingContext, maxSegment, salt, h.commitment);
        fc.pre(!equalBytes(bound, h.bound));
        return failsToOpen(join(bound, encodeKeySlot(h.keySlot), victim.file.subarray(h.bytes.length)));
      }),
      { numRuns: 1000 },
    );
  });

  it('changing the epoch fails', async () => {
    const h = victim.header;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 0xffffffff }), async (epoch) =>
        failsToOpen(join(h.bound, encodeKeySlot({ ...h.keySlot, epoch }), victim.file.subarray(h.bytes.length)))),
      { numRuns: 300 },
    );
  });

  it('opening with a wrong private key fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (scalar) => {
        let key: CryptoKey;
        try {
          key = await importPrivateKey(scalar);
        } catch {
          cases++;
          return true; // not a valid scalar at all: nothing to open with
        }
        return failsToOpen(victim.file, key);
      }),
      { numRuns: 300 },
    );
  });
});

describe('round-trip properties', () => {
  it('random sizes, segment sizes and chunkings round-trip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 256 }).chain((maxSegment) =>
          fc.record({
            maxSegment: fc.constant(maxSegment),
            size: fc.oneof(fc.constantFrom(0, maxSegment, 2 * maxSegment), fc.nat({ max: 4 * maxSegment })),
            segmentSize: fc.integer({ min: 1, max: maxSegment }),
            readChunk: fc.integer({ min: 1, max: 300 }),
          })),
        async ({ maxSegment, size, segmentSize, readChunk }) => {
          cases++;
          const data = randomData(size);
          const { file, sealer } = await sealFile(data, { maxSegment, segmentSize });
          const headerLength = sealer.header.bytes.length;
          if (segmentSize === maxSegment) {
            assert.equal(file.length, sealedSize(size, maxSegment, headerLength));
            assert.equal(plaintextSize(file.length, maxSegment, headerLength), size);
          }
          return equalBytes(await openFile(file, undefined, readChunk), data);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('size math: plaintextSize inverts sealedSize', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 << 30 }), fc.integer({ min: 1, max: 1 << 24 }), fc.integer({ min: 150, max: 1141 }), (p, m, h) => {
        cases++;
        return plaintextSize(sealedSize(p, m, h), m, h) === p;
      }),
      { numRuns: 1000 },
    );
  });

  it('headers decode to what was encoded', () => {
    fc.assert(
      fc.property(idArb, idArb, fc.constantFrom(...tracks), fc.integer({ min: 1, max: 0xffffffff }), (exam, attempt, track, epoch) => {
        cases++;
        const context = { ...baseContext, exam, attempt, track };
        const bytes = join(encodeBound(context, 1000, new Uint8Array(32), new Uint8Array(32)), encodeKeySlot({ epoch, enc: Uint8Array.of(4, ...new Uint8Array(64)), wrappedDek: new Uint8Array(48) }));
        const h = decodeHeader(bytes);
        return h.keySlot.epoch === epoch && h.context.exam === exam && h.context.attempt === attempt && h.context.track === track;
      }),
      { numRuns: 500 },
    );
  });
});

describe('coverage of the properties', () => {
  it(`ran at least ${MIN_TOTAL_CASES} cases`, () => {
    assert.ok(cases >= MIN_TOTAL_CASES, `only ${cases} property cases ran`);
  });
});
