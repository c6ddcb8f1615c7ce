import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRecordingSealer,
  createSegmentSealStream,
  decodeHeader,
  generateEpochKeyPair,
  locateRecords,
  openRecording,
  openRecordingWithDataKey,
  resumeRecordingSealer,
  rewrapHeader,
  sealedSize,
  unwrapRecordingKey,
  type SealedSegment,
} from '../../src/crypto/index.js';
import { baseContext, collect, epochKeys, equalBytes, openFile, randomData, rejectionCode, sealFile, streamOf } from './fixtures.js';

describe('sealed recording round trips', () => {
  for (const size of [0, 1, 1023, 1024, 1025, 2048, 5000]) {
    it(`seals and opens ${size} bytes in 1 KiB segments`, async () => {
      const data = randomData(size);
      const { file, sealer } = await sealFile(data, { maxSegment: 1024 });
      assert.equal(file.length, sealedSize(size, 1024, sealer.header.bytes.length));
      assert.ok(equalBytes(await openFile(file), data));
    });
  }

  it('opens when the file arrives in tiny chunks', async () => {
    const data = randomData(3000);
    const { file } = await sealFile(data, { maxSegment: 700 });
    assert.ok(equalBytes(await openFile(file, undefined, 3), data));
  });

  it('seals exactly one maximum-size segment as a single final segment', async () => {
    const data = randomData(1024);
    const { file } = await sealFile(data, { maxSegment: 1024 });
    assert.equal(locateRecords(file).records.length, 1);
    assert.ok(equalBytes(await openFile(file), data));
  });

  it('uses a fresh data key, salt and wrapped key for every recording', async () => {
    const a = await sealFile(randomData(10));
    const b = await sealFile(randomData(10));
    assert.ok(!equalBytes(a.sealer.header.salt, b.sealer.header.salt));
    assert.ok(!equalBytes(a.sealer.header.commitment, b.sealer.header.commitment));
    assert.ok(!equalBytes(a.sealer.header.keySlot.wrappedDek, b.sealer.header.keySlot.wrappedDek));
  });
});

describe('random access', () => {
  it('opens any segment alone given the header and its index', async () => {
    const data = randomData(4500);
    const { file } = await sealFile(data, { maxSegment: 1000 });
    const { header, records } = locateRecords(file);
    const opener = await openRecording(header, (await epochKeys()).privateKey);
    for (const r of [...records].reverse()) {
      const { plaintext, last } = await opener.openSegment(r.index, file.subarray(r.offset, r.offset + r.length));
      assert.equal(last, r.index === records.length - 1);
      assert.ok(equalBytes(plaintext, data.subarray(r.index * 1000, r.index * 1000 + 1000)));
    }
  });

  it('refuses a segment opened with the wrong last flag', async () => {
    const { file } = await sealFile(randomData(1500), { maxSegment: 1000 });
    const { header, records } = locateRecords(file);
    const opener = await openRecording(header, (await epochKeys()).privateKey);
    const [r0, r1] = records;
    assert.ok(r0 && r1);
    assert.equal(await rejectionCode(opener.openSegment(0, file.subarray(r0.offset, r0.offset + r0.length), true)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    assert.equal(await rejectionCode(opener.openSegment(1, file.subarray(r1.offset, r1.offset + r1.length), false)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });
});

describe('recorder-style sealing, one chunk per segment', () => {
  it('seals chunks as they come and closes with the final one', async () => {
    const { publicKey, privateKey } = await epochKeys();
    const sealer = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1, maxSegment: 4096 });
    const chunks = [randomData(100), randomData(4096), randomData(7)];
    const sealed: SealedSegment[] = [];
    await streamOf(...chunks).pipeThrough(createSegmentSealStream(sealer)).pipeTo(new WritableStream({ write: (s) => void sealed.push(s) }));
    assert.deepEqual(sealed.map((s) => [s.index, s.last]), [[0, false], [1, false], [2, true]]);
    const opener = await openRecording(sealer.header.bytes, privateKey);
    for (const s of sealed) {
      const opened = await opener.openSegment(s.index, s.ciphertext);
      assert.equal(opened.last, s.last);
      assert.ok(equalBytes(opened.plaintext, chunks[s.index] as Uint8Array));
    }
  });

  it('closes an empty stream with one empty final segment', async () => {
    const { publicKey } = await epochKeys();
    const sealer = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1 });
    const sealed: SealedSegment[] = [];
    await streamOf().pipeThrough(createSegmentSealStream(sealer)).pipeTo(new WritableStream({ write: (s) => void sealed.push(s) }));
    assert.equal(sealed.length, 1);
    assert.equal(sealed[0]?.last, true);
    assert.equal(sealed[0]?.ciphertext.length, 16);
  });

  it('gives distinct indexes to concurrent calls and refuses segments after the final one', async () => {
    const { publicKey, privateKey } = await epochKeys();
    const sealer = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1 });
    const parts = [randomData(10), randomData(20), randomData(30)];
    const sealed = await Promise.all(parts.map((p, i) => sealer.sealNext(p, i === 2)));
    const opener = await openRecording(sealer.header, privateKey);
    for (const [i, c] of sealed.entries()) assert.ok(equalBytes((await opener.openSegment(i, c)).plaintext, parts[i] as Uint8Array));
    assert.equal(await rejectionCode(sealer.sealNext(randomData(1), true)), 'EV_ERR_CRYPTO_SEGMENT_LIMIT');
  });

  it('refuses an empty segment that is not final, and an oversized one', async () => {
    const { publicKey } = await epochKeys();
    const sealer = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1, maxSegment: 10 });
    assert.equal(await rejectionCode(sealer.sealNext(new Uint8Array(0), false)), 'EV_ERR_FORMAT_EMPTY_SEGMENT');
    assert.equal(await rejectionCode(sealer.sealNext(randomData(11), false)), 'EV_ERR_FORMAT_SEGMENT_SIZE');
  });

  it('refuses an invalid context before sealing anything', async () => {
    const { publicKey } = await epochKeys();
    const bad = { ...baseContext, institution: 'has space' };
    assert.equal(await rejectionCode(createRecordingSealer({ context: bad, recipient: publicKey, epoch: 1 })), 'EV_ERR_CRYPTO_INVALID_CONTEXT');
  });
});

describe('resuming a sealer in another page', () => {
  const codeOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  };

  it('goes on from the next index after a structured clone of its state: one stream, no gap, the normal opener opens it', async () => {
    const { publicKey, privateKey } = await epochKeys();
    const first = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1, maxSegment: 4096 });
    const parts = [randomData(100), randomData(4096), randomData(7), randomData(300)];
    const sealed = [await first.sealNext(parts[0] as Uint8Array, false), await first.sealNext(parts[1] as Uint8Array, false)];
    // What IndexedDB keeps: a structured clone. The key stays non-extractable and encrypt-only.
    const kept = structuredClone(first.state);
    assert.equal(kept.payloadKey.extractable, false);
    assert.deepEqual(kept.payloadKey.usages, ['encrypt']);
    await assert.rejects(crypto.subtle.exportKey('raw', kept.payloadKey));
    await assert.rejects(crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, kept.payloadKey, sealed[0] as Uint8Array<ArrayBuffer>));

    const resumed = resumeRecordingSealer(kept, first.nextIndex);
    assert.equal(resumed.nextIndex, 2);
    assert.ok(equalBytes(resumed.header.bytes, first.header.bytes));
    sealed.push(await resumed.sealNext(parts[2] as Uint8Array, false));
    // A second reload: resumed again from the resumed sealer's state.
    const again = resumeRecordingSealer(structuredClone(resumed.state), resumed.nextIndex);
    sealed.push(await again.sealNext(parts[3] as Uint8Array, false));
    sealed.push(await again.sealNext(new Uint8Array(0), true));
    assert.equal(again.finished, true);

    const opener = await openRecording(first.header.bytes, privateKey);
    for (const [i, c] of sealed.entries()) {
      const opened = await opener.openSegment(i, c);
      assert.equal(opened.last, i === 4);
      assert.ok(equalBytes(opened.plaintext, i < 4 ? parts[i] as Uint8Array : new Uint8Array(0)));
    }
    // Resumed at the wrong index, a segment does not open where it is claimed to be.
    const skewed = resumeRecordingSealer(first.state, 1);
    await assert.rejects(opener.openSegment(2, await skewed.sealNext(parts[2] as Uint8Array, false)));
  });

  it('refuses a state whose key could be read or could decrypt, a bad nonce prefix and an index out of range', async () => {
    const { publicKey } = await epochKeys();
    const { state } = await createRecordingSealer({ context: baseContext, recipient: publicKey, epoch: 1 });
    const aes = (extractable: boolean, usages: KeyUsage[]) => crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, extractable, usages) as Promise<CryptoKey>;
    for (const [what, payloadKey] of [['extractable', await aes(true, ['encrypt'])], ['decrypting', await aes(false, ['encrypt', 'decrypt'])]] as const) {
      assert.equal(codeOf(() => resumeRecordingSealer({ ...state, payloadKey }, 0)), 'EV_ERR_CRYPTO_INVALID_KEY', what);
    }
    assert.equal(codeOf(() => resumeRecordingSealer({ ...state, noncePrefix: new Uint8Array(6) }, 0)), 'EV_ERR_CRYPTO_INVALID_KEY');
    for (const index of [-1, 1.5, 2 ** 32]) assert.equal(codeOf(() => resumeRecordingSealer(state, index)), 'EV_ERR_CRYPTO_SEGMENT_LIMIT', String(index));
  });
});

describe('epochs and re-wrapping', () => {
  it('moves a recording to a new epoch without touching its segments', async () => {
    const data = randomData(2500);
    const { file } = await sealFile(data, { maxSegment: 1000 });
    const { header } = locateRecords(file);
    const next = await generateEpochKeyPair();
    const moved = await rewrapHeader(header, (await epochKeys()).privateKey, next.publicKey, 2);
    assert.equal(moved.keySlot.epoch, 2);
    assert.ok(equalBytes(moved.bound, header.bound));
    const rewritten = new Uint8Array(file.length);
    rewritten.set(moved.bytes, 0);
    rewritten.set(file.subarray(header.bytes.length), header.bytes.length);
    assert.ok(equalBytes(await openFile(rewritten, next.privateKey), data));
    assert.equal(await rejectionCode(openFile(rewritten)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('opens with an unwrapped data key, and refuses a data key of another recording', async () => {
    const a = await sealFile(randomData(100));
    const b = await sealFile(randomData(100));
    const { privateKey } = await epochKeys();
    const dekA = await unwrapRecordingKey(a.sealer.header, privateKey);
    await openRecordingWithDataKey(a.sealer.header, dekA);
    assert.equal(await rejectionCode(openRecordingWithDataKey(b.sealer.header, dekA)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('refuses the wrong epoch private key with the opaque error', async () => {
    const { file } = await sealFile(randomData(100));
    const other = await generateEpochKeyPair();
    assert.equal(await rejectionCode(openFile(file, other.privateKey)), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('round-trips the header through decodeHeader', async () => {
    const { sealer } = await sealFile(randomData(1), { context: { ...baseContext, track: 'snapshot', mediaType: '' } });
    const again = decodeHeader(sealer.header.bytes);
    assert.deepEqual(again.context, { ...baseContext, track: 'snapshot', mediaType: '' });
    assert.equal(again.keySlot.epoch, 1);
    assert.ok(equalBytes(await collect(streamOf(again.bytes)), sealer.header.bytes));
  });
});
