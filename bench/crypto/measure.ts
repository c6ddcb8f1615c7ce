/**
 * The crypto benchmark's measurements, isomorphic so the same code runs in Node and in Chromium.
 *
 * Baseline: raw WebCrypto AES-256-GCM over the same segments, one `encrypt`/`decrypt` call per
 * segment, awaited in order, exactly as the sealing stream does. Rounds are interleaved (raw, seal,
 * raw, open, ...) so that noise from a shared machine falls on both sides alike.
 */
import {
  createOpenStream,
  createRecordingSealer,
  createSealStream,
  generateEpochKeyPair,
  openRecording,
  type RecordingContext,
} from '../../src/crypto/index.js';

export interface CryptoBenchResult {
  readonly totalBytes: number;
  readonly segmentBytes: number;
  readonly rounds: number;
  readonly rawEncryptMBps: number;
  readonly sealMBps: number;
  readonly rawDecryptMBps: number;
  readonly openMBps: number;
  /** The same streams with one segment in flight (concurrency 1), as ratios to the same raw figures. */
  readonly sealSerialRatio: number;
  readonly openSerialRatio: number;
  /** Median over rounds of seal MB/s ÷ raw encrypt MB/s measured in the same round. */
  readonly sealRatio: number;
  /** Median over rounds of open MB/s ÷ raw decrypt MB/s measured in the same round. */
  readonly openRatio: number;
}

const context: RecordingContext = {
  institution: 'bench',
  region: 'eu',
  exam: 'bench-exam',
  attempt: 'bench-attempt',
  recording: 'bench-recording',
  track: 'screen',
  mediaType: 'video/webm',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fill(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function source(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++] as Uint8Array);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

async function drain(stream: ReadableStream<Uint8Array>, keep: Uint8Array[] | null): Promise<number> {
  let n = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.length;
    keep?.push(value);
  }
}

export async function runCryptoBench(totalBytes: number, segmentBytes: number, rounds: number, log: (s: string) => void = () => {}): Promise<CryptoBenchResult> {
  const segments = Array.from({ length: totalBytes / segmentBytes }, () => fill(segmentBytes));
  const rawKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const { publicKey, privateKey } = await generateEpochKeyPair();
  const mb = totalBytes / 1e6;

  const rawCiphertexts: ArrayBuffer[] = [];
  const rawIv = (i: number) => {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(7, i);
    return iv;
  };
  const rawEncrypt = async () => {
    rawCiphertexts.length = 0;
    const t = performance.now();
    for (let i = 0; i < segments.length; i++) {
      rawCiphertexts.push(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: rawIv(i) }, rawKey, segments[i] as Uint8Array<ArrayBuffer>));
    }
    return mb / ((performance.now() - t) / 1000);
  };
  const rawDecrypt = async () => {
    const t = performance.now();
    for (let i = 0; i < rawCiphertexts.length; i++) {
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rawIv(i) }, rawKey, rawCiphertexts[i] as ArrayBuffer);
    }
    return mb / ((performance.now() - t) / 1000);
  };
  let sealed: Uint8Array[] = [];
  const sealWith = (concurrency: number) => async () => {
    sealed = [];
    const t = performance.now();
    const sealer = await createRecordingSealer({ context, recipient: publicKey, epoch: 1, maxSegment: segmentBytes });
    await drain(source(segments).pipeThrough(createSealStream(sealer, { concurrency })), sealed);
    return mb / ((performance.now() - t) / 1000);
  };
  const openWith = (concurrency: number) => async () => {
    const t = performance.now();
    const n = await drain(source(sealed).pipeThrough(createOpenStream((h) => openRecording(h, privateKey), { concurrency })), null);
    if (n !== totalBytes) throw new Error(`opened ${n} bytes, expected ${totalBytes}`);
    return mb / ((performance.now() - t) / 1000);
  };
  // The streams' default: two segments in flight.
  const seal = sealWith(2);
  const open = openWith(2);

  // One warm-up pass of each path, not counted.
  await rawEncrypt();
  await rawDecrypt();
  await seal();
  await open();

  // Each round measures a path and its baseline back to back, in alternating order, and the ratio is
  // taken within the round: a shared machine's slow spells then fall on both sides of one ratio.
  const figures = { rawEncrypt: [] as number[], seal: [] as number[], rawDecrypt: [] as number[], open: [] as number[] };
  const sealRatios: number[] = [];
  const openRatios: number[] = [];
  const sealSerialRatios: number[] = [];
  const openSerialRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pair = async (base: () => Promise<number>, path: () => Promise<number>) => {
      if (r % 2 === 0) {
        const b = await base();
        return [b, await path()] as const;
      }
      const p = await path();
      return [await base(), p] as const;
    };
    // Sealing must precede opening within a round: open reads what seal produced.
    const [re, se] = await pair(rawEncrypt, seal);
    const [rd, op] = await pair(rawDecrypt, open);
    figures.rawEncrypt.push(re);
    figures.seal.push(se);
    figures.rawDecrypt.push(rd);
    figures.open.push(op);
    sealRatios.push(se / re);
    openRatios.push(op / rd);
    // One in flight, against the same round's raw figures; open reads what the serial seal wrote.
    sealSerialRatios.push((await sealWith(1)()) / re);
    openSerialRatios.push((await openWith(1)()) / rd);
    log(`round ${r + 1}/${rounds}: raw encrypt ${re.toFixed(0)} MB/s, seal ${se.toFixed(0)} MB/s (${(se / re).toFixed(3)}); raw decrypt ${rd.toFixed(0)} MB/s, open ${op.toFixed(0)} MB/s (${(op / rd).toFixed(3)})`);
  }
  return {
    totalBytes,
    segmentBytes,
    rounds,
    rawEncryptMBps: median(figures.rawEncrypt),
    sealMBps: median(figures.seal),
    rawDecryptMBps: median(figures.rawDecrypt),
    openMBps: median(figures.open),
    sealRatio: median(sealRatios),
    openRatio: median(openRatios),
    sealSerialRatio: median(sealSerialRatios),
    openSerialRatio: median(openSerialRatios),
  };
}
