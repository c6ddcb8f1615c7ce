/**
 * Shared helpers of the crypto suite. Isomorphic like the code under test: this suite also runs in
 * Chromium (test/browser), so nothing here may import node: modules.
 */
import {
  type EpochKeyPair,
  type RecordingContext,
  type RecordingSealer,
  createOpenStream,
  createRecordingSealer,
  createSealStream,
  generateEpochKeyPair,
  isCryptoError,
  openRecording,
  type CryptoErrorCode,
} from '../../src/crypto/index.js';
import assert from 'node:assert/strict';
import { concat } from '../../src/crypto/bytes.js';

export const baseContext: RecordingContext = Object.freeze({
  institution: 'inst-7f3a',
  region: 'eu',
  exam: 'exam-2026-chem',
  attempt: 'att-0001',
  recording: 'rec-01',
  track: 'camera',
  mediaType: 'video/webm;codecs=vp9',
});

let sharedKeys: Promise<EpochKeyPair> | undefined;
/** One epoch key pair for the whole suite: key generation is not what these tests exercise. */
export function epochKeys(): Promise<EpochKeyPair> {
  sharedKeys ??= generateEpochKeyPair();
  return sharedKeys;
}

export function randomData(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concat(...parts);
}

export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

export interface SealedFile {
  readonly file: Uint8Array;
  readonly sealer: RecordingSealer;
}

export async function sealFile(
  plaintext: Uint8Array,
  options: { context?: RecordingContext; maxSegment?: number; segmentSize?: number; recipient?: CryptoKey; epoch?: number } = {},
): Promise<SealedFile> {
  const recipient = options.recipient ?? (await epochKeys()).publicKey;
  const sealer = await createRecordingSealer({
    context: options.context ?? baseContext,
    recipient,
    epoch: options.epoch ?? 1,
    maxSegment: options.maxSegment ?? 1024,
  });
  const file = await collect(streamOf(plaintext).pipeThrough(createSealStream(sealer, options.segmentSize ? { segmentSize: options.segmentSize } : {})));
  return { file, sealer };
}

export async function openFile(file: Uint8Array, privateKey?: CryptoKey, chunkSize = file.length || 1): Promise<Uint8Array> {
  const key = privateKey ?? (await epochKeys()).privateKey;
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < file.length; i += chunkSize) chunks.push(file.subarray(i, i + chunkSize));
  return collect(streamOf(...chunks).pipeThrough(createOpenStream((h) => openRecording(h, key))));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Resolves with the error code the promise rejects with; fails if it resolves. */
export async function rejectionCode(p: Promise<unknown>): Promise<CryptoErrorCode> {
  try {
    await p;
  } catch (e) {
    assert.ok(isCryptoError(e), `expected an ExamVault crypto error, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}
